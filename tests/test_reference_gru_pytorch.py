"""04_gru_pytorch: the from-scratch GRUCell / GRU against nn.GRUCell / nn.GRU with the same
weights, gru_params_to_torch against a mapping written here, train_epoch against a loop
written here."""

import copy

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracles import (
    ORACLE,
    both_mappings,
    course_grads,
    loaded_gru,
    loaded_gru_cell,
    random_gru_params,
    reference_and_twin,
    strip_l0,
    torch_state_dict,
    verdict,
)
from torch import nn

from helpers import reference
from helpers.checks import check_close, check_raises

sizes = st.integers(1, 4)
seeds = st.integers(0, 2**32 - 1)


def with_params(module, params):
    """``module`` (a GRUCell or a GRU holding one as .cell) in float64 with these weights."""
    cell = module.cell if hasattr(module, "cell") else module
    module.double()
    with torch.no_grad():
        for key, value in params.items():
            getattr(cell, key).copy_(torch.tensor(value))
    return module


# ---------------------------------------------------------------- wrong twins


class ResetBeforeRecurrentMatrix(reference.GRUCell):
    def forward(self, x, h_prev):
        z = torch.sigmoid(x @ self.W_z.T + h_prev @ self.U_z.T + self.b_z)
        r = torch.sigmoid(x @ self.W_r.T + h_prev @ self.U_r.T + self.b_r)
        h_candidate = torch.tanh(x @ self.W_h.T + (r * h_prev) @ self.U_h.T + self.b_h)
        return z * h_prev + (1 - z) * h_candidate


class IgnoresH0(reference.GRU):
    def forward(self, X, h0=None):
        return super().forward(X, None)


def gates_in_course_order(params):
    """Stacks the gates (z, r, h) instead of PyTorch's (r, z, n)."""
    state = reference.gru_params_to_torch(params)
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0"):
        r, z, n = state[name].chunk(3)
        state[name] = torch.cat([z, r, n])
    return state


def never_zeroes_gradients(model, loader, optimizer, loss_fn, max_grad_norm=None):
    losses = []
    for X, y in loader:
        loss = loss_fn(model(X), y)
        loss.backward()
        if max_grad_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


# ---------------------------------------------------------------- GRUCell


def test_gru_cell_parameters_are_named_like_the_dict():
    cell = reference.GRUCell(5, 36)
    shapes = {name: tuple(p.shape) for name, p in cell.named_parameters()}
    assert shapes == {key: {"W": (36, 5), "U": (36, 36), "b": (36,)}[key[0]]
                      for key in reference.GRU_KEYS}
    values = torch.cat([p.detach().flatten() for p in cell.parameters()])
    bound = 1 / np.sqrt(36)
    assert values.abs().max() <= bound
    # ~4900 uniform draws: min and max lie within 1 % of the bound but for p < 1e-20
    assert values.max() > 0.99 * bound and values.min() < -0.99 * bound
    first, again, other = (seeded_cell(seed) for seed in (0, 0, 1))
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not any(torch.equal(first[k], other[k]) for k in first)


def seeded_cell(seed):
    torch.manual_seed(seed)
    return reference.GRUCell(2, 3).state_dict()


def assert_cell_matches_nn_gru_cell(cell_class):
    @ORACLE
    @given(B=sizes, D=sizes, H=sizes, seed=seeds)
    def run(B, D, H, seed):
        rng = np.random.default_rng(seed)
        params = random_gru_params(D, H, rng)
        x, h_prev = (torch.tensor(rng.standard_normal(s), requires_grad=True)
                     for s in ((B, D), (B, H)))
        upstream = torch.tensor(rng.standard_normal((B, H)))
        for mapping, state_dict in both_mappings(params, "").items():
            cell = with_params(cell_class(D, H), params)
            oracle = loaded_gru_cell(state_dict)
            h, expected = cell(x, h_prev), oracle(x, h_prev)
            check_close(f"GRUCell.forward vs nn.GRUCell ({mapping} mapping)", h, expected,
                        dtype=np.float64)
            # the backward is autograd's, on the cell's own graph: it must agree too
            (h * upstream).sum().backward()
            (expected * upstream).sum().backward()
            expected_grads = course_grads(oracle)
            for key in params:
                check_close(f"GRUCell: grad of {key}", getattr(cell, key).grad.numpy(),
                            expected_grads[key])

    run()


@reference_and_twin(reference.GRUCell, ResetBeforeRecurrentMatrix)
def test_gru_cell_matches_nn_gru_cell(impl, is_right):
    verdict(is_right, assert_cell_matches_nn_gru_cell, impl)


# ---------------------------------------------------------------- GRU


def assert_gru_matches_nn_gru(gru_class):
    @ORACLE
    @given(B=sizes, T=st.integers(1, 5), D=sizes, H=sizes, seed=seeds)
    def run(B, T, D, H, seed):
        rng = np.random.default_rng(seed)
        params = random_gru_params(D, H, rng)
        X = torch.tensor(rng.standard_normal((B, T, D)))
        h0 = torch.tensor(rng.standard_normal((B, H)))
        gru = with_params(gru_class(D, H), params)
        assert isinstance(gru.cell, reference.GRUCell)
        for mapping, state_dict in both_mappings(params, "_l0").items():
            oracle = loaded_gru(state_dict)
            for start, oracle_start in ((h0, h0[None]), (None, None)):  # None: zeros
                outputs, h_last = gru(X, start)
                expected_outputs, expected_last = oracle(X, oracle_start)
                check_close(f"GRU: outputs vs nn.GRU ({mapping} mapping)", outputs,
                            expected_outputs, dtype=np.float64)
                check_close("GRU: h_last vs nn.GRU", h_last, expected_last[0])

    run()


@reference_and_twin(reference.GRU, IgnoresH0)
def test_gru_matches_nn_gru(impl, is_right):
    verdict(is_right, assert_gru_matches_nn_gru, impl)


# ---------------------------------------------------------------- gru_params_to_torch


def assert_mapping_matches(to_torch):
    @ORACLE
    @given(D=sizes, H=sizes, seed=seeds)
    def run(D, H, seed):
        rng = np.random.default_rng(seed)
        params = random_gru_params(D, H, rng)
        state_dict = to_torch(params)
        expected = torch_state_dict(params, "_l0")
        assert set(state_dict) == set(expected)
        for key, value in expected.items():
            check_close(f"gru_params_to_torch: {key}", state_dict[key], value)
        X, h0 = rng.standard_normal((2, 3, D)), rng.standard_normal((2, H))
        outputs, _ = loaded_gru(state_dict)(torch.tensor(X), torch.tensor(h0)[None])
        by_equations = with_params(reference.GRU(D, H), params)(torch.tensor(X), torch.tensor(h0))
        check_close("nn.GRU loaded with gru_params_to_torch", outputs, by_equations[0])

    run()


@reference_and_twin(reference.gru_params_to_torch, gates_in_course_order)
def test_gru_params_to_torch_matches_nn_gru(impl, is_right):
    verdict(is_right, assert_mapping_matches, impl)


def test_mapped_gru_cell_keys():
    params = random_gru_params(2, 3, np.random.default_rng(0))
    loaded_gru_cell(strip_l0(reference.gru_params_to_torch(params)))  # loads: keys and shapes fit


# ---------------------------------------------------------------- train_epoch


def regression_batches(seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(24, 3, generator=generator, dtype=torch.float64)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64) + 0.1
    return [(X[i:i + 6], y[i:i + 6]) for i in range(0, 24, 6)]


def hand_written_epoch(model, loader, optimizer, loss_fn, max_grad_norm):
    losses = []
    for X, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def assert_epoch_matches_hand_written_loop(epoch):
    for max_grad_norm in (None, 0.5):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
        twin = copy.deepcopy(model)
        loss = epoch(model, regression_batches(), torch.optim.SGD(model.parameters(), lr=0.1),
                     nn.MSELoss(), max_grad_norm=max_grad_norm)
        expected = hand_written_epoch(twin, regression_batches(),
                                      torch.optim.SGD(twin.parameters(), lr=0.1), nn.MSELoss(),
                                      max_grad_norm)
        assert isinstance(loss, float)
        check_close(f"train_epoch (max_grad_norm={max_grad_norm}): mean loss", loss, expected)
        for (name, got), want in zip(model.named_parameters(), twin.parameters(), strict=True):
            check_close(f"train_epoch (max_grad_norm={max_grad_norm}): {name}", got, want)


@reference_and_twin(reference.train_epoch, never_zeroes_gradients)
def test_train_epoch_matches_a_hand_written_loop(impl, is_right):
    verdict(is_right, assert_epoch_matches_hand_written_loop, impl)


def test_the_clipped_epoch_really_clips():
    """Else the oracle test above could not tell clipping from no clipping."""
    losses = []
    for max_grad_norm in (None, 0.5):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        hand_written_epoch(model, regression_batches(), optimizer, nn.MSELoss(), max_grad_norm)
        losses.append(nn.MSELoss()(model(regression_batches()[0][0]), regression_batches()[0][1]))
    assert not torch.isclose(*losses)


def test_train_epoch_rejects_a_negative_max_grad_norm():
    model = nn.Linear(3, 1).double()
    check_raises("train_epoch", reference.train_epoch, model, regression_batches(),
                 torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), max_grad_norm=-1.0,
                 why="a negative max_grad_norm")


@pytest.mark.parametrize("module", [reference.GRUCell(2, 3), reference.GRU(2, 3)])
def test_modules_use_no_builtin_gru(module):
    assert not any(isinstance(m, nn.GRU | nn.GRUCell) for m in module.modules())
