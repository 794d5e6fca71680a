"""Judge the hidden tests in the grader, where the student's code cannot reach.

While a submission runs, its kernel only probes: each hidden test appends what the
student's code did to a records file (``helpers.hidden``). ``JudgeHiddenTests`` runs
after the notebook, in the grading process: for every test cell that ran without an
error, it judges each record of that cell's hidden test against the reference. A failed
judgement, or a missing or unreadable record, becomes the cell's error output, which
nbgrader scores 0 and the feedback page shows. A submission that patches the checks in
its own kernel (``helpers.checks``, ``helpers.hidden``, ``sys.modules``, numpy or torch)
changes nothing here: the judges are this process's own, imported before any
submission ran.
"""

import os

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade

from helpers.checks import CheckFailure
from helpers.hidden import decode, hidden_tests
from helpers.hidden.codec import MAX_BYTES, CodecError

MAX_RECORDS_PER_CELL = 20
JUDGED = "CheckFailure"  # the ename of a failed judgement, as the check would have raised


def read_records(path):
    """``{cell: [what its hidden test saw, ...]}`` from a records file; lines that are not
    records are skipped (their cell then lacks a record and fails)."""
    records = {}
    if not path or not os.path.exists(path):
        return records
    if os.path.getsize(path) > MAX_BYTES:
        return records
    with open(path) as file:
        for line in file:
            try:
                record = decode(line)
                cell, seen = record["cell"], record["seen"]
            except (CodecError, KeyError, TypeError, ValueError):
                continue
            if isinstance(cell, str):
                records.setdefault(cell, []).append(seen)
    return records


def verdict(test, seen_list):
    """None when every record of ``test`` passes its judge, else the failure message."""
    if not seen_list:
        return (f"{test.exercise}: the hidden test did not record what your code did, "
                "so it cannot be graded (was the test cell's code changed or bypassed?).")
    if len(seen_list) > MAX_RECORDS_PER_CELL:
        return f"{test.exercise}: the hidden test ran {len(seen_list)} times; it runs once."
    for seen in seen_list:
        try:
            test.judge(seen)
        except CheckFailure as failure:
            return str(failure)
        except Exception as error:  # noqa: BLE001 - what came back is the student's data
            return (f"{test.exercise} is wrong.\n  The hidden test could not read what your "
                    f"code returned ({type(error).__name__}: {error}"[:600] + ").")
    return None


def failed(cell):
    return any(output.output_type == "error" for output in cell.get("outputs", []))


def error_output(message):
    return NotebookNode(output_type="error", ename=JUDGED, evalue=message,
                        traceback=[f"{JUDGED}: {message}"])


class JudgeHiddenTests(NbGraderPreprocessor):
    """Judge every recorded hidden test; the records file is the one GuardedExecute gave
    the kernel (``resources["hidden_records"]``)."""

    enabled = True

    def preprocess(self, nb, resources):
        tests = {test.cell: test for test in self._tests(resources)}
        path = resources.pop("hidden_records", None)
        records = read_records(path)
        if path and os.path.exists(path):
            os.remove(path)
        for cell in nb.cells:
            test = tests.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
            if test is None or cell.cell_type != "code" or not is_grade(cell) or failed(cell):
                continue
            message = verdict(test, records.get(test.cell, []))
            if message:
                cell.outputs.append(error_output(message))
        return nb, resources

    def _tests(self, resources):
        return hidden_tests(resources.get("nbgrader", {}).get("assignment"))
