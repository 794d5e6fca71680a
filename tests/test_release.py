"""The released notebooks are exactly what nbgrader generates from solutions/, carry no
outputs and no reference, and behave: solutions pass, unanswered releases fail."""

import json
import re

import nbformat
import pytest
from nbgrader.validator import Validator

from tools.course import existing_assignments, load_config, notebook_path, run_nbgrader

ASSIGNMENTS = existing_assignments()
FORBIDDEN_IMPORT = re.compile(
    r"helpers\.(reference|hidden)|from helpers import .*(reference|hidden)")


def cells(path):
    return nbformat.read(path, as_version=4).cells


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def visible_source(cell):
    """A cell's source without its hidden-test region."""
    return re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)


def test_every_solution_is_released():
    released = existing_assignments("notebooks")
    assert released == ASSIGNMENTS, "run `make release` and commit notebooks/"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_stored_without_outputs(folder, assignment):
    for cell in cells(notebook_path(folder, assignment)):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{folder}/{assignment} is stored with outputs: run `make release`")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_what_generation_gives(assignment, course_copy):
    run_nbgrader("generate_assignment", assignment, "--force", root=course_copy,
                 capture_output=True)
    from tools.release import strip_outputs

    generated = notebook_path("notebooks", assignment, course_copy)
    strip_outputs(generated)
    expected = json.loads(generated.read_text())
    stored = json.loads(notebook_path("notebooks", assignment).read_text())
    assert stored == expected, (
        f"notebooks/{assignment} is not what solutions/ generates: run `make release`")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_visible_cell_imports_the_reference(assignment):
    for folder in ("solutions", "notebooks"):
        for cell in cells(notebook_path(folder, assignment)):
            assert not FORBIDDEN_IMPORT.search(visible_source(cell)), (
                f"a visible cell of {folder}/{assignment} uses the reference:\n{cell.source}")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_passes_validation(assignment):
    results = Validator(config=load_config()).validate(
        str(notebook_path("solutions", assignment)))
    assert results == {}, json.dumps(results, indent=1)[:4000]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_unanswered_release_fails_every_test(assignment):
    path = notebook_path("notebooks", assignment)
    tests = [c for c in cells(path) if nbgrader_meta(c).get("grade") and c.cell_type == "code"]
    assert tests, f"{assignment} has no autograded test"
    validator = Validator(config=load_config())
    validator.invert = True
    results = validator.validate(str(path))
    assert "passed" not in results, (
        "these tests pass without an answer:\n"
        + "\n---\n".join(c["source"] for c in results["passed"]))
