"""A released notebook and a correct answer to its first exercise, taken from its solution:
what the browser and student-bundle tests paste in place of the stub."""

from dataclasses import dataclass

import nbformat
import pytest

from tools.book import reading_source
from tools.course import existing_assignments, notebook_path

# Two short exercises and no training: the quickest notebook to drive.
PREFERRED = "02_gru_equations"


@dataclass(frozen=True)
class FirstExercise:
    assignment: str
    answer_index: int  # the answer cell, in the released notebook
    test_index: int  # the autograded test cell that checks it
    answer: str  # the solution's answer, without nbgrader's markers


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def is_answer(cell):
    return cell.cell_type == "code" and nbgrader_meta(cell).get("solution") is True


def is_test(cell):
    return cell.cell_type == "code" and nbgrader_meta(cell).get("grade") is True


def first_exercise():
    """The first exercise of the preferred released notebook (or of the first released one)."""
    released = existing_assignments("notebooks")
    if not released:
        pytest.skip("notebooks/ holds no released notebook yet: run `make release`")
    assignment = PREFERRED if PREFERRED in released else released[0]
    cells = nbformat.read(notebook_path("notebooks", assignment), as_version=4).cells
    answer_index = next(i for i, cell in enumerate(cells) if is_answer(cell))
    test_index = next(i for i in range(answer_index + 1, len(cells)) if is_test(cells[i]))
    grade_id = nbgrader_meta(cells[answer_index])["grade_id"]
    solution = nbformat.read(notebook_path("solutions", assignment), as_version=4)
    answer = next(c.source for c in solution.cells if nbgrader_meta(c).get("grade_id") == grade_id)
    return FirstExercise(assignment, answer_index, test_index, reading_source(answer))
