"""make check NB=...: nbgrader's validation, but a failing test fails the command and
its message is printed (nbgrader issue #1908)."""

import subprocess
import sys

import pytest

from autograde import samples
from tools.check import message, report
from tools.course import ROOT


def test_message_is_the_last_error_line_on():
    error = ('<span>Traceback</span>\nFile "x", line 3\n'
             "CheckFailure: h is wrong.\n  expected 1.0, got 2.0")
    assert message(error) == "CheckFailure: h is wrong.\n  expected 1.0, got 2.0"


def test_every_unanswered_written_answer_is_named():
    graded = [("assert f(1) == 2", "test_f"), ("YOUR ANSWER HERE", "answer_q1"),
              ("YOUR ANSWER HERE", "answer_q2")]
    unanswered = {"source": "YOUR ANSWER HERE", "error": "You did not provide a response."}
    lines = report({"failed": [unanswered, unanswered]}, graded)
    assert [line for line in lines if line.startswith("FAILED")] == [
        "FAILED answer_q1:", "FAILED answer_q2:"]


def test_a_cell_validate_reports_but_the_notebook_lacks_is_still_reported():
    lines = report({"failed": [{"source": "print(1)", "error": "NameError: x"}],
                    "changed": [{"source": "assert f(1) == 3"}]}, [("assert f(1) == 2", "test_f")])
    assert lines[0] == "FAILED a test:" and lines[-1].startswith("CHANGED a test cell:")


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    """The tiny release answered correctly, left blank, and failing its visible test."""
    folder = samples.scratch_course(tmp_path_factory.mktemp("course"), "tiny",
                                    ROOT / "tests" / "fixtures" / "tiny.ipynb")
    release, solution = samples.load(folder, "tiny")
    failing = {"double": "def double(x):\n    return x\n"}
    made = {"correct": samples.filled(release, solution), "blank": release,
            "failing": samples.filled(release, solution, failing)}
    for name, nb in made.items():
        samples.write(folder, name, "tiny", nb)
    return {name: folder / name / "tiny" / "tiny.ipynb" for name in made}


def run_check(path):
    return subprocess.run([sys.executable, "-m", "tools.check", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_passing_notebook_exits_zero(notebooks):
    result = run_check(notebooks["correct"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every test passed" in result.stdout


@pytest.mark.slow
def test_failing_test_exits_nonzero_with_its_message(notebooks):
    result = run_check(notebooks["failing"])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED test_double" in result.stdout
    assert "double(2) should be 4" in result.stdout
    assert "test_square" not in result.stdout


@pytest.mark.slow
def test_unanswered_notebook_lists_every_test(notebooks):
    result = run_check(notebooks["blank"])
    assert result.returncode == 1
    assert "FAILED test_double" in result.stdout and "FAILED test_square" in result.stdout
