"""03_gru_numpy: its visible and hidden tests pass the solution, the reference and every
correct variant, and name each mistake of tests/wrong_answers/gru_numpy.py where the student
first meets it (tests/exercise_suite.py). Then what is particular to this notebook: the two
oracles agree, the stored states are PyTorch's, a backward blames its forward only when that
forward is wrong, the probes run without the reference, and each staged input separates the
mistakes it is there for."""

import sys

import numpy as np
import pytest

from helpers import reference
from helpers.checks import CheckFailure
from helpers.hidden import gru_numpy as hidden
from tests.exercise_suite import exercise_suite, namespace_before, run_test_cell
from tests.hidden_suite import assert_random_streams_untouched
from tests.variants import variants
from tests.wrong_answers import gru_numpy as answers

globals().update(exercise_suite("03_gru_numpy"))

ASSIGNMENT = "03_gru_numpy"
MISTAKES = {v.id: v for v in variants("gru_numpy") if v.kind == "mistake"}


def test_reference_agrees_with_pytorch():
    """The two oracles of every check agree, so a failure is the student's."""
    params = hidden.random_params(2, 5, seed=0)
    rng = np.random.default_rng(1)
    X, h0, dH = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 5)), rng.normal(size=(3, 4, 5))
    states, caches = reference.gru_forward(X, h0, params)
    dX, dh0, grads = reference.gru_backward(dH, caches)
    t_states, t_dX, t_dh0, t_grads = hidden.torch_gru(X, h0, params, dH)
    np.testing.assert_allclose(states, t_states, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dX, t_dX, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dh0, t_dh0, rtol=1e-9, atol=1e-12)
    for key in grads:
        np.testing.assert_allclose(grads[key], t_grads[key], rtol=1e-9, atol=1e-12)


def test_the_stored_states_are_pytorchs():
    """SMALL_CASE_STATES of the setup cell are what torch.nn.GRU computes on small_case."""
    setup = namespace_before(ASSIGNMENT, "test_init_gru_params")
    params, X, h0 = setup["small_case"](B=2, T=3, D=3, H=2)
    states = hidden.torch_gru(X, h0, params, np.zeros((2, 3, 2)))[0]
    np.testing.assert_allclose(setup["SMALL_CASE_STATES"], states, rtol=0, atol=1e-15)


@pytest.mark.parametrize("backward, forward_mistake", [
    ("gru_cell_backward", answers.gru_cell_forward__z_swapped),
    ("gru_cell_backward", answers.gru_cell_forward__reset_before),
    ("gru_backward", answers.gru_forward__h0_ignored),
])
def test_a_backward_asks_for_its_forward_first_when_that_forward_is_wrong(backward,
                                                                           forward_mistake):
    """With a wrong forward and a right backward, both parts of the backward's test cell say
    to fix the forward first, and the hidden part names the forward's mistake."""
    forward = backward.replace("backward", "forward")
    phrase = MISTAKES[forward_mistake.__name__].names
    for part in ("visible", "hidden"):
        outcome = run_test_cell(ASSIGNMENT, f"test_{backward}", {forward: forward_mistake},
                                only=(part,))
        assert outcome.part == part and f"fix {forward} first" in outcome.message, str(outcome)
    assert phrase in outcome.message, str(outcome)


@pytest.mark.parametrize("variant", [v for v in MISTAKES.values()
                                     if v.exercise in ("gru_cell_backward", "gru_backward")],
                         ids=lambda v: v.id)
def test_a_backward_mistake_never_blames_a_right_forward(variant):
    for part in ("visible", "hidden"):
        outcome = run_test_cell(ASSIGNMENT, f"test_{variant.exercise}",
                                {variant.exercise: variant.answer}, only=(part,))
        assert outcome.part == part and "forward first" not in outcome.message, str(outcome)


def test_an_unanswered_forward_is_named_in_the_backwards_test():
    def unanswered(*args):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="NotImplementedError"):
        hidden.check_gru_backward(answers.gru_backward, unanswered)
    with pytest.raises(CheckFailure, match="fix gru_cell_forward first"):
        hidden.check_gru_cell_backward(answers.gru_cell_backward, unanswered)


def test_the_probes_run_without_the_reference(monkeypatch):
    """Under grading the kernel has no helpers.reference: every probe works without it."""
    class Absent:
        def __getattr__(self, name):
            raise AssertionError(f"a probe used the reference ({name})")

    monkeypatch.setattr(hidden, "ref", Absent())
    for module in [name for name in sys.modules if name.startswith("helpers.reference")]:
        monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError
    probes = [
        (hidden.probe_init_gru_params, (answers.init_gru_params__one_block,)),
        (hidden.probe_gru_cell_forward, (answers.gru_cell_forward,)),
        (hidden.probe_gru_cell_forward_shapes, (answers.gru_cell_forward,)),
        (hidden.probe_gru_cell_backward, (answers.gru_cell_backward, answers.gru_cell_forward)),
        (hidden.probe_gru_forward, (answers.gru_forward,)),
        (hidden.probe_gru_backward, (answers.gru_backward, answers.gru_forward)),
    ]
    for probe, answered in probes:
        probe(*answered)


def test_checks_leave_the_random_streams_alone():
    assert_random_streams_untouched(
        lambda: hidden.check_init_gru_params(answers.init_gru_params__one_block),
        lambda: hidden.check_gru_forward(answers.gru_forward),
        lambda: hidden.check_gru_backward(answers.gru_backward, answers.gru_forward))


def distinct(outputs, right, at_least=1e-3):
    """Each output differs from the right one, and from every other, somewhere by more than
    ``at_least``."""
    values = [np.asarray(right), *map(np.asarray, outputs.values())]
    return all(np.abs(a - b).max() > at_least for i, a in enumerate(values)
               for b in values[i + 1:])


def test_the_general_forward_case_separates_every_forward_mistake():
    x, h_prev, params = hidden.cell_case(**hidden.CELL_CASES["general"])
    assert distinct(hidden.cell_forward_causes(x, h_prev, params),
                    reference.gru_cell_forward(x, h_prev, params)[0])
    X, h0, params = hidden.sequence_case(**hidden.FORWARD_CASES["general"])
    assert distinct(hidden.sequence_causes(X, h0, params), reference.gru_forward(X, h0, params)[0])


@pytest.mark.parametrize("stage, shown", [
    # z = 1: a factor z (1 - z) or 1 - z silences every path but the direct one, so only a
    # missing direct term shows, and a sigmoid derivative that does not vanish at saturation
    (0, {"no direct", "sigmoid as sigma"}),
    (1, set(hidden.CELL_BACKWARD_MISTAKES.values())),  # U_z = U_r = 0: every mistake shows
])
def test_each_backward_stage_shows_the_mistakes_it_is_for(stage, shown):
    x, h_prev, params, dh = hidden.cell_backward_case(stage)
    _, cache = reference.gru_cell_forward(x, h_prev, params)
    right = reference.gru_cell_backward(dh, cache)

    def changes(mistake):
        dx, dh_prev, grads = hidden.cell_backward_variant(dh, cache, mistake)
        return any(np.abs(a - b).max() > 1e-6 for a, b in
                   [(dx, right[0]), (dh_prev, right[1])]
                   + [(grads[k], right[2][k]) for k in hidden.GRU_KEYS])

    assert {m for m in hidden.CELL_BACKWARD_MISTAKES.values() if changes(m)} == shown
