"""02_gru_equations: the scalar GRU is nn.GRUCell(1, 1) with the same weights, and its
derivative dh/dh_prev is what torch.autograd and central differences say."""

import math

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracles import ORACLE, both_mappings, loaded_gru_cell, reference_and_twin, verdict

from helpers import reference
from helpers.checks import check_close

KEYS = ("w_z", "u_z", "b_z", "w_r", "u_r", "b_r", "w_h", "u_h", "b_h")
values = st.floats(-3, 3, allow_nan=False)
scalar_params = st.fixed_dictionaries({key: st.floats(-2, 2, allow_nan=False) for key in KEYS})


def as_matrices(p):
    """The scalar parameters as the course's (1, 1) / (1,) arrays: w_z -> W_z, u_z -> U_z."""
    kinds = {"w": "W", "u": "U", "b": "b"}
    return {f"{kinds[k[0]]}_{k[2]}": np.full((1,) if k[0] == "b" else (1, 1), v)
            for k, v in p.items()}


def nn_gru_cells(p):
    """nn.GRUCell(1, 1) loaded by the course's mapping and by the one in tests/oracles.py."""
    return {mapping: loaded_gru_cell(state_dict)
            for mapping, state_dict in both_mappings(as_matrices(p), "").items()}


def column(value):
    """A Python float as a float64 (1, 1) tensor: a batch of one for nn.GRUCell(1, 1)."""
    return torch.tensor([[value]], dtype=torch.float64)


def gates_by_torch(x, h_prev, p):
    """z, r and h~ written with torch.sigmoid / torch.tanh, straight from the slides."""
    x, h_prev = torch.tensor(x, dtype=torch.float64), torch.tensor(h_prev, dtype=torch.float64)
    z = torch.sigmoid(p["w_z"] * x + p["u_z"] * h_prev + p["b_z"])
    r = torch.sigmoid(p["w_r"] * x + p["u_r"] * h_prev + p["b_r"])
    return z, r, torch.tanh(p["w_h"] * x + r * (p["u_h"] * h_prev) + p["b_h"])


def swapped_z(x, h_prev, p):
    z, r, h_candidate, _ = reference.gru_step_scalar(x, h_prev, p)
    return z, r, h_candidate, (1 - z) * h_prev + z * h_candidate


def only_the_direct_paths(x, h_prev, p):
    """z + (1 - z) dh~/dh_prev with z and r held constant: the paths through the gates lost."""
    z, r, h_candidate, _ = reference.gru_step_scalar(x, h_prev, p)
    return z + (1 - z) * (1 - h_candidate**2) * r * p["u_h"]


def assert_step_matches_nn_gru_cell(step):
    @ORACLE
    @given(x=values, h_prev=values, p=scalar_params)
    def run(x, h_prev, p):
        z, r, h_candidate, h = step(x, h_prev, p)
        for name, got in (("z", z), ("r", r), ("h_candidate", h_candidate), ("h", h)):
            assert isinstance(got, float), f"{name} should be a Python float, got {type(got)}"
        for name, got, expected in zip(("z", "r", "h_candidate"), (z, r, h_candidate),
                                       gates_by_torch(x, h_prev, p), strict=True):
            check_close(f"gru_step_scalar: {name}", got, expected)
        for mapping, cell in nn_gru_cells(p).items():
            expected_h = cell(column(x), column(h_prev))[0, 0]
            check_close(f"gru_step_scalar: h vs nn.GRUCell ({mapping} mapping)", h, expected_h)

    run()


@reference_and_twin(reference.gru_step_scalar, swapped_z)
def test_gru_step_scalar_matches_nn_gru_cell(impl, is_right):
    verdict(is_right, assert_step_matches_nn_gru_cell, impl)


def assert_derivative_matches_autograd_and_finite_differences(derivative):
    @ORACLE
    @given(x=values, h_prev=values, p=scalar_params)
    def run(x, h_prev, p):
        got = derivative(x, h_prev, p)
        assert isinstance(got, float)
        for mapping, cell in nn_gru_cells(p).items():
            h_prev_t = column(h_prev).requires_grad_()
            cell(column(x), h_prev_t).sum().backward()
            check_close(f"gru_dh_dhprev_scalar vs autograd ({mapping} mapping)", got,
                        h_prev_t.grad[0, 0])
        eps = 1e-6
        central = (reference.gru_step_scalar(x, h_prev + eps, p)[3]
                   - reference.gru_step_scalar(x, h_prev - eps, p)[3]) / (2 * eps)
        check_close("gru_dh_dhprev_scalar vs central differences", got, central,
                    rtol=1e-6, atol=1e-8)

    run()


@reference_and_twin(reference.gru_dh_dhprev_scalar, only_the_direct_paths)
def test_gru_dh_dhprev_scalar_matches_autograd(impl, is_right):
    verdict(is_right, assert_derivative_matches_autograd_and_finite_differences, impl)


def test_gates_hold_at_extreme_pre_activations():
    """A pre-activation of +-1e3 saturates the gates without an overflow (warnings are errors)."""
    p = dict.fromkeys(KEYS, 0.0) | {"b_z": 1e3, "b_r": -1e3}
    z, r, h_candidate, h = reference.gru_step_scalar(0.5, 0.25, p)
    assert (z, r) == (1.0, 0.0) and h == 0.25  # z = 1 copies the state
    assert math.isfinite(reference.gru_dh_dhprev_scalar(0.5, 0.25, p))
