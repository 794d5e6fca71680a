"""A claim is a checked fact: every "What you should see" of a solution notebook is followed
by code that asserts it (``helpers.claims.claim``), and every solution, executed at full
size as a reader runs it, makes all its claims come true. A false claim stops the run."""

import re

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook

from helpers.claims import claim
from tools import book
from tools.course import existing_assignments, notebook_path

WHAT_YOU_SHOULD_SEE = re.compile(r"what you should see", re.I)
CHECKED = "✓ "


def claims_after_each_prediction(nb):
    """(text of the prediction, the code cell that should check it) for each markdown cell
    that tells the reader what to see: the next code cell must call claim()."""
    pairs = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and WHAT_YOU_SHOULD_SEE.search(cell.source):
            following = next((c for c in nb.cells[index + 1:] if c.cell_type == "code"), None)
            pairs.append((cell.source[:80], following))
    return pairs


@pytest.mark.parametrize("assignment", existing_assignments())
def test_every_prediction_is_followed_by_its_claims(assignment):
    nb = nbformat.read(notebook_path("solutions", assignment), as_version=4)
    unchecked = [text for text, code in claims_after_each_prediction(nb)
                 if code is None or "claim(" not in code.source]
    assert not unchecked, f"{assignment}: predictions with no claim() after them: {unchecked}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", existing_assignments())
def test_every_claim_holds_at_full_size(assignment):
    try:
        nb = book.execute(notebook_path("solutions", assignment))
    except CellExecutionError as error:
        message = str(error)
        claim = message[message.find("ClaimFailed"):] if "ClaimFailed" in message else message
        pytest.fail(f"{assignment} did not run through:\n{claim[-2000:]}", pytrace=False)
    printed = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                      for out in cell.outputs if out.output_type == "stream")
    predictions = claims_after_each_prediction(nb)
    assert printed.count(CHECKED) >= len(predictions), (
        f"{assignment}: {len(predictions)} predictions, {printed.count(CHECKED)} claims checked")


@pytest.mark.slow
def test_a_false_claim_stops_the_notebook(tmp_path):
    path = tmp_path / "claims.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(
        "from helpers.claims import claim\n"
        "claim(2 > 1, 'two exceeds one')\n"
        "claim(1 > 2, 'one exceeds two', one=1, two=2)\n"
        "print('after the false claim')")]), path)
    with pytest.raises(CellExecutionError) as failure:
        book.execute(path)
    message = str(failure.value)
    assert "The text says: one exceeds two." in message
    assert "This run does not show it: one = 1, two = 2." in message


def test_evidence_reads_at_four_significant_digits(capsys):
    claim(True, "a list of numbers", std=[0.09990677388069309, 0.2131518687], n=(3, 1e-20))
    shown = capsys.readouterr().out
    assert shown == "✓ a list of numbers (std = [0.09991, 0.2132], n = [3, 1e-20])\n"
