"""The graded interface of EXERCISES.md holds, and every graded name is linked to all its
parts: the course's table (from the hidden tests' declarations) agrees with the contract;
each name has a reference in its topic's module, exported by helpers.reference; exactly
one answer cell defines it; each of its hidden tests is called, and only from, the test
cell it declares."""

import re
import subprocess
import sys

import nbformat
import pytest

import helpers.reference as reference
from helpers.hidden import hidden_tests
from tools.course import ASSIGNMENTS, ROOT, existing_assignments, graded_names, notebook_path, topic

CONTRACT = ROOT.parent / "shared" / "EXERCISES.md"
HIDDEN = re.compile(r"^### BEGIN HIDDEN TESTS\n(.*?)^### END HIDDEN TESTS", re.M | re.S)


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
    assert contract_names() == graded_names()


def test_the_course_lists_every_assignment_of_its_table():
    assert tuple(graded_names()) == ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_graded_name_has_a_reference_in_its_topic(assignment):
    module = getattr(reference, topic(assignment))
    for name in graded_names()[assignment]:
        assert getattr(module, name, None) is not None, f"helpers.reference.{topic(assignment)}"
        assert getattr(reference, name) is getattr(module, name), f"helpers.reference.{name}"


def answer_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
            and not c.metadata["nbgrader"].get("grade") and c.cell_type == "code"]


@pytest.mark.parametrize("assignment", existing_assignments())
def test_each_graded_name_has_one_answer_cell(assignment):
    nb = nbformat.read(notebook_path("solutions", assignment), as_version=4)
    for name in graded_names()[assignment]:
        pattern = re.compile(rf"^(def {name}\(|class {name}[(:])", re.M)
        defining = [c for c in answer_cells(nb) if pattern.search(c.source)]
        assert len(defining) == 1, (
            f"{name} must be defined in exactly one autograded-answer cell of {assignment}, "
            f"found {len(defining)}")


@pytest.mark.parametrize("assignment", existing_assignments())
def test_each_hidden_test_runs_in_the_cell_it_declares(assignment):
    """The hidden part of test cell C calls exactly the hidden tests declared for C, on the
    graded name they declare; the setup cell exists (every test cell starts from it)."""
    nb = nbformat.read(notebook_path("solutions", assignment), as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    assert "setup" in cells, f"{assignment} has no cell with grade_id 'setup'"
    tests = hidden_tests(assignment)
    module = f"helpers.hidden.{topic(assignment)}"
    names = {id(value): key for key, value in vars(__import__(module, fromlist=["_"])).items()}
    for test in tests:
        assert test.cell in cells, f"{assignment}: no test cell {test.cell!r}"
        hidden = "\n".join(HIDDEN.findall(cells[test.cell].source))
        call = re.compile(rf"^{names[id(test)]}\({test.exercise}[,)]", re.M)
        assert f"from {module} import" in hidden and call.search(hidden), (
            f"{assignment}/{test.cell} must call {names[id(test)]}({test.exercise}, ...) "
            "in its hidden part")
    declared = {(t.cell, names[id(t)]) for t in tests}
    for cell_id, cell in cells.items():
        for called in re.findall(r"^(check_\w+)\(", "\n".join(HIDDEN.findall(cell.source)), re.M):
            assert (cell_id, called) in declared, f"{assignment}/{cell_id} calls {called}"


def test_the_hidden_tests_import_without_the_reference():
    """The grading kernel has no helpers.reference: importing every hidden-test module (its
    probes) must not need it."""
    modules = [f"helpers.hidden.{topic(a)}" for a in ASSIGNMENTS]
    code = ("import sys; sys.modules['helpers.reference'] = None\n"
            + "".join(f"import {m}\n" for m in modules))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
