"""Grade one submission in a scratch course of its own, with nbgrader's API.

Each worker process owns a scratch course: its own copy of the gradebook, its own
submitted/, autograded/ and feedback/ folders, and the real course's solutions/ as
source. nbgrader writes only there, so workers never share a SQLite file; the
parent process merges each result into the course's gradebook
(``autograde.gradebook``) and then publishes the result's folders
(``autograde.publish``). A result is plain data: scores per cell, status, reason, and
where its autograded notebook and feedback page wait in the scratch course.
"""

import os
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from time import perf_counter

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from sqlalchemy.exc import SAWarning

from autograde import execute
from helpers.hidden import hidden_tests
from tools.course import load_config

THREAD_LIMITS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@dataclass
class Options:
    """How to grade: the course, and the bounds on each submission."""
    root: Path
    timeout: int | None = None       # seconds per cell; None: nbgrader_config.py's
    deadline: float = 600.0          # seconds per notebook before its kernel is killed
    interrupt_grace: float = 5.0     # seconds a cell has to honour an interrupt
    feedback: bool = True


@dataclass
class Result:
    student: str
    assignment: str
    status: str                      # graded | stopped | invalid | missing | error
    reason: str = ""
    timestamp: datetime | None = None  # from the submission's timestamp.txt
    grades: list = field(default_factory=list)    # (notebook, cell, auto_score, needs_manual)
    comments: list = field(default_factory=list)  # (notebook, cell, auto_comment)
    seconds: float = 0.0
    folders: dict = field(default_factory=dict)   # "autograded"/"feedback" -> scratch folder


def course_config(options, scratch):
    """The course's config, writing into ``scratch``, with this run's bounds."""
    config = load_config(options.root)
    config.CourseDirectory.root = str(scratch)
    config.CourseDirectory.source_directory = str(Path(options.root) / "solutions")
    config.CourseDirectory.db_url = f"sqlite:///{scratch / 'gradebook.db'}"
    if options.timeout is not None:
        config.Execute.timeout = options.timeout
    config.GuardedExecute.deadline = options.deadline
    config.GuardedExecute.interrupt_grace = options.interrupt_grace
    return config


class Worker:
    """One scratch course; grades submissions one after another."""

    def __init__(self, options, scratch, snapshot, log=None):
        self.options = options
        self.scratch = Path(scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)
        shutil.copy(snapshot, self.scratch / "gradebook.db")
        os.environ.update(THREAD_LIMITS)  # kernels inherit it: one thread per kernel
        if log:  # a pool's process: its chatter, and its kernels', go to its log
            quiet(log)
        os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
        self.config = course_config(options, self.scratch)
        self.api = NbGraderAPI(config=self.config)
        self.db_url = self.config.CourseDirectory.db_url
        # The judges and the reference, imported now, before any submission has run.
        for assignment in known_assignments(options.root):
            hidden_tests(assignment)

    def folder(self, kind, student, assignment):
        return self.scratch / "autograde" / kind / student / assignment

    def grade(self, submitted_folder, student, assignment):
        """Grade ``submitted_folder`` (the student's files for ``assignment``)."""
        start = perf_counter()
        result = Result(student, assignment, "graded")
        for kind in ("submitted", "autograded", "feedback"):
            shutil.rmtree(self.folder(kind, student, assignment), ignore_errors=True)
        try:
            self._grade(Path(submitted_folder), result)
        except Exception as error:  # a broken submission must never stop the class
            result.status, result.reason = "error", f"{type(error).__name__}: {error}"
        finally:
            shutil.rmtree(self.folder("submitted", student, assignment), ignore_errors=True)
        result.folders = {kind: str(self.folder(kind, student, assignment))
                          for kind in ("autograded", "feedback")
                          if self.folder(kind, student, assignment).is_dir()}
        result.seconds = perf_counter() - start
        return result

    def _grade(self, submitted_folder, result):
        student, assignment = result.student, result.assignment
        notebook, note = find_notebook(submitted_folder, assignment)
        if notebook is None:
            result.status, result.reason = "missing", note
            return
        try:
            nb = nbformat.read(notebook, as_version=4)
        except Exception as error:
            result.status = "invalid"
            result.reason = f"{notebook.name} is not a valid notebook: {last_line(error)}"
            return
        notes = [note] + self._restore_missing_cells(nb, assignment)
        target = self.folder("submitted", student, assignment)
        target.mkdir(parents=True)
        nbformat.write(nb, target / f"{assignment}.ipynb")
        if (submitted_folder / "timestamp.txt").is_file():  # nbgrader's, for late penalties
            shutil.copy(submitted_folder / "timestamp.txt", target)
        outcome = self.api.autograde(assignment, student, force=True, create=True)
        stop_reason = execute.stop_reasons.pop((assignment, student), None)
        if stop_reason:
            result.status = "stopped"
            notes.append(stop_reason)
        if not outcome["success"]:  # its scratch gradebook may hold the last run's scores
            result.status = "error"
            notes.append(last_line(outcome.get("error") or outcome.get("log") or "nbgrader failed"))
            result.reason = "; ".join(n for n in notes if n)
            return
        if self.options.feedback:
            feedback = self.api.generate_feedback(assignment, student, force=True)
            if not feedback["success"]:
                result.status = "error"
                notes.append("its feedback page could not be written: " + last_line(
                    feedback.get("error") or feedback.get("log") or "nbgrader failed"))
        result.reason = "; ".join(n for n in notes if n)
        self._read_scores(result)

    def _restore_missing_cells(self, nb, assignment):
        """Put back answer and test cells that were deleted or lost their nbgrader metadata
        (nbgrader's own add_missing_cells fails when an answer and its test are both
        gone). Returns a note naming them."""
        with Gradebook(self.db_url) as gb:
            restored = restore_cells(nb, gb.find_notebook(assignment, assignment))
        if not restored:
            return []
        return ["deleted or unmarked cells restored from the gradebook: " + ", ".join(restored)]

    def _read_scores(self, result):
        with Gradebook(self.db_url) as gb:
            try:
                submission = gb.find_submission(result.assignment, result.student)
            except Exception:
                return
            result.timestamp = submission.timestamp
            for notebook in submission.notebooks:
                result.grades += [(notebook.name, g.name, g.auto_score, g.needs_manual_grade)
                                  for g in notebook.grades]
                result.comments += [(notebook.name, c.name, c.auto_comment)
                                    for c in notebook.comments]


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def restore_cells(nb, source_notebook):
    """Insert into ``nb`` each graded or answer cell of ``source_notebook`` (the
    gradebook's) that ``nb`` lacks, after the cell that precedes it in the source, as
    the student version: a stub for an answer, the locked test for a test. Returns
    the names restored."""
    points = {cell.name: cell.max_score for cell in source_notebook.grade_cells}
    answers = {cell.name for cell in source_notebook.solution_cells}
    present = {grade_id(cell) for cell in nb.cells}
    restored, previous = [], None
    for source in source_notebook.source_cells:
        if source.name not in points and source.name not in answers:
            continue
        if source.name not in present:
            at = next((i + 1 for i, cell in enumerate(nb.cells) if grade_id(cell) == previous), 0)
            nb.cells.insert(at, restored_cell(source, points.get(source.name),
                                              source.name in answers))
            restored.append(source.name)
        previous = source.name
    return restored


def restored_cell(source, points, is_answer):
    make = nbformat.v4.new_code_cell if source.cell_type == "code" else (
        nbformat.v4.new_markdown_cell)
    cell = make(source.source)
    cell.metadata["nbgrader"] = {
        "grade": points is not None, "grade_id": source.name, "locked": source.locked,
        "schema_version": 3, "solution": is_answer, "task": False,
        **({"points": points} if points is not None else {})}
    if source.checksum:
        cell.metadata["nbgrader"]["checksum"] = source.checksum
    return cell


def find_notebook(folder, assignment):
    """The submitted notebook and a note when it had to be guessed."""
    expected = folder / f"{assignment}.ipynb"
    if expected.exists():
        return expected, ""
    candidates = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if len(candidates) == 1:
        return candidates[0], f"graded {candidates[0].name} as {expected.name} (wrong file name)"
    found = ", ".join(p.name for p in candidates) or "no notebook"
    return None, f"no {expected.name} in the submission ({found})"


def last_line(text):
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def quiet(log):
    """Send this process's stderr, and its kernels', to ``log`` (kept under
    autograde/logs/): nbgrader's and the kernels' chatter would bury the progress bar.
    What matters is in each Result."""
    warnings.simplefilter("ignore", SAWarning)  # nbgrader 0.9.6 with SQLAlchemy 2
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(descriptor, 2)
    os.close(descriptor)


def known_assignments(root):
    return sorted(p.name for p in (Path(root) / "solutions").iterdir() if p.is_dir())


def start(options, scratch_base, snapshot, logs):
    """Build this process's Worker (``autograde.pool`` calls it in each new process) and
    return what grades one task ``(submitted folder, student, assignment)``."""
    name = f"worker-{os.getpid()}"
    return Worker(options, Path(scratch_base) / name, snapshot,
                  log=Path(logs) / f"{name}.log").grade
