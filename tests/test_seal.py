"""helpers.hidden.seal: a from-scratch answer that delegates to the reference, to PyTorch's
own GRU or to its own attention fails with a message naming the call; ordinary torch and
NumPy code passes."""

import numpy as np
import pytest
import torch
from oracles import random_gru_params
from torch import nn

from helpers.checks import CheckFailure
from helpers.hidden.seal import run_sealed, sealed
from helpers.reference import gru_cell_forward as imported_before_sealing

B, D, H = 2, 3, 4
GENERATOR = torch.Generator().manual_seed(0)


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64, generator=GENERATOR)


x, h = randn(B, D), randn(B, H)
w_ih, w_hh = randn(3 * H, D), randn(3 * H, H)
b_ih, b_hh = torch.zeros(3 * H, dtype=torch.float64), torch.zeros(3 * H, dtype=torch.float64)
params = random_gru_params(D, H, np.random.default_rng(0))


def reference_by_module_path():
    import helpers.reference as reference

    return reference.gru_forward(np.zeros((B, 1, D)), np.zeros((B, H)), params)


def gru_module():
    return nn.GRU(D, H, batch_first=True, dtype=torch.float64)(x[:, None])


def aten_gru(op):
    return op(x[:, None], h[None], [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0, False, False, True)


FUSED = "torch's fused GRU kernel"
# (what the student's code calls, what the message must name)
DELEGATIONS = {
    "reference by module path": (reference_by_module_path, "helpers.reference (gru_forward)"),
    "reference imported before sealing": (
        lambda: imported_before_sealing(x.numpy(), h.numpy(), params),
        "helpers.reference (gru_cell_forward)"),
    "nn.GRU": (gru_module, "torch.nn.GRU"),
    "nn.GRUCell": (lambda: nn.GRUCell(D, H, dtype=torch.float64)(x, h), "torch.nn.GRUCell"),
    "torch.gru_cell": (lambda: torch.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh), FUSED),
    "torch._VF.gru_cell": (lambda: torch._VF.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh), FUSED),
    "torch.gru": (lambda: torch.gru(x[:, None], h[None], (w_ih, w_hh, b_ih, b_hh), True, 1, 0.0,
                                    False, False, True), FUSED),
    "torch.ops.aten.gru_cell": (lambda: torch.ops.aten.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh),
                                f"{FUSED} (aten::gru_cell)"),
    "torch.ops.aten.gru": (lambda: aten_gru(torch.ops.aten.gru), f"{FUSED} (aten::gru)"),
}
ATTENTION = "torch's own attention"
q = randn(1, 2, 4)
DELEGATIONS["F.scaled_dot_product_attention"] = (
    lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q), ATTENTION)
DELEGATIONS["nn.MultiheadAttention"] = (
    lambda: nn.MultiheadAttention(4, 1, batch_first=True, dtype=torch.float64)(q, q, q),
    "torch.nn.MultiheadAttention")
# An OpOverload (aten.gru.input) has ``_name``, not an OpOverloadPacket's ``_qualified_op_name``.
DELEGATIONS["torch.ops.aten.gru.input"] = (lambda: aten_gru(torch.ops.aten.gru.input), FUSED)


@pytest.mark.parametrize("delegation", DELEGATIONS)
def test_the_seal_names_every_delegation(delegation):
    call, named = DELEGATIONS[delegation]
    call()  # works unsealed: the seal, not a typo, is what fails below
    with pytest.raises(CheckFailure) as failure:
        run_sealed("GRUCell", call)
    message = str(failure.value)
    assert message.startswith("GRUCell is wrong.")
    assert "write it from scratch" in message
    assert named in message, message


def from_scratch_cell(x, h_prev, W_z, U_z, b_z, W_r, U_r, b_r, W_h, U_h, b_h):
    z = torch.sigmoid(x @ W_z.T + h_prev @ U_z.T + b_z)
    r = torch.sigmoid(x @ W_r.T + h_prev @ U_r.T + b_r)
    h_candidate = torch.tanh(x @ W_h.T + r * (h_prev @ U_h.T) + b_h)
    return z * h_prev + (1 - z) * h_candidate


def test_ordinary_torch_and_numpy_code_passes(capsys):
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h_new = run_sealed("GRUCell", from_scratch_cell, x, h, **tensors)
    h_new.sum().backward()  # autograd and modules other than the GRU's are fine too
    run_sealed("MLP", lambda: nn.Sequential(nn.Linear(3, 2), nn.Tanh())(torch.ones(1, 3)))
    with sealed("sigmoid"):
        value = 1 / (1 + np.exp(-np.linspace(-3, 3, 5)))
    assert value.shape == (5,) and h_new.shape == (B, H)
    assert capsys.readouterr() == ("", "")


def test_the_seal_restores_the_previous_profiler():
    import sys

    before = sys.getprofile()
    with pytest.raises(CheckFailure):
        run_sealed("GRU", gru_module)
    assert sys.getprofile() is before
    gru_module()  # unsealed again


def test_a_delegation_that_then_fails_is_still_named():
    def delegate_then_crash():
        torch.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)
        raise RuntimeError("shape mismatch further on")

    with pytest.raises(CheckFailure, match="write it from scratch"):
        run_sealed("GRUCell", delegate_then_crash)
