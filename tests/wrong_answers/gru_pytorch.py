"""Answers students give to 04_gru_pytorch: mistakes, each a complete class or function,
and correct answers written differently from the reference.

Names read ``<graded name>__<what is different>``.
"""

import math

import numpy as np
import torch
from torch import nn

from helpers import reference

KEYS = ("W_z", "U_z", "b_z", "W_r", "U_r", "b_r", "W_h", "U_h", "b_h")


# ---------------------------------------------------------------- GRUCell: correct


class GRUCell__fused(nn.Module):
    """Correct: nn.init.uniform_, and the three gates' input and recurrent products at once."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        shapes = {"W": (hidden_size, input_size), "U": (hidden_size, hidden_size),
                  "b": (hidden_size,)}
        for key in KEYS:
            setattr(self, key, nn.Parameter(torch.empty(shapes[key[0]])))
        bound = hidden_size ** -0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x, h_prev):
        W = torch.cat([self.W_z, self.W_r, self.W_h])
        U = torch.cat([self.U_z, self.U_r])
        a_x = torch.nn.functional.linear(x, W, torch.cat([self.b_z, self.b_r, self.b_h]))
        a_zx, a_rx, a_hx = a_x.chunk(3, dim=1)
        a_zh, a_rh = (h_prev @ U.T).chunk(2, dim=1)
        z, r = torch.sigmoid(a_zx + a_zh), torch.sigmoid(a_rx + a_rh)
        h_candidate = torch.tanh(a_hx + r * torch.mm(h_prev, self.U_h.t()))
        return h_candidate + z * (h_prev - h_candidate)


class Cell(nn.Module):
    """A correct cell written plainly; the mistakes below change one line of it."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        bound = 1 / math.sqrt(hidden_size)
        for gate in "zrh":
            self.register_parameter(f"W_{gate}", nn.Parameter(
                (torch.rand(hidden_size, input_size) * 2 - 1) * bound))
            self.register_parameter(f"U_{gate}", nn.Parameter(
                (torch.rand(hidden_size, hidden_size) * 2 - 1) * bound))
            self.register_parameter(f"b_{gate}", nn.Parameter(
                (torch.rand(hidden_size) * 2 - 1) * bound))

    def gates(self, x, h_prev):
        z = torch.sigmoid(x @ self.W_z.T + h_prev @ self.U_z.T + self.b_z)
        r = torch.sigmoid(x @ self.W_r.T + h_prev @ self.U_r.T + self.b_r)
        return z, r

    def forward(self, x, h_prev):
        z, r = self.gates(x, h_prev)
        h_candidate = torch.tanh(x @ self.W_h.T + r * (h_prev @ self.U_h.T) + self.b_h)
        return z * h_prev + (1 - z) * h_candidate


GRUCell__plain = Cell


# ---------------------------------------------------------------- GRUCell: mistakes


class GRUCell__z_swapped(Cell):
    def forward(self, x, h_prev):
        z, r = self.gates(x, h_prev)
        h_candidate = torch.tanh(x @ self.W_h.T + r * (h_prev @ self.U_h.T) + self.b_h)
        return (1 - z) * h_prev + z * h_candidate


class GRUCell__reset_before_matrix(Cell):
    def forward(self, x, h_prev):
        z, r = self.gates(x, h_prev)
        h_candidate = torch.tanh(x @ self.W_h.T + (r * h_prev) @ self.U_h.T + self.b_h)
        return z * h_prev + (1 - z) * h_candidate


class GRUCell__detached_state(Cell):
    def forward(self, x, h_prev):
        return super().forward(x, h_prev.detach())


class GRUCell__no_biases(Cell):
    def forward(self, x, h_prev):
        z = torch.sigmoid(x @ self.W_z.T + h_prev @ self.U_z.T)
        r = torch.sigmoid(x @ self.W_r.T + h_prev @ self.U_r.T)
        h_candidate = torch.tanh(x @ self.W_h.T + r * (h_prev @ self.U_h.T))
        return z * h_prev + (1 - z) * h_candidate


class GRUCell__no_candidate_bias(Cell):
    def forward(self, x, h_prev):
        z, r = self.gates(x, h_prev)
        h_candidate = torch.tanh(x @ self.W_h.T + r * (h_prev @ self.U_h.T))
        return z * h_prev + (1 - z) * h_candidate


class GRUCell__no_reset(Cell):
    def forward(self, x, h_prev):
        z, _ = self.gates(x, h_prev)
        h_candidate = torch.tanh(x @ self.W_h.T + h_prev @ self.U_h.T + self.b_h)
        return z * h_prev + (1 - z) * h_candidate


class GRUCell__plain_tensors(Cell):
    """Weights kept as plain tensors: parameters() is empty."""

    def __init__(self, input_size, hidden_size):
        nn.Module.__init__(self)
        self.hidden_size = hidden_size
        shapes = {"W": (hidden_size, input_size), "U": (hidden_size, hidden_size),
                  "b": (hidden_size,)}
        bound = 1 / math.sqrt(hidden_size)
        for key in KEYS:
            setattr(self, key, torch.empty(shapes[key[0]]).uniform_(-bound, bound))


class GRUCell__other_names(Cell):
    def __init__(self, input_size, hidden_size):
        nn.Module.__init__(self)
        self.hidden_size = hidden_size
        self.weights = nn.ParameterDict({k: nn.Parameter(torch.zeros(1)) for k in KEYS})


def cell_with_init(draw):
    """A correct cell whose parameters are then redrawn by ``draw(p, input_size, H)``."""

    class Drawn(Cell):
        def __init__(self, input_size, hidden_size):
            super().__init__(input_size, hidden_size)
            with torch.no_grad():
                for p in self.parameters():
                    p.copy_(draw(p, input_size, hidden_size))

    return Drawn


GRUCell__bound_from_input_size = cell_with_init(
    lambda p, d, h: torch.empty_like(p).uniform_(-d ** -0.5, d ** -0.5))
GRUCell__bound_1_over_H = cell_with_init(
    lambda p, d, h: torch.empty_like(p).uniform_(-1 / h, 1 / h))
GRUCell__normal_init = cell_with_init(lambda p, d, h: torch.randn_like(p) / math.sqrt(h))
GRUCell__zero_init = cell_with_init(lambda p, d, h: torch.zeros_like(p))


class GRUCell__torch_cell(Cell):
    """Delegates to nn.GRUCell."""

    def forward(self, x, h_prev):
        torch_cell = nn.GRUCell(x.shape[1], self.hidden_size).to(x.dtype)
        return torch_cell(x, h_prev)


class GRUCell__reference(reference.GRUCell):
    """Delegates to helpers.reference."""


# ---------------------------------------------------------------- GRU: correct


class GRU__preallocated(nn.Module):
    """Correct: a time-major loop writing into a preallocated output tensor."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.cell = GRUCell__fused(input_size, hidden_size)

    def forward(self, X, h0=None):
        steps = X.transpose(0, 1)
        h = torch.zeros(X.shape[0], self.cell.hidden_size, dtype=X.dtype) if h0 is None else h0
        outputs = X.new_empty(X.shape[0], X.shape[1], self.cell.hidden_size)
        for t, x_t in enumerate(steps):
            h = self.cell.forward(x_t, h)
            outputs[:, t] = h
        return outputs, outputs[:, -1]


class Loop(nn.Module):
    """A correct GRU written plainly; the mistakes below change one line of it."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.cell = Cell(input_size, hidden_size)

    def start(self, X, h0):
        return X.new_zeros(X.shape[0], self.cell.hidden_size) if h0 is None else h0

    def forward(self, X, h0=None):
        h = self.start(X, h0)
        outputs = []
        for t in range(X.shape[1]):
            h = self.cell(X[:, t], h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


# ---------------------------------------------------------------- GRU: mistakes


class GRU__wrong_cell(Loop):
    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        self.cell = GRUCell__z_swapped(input_size, hidden_size)


class GRU__detached_state(Loop):
    def forward(self, X, h0=None):
        h = self.start(X, h0)
        outputs = []
        for t in range(X.shape[1]):
            h = self.cell(X[:, t], h.detach())
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


class GRU__ignores_h0(Loop):
    def forward(self, X, h0=None):
        return super().forward(X, None)


class GRU__states_before_step(Loop):
    def forward(self, X, h0=None):
        h = self.start(X, h0)
        outputs = []
        for t in range(X.shape[1]):
            outputs.append(h)
            h = self.cell(X[:, t], h)
        return torch.stack(outputs, dim=1), h


class GRU__last_is_first(Loop):
    def forward(self, X, h0=None):
        outputs, _ = super().forward(X, h0)
        return outputs, outputs[:, 0]


class GRU__no_self_cell(Loop):
    """Computes the steps inline with parameters of its own: self.cell is not used."""

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        self.step = self.cell
        del self.cell
        self.hidden_size = hidden_size

    def forward(self, X, h0=None):
        h = X.new_zeros(X.shape[0], self.hidden_size) if h0 is None else h0
        outputs = []
        for t in range(X.shape[1]):
            h = self.step(X[:, t], h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


class GRU__float32_zeros(Loop):
    def start(self, X, h0):
        return torch.zeros(X.shape[0], self.cell.hidden_size) if h0 is None else h0


class GRU__torch_gru(Loop):
    """Delegates the loop to nn.GRU, with the weights mapped."""

    def forward(self, X, h0=None):
        gru = nn.GRU(X.shape[2], self.cell.hidden_size, batch_first=True).to(X.dtype)
        h = self.start(X, h0)
        outputs, h_last = gru(X, h[None])
        return outputs, h_last[0]


class GRU__reference(reference.GRU):
    """Delegates to helpers.reference."""


# ---------------------------------------------------------------- gru_params_to_torch


def stacked(params, kind, order="rzh"):
    return torch.cat([torch.as_tensor(params[f"{kind}_{gate}"]) for gate in order])


def gru_params_to_torch__recurrent_biases(params):
    """Correct: b_r and b_z go to the recurrent bias (only their sum matters), b_h stays out."""
    b = stacked(params, "b")
    H = b.shape[0] // 3
    zeros = torch.zeros(H, dtype=b.dtype)
    return {"weight_ih_l0": stacked(params, "W"), "weight_hh_l0": stacked(params, "U"),
            "bias_ih_l0": torch.cat([zeros, zeros, b[2 * H:]]),
            "bias_hh_l0": torch.cat([b[:2 * H], zeros])}


def gru_params_to_torch__numpy_first(params):
    """Correct: concatenated in NumPy, converted once."""
    def cat(kind):
        return torch.from_numpy(np.concatenate([params[f"{kind}_r"], params[f"{kind}_z"],
                                                params[f"{kind}_h"]]))

    return {"weight_ih_l0": cat("W"), "weight_hh_l0": cat("U"), "bias_ih_l0": cat("b"),
            "bias_hh_l0": torch.zeros_like(cat("b"))}


def gru_params_to_torch__order_zrh(params):
    return {"weight_ih_l0": stacked(params, "W", "zrh"),
            "weight_hh_l0": stacked(params, "U", "zrh"),
            "bias_ih_l0": stacked(params, "b", "zrh"),
            "bias_hh_l0": torch.zeros_like(stacked(params, "b"))}


def gru_params_to_torch__b_h_in_bias_hh(params):
    b = stacked(params, "b")
    H = b.shape[0] // 3
    return {"weight_ih_l0": stacked(params, "W"), "weight_hh_l0": stacked(params, "U"),
            "bias_ih_l0": torch.cat([b[:2 * H], torch.zeros(H, dtype=b.dtype)]),
            "bias_hh_l0": torch.cat([torch.zeros(2 * H, dtype=b.dtype), b[2 * H:]])}


def gru_params_to_torch__biases_twice(params):
    return {"weight_ih_l0": stacked(params, "W"), "weight_hh_l0": stacked(params, "U"),
            "bias_ih_l0": stacked(params, "b"), "bias_hh_l0": stacked(params, "b")}


def gru_params_to_torch__no_bias_hh(params):
    return {"weight_ih_l0": stacked(params, "W"), "weight_hh_l0": stacked(params, "U"),
            "bias_ih_l0": stacked(params, "b")}


def gru_params_to_torch__float32(params):
    return {"weight_ih_l0": stacked(params, "W").float(),
            "weight_hh_l0": stacked(params, "U").float(),
            "bias_ih_l0": stacked(params, "b").float(),
            "bias_hh_l0": torch.zeros_like(stacked(params, "b")).float()}


def gru_params_to_torch__transposed(params):
    return {"weight_ih_l0": stacked(params, "W").T, "weight_hh_l0": stacked(params, "U").T,
            "bias_ih_l0": stacked(params, "b"),
            "bias_hh_l0": torch.zeros_like(stacked(params, "b"))}


def gru_params_to_torch__arrays(params):
    return {"weight_ih_l0": np.concatenate([params["W_r"], params["W_z"], params["W_h"]]),
            "weight_hh_l0": stacked(params, "U"), "bias_ih_l0": stacked(params, "b"),
            "bias_hh_l0": torch.zeros_like(stacked(params, "b"))}


def gru_params_to_torch__reference(params):
    return reference.gru_params_to_torch(params)


# ---------------------------------------------------------------- train_epoch: correct


def train_epoch__manual_clip(model, loader, optimizer, loss_fn, max_grad_norm=None):
    """Correct: clips by hand, zeroes through the model, sums losses as it goes."""
    if max_grad_norm is not None and max_grad_norm < 0:
        raise ValueError("max_grad_norm must be >= 0")
    model.train()
    total, count = 0.0, 0
    for X, y in loader:
        model.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        if max_grad_norm is not None:
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
            if norm > max_grad_norm:
                for g in grads:
                    g.mul_(max_grad_norm / (norm + 1e-6))
        optimizer.step()
        total += loss.detach().item()
        count += 1
    return total / count


def epoch_with(mistake):
    """A train_epoch with one mistake (see the names below)."""

    def train_epoch(model, loader, optimizer, loss_fn, max_grad_norm=None):
        if mistake != "no ValueError" and max_grad_norm is not None and max_grad_norm < 0:
            raise ValueError("max_grad_norm must be >= 0")
        if mistake == "eval":
            model.eval()
        losses = []
        for X, y in loader:
            if mistake not in ("no zero_grad", "zero_grad at the end"):
                optimizer.zero_grad()
            loss = loss_fn(model(X), y)
            if mistake == "step before backward":
                optimizer.step()
            loss.backward()
            if max_grad_norm is not None and mistake == "clip by value":
                nn.utils.clip_grad_value_(model.parameters(), max_grad_norm)
            elif max_grad_norm is not None and mistake == "clip per parameter":
                for p in model.parameters():
                    nn.utils.clip_grad_norm_(p, max_grad_norm)
            elif max_grad_norm is not None and mistake not in ("no clip", "clip after step"):
                nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            if mistake != "step before backward":
                optimizer.step()
            if max_grad_norm is not None and mistake == "clip after step":
                nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            if mistake == "zero_grad at the end":
                optimizer.zero_grad()
            losses.append(loss if mistake == "tensor" else loss.item())
        if mistake == "last":
            return losses[-1]
        if mistake == "sum":
            return sum(losses)
        return sum(losses) / len(losses)

    train_epoch.__name__ = "train_epoch__" + mistake.replace(" ", "_")
    return train_epoch


train_epoch__no_zero_grad = epoch_with("no zero_grad")
train_epoch__zero_grad_at_the_end = epoch_with("zero_grad at the end")
train_epoch__step_before_backward = epoch_with("step before backward")
train_epoch__no_clip = epoch_with("no clip")
train_epoch__clip_after_step = epoch_with("clip after step")
train_epoch__clip_per_parameter = epoch_with("clip per parameter")
train_epoch__clip_by_value = epoch_with("clip by value")
train_epoch__eval_mode = epoch_with("eval")
train_epoch__returns_last = epoch_with("last")
train_epoch__returns_sum = epoch_with("sum")
train_epoch__returns_tensor = epoch_with("tensor")
train_epoch__no_value_error = epoch_with("no ValueError")


def train_epoch__reference(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return reference.train_epoch(model, loader, optimizer, loss_fn, max_grad_norm)
