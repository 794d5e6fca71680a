"""04_gru_pytorch: the from-scratch GRUCell / GRU against nn.GRUCell / nn.GRU with the same
weights, gru_params_to_torch against a mapping written in tests/oracles.py, train_epoch by
properties (a step worked out by hand, the optimizer's state, the order of events seen through
hooks). Each is shown to fail on a deliberately wrong twin."""

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


def clips_after_the_step(model, loader, optimizer, loss_fn, max_grad_norm=None):
    losses = []
    for X, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        if max_grad_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        losses.append(loss.item())
    return sum(losses) / len(losses)


def steps_before_backward(model, loader, optimizer, loss_fn, max_grad_norm=None):
    model.train()
    losses = []
    for X, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        if max_grad_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        loss.backward()
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
#
# Not a loop retyped from the reference, but properties it does not share assumptions with:
# the numbers of a step worked out by hand, the optimizer's state after the epoch, and the
# order of events seen from outside through hooks.


def linear_model():
    """y_hat = w . x + b with w = b = 0, and two identical batches x = (2, 2), y = 1."""
    model = nn.Linear(2, 1, dtype=torch.float64)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    batch = (torch.tensor([[2.0, 2.0]], dtype=torch.float64),
             torch.ones(1, 1, dtype=torch.float64))
    return model, [batch, batch]


def weights_of(model):
    return torch.cat([model.weight.detach().flatten(), model.bias.detach()])


def assert_hand_worked_epoch(epoch):
    """L = (y_hat - 1)^2 has gradient 2 (y_hat - 1) (2, 2, 1). Unclipped: (-4, -4, -2), so
    w = (0.4, 0.4), b = 0.2, y_hat = 1.8; then (3.2, 3.2, 1.6): w = (0.08, 0.08), b = 0.04; the
    losses 1 and 0.64. Clipped at 0.3: each step (-0.2, -0.2, -0.1), so (0.04, 0.04, 0.02), and
    the losses 1 and 0.91^2."""
    for max_grad_norm, weights, mean_loss in ((None, [0.08, 0.08, 0.04], 0.82),
                                              (0.3, [0.04, 0.04, 0.02], (1 + 0.91**2) / 2)):
        model, loader = linear_model()
        loss = epoch(model, loader, torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(),
                     max_grad_norm)
        assert isinstance(loss, float)
        check_close(f"train_epoch (max_grad_norm={max_grad_norm}): the weights",
                    weights_of(model), torch.tensor(weights), rtol=1e-6)
        check_close(f"train_epoch (max_grad_norm={max_grad_norm}): the mean loss", loss,
                    mean_loss, rtol=1e-6)


@reference_and_twin(reference.train_epoch, never_zeroes_gradients)
def test_train_epoch_takes_the_steps_worked_out_by_hand(impl, is_right):
    verdict(is_right, assert_hand_worked_epoch, impl)


def assert_optimizer_state(epoch):
    """SGD with momentum 0.9 keeps a buffer of the (clipped) gradients: after the first step
    b1 = (-0.2, -0.2, -0.1), the weights (0.02, 0.02, 0.01) as without momentum, the second
    clipped gradient again (-0.2, -0.2, -0.1), so b2 = 0.9 b1 + g2 = (-0.38, -0.38, -0.19).
    Adam counts its steps: one per batch."""
    model, loader = linear_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    epoch(model, loader, optimizer, nn.MSELoss(), 0.3)
    buffers = torch.cat([optimizer.state[p]["momentum_buffer"].flatten()
                         for p in (model.weight, model.bias)])
    check_close("train_epoch: SGD's momentum buffer", buffers,
                torch.tensor([-0.38, -0.38, -0.19]), rtol=1e-6)
    model, loader = linear_model()
    optimizer = torch.optim.Adam(model.parameters())
    epoch(model, loader * 3, optimizer, nn.MSELoss(), 0.3)
    assert all(optimizer.state[p]["step"] == 6 for p in model.parameters())


@reference_and_twin(reference.train_epoch, clips_after_the_step)
def test_train_epoch_leaves_the_optimizer_state_of_clipped_steps(impl, is_right):
    verdict(is_right, assert_optimizer_state, impl)


def assert_order_of_events(epoch, max_grad_norm=0.3):
    """Seen from outside: each batch runs zero_grad, backward, then step on a gradient already
    clipped to max_grad_norm, in training mode."""
    model, loader = linear_model()
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    events, zero_grad = [], optimizer.zero_grad

    def zeroing(*args, **kwargs):
        events.append("zero_grad")
        return zero_grad(*args, **kwargs)

    def stepping(optimizer, args, kwargs):
        if any(p.grad is None for p in model.parameters()):
            events.append("step without a gradient")
            return
        norm = torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()
        events.append("step on a clipped gradient" if norm <= max_grad_norm * (1 + 1e-6)
                      else "step on an unclipped gradient")

    optimizer.zero_grad = zeroing
    optimizer.register_step_pre_hook(stepping)
    model.bias.register_hook(lambda grad: events.append("backward"))
    model.register_forward_pre_hook(lambda module, args: events.append(
        "forward" if module.training else "forward in eval mode"))
    epoch(model, loader, optimizer, nn.MSELoss(), max_grad_norm)
    assert events == ["zero_grad", "forward", "backward", "step on a clipped gradient"] * 2, events


@reference_and_twin(reference.train_epoch, steps_before_backward)
def test_train_epoch_runs_zero_grad_backward_clip_step_in_order(impl, is_right):
    verdict(is_right, assert_order_of_events, impl)


def test_the_worked_example_needs_clipping():
    """Else the properties above could not tell clipping from no clipping."""
    model, loader = linear_model()
    reference.train_epoch(model, loader, torch.optim.SGD(model.parameters(), lr=0.1),
                          nn.MSELoss())
    assert not torch.allclose(weights_of(model), torch.tensor([0.04, 0.04, 0.02],
                                                              dtype=torch.float64))


def test_train_epoch_rejects_a_negative_max_grad_norm():
    model, loader = linear_model()
    check_raises("train_epoch", reference.train_epoch, model, loader,
                 torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), max_grad_norm=-1.0,
                 why="a negative max_grad_norm")


@pytest.mark.parametrize("module", [reference.GRUCell(2, 3), reference.GRU(2, 3)])
def test_modules_use_no_builtin_gru(module):
    assert not any(isinstance(m, nn.GRU | nn.GRUCell) for m in module.modules())
