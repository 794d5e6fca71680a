"""What the reference tests share: PyTorch's own GRU with the course's weights loaded by a
mapping written here (independent of ``gru_params_to_torch``), finite differences, and the
parametrization that runs each oracle test on the reference and on a deliberately wrong twin.

Everything is float64: at that precision a mistake cannot hide behind rounding.
"""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, settings
from torch import nn

from helpers.reference import GRU_KEYS, gru_params_to_torch

# Few examples, always the same ones: these files run in seconds and reproducibly.
# One failure is enough for a wrong twin: no shrinking (seconds per twin), and no group of
# several failures (an ExceptionGroup is not an AssertionError).
ORACLE = settings(max_examples=15, derandomize=True, deadline=None, database=None,
                  phases=(Phase.explicit, Phase.generate), report_multiple_bugs=False,
                  suppress_health_check=[HealthCheck.too_slow])
TORCH_GATES = ("r", "z", "h")  # PyTorch stacks its gates as (r, z, n)


def reference_and_twin(reference, wrong):
    """Run a test on the reference (it must pass) and on a wrong twin (it must fail)."""
    return pytest.mark.parametrize("impl, is_right", [
        pytest.param(reference, True, id="reference"),
        pytest.param(wrong, False, id=f"wrong-{wrong.__name__}"),
    ])


def verdict(is_right, assertion, *args):
    """``assertion(*args)`` passes for the reference and raises AssertionError for a twin."""
    if is_right:
        assertion(*args)
    else:
        with pytest.raises(AssertionError):
            assertion(*args)


def random_gru_params(input_size, hidden_size, rng, scale=0.8):
    """GRU parameters drawn here (normal, not the course's uniform), float64."""
    shapes = {"W": (hidden_size, input_size), "U": (hidden_size, hidden_size),
              "b": (hidden_size,)}
    return {key: scale * rng.standard_normal(shapes[key[0]]) for key in GRU_KEYS}


def torch_state_dict(params, suffix=""):
    """The course's GRU as nn.GRU / nn.GRUCell weights: gates stacked (r, z, n); b_h is the
    input bias of n, and PyTorch's recurrent bias (inside r * (.)) is zero."""
    def stacked(kind):
        return torch.tensor(np.concatenate([params[f"{kind}_{g}"] for g in TORCH_GATES]))

    bias_ih = stacked("b")
    return {f"weight_ih{suffix}": stacked("W"), f"weight_hh{suffix}": stacked("U"),
            f"bias_ih{suffix}": bias_ih, f"bias_hh{suffix}": torch.zeros_like(bias_ih)}


def both_mappings(params, suffix):
    """The weights for nn.GRU (suffix "_l0") or nn.GRUCell (suffix ""), once by the course's
    gru_params_to_torch and once by torch_state_dict here."""
    course = gru_params_to_torch(params)
    return {"course": course if suffix else strip_l0(course),
            "oracles": torch_state_dict(params, suffix)}


def loaded_gru_cell(state_dict):
    """nn.GRUCell in float64 with these weights (keys without an ``_l0`` suffix)."""
    rows, input_size = state_dict["weight_ih"].shape
    cell = nn.GRUCell(input_size, rows // 3, dtype=torch.float64)
    cell.load_state_dict(state_dict)
    return cell


def loaded_gru(state_dict):
    """nn.GRU(batch_first=True) in float64 with these weights (keys ending in ``_l0``)."""
    rows, input_size = state_dict["weight_ih_l0"].shape
    gru = nn.GRU(input_size, rows // 3, batch_first=True, dtype=torch.float64)
    gru.load_state_dict(state_dict)
    return gru


def strip_l0(state_dict):
    return {key.removesuffix("_l0"): value for key, value in state_dict.items()}


def course_grads(module, suffix=""):
    """The gradients of a loaded nn.GRU / nn.GRUCell, split back into the course's keys."""
    grads = {}
    for kind, name in (("W", "weight_ih"), ("U", "weight_hh"), ("b", "bias_ih")):
        chunks = getattr(module, name + suffix).grad.chunk(3)
        for gate, chunk in zip(TORCH_GATES, chunks, strict=True):
            grads[f"{kind}_{gate}"] = chunk.numpy()
    return grads


def torch_cell_backward(x, h_prev, params, dh):
    """(dx, dh_prev, grads) of sum(h * dh) for one nn.GRUCell step, by autograd."""
    cell = loaded_gru_cell(torch_state_dict(params))
    x_t, h_t = (torch.tensor(a, requires_grad=True) for a in (x, h_prev))
    (cell(x_t, h_t) * torch.tensor(dh)).sum().backward()
    return x_t.grad.numpy(), h_t.grad.numpy(), course_grads(cell)


def torch_sequence_backward(X, h0, params, dH_all):
    """(dX, dh0, grads) of sum(H_all * dH_all) through nn.GRU, by autograd."""
    gru = loaded_gru(torch_state_dict(params, "_l0"))
    X_t, h0_t = torch.tensor(X, requires_grad=True), torch.tensor(h0, requires_grad=True)
    outputs, _ = gru(X_t, h0_t[None])
    (outputs * torch.tensor(dH_all)).sum().backward()
    return X_t.grad.numpy(), h0_t.grad.numpy(), course_grads(gru, "_l0")


def numerical_gradient(f, array, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of ``array``
    (changed in place and restored)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        plus = f()
        array[index] = saved - eps
        minus = f()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad
