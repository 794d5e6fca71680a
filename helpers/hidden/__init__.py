"""Hidden tests: what the hidden half of each autograded test cell runs.

A hidden test is declared once, beside its notebook's other hidden tests in
``helpers/hidden/<topic>.py``::

    check_sigmoid = hidden_test("sigmoid", "test_sigmoid", probe_sigmoid, judge_sigmoid)

and its test cell calls it: ``check_sigmoid(sigmoid)``. The *probe* runs the student's
code on the test's inputs and returns what it saw (``helpers.hidden.observe.call``); the
*judge* compares that with the reference and names the mistake that fits.

While the course grades (``make grade``, ``nbgrader autograde``), the kernel only probes:
what it saw is appended, as data, to the file that $COURSE_HIDDEN_RECORDS names, and the
grader, a process the student's code cannot reach, judges it (``autograde.judge``). The
kernel then needs no reference answer at all. Anywhere else (pytest, a solution run by
hand, ``nbgrader validate``) a hidden test probes and judges on the spot, through the same
encoding.

Like the reference, this package is the instructor's: the student bundle leaves it out.
"""

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from helpers.hidden import codec
from helpers.hidden.observe import Seen

RECORDS = "COURSE_HIDDEN_RECORDS"


class _Reference:
    """``helpers.reference``, imported when a judge first uses it: probes never do, so
    the grading kernel never needs it."""

    def __getattr__(self, name):
        return getattr(importlib.import_module("helpers.reference"), name)


reference = _Reference()


@dataclass(frozen=True)
class HiddenTest:
    exercise: str                    # the graded name (EXERCISES.md)
    cell: str                        # grade_id of the test cell that calls it
    probe: Callable                  # the student's answer(s) -> what it did (data, Seen)
    judge: Callable                  # what it did -> None, or a CheckFailure

    def __call__(self, answer, *more):
        """Probe ``answer`` (and the other answers the probe takes, such as the function
        it builds on), then record or judge what it did."""
        seen = self.probe(answer, *more)
        path = os.environ.get(RECORDS)
        if path:
            with open(path, "a") as records:
                records.write(codec.dumps({"cell": self.cell, "seen": seen}) + "\n")
            return
        self.judge(decode(codec.dumps(seen)))


def hidden_test(exercise, cell, probe, judge):
    """Declare the hidden test that test cell ``cell`` runs on the graded name ``exercise``."""
    return HiddenTest(exercise, cell, probe, judge)


def decode(text):
    return codec.loads(text, seen_class=Seen)


def hidden_tests(assignment):
    """The hidden tests of ``assignment``, in the order its module declares them (none for
    an assignment without a module here, whose hidden tests are plain asserts)."""
    from tools.course import topic

    name = f"helpers.hidden.{topic(assignment)}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return []
        raise
    return [value for value in vars(module).values() if isinstance(value, HiddenTest)]
