"""The hidden checks of 03_gru_numpy pass the reference and correct variants (fused gates,
tuple caches, recomputing backward, inline BPTT), and name each mistake in
tests/wrong_answers/gru_numpy.py."""


import numpy as np
import pytest

from helpers import reference
from helpers.checks import CheckFailure
from helpers.hidden import gru_numpy as hidden
from tests.hidden_suite import (
    answer_id,
    assert_names_mistake,
    assert_random_streams_untouched,
    assert_sealed,
)
from tests.wrong_answers import gru_numpy as answers


def run_check(name, answer):
    """The hidden check of ``name`` on ``answer`` (a backward with the forward it needs)."""
    if name == "gru_cell_backward":
        return hidden.check_gru_cell_backward(
            answer, answers.FORWARD_OF.get(answer, answers.gru_cell_forward))
    if name == "gru_backward":
        return hidden.check_gru_backward(
            answer, answers.FORWARD_OF.get(answer, answers.gru_forward))
    return getattr(hidden, f"check_{name}")(answer)


NAMES = ["init_gru_params", "gru_cell_forward", "gru_cell_backward", "gru_forward",
         "gru_backward"]


def test_reference_passes(seal_lifted):
    hidden.check_init_gru_params(reference.init_gru_params)
    hidden.check_gru_cell_forward(reference.gru_cell_forward)
    hidden.check_gru_cell_backward(reference.gru_cell_backward, reference.gru_cell_forward)
    hidden.check_gru_forward(reference.gru_forward)
    hidden.check_gru_backward(reference.gru_backward, reference.gru_forward)


CORRECT = [
    ("init_gru_params", answers.init_gru_params__one_block),
    ("gru_cell_forward", answers.gru_cell_forward),
    ("gru_cell_forward", answers.gru_cell_forward__fused),
    ("gru_cell_forward", answers.gru_cell_forward__recompute),
    ("gru_cell_backward", answers.gru_cell_backward),
    ("gru_cell_backward", answers.gru_cell_backward__fused),
    ("gru_cell_backward", answers.gru_cell_backward__recompute),
    ("gru_forward", answers.gru_forward),
    ("gru_forward", answers.gru_forward__all_inputs_at_once),
    ("gru_forward", answers.gru_forward__recompute),
    ("gru_backward", answers.gru_backward),
    ("gru_backward", answers.gru_backward__inline),
    ("gru_backward", answers.gru_backward__recompute),
]

MISTAKES = [
    ("init_gru_params", answers.init_gru_params__global_random, "global np.random"),
    ("init_gru_params", answers.init_gru_params__bound_input_size,
     "1/sqrt(input_size) instead of 1/sqrt(hidden_size)"),
    ("init_gru_params", answers.init_gru_params__bound_one_over_h, "1/H instead of 1/sqrt(H)"),
    ("init_gru_params", answers.init_gru_params__normal, "not drawn from a uniform"),
    ("init_gru_params", answers.init_gru_params__zero_biases, "all zeros"),
    ("init_gru_params", answers.init_gru_params__shared_draws, "same values"),
    ("init_gru_params", answers.init_gru_params__float32, "float64"),
    ("init_gru_params", answers.init_gru_params__transposed, "expected shape (16, 3)"),
    ("gru_cell_forward", answers.gru_cell_forward__z_swapped, "z and 1 - z swapped"),
    ("gru_cell_forward", answers.gru_cell_forward__reset_before,
     "reset gate is applied before the recurrent matrix"),
    ("gru_cell_forward", answers.gru_cell_forward__no_reset, "reset gate is missing"),
    ("gru_cell_forward", answers.gru_cell_forward__no_biases, "biases"),
    ("gru_cell_forward", answers.gru_cell_forward__u_not_transposed, "without transpose"),
    ("gru_cell_forward", answers.gru_cell_forward__w_not_transposed, "x @ W.T"),
    ("gru_cell_forward", answers.gru_cell_forward__in_place, "in place"),
    ("gru_cell_backward", answers.gru_cell_backward__gates_constant, "treated as constants"),
    ("gru_cell_backward", answers.gru_cell_backward__no_z_path,
     "gradient through the update gate z is dropped"),
    ("gru_cell_backward", answers.gru_cell_backward__no_r_path,
     "gradient through the reset gate r is dropped"),
    ("gru_cell_backward", answers.gru_cell_backward__dz_sign, "wrong sign"),
    ("gru_cell_backward", answers.gru_cell_backward__sigmoid_derivative,
     "sigma instead of sigma * (1 - sigma)"),
    ("gru_cell_backward", answers.gru_cell_backward__tanh_of_preactivation,
     "uses the pre-activation"),
    ("gru_cell_backward", answers.gru_cell_backward__u_h_without_r, "forgets the reset gate"),
    ("gru_cell_backward", answers.gru_cell_backward__no_direct_term, "misses the direct term"),
    ("gru_cell_backward", answers.gru_cell_backward__only_direct_term,
     "keeps only the direct term"),
    ("gru_cell_backward", answers.gru_cell_backward__averaged_over_batch,
     "averaged over the batch"),
    ("gru_cell_backward", answers.gru_cell_backward__w_transposed,
     "the weight gradient is transposed"),
    ("gru_cell_backward", answers.gru_cell_backward__u_transposed, "U gradients are transposed"),
    ("gru_cell_backward", answers.gru_cell_backward__bias_not_summed, "not summed over the batch"),
    ("gru_cell_backward", answers.gru_cell_backward__missing_key, "missing ['b_h']"),
    ("gru_cell_backward", answers.gru_cell_backward__in_place, "in place"),
    ("gru_forward", answers.gru_forward__state_not_carried, "not carried from step to step"),
    ("gru_forward", answers.gru_forward__h0_ignored, "h0 is ignored"),
    ("gru_forward", answers.gru_forward__time_major, "stacked time first"),
    ("gru_forward", answers.gru_forward__reversed, "reverse time order"),
    ("gru_forward", answers.gru_forward__z_swapped_cell, "in the cell, z and 1 - z swapped"),
    ("gru_backward", answers.gru_backward__not_carried, "dh is not carried"),
    ("gru_backward", answers.gru_backward__last_state_only, "only the gradient of the last state"),
    ("gru_backward", answers.gru_backward__overwrites, "overwritten at each step"),
    ("gru_backward", answers.gru_backward__averaged_over_time, "averaged over time"),
    ("gru_backward", answers.gru_backward__dx_reversed, "reversed time order"),
    ("gru_backward", answers.gru_backward__no_dh0, "dh0 is not returned"),
    ("gru_backward", answers.gru_backward__time_major, "stacked time first"),
    ("gru_backward", answers.gru_backward__in_place, "in place"),
]

DELEGATING = [
    ("init_gru_params", answers.init_gru_params__reference, "helpers.reference"),
    ("gru_cell_forward", answers.gru_cell_forward__torch, "torch.nn.GRUCell"),
    ("gru_cell_backward", answers.gru_cell_backward__reference, "helpers.reference"),
    ("gru_forward", answers.gru_forward__torch, "torch.nn.GRU"),
    ("gru_backward", answers.gru_backward__reference, "helpers.reference"),
]


@pytest.mark.parametrize("name, answer", CORRECT, ids=answer_id)
def test_correct_answers_pass(name, answer):
    run_check(name, answer)


@pytest.mark.parametrize("name, answer, phrase", MISTAKES, ids=answer_id)
def test_mistakes_fail_with_their_name(name, answer, phrase):
    assert_names_mistake(lambda a: run_check(name, a), answer, phrase)


@pytest.mark.parametrize("name, answer, called", DELEGATING, ids=answer_id)
def test_delegating_fails_with_the_seal(name, answer, called):
    assert_sealed(lambda a: run_check(name, a), answer, called)


@pytest.mark.parametrize("backward_name, forward_mistake", [
    ("gru_cell_backward", answers.gru_cell_forward__z_swapped),
    ("gru_backward", answers.gru_forward__h0_ignored),
])
def test_a_backward_asks_for_its_forward_first(backward_name, forward_mistake):
    backward = answers.gru_cell_backward if backward_name == "gru_cell_backward" \
        else answers.gru_backward
    check = getattr(hidden, f"check_{backward_name}")
    with pytest.raises(CheckFailure, match="Fix gru_(cell_)?forward first"):
        check(backward, forward_mistake)


def test_an_unanswered_backward_names_its_forward():
    def unanswered(*args):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="NotImplementedError"):
        hidden.check_gru_backward(answers.gru_backward, unanswered)


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


def test_checks_leave_the_random_streams_alone():
    assert_random_streams_untouched(
        lambda: hidden.check_init_gru_params(answers.init_gru_params__one_block),
        lambda: hidden.check_gru_forward(answers.gru_forward))
