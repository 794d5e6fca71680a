"""nbgrader_config.py wires the course as DESIGN.md says, and nbgrader works end to end from
the root on the tiny assignment in tests/fixtures: release, autograde (full, zero and
partial scores), feedback without hidden tests. Nothing needs an exchange folder."""

import json
import re
import shutil
from html import unescape
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from tools.course import ROOT, load_config, run_nbgrader

TINY = Path(__file__).parent / "fixtures" / "tiny.ipynb"
HIDDEN_SOURCE = ("double(-3) == -6", "square(-2) == 4")


def test_config_puts_every_folder_where_the_design_says():
    config = load_config()
    course = config.CourseDirectory
    assert (course.source_directory, course.release_directory) == ("solutions", "notebooks")
    assert course.submitted_directory == "autograde/submitted"
    assert course.autograded_directory == "autograde/autograded"
    assert course.feedback_directory == "autograde/feedback"
    assert course.db_url == f"sqlite:///{ROOT / 'autograde' / 'gradebook.db'}"
    assert config.Execute.timeout > 0
    preprocessors = [p.__name__ for p in config.GenerateFeedback.preprocessors]
    assert "ClearHiddenTests" in preprocessors


def visible_text(html):
    """What a browser shows of an HTML page: tags dropped (code is split into highlighting
    spans), entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def answer(notebook, **bodies):
    """Replace the answer cell that defines each name with ``bodies[name]``."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        for name, body in bodies.items():
            if cell.source.startswith(f"def {name}("):
                cell.source = f"def {name}(x):\n    {body}\n"
    return nb


def submit(root, student, nb):
    path = root / "autograde" / "submitted" / student / "tiny" / "tiny.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)


STUDENTS = ("correct", "unanswered", "partial")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A throwaway course (like conftest's course_copy) holding only the tiny assignment,
    released, with three submissions autograded and their feedback generated: its root."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    (root / "autograde").mkdir()
    (root / "solutions" / "tiny").mkdir(parents=True)
    shutil.copy(TINY, root / "solutions" / "tiny" / "tiny.ipynb")
    run_nbgrader("generate_assignment", "tiny", root=root, capture_output=True)
    solution = root / "solutions" / "tiny" / "tiny.ipynb"
    submit(root, "correct", answer(solution))
    submit(root, "unanswered", nbformat.read(release_of(root), as_version=4))
    # right on the visible input 2, wrong on the hidden input -3
    submit(root, "partial", answer(solution, double="return abs(2 * x)"))
    # exits 0: every notebook ran, whatever its tests said
    run_nbgrader("autograde", "tiny", root=root, capture_output=True)
    run_nbgrader("generate_feedback", "tiny", root=root, capture_output=True)
    return root


def release_of(root):
    return root / "notebooks" / "tiny" / "tiny.ipynb"


@pytest.mark.slow
def test_release_has_stubs_and_no_hidden_tests(graded):
    released = release_of(graded).read_text()
    assert "raise NotImplementedError()" in released and "return 2 * x" not in released
    assert not any(hidden in released for hidden in HIDDEN_SOURCE)
    assert "double(2) == 4" in released  # the visible test stays


@pytest.mark.slow
def test_autograde_gives_full_zero_and_partial_scores(graded):
    with Gradebook(f"sqlite:///{graded / 'autograde' / 'gradebook.db'}") as gradebook:
        submissions = {s: gradebook.find_submission("tiny", s) for s in STUDENTS}
        maximum = submissions["correct"].max_code_score
        points = {student: s.code_score for student, s in submissions.items()}
    assert maximum == 3  # test_double (2 points) + test_square (1 point)
    assert points == {"correct": 3, "unanswered": 0, "partial": 1}, points
    autograded = graded / "autograde" / "autograded" / "correct" / "tiny" / "tiny.ipynb"
    assert json.loads(autograded.read_text())["cells"], "formgrader needs the graded notebook"


def feedback(root):
    return {p.parent.parent.name: visible_text(p.read_text())
            for p in (root / "autograde" / "feedback").glob("*/tiny/tiny.html")}


@pytest.mark.slow
def test_feedback_shows_the_visible_tests_and_failure_messages(graded):
    pages = feedback(graded)
    assert set(pages) == set(STUDENTS)
    assert "double(2) == 4" in pages["partial"]
    assert "double(-3) should be -6" in pages["partial"]  # the failing test's message


@pytest.mark.slow
def test_feedback_never_prints_hidden_test_source(graded):
    for student, page in feedback(graded).items():
        assert not any(hidden in page for hidden in HIDDEN_SOURCE), f"{student} sees hidden tests"


@pytest.mark.slow
def test_nothing_goes_through_an_exchange_folder(graded):
    exchange = graded / "autograde" / "exchange"  # inside the course, never a shared /srv path
    assert not any(exchange.iterdir())
