"""Calling a student's code the one way the hidden tests do, and reading what it did.

A hidden test has two halves. Its *probe* runs in the student's kernel and calls the
student's code only through ``call``, which returns a ``Seen``: what came back or what
was raised, the warnings, the arguments changed in place and the forbidden calls made.
Its *judge* runs in the grader and asks ``seen.value(name)`` for the result: that raises
a ``CheckFailure`` naming the function for each of those faults, in the order in which
they explain the most (a delegation, an exception, a changed input, a warning).
"""

import linecache
import os
import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from helpers.checks import fail
from helpers.hidden.seal import DELEGATION_HINT, EVERYTHING, delegation_message, watching

HELPERS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


@dataclass
class Seen:
    """What one call of the student's code did."""

    result: object = None
    raised: tuple | None = None      # (exception type, message, the student's line)
    warned: list = field(default_factory=list)    # (category, message)
    changed: list = field(default_factory=list)   # labels of arguments changed in place
    forbidden: list = field(default_factory=list)  # forbidden calls made (the seal)

    # -- what crosses to the grader (helpers.hidden.codec)
    def __seen__(self):
        return {"result": self.result, "raised": self.raised, "warned": self.warned,
                "changed": self.changed, "forbidden": self.forbidden}

    @classmethod
    def from_record(cls, data):
        if not isinstance(data, dict) or set(data) != {"result", "raised", "warned",
                                                       "changed", "forbidden"}:
            raise ValueError("not the record of a call")
        raised = data["raised"]
        if raised is not None and not (isinstance(raised, tuple) and len(raised) == 3
                                       and all(isinstance(part, str) for part in raised)):
            raise ValueError("malformed exception")
        for key in ("warned", "changed", "forbidden"):
            if not isinstance(data[key], list):
                raise ValueError(f"malformed {key}")
        return cls(data["result"], raised, [tuple(w) for w in data["warned"]],
                   [str(c) for c in data["changed"]], [str(f) for f in data["forbidden"]])

    # -- the judge's side
    @property
    def ok(self):
        return self.raised is None

    def value(self, name, *, warnings_allowed=False, hint=None):
        """The result, or a failure naming what went wrong first."""
        if self.forbidden:
            fail(name, delegation_message(self.forbidden), DELEGATION_HINT)
        if self.raised is not None:
            kind, message, line = self.raised
            fail(name, f"it raised {kind}: {message}"[:600],
                 f"at: {line}" if line else "", hint)
        if self.changed:
            fail(name, f"it changed {', '.join(self.changed)} in place.",
                 "Compute new arrays (w = w - ...) instead of updating the ones you were "
                 "given (w -= ..., w[...] = ...).")
        if self.warned and not warnings_allowed:
            category, message = self.warned[0]
            fail(name, f"it emitted a {category}: {message}.",
                 "A test cell that prints a warning scores 0 under nbgrader.")
        return self.result

    def raises(self, name, exception="ValueError", why=""):
        """Pass if the call raised ``exception`` with a message, else fail naming why."""
        if self.forbidden:
            fail(name, delegation_message(self.forbidden), DELEGATION_HINT)
        if self.raised is None:
            fail(name, f"{why} should raise {exception} with a message that says what is "
                       "wrong, but nothing was raised.")
        kind, message, _ = self.raised
        if kind != exception:
            fail(name, f"{why} should raise {exception}, but it raised {kind}: {message}"[:600])
        if not message.strip():
            fail(name, f"it raised {exception} without a message: say what is wrong.")


def _frozen(value, depth=0):
    """A copy of an argument to compare with after the call: arrays and tensors copied,
    dicts, lists and tuples copied through (three levels), anything else kept as is."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if depth < 3 and isinstance(value, dict):
        return {key: _frozen(item, depth + 1) for key, item in value.items()}
    if depth < 3 and isinstance(value, list | tuple):
        return type(value)(_frozen(item, depth + 1) for item in value) if isinstance(
            value, list) else tuple(_frozen(item, depth + 1) for item in value)
    return value


def _changes(now, before, label, depth=0):
    """Labels of the parts of an argument that differ from its frozen copy."""
    if isinstance(before, np.ndarray | torch.Tensor):
        if not _same(now, before):
            yield label
    elif depth < 3 and isinstance(before, dict):
        if not isinstance(now, dict) or set(now) != set(before):
            yield f"the keys of {label}"
            return
        for key in before:
            yield from _changes(now[key], before[key], f"{key!r} of {label}", depth + 1)
    elif depth < 3 and isinstance(before, list | tuple):
        if len(now) != len(before):
            yield f"the length of {label}"
            return
        for index, (item, old) in enumerate(zip(now, before, strict=True)):
            yield from _changes(item, old, f"entry {index} of {label}", depth + 1)
    elif isinstance(before, int | float | str | bool) and not (
            type(now) is type(before) and (now == before or now != now and before != before)):
        yield label


def _same(now, before):
    if isinstance(before, torch.Tensor):
        if not isinstance(now, torch.Tensor):
            return False
        now = now.detach()
        return now.shape == before.shape and now.dtype == before.dtype and bool(
            torch.equal(now.nan_to_num(), before.nan_to_num())
            and torch.equal(now.isnan(), before.isnan()) if now.is_floating_point()
            else torch.equal(now, before))
    return (isinstance(now, np.ndarray) and now.shape == before.shape
            and np.array_equal(now, before, equal_nan=before.dtype.kind in "fc"))


def _arguments(args, kwargs):
    return ([(f"argument number {i}", a) for i, a in enumerate(args, start=1)]
            + [(f"argument {key}", a) for key, a in kwargs.items()])


def _student_line(error):
    """The last line of the traceback that is the student's (not the course's, not a
    library's)."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        name = frame.filename
        if name.startswith(HELPERS_DIR) or "site-packages" in name or "/lib/python" in name:
            continue
        return (frame.line or linecache.getline(name, frame.lineno)).strip()[:200]
    return ""


def call(fn, *args, forbid=EVERYTHING, watch=True, **kwargs):
    """Call the student's ``fn(*args, **kwargs)`` and return what it did, as a ``Seen``.

    The seal records forbidden calls (``forbid``); with ``watch`` every argument (arrays,
    tensors, numbers, and the dicts, lists and tuples that hold them) is compared before
    and after the call. An exception becomes the record's
    ``raised``; KeyboardInterrupt and SystemExit pass through.
    """
    watched = _arguments(args, kwargs) if watch else []
    before = [_frozen(value) for _, value in watched]
    seen = Seen()
    with warnings.catch_warnings(record=True) as caught, np.errstate(
            over="warn", divide="warn", invalid="warn"), watching(forbid) as forbidden:
        warnings.simplefilter("always")
        try:
            seen.result = fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the student's code may raise anything
            seen.raised = (type(error).__name__, str(error)[:1000], _student_line(error))
    seen.forbidden = list(forbidden)
    seen.warned = [(w.category.__name__, str(w.message)[:300]) for w in caught]
    seen.changed = [change for (label, value), old in zip(watched, before, strict=True)
                    for change in _changes(value, old, label)]
    return seen
