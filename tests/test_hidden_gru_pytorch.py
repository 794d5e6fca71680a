"""The hidden checks of 04_gru_pytorch pass the reference and correct variants, and name
each mistake in tests/wrong_answers/gru_pytorch.py."""

import pytest

from helpers import reference
from helpers.hidden import gru_pytorch as hidden
from tests.hidden_suite import answer_id, assert_names_mistake, assert_sealed
from tests.wrong_answers import gru_pytorch as answers

CHECKS = {
    "GRUCell": hidden.check_GRUCell,
    "GRU": hidden.check_GRU,
    "gru_params_to_torch": hidden.check_gru_params_to_torch,
    "train_epoch": hidden.check_train_epoch,
}

CORRECT = [
    ("GRUCell", answers.GRUCell__fused),
    ("GRUCell", answers.GRUCell__plain),
    ("GRU", answers.GRU__preallocated),
    ("GRU", answers.Loop),
    ("gru_params_to_torch", answers.gru_params_to_torch__recurrent_biases),
    ("gru_params_to_torch", answers.gru_params_to_torch__numpy_first),
    ("train_epoch", answers.train_epoch__manual_clip),
]

MISTAKES = [
    ("GRUCell", answers.GRUCell__z_swapped, "z and 1 - z swapped"),
    ("GRUCell", answers.GRUCell__reset_before_matrix, "reset gate applied before the matrix"),
    ("GRUCell", answers.GRUCell__detached_state, "no gradient flows back through time"),
    ("GRUCell", answers.GRUCell__no_biases, "biases b_z, b_r, b_h are left out"),
    ("GRUCell", answers.GRUCell__no_candidate_bias, "bias b_h of the candidate is left out"),
    ("GRUCell", answers.GRUCell__no_reset, "candidate is not reset"),
    ("GRUCell", answers.GRUCell__plain_tensors, "wrap each in nn.Parameter"),
    ("GRUCell", answers.GRUCell__other_names, "expected parameters named"),
    ("GRUCell", answers.GRUCell__bound_from_input_size, "beyond the bound 1/sqrt(H)"),
    ("GRUCell", answers.GRUCell__bound_1_over_H, "well inside the bound"),
    ("GRUCell", answers.GRUCell__normal_init, "beyond the bound 1/sqrt(H)"),
    ("GRUCell", answers.GRUCell__zero_init, "holds one value everywhere"),
    ("GRU", answers.GRU__wrong_cell, "fix GRUCell first"),
    ("GRU", answers.GRU__detached_state, "no gradient flows through time"),
    ("GRU", answers.GRU__ignores_h0, "h0 is ignored"),
    ("GRU", answers.GRU__states_before_step, "states before each step"),
    ("GRU", answers.GRU__last_is_first, "h_last is the first state"),
    ("GRU", answers.GRU__no_self_cell, "store a GRUCell as self.cell"),
    ("GRU", answers.GRU__float32_zeros, "dtype"),
    ("gru_params_to_torch", answers.gru_params_to_torch__order_zrh, "gate order z, r, n"),
    ("gru_params_to_torch", answers.gru_params_to_torch__b_h_in_bias_hh,
     "b_h is put in bias_hh_l0"),
    ("gru_params_to_torch", answers.gru_params_to_torch__biases_twice, "biases are given twice"),
    ("gru_params_to_torch", answers.gru_params_to_torch__no_bias_hh,
     "missing keys ['bias_hh_l0']"),
    ("gru_params_to_torch", answers.gru_params_to_torch__float32, "dtype torch.float32"),
    ("gru_params_to_torch", answers.gru_params_to_torch__transposed, "the transpose of"),
    ("gru_params_to_torch", answers.gru_params_to_torch__arrays, "not a torch.Tensor"),
    ("train_epoch", answers.train_epoch__no_zero_grad, "never zeroed"),
    ("train_epoch", answers.train_epoch__zero_grad_at_the_end, "left from before the epoch"),
    ("train_epoch", answers.train_epoch__step_before_backward, "step() comes before"),
    ("train_epoch", answers.train_epoch__no_clip, "not clipped"),
    ("train_epoch", answers.train_epoch__clip_after_step, "after optimizer.step()"),
    ("train_epoch", answers.train_epoch__clip_per_parameter, "clipped separately"),
    ("train_epoch", answers.train_epoch__clip_by_value, "clipped by value"),
    ("train_epoch", answers.train_epoch__eval_mode, "model.eval()"),
    ("train_epoch", answers.train_epoch__returns_last, "last batch's loss"),
    ("train_epoch", answers.train_epoch__returns_sum, "sum of the batch losses"),
    ("train_epoch", answers.train_epoch__returns_tensor, "expected a Python float"),
    ("train_epoch", answers.train_epoch__no_value_error, "negative max_grad_norm"),
]

DELEGATING = [
    ("GRUCell", answers.GRUCell__torch_cell, "torch.nn.GRUCell"),
    ("GRUCell", answers.GRUCell__reference, "helpers.reference"),
    ("GRU", answers.GRU__torch_gru, "torch.nn.GRU"),
    ("GRU", answers.GRU__reference, "helpers.reference"),
    ("gru_params_to_torch", answers.gru_params_to_torch__reference, "helpers.reference"),
    ("train_epoch", answers.train_epoch__reference, "helpers.reference"),
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


@pytest.mark.parametrize("name, answer, called", DELEGATING, ids=answer_id)
def test_delegating_fails(name, answer, called):
    assert_sealed(CHECKS[name], answer, called)


@pytest.mark.parametrize("name", CHECKS)
def test_passing_checks_are_silent(name, capfd):
    CHECKS[name]({"GRUCell": answers.GRUCell__plain, "GRU": answers.Loop,
                  "gru_params_to_torch": answers.gru_params_to_torch__numpy_first,
                  "train_epoch": answers.train_epoch__manual_clip}[name])
    assert capfd.readouterr() == ("", "")
