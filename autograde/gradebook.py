"""The course's gradebook, written by one process only: assignments in, results merged,
grades read back for the table and the summary."""

import os
import sqlite3
import tempfile
from collections import Counter

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI

from tools.course import load_config, nbgrader_env


def db_url(root):
    return load_config(root).CourseDirectory.db_url


def db_path(root):
    return db_url(root).removeprefix("sqlite:///")


def ensure_assignments(root, assignments):
    """Add to the gradebook each assignment it lacks, from solutions/ (nbgrader's
    generate_assignment, releasing into a throwaway folder: notebooks/ is left alone)."""
    os.environ["PATH"] = nbgrader_env()["PATH"]  # a new gradebook runs alembic from PATH
    with Gradebook(db_url(root)) as gb:
        known = {a.name for a in gb.assignments}
    for assignment in sorted(set(assignments) - known):
        with tempfile.TemporaryDirectory() as release:
            config = load_config(root)
            config.CourseDirectory.release_directory = release
            outcome = NbGraderAPI(config=config).generate_assignment(assignment, force=True)
        if not outcome["success"]:
            raise SystemExit(f"cannot add {assignment} to the gradebook:\n{outcome.get('error')}")


def snapshot(root, destination):
    """A consistent copy of the gradebook (SQLite's backup API, safe while it is open)."""
    source = sqlite3.connect(db_path(root))
    target = sqlite3.connect(destination)
    with target:
        source.backup(target)
    source.close()
    target.close()


def merge(root, result):
    """Write one worker's result into the gradebook. Manual scores are never touched, and
    a cell whose autograde score did not change keeps its review flag, so grading again
    changes nothing."""
    with Gradebook(db_url(root)) as gb:
        gb.update_or_create_student(result.student)
        extra = {"timestamp": result.timestamp} if result.timestamp else {}
        submission = gb.update_or_create_submission(result.assignment, result.student, **extra)
        if result.status in ("missing", "invalid") or not result.grades:
            zero_submission(submission)
        for notebook, cell, auto_score, needs_manual in result.grades:
            grade = gb.find_grade(cell, notebook, result.assignment, result.student)
            unchanged = grade.auto_score == auto_score and grade.manual_score is not None
            grade.auto_score = auto_score
            grade.needs_manual_grade = grade.needs_manual_grade if unchanged else needs_manual
        for notebook, cell, auto_comment in result.comments:
            gb.find_comment(cell, notebook, result.assignment, result.student).auto_comment = (
                auto_comment)
        gb.db.commit()


def zero_submission(submission):
    """What nbgrader does for a notebook that was not submitted: every cell scores 0."""
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            if grade.manual_score is None:
                grade.auto_score, grade.needs_manual_grade = 0, False


def submission_rows(root):
    """(student, assignment, score, max_score, needs_manual_grading) for every submission."""
    with Gradebook(db_url(root)) as gb:
        return [(s.student.id, a.name, s.score, s.max_score, bool(s.needs_manual_grade))
                for a in gb.assignments for s in a.submissions]


def max_scores(root):
    """assignment -> its maximum score."""
    with Gradebook(db_url(root)) as gb:
        return {a.name: a.max_score for a in gb.assignments}


def failed_tests(root, pairs):
    """How often each autograded test failed among the (student, assignment) pairs."""
    counts = Counter()
    with Gradebook(db_url(root)) as gb:
        for student, assignment in pairs:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.cell.cell_type == "code" and grade.score < grade.max_score:
                        counts[(assignment, grade.name)] += 1
    return counts
