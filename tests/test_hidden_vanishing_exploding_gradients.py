"""The hidden checks of 01_vanishing_exploding_gradients pass the reference and correct
variants, name each mistake in tests/wrong_answers/vanishing_exploding_gradients.py, stop
delegation, and test on inputs where the reference agrees with PyTorch's own functions."""

import numpy as np
import pytest
import torch

from helpers import reference
from helpers.hidden import vanishing_exploding_gradients as hidden
from tests.hidden_suite import answer_id, assert_names_mistake, assert_sealed
from tests.wrong_answers import vanishing_exploding_gradients as answers

NAMES = ("sigmoid", "sigmoid_derivative", "rnn_jacobian_norms", "clip_grad_norm", "make_mlp",
         "layer_grad_norms")
CHECKS = {name: getattr(hidden, f"check_{name}") for name in NAMES}


def answers_of(name, kind):
    """The answers ``<name>__ok_*`` (kind "ok") or ``<name>__reference``."""
    prefix = f"{name}__{kind}"
    return [(name, getattr(answers, a)) for a in dir(answers) if a.startswith(prefix)]


CORRECT = [pair for name in NAMES for pair in answers_of(name, "ok_")]

MISTAKES = [
    ("sigmoid", answers.sigmoid__naive, "overflow"),
    ("sigmoid", answers.sigmoid__where_both_branches, "evaluates both branches"),
    ("sigmoid", answers.sigmoid__sign_flipped, "sign of the exponent is flipped"),
    ("sigmoid", answers.sigmoid__clipped_input, "clipping the input"),
    ("sigmoid_derivative", answers.sigmoid_derivative__of_x, "of the wrong thing"),
    ("sigmoid_derivative", answers.sigmoid_derivative__naive_exp, "overflow"),
    ("sigmoid_derivative", answers.sigmoid_derivative__tanh_pattern, "tanh's derivative"),
    ("sigmoid_derivative", answers.sigmoid_derivative__sigmoid_itself, "sigmoid(x) itself"),
    ("rnn_jacobian_norms", answers.rnn_jacobian_norms__wrong_order, "wrong order"),
    ("rnn_jacobian_norms", answers.rnn_jacobian_norms__no_tanh_derivative,
     "tanh derivative is forgotten"),
    ("rnn_jacobian_norms", answers.rnn_jacobian_norms__one_minus_h, "diag(1 - h_t) is used"),
    ("rnn_jacobian_norms", answers.rnn_jacobian_norms__previous_state, "h_(t-1) is used"),
    ("rnn_jacobian_norms", answers.rnn_jacobian_norms__frobenius, "Frobenius"),
    ("rnn_jacobian_norms", answers.rnn_jacobian_norms__diag_on_the_right, "on the right"),
    ("clip_grad_norm", answers.clip_grad_norm__per_array, "by its own norm"),
    ("clip_grad_norm", answers.clip_grad_norm__by_value, "clipping by value"),
    ("clip_grad_norm", answers.clip_grad_norm__post_clip_norm, "norm after clipping"),
    ("clip_grad_norm", answers.clip_grad_norm__no_epsilon, "1e-6 is missing"),
    ("clip_grad_norm", answers.clip_grad_norm__in_place, "in place"),
    ("clip_grad_norm", answers.clip_grad_norm__no_copies, "not a copy"),
    ("clip_grad_norm", answers.clip_grad_norm__always_scaled, "even when the norm is below"),
    ("clip_grad_norm", answers.clip_grad_norm__squared_norm, "squared norm"),
    ("clip_grad_norm", answers.clip_grad_norm__no_validation, "negative max_norm"),
    ("make_mlp", answers.make_mlp__residual_before_activation,
     "residual is added before the activation"),
    ("make_mlp", answers.make_mlp__last_activation_missing, "after the last block is missing"),
    ("make_mlp", answers.make_mlp__extra_output_layer, "expected 3 nn.Linear layers"),
    ("make_mlp", answers.make_mlp__residual_ignored, "residual=True is ignored"),
    ("make_mlp", answers.make_mlp__always_tanh, "the activation is tanh, not sigmoid"),
    ("layer_grad_norms", answers.layer_grad_norms__bias, "bias's gradient"),
    ("layer_grad_norms", answers.layer_grad_norms__weight_not_grad, "weight itself, not its"),
    ("layer_grad_norms", answers.layer_grad_norms__reversed, "reverse order"),
    ("layer_grad_norms", answers.layer_grad_norms__squared, "squared norm"),
    ("layer_grad_norms", answers.layer_grad_norms__every_weight, "LayerNorm"),
    ("layer_grad_norms", answers.layer_grad_norms__tensors, ".item()"),
    ("layer_grad_norms", answers.layer_grad_norms__zeroes_grads, "changed the gradients"),
]

DELEGATING = [pair for name in NAMES for pair in answers_of(name, "reference")]


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes(name, seal_lifted):
    CHECKS[name](getattr(reference, name))


def test_every_graded_name_has_correct_variants_mistakes_and_a_delegate():
    for pairs in (CORRECT, MISTAKES, DELEGATING):
        assert {pair[0] for pair in pairs} == set(NAMES)


@pytest.mark.parametrize("name, answer", CORRECT, ids=answer_id)
def test_correct_answers_pass(name, answer):
    CHECKS[name](answer)


@pytest.mark.parametrize("name, answer, phrase", MISTAKES, ids=answer_id)
def test_mistakes_fail_with_their_name(name, answer, phrase):
    assert_names_mistake(CHECKS[name], answer, phrase)


@pytest.mark.parametrize("name, answer", DELEGATING, ids=answer_id)
def test_delegating_to_the_reference_fails(name, answer):
    assert_sealed(CHECKS[name], answer)


# --- the checks' inputs, where the reference agrees with PyTorch ----------------------------


def test_sigmoid_case_agrees_with_torch():
    x = hidden.sigmoid_case()
    s = torch.sigmoid(torch.from_numpy(x))
    np.testing.assert_allclose(reference.sigmoid(x), s.numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(reference.sigmoid_derivative(x), (s * (1 - s)).numpy(),
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", hidden.clip_cases(), ids=lambda c: c[0])
def test_clip_cases_agree_with_torch(case):
    _, grads, max_norm = case
    tensors = [torch.from_numpy(g.copy()).requires_grad_() for g in grads]
    for t, g in zip(tensors, grads, strict=True):
        t.grad = torch.from_numpy(g.copy())
    norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    clipped, expected_norm = reference.clip_grad_norm(grads, max_norm)
    assert expected_norm == pytest.approx(norm.item(), rel=1e-12)
    for got, t in zip(clipped, tensors, strict=True):
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-12, atol=0)


def test_real_rnn_case_agrees_with_autograd():
    """Entry k is the norm of dh_T/dh_(T-k-1), with h_0 the state before the first input."""
    _, W, h0, inputs, states = hidden.jacobian_cases()[-1]
    W_t, inputs_t = torch.from_numpy(W), torch.from_numpy(inputs)
    T = len(inputs)

    def run_from(step):
        def h_T(h):
            for x in inputs_t[step:]:
                h = torch.tanh(h @ W_t.T + x)
            return h
        return h_T

    previous = [torch.from_numpy(h0)] + [torch.from_numpy(h) for h in states[:-1]]
    autograd_norms = [
        torch.linalg.matrix_norm(torch.autograd.functional.jacobian(
            run_from(T - 1 - k), previous[T - 1 - k]), ord=2).item()
        for k in range(T)]
    np.testing.assert_allclose(reference.rnn_jacobian_norms(W, states), autograd_norms,
                               rtol=1e-10)


def test_each_jacobian_case_tells_the_mistakes_apart():
    """One term at a time: J_t = W_hh shows only the norm, J_t diagonal shows only the tanh
    derivative (diagonal Jacobians commute: the order cannot matter), a real RNN shows all."""
    for what, W, _, _, states in hidden.jacobian_cases():
        expected = reference.rnn_jacobian_norms(W, states)
        differ = {m.split(":")[0].split(" (")[0] for m, wrong in
                  hidden.jacobian_mistakes(W, states).items()
                  if not np.allclose(wrong, expected, rtol=1e-5)}
        if "all zero" in what:
            assert "the Frobenius norm is used instead of the spectral norm" in differ
            assert not any("tanh derivative" in m or "wrong order" in m for m in differ)
        elif "identity" in what:
            assert "the tanh derivative is forgotten" in differ
            assert not any("wrong order" in m for m in differ)
        else:
            assert len(differ) == len(hidden.jacobian_mistakes(W, states))
