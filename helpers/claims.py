"""What the text says a figure or a number shows, checked on the run that made it.

An experiment cell ends with one ``claim`` per sentence of its "What you should see":

    claim(norms["RNN"][-1] < 1e-20 * norms["RNN"][0],
          "the RNN's gradient falls by more than 20 orders of magnitude over 100 steps",
          ratio=norms["RNN"][-1] / norms["RNN"][0])

A claim that holds prints one line, so a reader sees what was checked; one that does not
stops the notebook with the sentence and the evidence (``make book`` and ``make test``
execute every solution at full size, so they fail). Where a result depends on a seed,
the condition states a margin, not the value this seed happened to give. Under
nbgrader (``NBGRADER_EXECUTION``) experiments shrink and claims about them are not made.
"""

from helpers.runtime import GRADING


class ClaimFailed(AssertionError):
    """A sentence of the notebook's text is not true of this run."""


def _number(value):
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_number, value)) + "]"
    try:
        return f"{value:.4g}"
    except (TypeError, ValueError):
        return repr(value)


def claim(holds, text, **evidence):
    """Check that ``text``, a sentence of the notebook, holds on this run."""
    if GRADING:
        return
    shown = ", ".join(f"{key} = {_number(value)}" for key, value in evidence.items())
    if not holds:
        raise ClaimFailed(f"The text says: {text}.\nThis run does not show it"
                          + (f": {shown}." if shown else "."))
    print(f"✓ {text}" + (f" ({shown})" if shown else ""))
