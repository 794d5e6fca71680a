"""make grade end to end: sample submissions of the tiny assignment (every fault) and of
the smallest released real assignment are graded through autograde.grade's code in a
scratch course; per-cell scores, grades.csv, feedback and re-grading are checked."""

import csv
import fcntl
import html
import os
import pickle
import shutil

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from autograde import gradebook, samples, worker
from autograde.grade import COLUMNS, grade_class
from tests.answered import PREFERRED
from tests.variants import variants
from tools.course import ROOT, existing_assignments, notebook_path, topic

TIMEOUT, GRACE = 3, 2  # seconds per cell, and to honour an interrupt: small, for speed

# Which tests each tiny sample passes, from what the sample does (autograde.samples):
# "wrong" leaves double undone, the mistake double(x) = x + 2 passes only the visible
# test, the loop is in double's cell, the kills in square's, deleted_cells drops square
# and its test, stripped_test leaves double undone and unmarks (and empties) its test;
# disable_checks and stray_helpers carry the mistake, with checks switched off in the
# kernel or shadowed next to the notebook. kill_grader kills the grading process itself:
# it gets no score at all.
TINY_PASSES = {
    "correct": {"test_double", "test_square"},
    "blank": set(),
    "wrong": {"test_square"},
    "mistake_double": {"test_square"},
    "loop": {"test_square"},
    "swallow_interrupt": {"test_double"},
    "os_exit": {"test_double"},
    "sigkill": {"test_double"},
    "not_json": set(),
    "deleted_cells": {"test_double"},
    "stripped_test": {"test_square"},
    "wrong_name": {"test_double", "test_square"},
    "disable_checks": {"test_square"},
    "stray_helpers": {"test_square"},
}
UNSCORED = {"kill_grader"}
TINY_OUTCOME = {  # status, and a phrase of the reason
    "swallow_interrupt": ("stopped", "ignored the interrupt"),
    "os_exit": ("stopped", "kernel died"),
    "sigkill": ("stopped", "kernel died"),
    "not_json": ("invalid", "not a valid notebook"),
    "deleted_cells": ("graded", "restored from the gradebook: square, test_square"),
    "stripped_test": ("graded", "restored from the gradebook: test_double"),
    "wrong_name": ("graded", "wrong file name"),
    "kill_grader": ("error", "killed while running this submission"),
}
TINY_MISTAKES = {"double": "def double(x):\n    return x + 2\n"}


def tiny_course(folder):
    return samples.scratch_course(folder, "tiny", ROOT / "tests" / "fixtures" / "tiny.ipynb")


def options_for(course):
    """Grading options with short bounds, for the tiny assignment."""
    return worker.Options(root=course, timeout=TIMEOUT, interrupt_grace=GRACE)


def write_samples(folder, assignment, mistakes, kinds=None):
    release, solution = samples.load(folder, assignment)
    for kind, sample in samples.samples(release, solution, assignment, mistakes).items():
        if kinds is None or kind in kinds:
            samples.write(folder / "autograde" / "submitted", kind, assignment, sample)


def points(folder, assignment):
    """grade_id -> points of each autograded test, from the release."""
    release = nbformat.read(notebook_path("notebooks", assignment, folder), as_version=4)
    return {samples.meta(c)["grade_id"]: samples.meta(c)["points"] for c in release.cells
            if samples.is_test(c)}


def cell_scores(folder, assignment, student):
    with Gradebook(gradebook.db_url(folder)) as gb:
        submission = gb.find_submission(assignment, student)
        return {g.name: g.score for nb in submission.notebooks for g in nb.grades}


def read_table(folder):
    with (folder / "autograde" / "grades.csv").open() as file:
        reader = csv.DictReader(file)
        return reader.fieldnames, {(r["student"], r["assignment"]): r for r in reader}


def first_mistake_phrases(release, assignment):
    """answer cell -> the phrase that names the mistake its sample submission carries."""
    cells = samples.answer_cells(release)
    phrases = {}
    for variant in variants(topic(assignment)):
        if variant.kind == "mistake":
            phrases.setdefault(cells[variant.exercise], variant.names)
    return phrases


def real_assignment():
    """The real assignment graded end to end: the quickest (two exercises), when released."""
    return PREFERRED if PREFERRED in existing_assignments("notebooks") else None


REAL = real_assignment()


def grade_samples(folder):
    """The tiny samples (every fault) and, when a real assignment is released, its
    correct, blank and known-mistake samples and one kernel kill, graded."""
    tiny_course(folder)
    write_samples(folder, "tiny", TINY_MISTAKES)
    results, lines = grade_class(
        worker.Options(root=folder, timeout=TIMEOUT, interrupt_grace=GRACE),
        assignment="tiny", jobs=2, progress=False)
    if REAL:
        for kind in ("solutions", "notebooks"):
            shutil.copytree(ROOT / kind / REAL, folder / kind / REAL)
        mistakes = samples.known_mistakes(samples.load(folder, REAL)[0], REAL)
        write_samples(folder, REAL, mistakes, kinds={
            "correct", "blank", "os_exit", "disable_checks", "stray_helpers"} | {
            f"mistake_{answer}" for answer in mistakes})
        more, _ = grade_class(worker.Options(root=folder), assignment=REAL, jobs=2,
                              progress=False)
        results += more
    return {(r.student, r.assignment): r for r in results}, lines


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """grade_samples, run once per test session: pytest-xdist's workers share it."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    folder, saved = shared / "graded-class", shared / "graded-class.pickle"
    with open(shared / "graded-class.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.exists():
            folder.mkdir()
            saved.write_bytes(pickle.dumps(grade_samples(folder)))
    return folder, *pickle.loads(saved.read_bytes())


@pytest.mark.slow
def test_a_submission_that_kills_the_grader_costs_only_itself(graded):
    """Its worker died (twice): no score is recorded for it, and every other submission,
    graded before and after it, scores each cell as expected (the next test)."""
    folder, results, _ = graded
    with Gradebook(gradebook.db_url(folder)) as gb:
        with pytest.raises(MissingEntry):
            gb.find_submission("tiny", "kill_grader")
    status, phrase = TINY_OUTCOME["kill_grader"]
    assert results["kill_grader", "tiny"].status == status
    assert phrase in results["kill_grader", "tiny"].reason
    assert "no score is recorded" in results["kill_grader", "tiny"].reason


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(TINY_PASSES))
def test_tiny_sample_scores_each_cell_as_expected(graded, kind):
    folder, results, _ = graded
    expected = {test: (p if test in TINY_PASSES[kind] else 0)
                for test, p in points(folder, "tiny").items()}
    scores = cell_scores(folder, "tiny", kind)
    assert {test: scores[test] for test in expected} == expected, results[kind, "tiny"].reason
    status, phrase = TINY_OUTCOME.get(kind, ("graded", ""))
    assert results[kind, "tiny"].status == status
    assert phrase in results[kind, "tiny"].reason


@pytest.mark.slow
def test_faults_keep_their_max_score_and_stay_bounded(graded):
    folder, results, _ = graded
    _, table = read_table(folder)
    full = sum(points(folder, "tiny").values()) + 1  # the written answer's point
    assert {row["max_score"] for (_, a), row in table.items() if a == "tiny"} == {str(full)}
    bound = TIMEOUT + GRACE + 30  # one timeout, one grace, and the grading around them
    assert results["swallow_interrupt", "tiny"].seconds < bound
    assert results["loop", "tiny"].seconds < bound


@pytest.mark.slow
def test_grades_table_has_every_submission_with_status(graded):
    folder, results, _ = graded
    columns, table = read_table(folder)
    assert tuple(columns) == COLUMNS
    assert set(table) == set(results)
    for key, row in table.items():
        assert row["status"] == results[key].status
        if key[0] in UNSCORED:
            assert row["score"] == "", row
            continue
        assert float(row["score"]) == sum(cell_scores(folder, key[1], key[0]).values())
    assert table["correct", "tiny"]["needs_manual_grading"] == "True"  # the written answer
    assert table["blank", "tiny"]["needs_manual_grading"] == "False"   # nothing to read


@pytest.mark.slow
def test_feedback_shows_messages_not_hidden_tests(graded):
    folder, results, _ = graded
    feedback = folder / "autograde" / "feedback"
    for student, assignment in results:
        page = feedback / student / assignment / f"{assignment}.html"
        assert page.exists() == (student not in UNSCORED), page
    invalid = (feedback / "not_json" / "tiny" / "tiny.html").read_text()
    assert "could not be graded" in invalid and "not a valid notebook" in invalid
    page = (feedback / "mistake_double" / "tiny" / "tiny.html").read_text()
    assert "double(-3) should be -6" in page  # the hidden test's message
    assert "assert double(-3)" not in page and "HIDDEN TESTS" not in page


@pytest.mark.slow
def test_summary_names_means_and_most_failed_tests(graded):
    _, _, lines = graded
    text = "\n".join(lines)
    assert "mean tiny:" in text and "most failed tests:" in text
    assert "not_json/tiny: invalid" in text


@pytest.mark.slow
@pytest.mark.skipif(REAL is None, reason="no real assignment released yet")
def test_real_assignment_samples(graded):
    folder, results, _ = graded
    tests = points(folder, REAL)
    assert {t: cell_scores(folder, REAL, "correct")[t] for t in tests} == tests
    assert all(cell_scores(folder, REAL, "blank")[t] == 0 for t in tests)
    release = nbformat.read(notebook_path("notebooks", REAL, folder), as_version=4)
    own_tests = dict(samples.exercises(release))
    mistakes = [k for k in results if k[1] == REAL and k[0].startswith("mistake_")]
    assert mistakes, "tests/wrong_answers has no mistake for " + REAL
    # Checks switched off in the kernel: no hidden test records what the code did, so none
    # earns a point, the faked function's least of all. Checks shadowed next to the
    # notebook never reach the kernel: it scores as the same mistake without them.
    assert all(cell_scores(folder, REAL, "disable_checks")[t] == 0 for t in tests)
    first = samples.exercises(release)[0][0]
    assert cell_scores(folder, REAL, "stray_helpers") == cell_scores(
        folder, REAL, f"mistake_{first}")
    phrases = first_mistake_phrases(release, REAL)
    for student, _ in mistakes:
        scores = cell_scores(folder, REAL, student)
        assert all(scores[t] == 0 for t in own_tests[student.removeprefix("mistake_")])
        page = html.unescape(
            (folder / "autograde" / "feedback" / student / REAL / f"{REAL}.html").read_text())
        assert "is wrong." in page and "helpers.hidden" not in page
        phrase = phrases[student.removeprefix("mistake_")]
        assert phrase in page, f"the feedback page of {student} does not name {phrase!r}"
    # killed in the last answer cell: the tests before it earned their points, no later one
    last = samples.exercises(release)[-1][0]
    before = {t for answer, ts in samples.exercises(release) if answer != last for t in ts}
    scores = cell_scores(folder, REAL, "os_exit")
    assert {t: scores[t] for t in tests} == {t: (p if t in before else 0)
                                             for t, p in tests.items()}


@pytest.mark.slow
def test_grading_again_changes_nothing_and_keeps_manual_grades(tmp_path):
    folder = tiny_course(tmp_path)
    write_samples(folder, "tiny", TINY_MISTAKES, kinds={"correct", "blank", "mistake_double"})
    stray = folder / "autograde" / "submitted" / "blank" / "not_an_assignment"
    stray.mkdir()
    shutil.copy(notebook_path("notebooks", "tiny", folder), stray)
    submitted = folder / "autograde" / "submitted" / "correct" / "tiny"
    (submitted / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    options = worker.Options(root=folder, timeout=TIMEOUT, interrupt_grace=GRACE)
    results, _ = grade_class(options, jobs=2, progress=False)
    with Gradebook(gradebook.db_url(folder)) as gb:
        assert gb.find_submission("tiny", "correct").timestamp.day == 20
    assert {r.assignment: r.status for r in results if r.student == "blank"} == {
        "tiny": "graded", "not_an_assignment": "unknown"}
    with Gradebook(gradebook.db_url(folder)) as gb:
        grade = gb.find_grade("written_square", "tiny", "tiny", "correct")
        grade.manual_score, grade.needs_manual_grade = 1, False
        gb.db.commit()
    gradebook_rows = gradebook.submission_rows(folder)
    results, _ = grade_class(options, jobs=2, progress=False)
    assert gradebook.submission_rows(folder) == gradebook_rows
    _, table = read_table(folder)
    assert table["correct", "tiny"]["score"] == "4"
    assert table["correct", "tiny"]["needs_manual_grading"] == "False"
    narrowed, _ = grade_class(options, assignment="tiny", student="blank", jobs=2,
                              progress=False)
    assert [(r.student, r.assignment) for r in narrowed] == [("blank", "tiny")]
    assert read_table(folder)[1] == table


def test_a_single_notebook_with_another_name_is_graded(tmp_path):
    (tmp_path / "mine.ipynb").write_text("{}")
    found, note = worker.find_notebook(tmp_path, "tiny")
    assert found.name == "mine.ipynb" and "wrong file name" in note
    (tmp_path / "other.ipynb").write_text("{}")
    found, note = worker.find_notebook(tmp_path, "tiny")
    assert found is None and "mine.ipynb, other.ipynb" in note
