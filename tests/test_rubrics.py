"""Every written answer of every solution carries a model answer and a rubric whose points
add up to the cell's, in the one format the instructor's guide reads:

    *Model answer.* ...

    **Rubric (2 points).**
    - (1) the remedy, with the reason read off the gap's trend;
    - (1) what underfitting would look like instead.
"""

import nbformat
import pytest

from tools.course import existing_assignments, notebook_path
from tools.guide import parse_written_answer


def written_answers(assignment):
    nb = nbformat.read(notebook_path("solutions", assignment), as_version=4)
    return [cell for cell in nb.cells if cell.cell_type == "markdown"
            and cell.metadata.get("nbgrader", {}).get("solution")
            and cell.metadata["nbgrader"].get("grade")]


@pytest.mark.parametrize("assignment", existing_assignments())
def test_every_written_answer_has_a_model_answer_and_a_rubric(assignment):
    for cell in written_answers(assignment):
        grade_id, points = (cell.metadata["nbgrader"][key] for key in ("grade_id", "points"))
        answer = parse_written_answer(cell.source)
        assert answer.model, f"{assignment}/{grade_id}: no '*Model answer.*' paragraph"
        assert answer.criteria, f"{assignment}/{grade_id}: no '**Rubric (N points).**' list"
        assert answer.points == points == sum(p for p, _ in answer.criteria), (
            f"{assignment}/{grade_id}: the cell is worth {points}, the rubric says "
            f"{answer.points} and its items add up to {sum(p for p, _ in answer.criteria)}")
