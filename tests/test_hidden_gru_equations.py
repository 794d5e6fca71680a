"""The hidden checks of 02_gru_equations pass the reference and correct variants, and name
each mistake in tests/wrong_answers/gru_equations.py."""

import pytest

from helpers import reference
from helpers.checks import CheckFailure
from helpers.hidden import gru_equations as hidden
from tests.hidden_suite import answer_id, assert_names_mistake, assert_sealed
from tests.wrong_answers import gru_equations as answers

CHECKS = {
    "gru_step_scalar": hidden.check_gru_step_scalar,
    "gru_dh_dhprev_scalar": hidden.check_gru_dh_dhprev_scalar,
}

CORRECT = [
    ("gru_step_scalar", answers.gru_step_scalar__numpy),
    ("gru_step_scalar", answers.gru_step_scalar__list),
    ("gru_dh_dhprev_scalar", answers.gru_dh_dhprev_scalar__chain),
    ("gru_dh_dhprev_scalar", answers.gru_dh_dhprev_scalar__complex_step),
]

MISTAKES = [
    ("gru_step_scalar", answers.gru_step_scalar__z_swapped, "z and 1 - z swapped"),
    ("gru_step_scalar", answers.gru_step_scalar__no_reset, "reset gate is missing"),
    ("gru_step_scalar", answers.gru_step_scalar__reset_everything,
     "multiplies the whole pre-activation"),
    ("gru_step_scalar", answers.gru_step_scalar__bias_in_reset, "bias b_h sits inside"),
    ("gru_step_scalar", answers.gru_step_scalar__no_gate_bias, "biases were left out"),
    ("gru_step_scalar", answers.gru_step_scalar__order, "wrong order"),
    ("gru_step_scalar", answers.gru_step_scalar__sigmoid_candidate, "sigmoid instead of tanh"),
    ("gru_step_scalar", answers.gru_step_scalar__no_one_minus_z, "(1 - z) factor is missing"),
    ("gru_dh_dhprev_scalar", answers.gru_dh_dhprev_scalar__gates_constant,
     "treated as constants"),
    ("gru_dh_dhprev_scalar", answers.gru_dh_dhprev_scalar__no_z_path,
     "path through the update gate z is missing"),
    ("gru_dh_dhprev_scalar", answers.gru_dh_dhprev_scalar__no_r_path,
     "path through the reset gate r is missing"),
    ("gru_dh_dhprev_scalar", answers.gru_dh_dhprev_scalar__z_path_sign, "wrong sign"),
    ("gru_dh_dhprev_scalar", answers.gru_dh_dhprev_scalar__sigmoid_derivative,
     "sigma instead of sigma (1 - sigma)"),
    ("gru_dh_dhprev_scalar", answers.gru_dh_dhprev_scalar__tanh_of_preactivation,
     "1 - a^2 instead of 1 - tanh(a)^2"),
    ("gru_dh_dhprev_scalar", answers.gru_dh_dhprev_scalar__no_direct_term,
     "direct term z"),
]

DELEGATING = [
    ("gru_step_scalar", answers.gru_step_scalar__reference),
    ("gru_dh_dhprev_scalar", answers.gru_dh_dhprev_scalar__reference),
]


@pytest.mark.parametrize("name", CHECKS)
def test_reference_passes(name, seal_lifted):
    CHECKS[name](getattr(reference, name))


@pytest.mark.parametrize("name, answer", CORRECT, ids=answer_id)
def test_correct_answers_pass(name, answer):
    CHECKS[name](answer)


@pytest.mark.parametrize("name, answer, phrase", MISTAKES, ids=answer_id)
def test_mistakes_fail_with_their_name(name, answer, phrase):
    assert_names_mistake(CHECKS[name], answer, phrase)


@pytest.mark.parametrize("name, answer", DELEGATING, ids=answer_id)
def test_delegating_to_the_reference_fails(name, answer):
    assert_sealed(CHECKS[name], answer)


def test_a_silent_gate_mistake_is_caught_by_the_extremes():
    """A state that ignores z only where z saturates still fails the z = 1 property."""

    def copies_nothing_when_saturated(x, h_prev, p):
        z, r, h_candidate, h = answers.gru_step_scalar__list(x, h_prev, p)
        return z, r, h_candidate, (h_candidate if z > 1 - 1e-12 else h)

    with pytest.raises(CheckFailure, match="z = 1"):
        hidden._check_gate_extremes("gru_step_scalar", copies_nothing_when_saturated)
