"""03_gru_numpy: the NumPy GRU against nn.GRUCell / nn.GRU with the same weights (forward),
torch.autograd (backward) and central finite differences (a second witness)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracles import (
    ORACLE,
    both_mappings,
    loaded_gru,
    loaded_gru_cell,
    numerical_gradient,
    random_gru_params,
    reference_and_twin,
    torch_cell_backward,
    torch_sequence_backward,
    verdict,
)

from helpers import reference
from helpers.checks import check_close, check_inputs_unchanged, check_raises

sizes = st.integers(1, 4)
seeds = st.integers(0, 2**32 - 1)


def step_case(B, D, H, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((B, D)), rng.standard_normal((B, H)),
            random_gru_params(D, H, rng), rng.standard_normal((B, H)))


def sequence_case(B, T, D, H, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((B, T, D)), rng.standard_normal((B, H)),
            random_gru_params(D, H, rng), rng.standard_normal((B, T, H)))


# ---------------------------------------------------------------- wrong twins


def reset_before_recurrent_matrix(x, h_prev, params):
    """r * h_prev @ U_h^T: the reset gate applied before the matrix (the other GRU variant)."""
    p = params
    z = reference.sigmoid(x @ p["W_z"].T + h_prev @ p["U_z"].T + p["b_z"])
    r = reference.sigmoid(x @ p["W_r"].T + h_prev @ p["U_r"].T + p["b_r"])
    h_candidate = np.tanh(x @ p["W_h"].T + (r * h_prev) @ p["U_h"].T + p["b_h"])
    return z * h_prev + (1 - z) * h_candidate, None


def ignores_h0(X, h0, params):
    return reference.gru_forward(X, np.zeros_like(h0), params)


def forgets_direct_path(dh, cache):
    """dh_prev without the z * dh term of h = z * h_prev + ..."""
    dx, dh_prev, grads = reference.gru_cell_backward(dh, cache)
    return dx, dh_prev - dh * cache["z"], grads


def no_gradient_through_time(dH_all, caches):
    """Each step sees only its own dH_all[:, t], never the gradient from step t + 1."""
    steps = [reference.gru_cell_backward(dH_all[:, t], c) for t, c in enumerate(caches)]
    grads = {k: sum(s[2][k] for s in steps) for k in steps[0][2]}
    return np.stack([s[0] for s in steps], axis=1), steps[0][1], grads


def uniform_by_input_size(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(input_size)
    shapes = {"W": (hidden_size, input_size), "U": (hidden_size, hidden_size),
              "b": (hidden_size,)}
    return {k: rng.uniform(-bound, bound, shapes[k[0]]) for k in reference.GRU_KEYS}


# ---------------------------------------------------------------- forward


def assert_cell_forward_matches_gru_cell(cell_forward):
    @ORACLE
    @given(B=sizes, D=sizes, H=sizes, seed=seeds)
    def run(B, D, H, seed):
        x, h_prev, params, _ = step_case(B, D, H, seed)
        h, _ = cell_forward(x, h_prev, params)
        for mapping, state_dict in both_mappings(params, "").items():
            expected = loaded_gru_cell(state_dict)(*map(torch.tensor, (x, h_prev)))
            check_close(f"gru_cell_forward vs nn.GRUCell ({mapping} mapping)", h, expected,
                        dtype=np.float64)

    run()


@reference_and_twin(reference.gru_cell_forward, reset_before_recurrent_matrix)
def test_gru_cell_forward_matches_nn_gru_cell(impl, is_right):
    verdict(is_right, assert_cell_forward_matches_gru_cell, impl)


def assert_forward_matches_nn_gru(forward):
    @ORACLE
    @given(B=sizes, T=st.integers(1, 5), D=sizes, H=sizes, seed=seeds)
    def run(B, T, D, H, seed):
        X, h0, params, _ = sequence_case(B, T, D, H, seed)
        H_all, caches = forward(X, h0, params)
        assert len(caches) == T
        for mapping, state_dict in both_mappings(params, "_l0").items():
            outputs, h_last = loaded_gru(state_dict)(torch.tensor(X), torch.tensor(h0)[None])
            check_close(f"gru_forward vs nn.GRU ({mapping} mapping)", H_all, outputs,
                        dtype=np.float64)
            check_close("gru_forward: last state", H_all[:, -1], h_last[0])

    run()


@reference_and_twin(reference.gru_forward, ignores_h0)
def test_gru_forward_matches_nn_gru(impl, is_right):
    verdict(is_right, assert_forward_matches_nn_gru, impl)


# ---------------------------------------------------------------- backward


def assert_cell_backward_matches_autograd(cell_backward):
    @ORACLE
    @given(B=sizes, D=sizes, H=sizes, seed=seeds)
    def run(B, D, H, seed):
        x, h_prev, params, dh = step_case(B, D, H, seed)
        _, cache = reference.gru_cell_forward(x, h_prev, params)
        dx, dh_prev, grads = cell_backward(dh, cache)
        expected_dx, expected_dh_prev, expected_grads = torch_cell_backward(x, h_prev, params, dh)
        check_close("gru_cell_backward: dx", dx, expected_dx, dtype=np.float64)
        check_close("gru_cell_backward: dh_prev", dh_prev, expected_dh_prev, dtype=np.float64)
        assert set(grads) == set(params)
        for key in params:
            check_close(f"gru_cell_backward: grads[{key!r}]", grads[key], expected_grads[key])

    run()


@reference_and_twin(reference.gru_cell_backward, forgets_direct_path)
def test_gru_cell_backward_matches_autograd(impl, is_right):
    verdict(is_right, assert_cell_backward_matches_autograd, impl)


def assert_backward_matches_autograd(backward):
    @ORACLE
    @given(B=sizes, T=st.integers(1, 5), D=sizes, H=sizes, seed=seeds)
    def run(B, T, D, H, seed):
        X, h0, params, dH_all = sequence_case(B, T, D, H, seed)
        _, caches = reference.gru_forward(X, h0, params)
        dX, dh0, grads = backward(dH_all, caches)
        expected_dX, expected_dh0, expected_grads = torch_sequence_backward(X, h0, params, dH_all)
        check_close("gru_backward: dX", dX, expected_dX, dtype=np.float64)
        check_close("gru_backward: dh0", dh0, expected_dh0, dtype=np.float64)
        for key in params:
            check_close(f"gru_backward: grads[{key!r}]", grads[key], expected_grads[key])

    run()


@reference_and_twin(reference.gru_backward, no_gradient_through_time)
def test_gru_backward_matches_autograd(impl, is_right):
    verdict(is_right, assert_backward_matches_autograd, impl)


def assert_backward_matches_finite_differences(backward):
    """A second witness: d/d(entry) of sum(H_all * dH_all), entry by entry."""
    X, h0, params, dH_all = sequence_case(B=2, T=3, D=2, H=3, seed=7)

    def loss():
        return float(np.sum(reference.gru_forward(X, h0, params)[0] * dH_all))

    dX, dh0, grads = backward(dH_all, reference.gru_forward(X, h0, params)[1])
    tolerance = {"rtol": 1e-5, "atol": 1e-7}
    check_close("gru_backward: dX", dX, numerical_gradient(loss, X), **tolerance)
    check_close("gru_backward: dh0", dh0, numerical_gradient(loss, h0), **tolerance)
    for key in params:
        check_close(f"gru_backward: grads[{key!r}]", grads[key],
                    numerical_gradient(loss, params[key]), **tolerance)


@reference_and_twin(reference.gru_backward, no_gradient_through_time)
def test_gru_backward_matches_finite_differences(impl, is_right):
    verdict(is_right, assert_backward_matches_finite_differences, impl)


def cell_backward_as_sequence(cell_backward):
    """A one-step gru_backward built from a cell backward, for the finite-difference witness."""
    def backward(dH_all, caches):
        dx, dh_prev, grads = cell_backward(dH_all[:, 0], caches[0])
        return dx[:, None], dh_prev, grads

    return backward


@reference_and_twin(reference.gru_cell_backward, forgets_direct_path)
def test_gru_cell_backward_matches_finite_differences(impl, is_right):
    X, h0, params, dH_all = sequence_case(B=2, T=1, D=2, H=3, seed=3)

    def loss():
        return float(np.sum(reference.gru_forward(X, h0, params)[0] * dH_all))

    def assertion(backward):
        dX, dh0, grads = backward(dH_all, reference.gru_forward(X, h0, params)[1])
        check_close("gru_cell_backward: dx", dX, numerical_gradient(loss, X), rtol=1e-5)
        check_close("gru_cell_backward: dh_prev", dh0, numerical_gradient(loss, h0), rtol=1e-5)
        for key in params:
            check_close(f"grads[{key!r}]", grads[key], numerical_gradient(loss, params[key]),
                        rtol=1e-5, atol=1e-7)

    verdict(is_right, assertion, cell_backward_as_sequence(impl))


# ---------------------------------------------------------------- init


def assert_init_is_uniform_in_bound(init):
    D, H = 40, 25
    bound = 1 / np.sqrt(H)
    params = init(D, H, np.random.default_rng(0))
    assert set(params) == set(reference.GRU_KEYS)
    for key, value in params.items():
        expected_shape = {"W": (H, D), "U": (H, H), "b": (H,)}[key[0]]
        assert value.shape == expected_shape and value.dtype == np.float64, key
        assert np.all(np.abs(value) <= bound), f"{key} leaves [-1/sqrt(H), 1/sqrt(H)]"
    everything = np.concatenate([v.ravel() for v in params.values()])
    # ~3000 uniform draws: min and max lie within 1 % of the bound but for p < 1e-12
    assert everything.max() > 0.99 * bound and everything.min() < -0.99 * bound
    # mean of uniform(-a, a) is 0 with standard error a / sqrt(3 n)
    assert abs(everything.mean()) < 5 * bound / np.sqrt(3 * everything.size)


@reference_and_twin(reference.init_gru_params, uniform_by_input_size)
def test_init_gru_params_is_uniform_in_the_bound(impl, is_right):
    verdict(is_right, assert_init_is_uniform_in_bound, impl)


def test_init_gru_params_follows_the_generator():
    first = reference.init_gru_params(3, 4, np.random.default_rng(1))
    again = reference.init_gru_params(3, 4, np.random.default_rng(1))
    other = reference.init_gru_params(3, 4, np.random.default_rng(2))
    for key in reference.GRU_KEYS:
        np.testing.assert_array_equal(first[key], again[key])
        assert not np.array_equal(first[key], other[key]), key


# ---------------------------------------------------------------- contract edges


def test_functions_leave_their_inputs_unchanged():
    X, h0, params, dH_all = sequence_case(B=2, T=3, D=2, H=3, seed=0)
    saved = {k: v.copy() for k, v in params.items()}
    h, cache = check_inputs_unchanged("gru_cell_forward", reference.gru_cell_forward,
                                      X[:, 0], h0, params)
    check_inputs_unchanged("gru_cell_backward", reference.gru_cell_backward, dH_all[:, 0], cache)
    _, caches = check_inputs_unchanged("gru_forward", reference.gru_forward, X, h0, params)
    check_inputs_unchanged("gru_backward", reference.gru_backward, dH_all, caches)
    for key in params:
        np.testing.assert_array_equal(params[key], saved[key])


def test_mismatched_shapes_raise_value_error():
    X, h0, params, dH_all = sequence_case(B=2, T=3, D=2, H=3, seed=0)
    _, caches = reference.gru_forward(X, h0, params)
    check_raises("gru_cell_forward", reference.gru_cell_forward, X[:, 0, :1], h0, params,
                 why="an x with the wrong number of features")
    check_raises("gru_cell_forward", reference.gru_cell_forward, X[:, 0], h0[:1], params,
                 why="an h_prev whose batch differs from x's")
    check_raises("gru_forward", reference.gru_forward, X[:, 0], h0, params,
                 why="a 2-d X")
    check_raises("gru_backward", reference.gru_backward, dH_all[:, :2], caches,
                 why="dH_all with fewer steps than the forward pass")
    with pytest.raises(ValueError):
        reference.init_gru_params(0, 3, np.random.default_rng(0))
