"""The proof every notebook's tests owe: one suite, made for an assignment by
``exercise_suite(assignment)`` and used by each ``tests/test_hidden_<topic>.py``.

It runs a notebook's own test cells in this process, as a kernel restarted before that
cell would: the setup cell, the answer cells above the test (the solution's, with one
answer replaced by a variant from ``tests/wrong_answers/<topic>.py``), then the test
cell's visible part and its hidden part. It asserts that

- the solution, the reference and every correct variant pass every test cell;
- each mistake fails first where its declaration says (the visible part, or the hidden
  part when the visible one cannot see it) with a message that names it; the hidden part
  alone names it too;
- each delegating answer is caught by the seal;
- run as the grading kernel runs them (records only, no reference answers importable),
  the hidden parts record what the solution did, and the grader's judge accepts it;
- every graded name has a hidden test, correct variants, mistakes and a delegate.
"""

import contextlib
import functools
import io
import re
import sys
from dataclasses import dataclass

import nbformat
import pytest

from autograde.judge import read_records, verdict
from helpers.hidden import RECORDS, hidden_tests, seal
from tests.variants import variants
from tools.course import notebook_path, topic

HIDDEN = re.compile(r"^### BEGIN HIDDEN TESTS\n(.*?)^### END HIDDEN TESTS\n?", re.M | re.S)


def meta(cell):
    return cell.metadata.get("nbgrader", {})


@functools.cache
def solution(assignment):
    return nbformat.read(notebook_path("solutions", assignment), as_version=4)


def parts(source):
    """(visible, hidden) halves of a test cell's source."""
    hidden = "\n".join(HIDDEN.findall(source))
    return HIDDEN.sub("", source), hidden


@dataclass
class Outcome:
    part: str | None     # "visible", "hidden", or None when the cell passed
    message: str = ""

    def __str__(self):
        return f"{self.part or 'passed'}: {self.message}"


def _run(source, namespace, label):
    exec(compile(source, f"<{label}>", "exec"), namespace)  # noqa: S102 - the course's cells


def namespace_before(assignment, cell_id, answers=None):
    """A fresh namespace holding what a restarted kernel has before test cell ``cell_id``:
    the setup cell and every answer cell above it, then ``answers`` (name -> object)."""
    namespace = {"__name__": "__main__"}
    for cell in solution(assignment).cells:
        if meta(cell).get("grade_id") == cell_id:
            break
        if cell.cell_type == "code" and (meta(cell).get("grade_id") == "setup" or (
                meta(cell).get("solution") and not meta(cell).get("grade"))):
            with contextlib.redirect_stdout(io.StringIO()):
                _run(cell.source, namespace, f"{assignment} {meta(cell).get('grade_id')}")
    else:
        raise LookupError(f"{assignment} has no cell {cell_id!r}")
    namespace.update(answers or {})
    return namespace


def test_cell(assignment, cell_id):
    return next(c for c in solution(assignment).cells if meta(c).get("grade_id") == cell_id)


def run_test_cell(assignment, cell_id, answers=None, only=("visible", "hidden")):
    """The Outcome of test cell ``cell_id`` with ``answers`` in place of the solution's."""
    namespace = namespace_before(assignment, cell_id, answers)
    for part, source in zip(("visible", "hidden"), parts(test_cell(assignment, cell_id).source),
                            strict=True):
        if part not in only:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                _run(source, namespace, f"{assignment} {cell_id} ({part})")
        except Exception as error:  # noqa: BLE001 - any failure is the outcome
            return Outcome(part, f"{type(error).__name__}: {error}")
    return Outcome(None)


def first_failure(assignment, cells, answers, only=("visible", "hidden")):
    """The first failing Outcome over ``cells`` (in notebook order), or a passing one."""
    for cell_id in cells:
        outcome = run_test_cell(assignment, cell_id, answers, only)
        if outcome.part:
            return outcome
    return Outcome(None)


def exercise_suite(assignment):
    """``{name: test function}`` proving the tests of ``assignment``: assign them into a
    test module's globals."""
    tests = hidden_tests(assignment)
    declared = variants(topic(assignment))
    names = list(dict.fromkeys(test.exercise for test in tests))
    cells = {name: [t.cell for t in tests if t.exercise == name] for name in names}
    order = [meta(c).get("grade_id") for c in solution(assignment).cells]
    for name in names:
        cells[name].sort(key=order.index)

    def of_kind(kind):
        return [pytest.param(v, id=v.id) for v in declared if v.kind == kind]

    def test_every_graded_name_has_its_hidden_test_and_variants():
        for kind in ("correct", "mistake", "delegates"):
            missing = set(names) - {v.exercise for v in declared if v.kind == kind}
            assert not missing, f"no {kind} variant for {sorted(missing)}"
        unknown = {v.id for v in declared if v.exercise not in names}
        assert not unknown, f"variants of no exercise of {assignment}: {sorted(unknown)}"

    def test_visible_tests_give_no_fixed_hint():
        """A hint printed whatever the evidence is no cause: visible checks name a mistake
        only through ``causes=``, which is printed when the output fits it."""
        fixed = [name for name in names for cell in cells[name]
                 if "hint=" in parts(test_cell(assignment, cell).source)[0]]
        assert not fixed, f"visible tests with hint=: {fixed}"

    def test_the_solution_passes_every_test_cell():
        for name in names:
            assert str(first_failure(assignment, cells[name], {})) == "passed: "

    @pytest.mark.parametrize("name", names)
    def test_the_reference_passes_every_test_cell(name, monkeypatch):
        from helpers import reference

        monkeypatch.setattr(seal, "_forbidden", lambda *args: None)  # it lives in reference/
        outcome = first_failure(assignment, cells[name], {name: getattr(reference, name)})
        assert outcome.part is None, str(outcome)

    @pytest.mark.parametrize("variant", of_kind("correct"))
    def test_a_correct_answer_passes_every_test_cell(variant):
        outcome = first_failure(assignment, cells[variant.exercise], variant.answers)
        assert outcome.part is None, str(outcome)

    @pytest.mark.parametrize("variant", of_kind("mistake"))
    def test_a_mistake_is_named_where_it_is_first_met(variant):
        outcome = first_failure(assignment, cells[variant.exercise],
                                {variant.exercise: variant.answer})
        assert outcome.part == variant.seen_by, str(outcome)
        assert variant.names in outcome.message, str(outcome)

    @pytest.mark.parametrize("variant", of_kind("mistake"))
    def test_a_mistake_is_named_by_the_hidden_test(variant):
        outcome = first_failure(assignment, cells[variant.exercise],
                                {variant.exercise: variant.answer}, only=("hidden",))
        assert outcome.part == "hidden" and variant.names in outcome.message, str(outcome)

    def test_the_grading_kernel_records_and_the_grader_judges(tmp_path, monkeypatch):
        path = tmp_path / "records.jsonl"
        with monkeypatch.context() as kernel:
            kernel.setenv(RECORDS, str(path))
            for name in [n for n in sys.modules if n.startswith("helpers.reference")]:
                kernel.setitem(sys.modules, name, None)  # import helpers.reference fails
            for test in tests:
                namespace = namespace_before(assignment, test.cell)
                _run(parts(test_cell(assignment, test.cell).source)[1], namespace, test.cell)
        records = read_records(path)
        for test in tests:
            assert verdict(test, records.get(test.cell, [])) is None, test.cell

    @pytest.mark.parametrize("variant", of_kind("delegates"))
    def test_a_delegation_is_caught_by_the_seal(variant):
        outcome = first_failure(assignment, cells[variant.exercise],
                                {variant.exercise: variant.answer}, only=("hidden",))
        assert "from scratch" in outcome.message and variant.names in outcome.message, str(
            outcome)

    return {test.__name__: test for test in (
        test_every_graded_name_has_its_hidden_test_and_variants,
        test_visible_tests_give_no_fixed_hint, test_the_solution_passes_every_test_cell,
        test_the_reference_passes_every_test_cell, test_a_correct_answer_passes_every_test_cell,
        test_a_mistake_is_named_where_it_is_first_met, test_a_mistake_is_named_by_the_hidden_test,
        test_a_delegation_is_caught_by_the_seal,
        test_the_grading_kernel_records_and_the_grader_judges)}
