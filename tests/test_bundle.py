"""The student bundle: unpacked into a fresh folder, it holds the course without any answer,
and a released notebook's visible tests run there, against the bundle's own helpers."""

import os
import re
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from tests.answered import first_exercise, is_test
from tools import bundle
from tools.course import existing_assignments, notebook_path

ANSWER_TEXT = re.compile(r"### BEGIN SOLUTION|### BEGIN HIDDEN TESTS|MARK SCHEME")
INSTRUCTOR_IMPORT = re.compile(r"(from|import)\s+helpers\.(reference|hidden)"
                               r"|from\s+helpers\s+import\s+[^\n]*\b(reference|hidden)\b")
# Run in the kernel after the notebook: where helpers came from, and what was imported.
PROBE = ("import sys, helpers\n"
         "print(helpers.__file__)\n"
         "print(sorted(m for m in sys.modules if m.startswith(('helpers.reference', "
         "'helpers.hidden'))))")


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    if not existing_assignments("notebooks"):
        pytest.skip("notebooks/ holds no released notebook yet: run `make release`")
    archive = tmp_path_factory.mktemp("build") / "student.zip"
    bundle.write_bundle(archive)
    fresh = tmp_path_factory.mktemp("student")
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(fresh)
    return fresh / bundle.NAME


def shipped_files(folder):
    return [p for p in folder.rglob("*") if p.is_file()]


def test_bundle_holds_the_course_and_its_environment(unpacked):
    for assignment in existing_assignments("notebooks"):
        assert notebook_path("notebooks", assignment, unpacked).is_file(), assignment
    for name in ("README.md", "Makefile", "helpers/__init__.py", "helpers/checks.py",
                 *bundle.ENVIRONMENT_FILES):
        assert (unpacked / name).is_file(), name
    readme = (unpacked / "README.md").read_text()
    assert "<!-- contents -->" not in readme
    for assignment in existing_assignments("notebooks"):
        assert f"notebooks/{assignment}/{assignment}.ipynb" in readme


def test_bundle_holds_no_answer(unpacked):
    for folder in ("solutions", "autograde", "tests", "tools", "helpers/reference",
                   "helpers/hidden"):
        assert not (unpacked / folder).exists(), f"{folder} is in the student bundle"
    for path in shipped_files(unpacked):
        text = path.read_text(errors="replace")
        assert not ANSWER_TEXT.search(text), f"{path.relative_to(unpacked)} carries answers"
        assert not INSTRUCTOR_IMPORT.search(text), (
            f"{path.relative_to(unpacked)} imports the instructor's helpers")


def test_bundle_refuses_solution_code(tmp_path):
    leaky = tmp_path / "leaky.py"
    leaky.write_text("### BEGIN SOLUTION\n")
    with pytest.raises(SystemExit, match="leaky.py"):
        bundle.refuse_solutions({"helpers/leaky.py": leaky})


def answered_notebook(exercise, folder):
    """The released notebook in the bundle with a correct first answer, and the probe."""
    nb = nbformat.read(notebook_path("notebooks", exercise.assignment, folder), as_version=4)
    nb.cells[exercise.answer_index].source = exercise.answer
    nb.cells.append(new_code_cell(PROBE))
    return nb


def error_names(cell):
    return [o.get("ename") for o in cell.get("outputs", []) if o.output_type == "error"]


@pytest.mark.slow
def test_visible_tests_run_in_the_bundle(unpacked):
    exercise = first_exercise()
    nb = answered_notebook(exercise, unpacked)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(unpacked), NBGRADER_EXECUTION="validate")
    folder = notebook_path("notebooks", exercise.assignment, unpacked).parent
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute(env=env)

    helpers_file, instructor_modules = nb.cells[-1].outputs[0].text.splitlines()
    assert Path(helpers_file).is_relative_to(unpacked), f"helpers came from {helpers_file}"
    assert instructor_modules == "[]", f"the notebook imported {instructor_modules}"
    assert error_names(nb.cells[exercise.test_index]) == [], (
        "the answered exercise's visible test failed in the bundle:\n"
        + "\n".join(o.get("evalue", "") for o in nb.cells[exercise.test_index].outputs))
    unanswered = [c for i, c in enumerate(nb.cells) if is_test(c) and i > exercise.test_index]
    assert unanswered and all(error_names(c) for c in unanswered), (
        "an unanswered exercise's test passed in the bundle")
    assert error_names(unanswered[0]) == ["NotImplementedError"]
