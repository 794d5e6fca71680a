"""01_vanishing_exploding_gradients: its visible and hidden tests pass the solution, the
reference and every correct variant, and name each mistake of
tests/wrong_answers/vanishing_exploding_gradients.py where the student first meets it
(tests/exercise_suite.py). Then what is particular to this notebook: the hidden tests'
inputs, on which the reference agrees with PyTorch and autograd, and Jacobian cases that
each separate the mistakes they are meant to."""

import numpy as np
import pytest
import torch

from helpers import reference
from helpers.hidden import vanishing_exploding_gradients as hidden
from tests.exercise_suite import exercise_suite
from tests.hidden_suite import assert_random_streams_untouched

globals().update(exercise_suite("01_vanishing_exploding_gradients"))


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
    """One term at a time: J_t = W_hh shows only the norm and the entries' order, J_t
    diagonal shows the tanh derivative (diagonal Jacobians commute: the order of the
    product cannot matter there), a real RNN shows every mistake, each apart."""
    for what, W, _, _, states in hidden.jacobian_cases():
        expected = reference.rnn_jacobian_norms(W, states)
        wrong = hidden.jacobian_mistakes(W, states)
        differ = {m.split(":")[0].split(" (")[0] for m, value in wrong.items()
                  if not np.allclose(value, expected, rtol=1e-5)}
        if "all zero" in what:
            assert differ == {"the Frobenius norm is used instead of the spectral norm",
                              "the entries are in reverse order"}
        elif "identity" in what:
            assert "the tanh derivative is forgotten" in differ
            assert not any("wrong order" in m or "diag(1 - h_t**2) @ W_hh" in m
                           for m in differ)
        else:
            assert len(differ) == len(wrong)
            values = list(wrong.values())
            assert not any(np.allclose(a, b, rtol=1e-5) for i, a in enumerate(values)
                           for b in values[i + 1:])


def test_mlp_forward_is_the_reference_model():
    """The judge's causes come from mlp_forward: its correct variant is make_mlp itself."""
    x = hidden.mlp_input()
    for case, (activation, residual) in enumerate(hidden.MLP_CASES):
        weights = hidden.mlp_weights(case)
        model = hidden._loaded(reference.make_mlp(hidden.MLP_DEPTH, hidden.MLP_WIDTH,
                                                  activation, residual=residual), weights)
        with torch.no_grad():
            torch.testing.assert_close(model(x), hidden.mlp_forward(weights, x, activation,
                                                                    residual))


def test_hidden_tests_leave_the_random_streams_alone():
    assert_random_streams_untouched(*(lambda test=test, name=name: test.probe(
        getattr(reference, name)) for test, name in (
            (hidden.check_make_mlp, "make_mlp"),
            (hidden.check_layer_grad_norms, "layer_grad_norms"),
            (hidden.check_clip_grad_norm, "clip_grad_norm"))))
