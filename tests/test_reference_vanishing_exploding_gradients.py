"""01_vanishing_exploding_gradients: sigmoid against torch.sigmoid and autograd, the Jacobian
norms against torch.autograd.functional.jacobian, clipping against clip_grad_norm_, the MLP
against a forward written here, layer norms against torch.autograd.grad."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from oracles import ORACLE, reference_and_twin, verdict
from torch import nn

from helpers import reference
from helpers.checks import check_close, check_inputs_unchanged, check_raises

seeds = st.integers(0, 2**32 - 1)
moderate = arrays(np.float64, array_shapes(max_dims=3, max_side=5),
                  elements=st.floats(-40, 40, allow_nan=False))


# ---------------------------------------------------------------- wrong twins


def sign_flipped_sigmoid(x):
    return 1 / (1 + np.exp(np.asarray(x, dtype=np.float64)))


def naive_sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))


def derivative_of_x_not_of_sigmoid(x):
    return x * (1 - x)


def forgets_the_tanh_derivative(W_hh, hidden_states):
    powers = [np.linalg.matrix_power(W_hh, k + 1) for k in range(len(hidden_states))]
    return np.array([np.linalg.norm(p, ord=2) for p in powers])


def clips_each_array_alone(grads, max_norm):
    norm = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))
    clipped = []
    for g in grads:
        own = np.linalg.norm(g)
        clipped.append(g * max_norm / (own + 1e-6) if own > max_norm else g.copy())
    return clipped, norm


def residual_inside_the_activation(depth, width, activation, residual=False):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(width, width)
            self.activation = reference.vanishing_exploding_gradients.ACTIVATIONS[activation]()

        def forward(self, x):
            inside = x + self.linear(x) if residual else self.linear(x)
            return self.activation(inside)

    return nn.Sequential(*(Block() for _ in range(depth)))


def in_backward_order(model):
    return reference.layer_grad_norms(model)[::-1]


# ---------------------------------------------------------------- sigmoid


def assert_sigmoid_matches_torch(sigmoid):
    @ORACLE
    @given(x=moderate)
    def run(x):
        check_close("sigmoid vs torch.sigmoid", sigmoid(x), torch.sigmoid(torch.tensor(x)).numpy(),
                    dtype=np.float64, rtol=1e-12, atol=1e-15)

    run()


@reference_and_twin(reference.sigmoid, sign_flipped_sigmoid)
def test_sigmoid_matches_torch(impl, is_right):
    verdict(is_right, assert_sigmoid_matches_torch, impl)


def assert_sigmoid_is_exact_and_silent_at_the_limits(sigmoid):
    x = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn", under="ignore"):  # NumPy's defaults
            s = sigmoid(x)
    assert not caught, f"sigmoid warned: {[str(w.message) for w in caught]}"
    np.testing.assert_array_equal(s, [0.0, 0.0, 0.5, 1.0, 1.0])


@reference_and_twin(reference.sigmoid, naive_sigmoid)
def test_sigmoid_is_exact_and_silent_at_the_limits(impl, is_right):
    verdict(is_right, assert_sigmoid_is_exact_and_silent_at_the_limits, impl)


def assert_sigmoid_derivative_matches_autograd(derivative):
    @ORACLE
    @given(x=moderate)
    def run(x):
        x_t = torch.tensor(x, requires_grad=True)
        torch.sigmoid(x_t).sum().backward()
        check_close("sigmoid_derivative vs autograd", derivative(x), x_t.grad.numpy(),
                    dtype=np.float64, rtol=1e-10, atol=1e-15)

    run()


@reference_and_twin(reference.sigmoid_derivative, derivative_of_x_not_of_sigmoid)
def test_sigmoid_derivative_matches_autograd(impl, is_right):
    verdict(is_right, assert_sigmoid_derivative_matches_autograd, impl)


def test_sigmoid_derivative_at_the_limits_is_zero_and_silent():
    np.testing.assert_array_equal(reference.sigmoid_derivative(np.array([-1e4, 1e4])), [0, 0])


# ---------------------------------------------------------------- Jacobian norms


def tanh_rnn_states(W_hh, drive, h0):
    """h_t = tanh(h_(t-1) W_hh^T + drive_t): the states h_1..h_T, as a (T, H) tensor."""
    states, h = [], h0
    for a in drive:
        h = torch.tanh(h @ W_hh.T + a)
        states.append(h)
    return torch.stack(states)


def assert_jacobian_norms_match_autograd(jacobian_norms):
    @ORACLE
    @given(T=st.integers(1, 6), H=st.integers(1, 4), seed=seeds)
    def run(T, H, seed):
        rng = np.random.default_rng(seed)
        W_hh = torch.tensor(1.5 * rng.standard_normal((H, H)) / np.sqrt(H))
        drive, h0 = torch.tensor(rng.standard_normal((T, H))), torch.tensor(rng.standard_normal(H))
        states = tanh_rnn_states(W_hh, drive, h0)
        norms = jacobian_norms(W_hh.numpy(), states.numpy())
        # entry k: dh_T / dh_(T-k-1), by differentiating the last k + 1 steps of the RNN
        expected = []
        for k in range(T):
            start = states[T - k - 2] if k < T - 1 else h0

            def last_steps(h, k=k):
                return tanh_rnn_states(W_hh, drive[T - k - 1:], h)[-1]

            jacobian = torch.autograd.functional.jacobian(last_steps, start)
            expected.append(torch.linalg.matrix_norm(jacobian, ord=2).item())
        check_close("rnn_jacobian_norms vs autograd", norms, np.array(expected),
                    dtype=np.float64)

    run()


@reference_and_twin(reference.rnn_jacobian_norms, forgets_the_tanh_derivative)
def test_rnn_jacobian_norms_match_autograd(impl, is_right):
    verdict(is_right, assert_jacobian_norms_match_autograd, impl)


def test_rnn_jacobian_norms_rejects_mismatched_shapes():
    check_raises("rnn_jacobian_norms", reference.rnn_jacobian_norms, np.eye(3), np.zeros((4, 2)),
                 why="hidden states of size 2 with a 3 x 3 W_hh")
    check_raises("rnn_jacobian_norms", reference.rnn_jacobian_norms, np.ones((3, 2)),
                 np.zeros((4, 3)), why="a W_hh that is not square")


# ---------------------------------------------------------------- clipping

gradient_lists = st.lists(arrays(np.float64, array_shapes(max_dims=2, max_side=4),
                                 elements=st.floats(-10, 10, allow_nan=False)),
                          min_size=1, max_size=4)


def torch_clipped(grads, max_norm):
    parameters = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(parameters, grads, strict=True):
        p.grad = torch.tensor(g)
    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    return [p.grad.numpy() for p in parameters], norm.item()


def assert_clipping_matches_torch(clip):
    @ORACLE
    @given(grads=gradient_lists, max_norm=st.floats(0, 20))
    def run(grads, max_norm):
        clipped, norm = check_inputs_unchanged("clip_grad_norm", clip, grads, max_norm)
        expected_grads, expected_norm = torch_clipped(grads, max_norm)
        check_close("clip_grad_norm: norm before clipping", norm, expected_norm)
        assert len(clipped) == len(grads)
        for i, (got, expected) in enumerate(zip(clipped, expected_grads, strict=True)):
            check_close(f"clip_grad_norm: array {i}", got, expected, dtype=np.float64)
            assert got is not grads[i], "return copies, not the arrays passed in"

    run()
    # an example where clipping each array alone differs from clipping them together
    run.hypothesis.inner_test(grads=[np.full(3, 2.0), np.full(2, 0.1)], max_norm=1.0)


@reference_and_twin(reference.clip_grad_norm, clips_each_array_alone)
def test_clip_grad_norm_matches_torch(impl, is_right):
    verdict(is_right, assert_clipping_matches_torch, impl)


@pytest.mark.parametrize("max_norm", [0.0, 1.0])
def test_clipping_all_zero_gradients_changes_nothing(max_norm):
    grads = [np.zeros((2, 3)), np.zeros(4)]
    clipped, norm = reference.clip_grad_norm(grads, max_norm)
    expected_grads, expected_norm = torch_clipped(grads, max_norm)
    assert norm == expected_norm == 0.0
    for got, expected in zip(clipped, expected_grads, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_clipping_rejects_a_negative_threshold():
    check_raises("clip_grad_norm", reference.clip_grad_norm, [np.ones(3)], -1.0,
                 why="a negative max_norm")


# ---------------------------------------------------------------- make_mlp


def forward_by_hand(model, x, activation, residual):
    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
    for linear in (m for m in model.modules() if isinstance(m, nn.Linear)):
        y = act(x @ linear.weight.T + linear.bias)
        x = x + y if residual else y
    return x


def assert_mlp_matches_its_definition(make):
    for activation in ("sigmoid", "tanh", "relu"):
        for residual in (False, True):
            torch.manual_seed(0)
            model = make(4, 3, activation, residual=residual).double()
            linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
            assert len(linears) == 4
            assert all(tuple(m.weight.shape) == (3, 3) for m in linears)
            x = torch.randn(5, 3, dtype=torch.float64)
            check_close(f"make_mlp({activation!r}, residual={residual})", model(x),
                        forward_by_hand(model, x, activation, residual))


@reference_and_twin(reference.make_mlp, residual_inside_the_activation)
def test_make_mlp_matches_its_definition(impl, is_right):
    verdict(is_right, assert_mlp_matches_its_definition, impl)


def test_make_mlp_rejects_an_unknown_activation():
    check_raises("make_mlp", reference.make_mlp, 2, 3, "softplus", why="an unknown activation")


# ---------------------------------------------------------------- layer_grad_norms


def assert_layer_norms_match_autograd(layer_norms):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.Sigmoid(),
                          nn.Linear(8, 2)).double()
    x = torch.randn(16, 3, dtype=torch.float64)

    def loss():
        return model(x).pow(2).sum()

    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    expected = [np.linalg.norm(g.numpy()) for g in torch.autograd.grad(loss(), weights)]
    loss().backward()
    norms = layer_norms(model)
    assert all(isinstance(n, float) for n in norms)
    check_close("layer_grad_norms vs autograd", np.array(norms), np.array(expected))


@reference_and_twin(reference.layer_grad_norms, in_backward_order)
def test_layer_grad_norms_match_autograd(impl, is_right):
    verdict(is_right, assert_layer_norms_match_autograd, impl)
