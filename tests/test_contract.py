"""The graded interface of EXERCISES.md holds: every graded name is defined in exactly one
autograded-answer cell of its notebook, and the course's own table agrees with the contract."""

import re

import nbformat
import pytest

import helpers.reference as reference
from tools.course import GRADED_NAMES, ROOT, existing_assignments, notebook_path

CONTRACT = ROOT.parent / "shared" / "EXERCISES.md"


def contract_names():
    """``{assignment: names}`` read from the tables of EXERCISES.md."""
    names, current = {}, None
    for line in CONTRACT.read_text().splitlines():
        heading = re.match(r"## (\d\d_\w+)", line)
        if heading:
            current = heading.group(1)
            names[current] = []
        row = re.match(r"\| `(\w+)` \|", line)
        if current and row:
            names[current].append(row.group(1))
    return {a: tuple(n) for a, n in names.items()}


@pytest.mark.skipif(not CONTRACT.exists(), reason="../shared/EXERCISES.md is not beside this clone")
def test_course_table_matches_the_contract():
    assert contract_names() == GRADED_NAMES


def test_reference_has_every_graded_name():
    missing = [n for names in GRADED_NAMES.values() for n in names if not hasattr(reference, n)]
    assert not missing


def answer_cells(assignment):
    nb = nbformat.read(notebook_path("solutions", assignment), as_version=4)
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
            and not c.metadata["nbgrader"].get("grade") and c.cell_type == "code"]


@pytest.mark.parametrize("assignment", existing_assignments())
def test_each_graded_name_has_one_answer_cell(assignment):
    for name in GRADED_NAMES[assignment]:
        pattern = re.compile(rf"^(def {name}\(|class {name}[(:])", re.M)
        defining = [c for c in answer_cells(assignment) if pattern.search(c.source)]
        assert len(defining) == 1, (
            f"{name} must be defined in exactly one autograded-answer cell of {assignment}, "
            f"found {len(defining)}")


