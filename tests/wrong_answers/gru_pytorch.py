"""Answers students give to 04_gru_pytorch: mistakes, each a complete class or function,
and correct answers written differently from the reference, each declared with what it is
(``tests.variants``). Names read ``<graded name>__<what is different>``.
"""

import math

import numpy as np
import torch
from torch import nn

from tests.variants import correct, delegates, mistake

KEYS = ("W_z", "U_z", "b_z", "W_r", "U_r", "b_r", "W_h", "U_h", "b_h")


def shapes(input_size, hidden_size):
    return {key: {"W": (hidden_size, input_size), "U": (hidden_size, hidden_size),
                  "b": (hidden_size,)}[key[0]] for key in KEYS}


# ---------------------------------------------------------------- GRUCell


@correct("GRUCell")
class GRUCell__fused(nn.Module):
    """nn.init.uniform_, and the three gates' input and recurrent products at once."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        for key, shape in shapes(input_size, hidden_size).items():
            setattr(self, key, nn.Parameter(torch.empty(shape)))
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


@correct("GRUCell")
class GRUCell__plain(nn.Module):
    """A correct cell written plainly; the mistakes below change one part of it."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        for key, shape in shapes(input_size, hidden_size).items():
            self.register_parameter(key, nn.Parameter(self.draw(shape, input_size, hidden_size)))

    def draw(self, shape, input_size, hidden_size):
        return (torch.rand(shape) * 2 - 1) / math.sqrt(hidden_size)

    def gates(self, x, h_prev):
        z = torch.sigmoid(x @ self.W_z.T + h_prev @ self.U_z.T + self.b_z)
        r = torch.sigmoid(x @ self.W_r.T + h_prev @ self.U_r.T + self.b_r)
        return z, r

    def candidate(self, x, h_prev, r):
        return torch.tanh(x @ self.W_h.T + r * (h_prev @ self.U_h.T) + self.b_h)

    def forward(self, x, h_prev):
        z, r = self.gates(x, h_prev)
        return z * h_prev + (1 - z) * self.candidate(x, h_prev, r)


@mistake("GRUCell", "z and 1 - z swapped")
class GRUCell__z_swapped(GRUCell__plain):
    def forward(self, x, h_prev):
        z, r = self.gates(x, h_prev)
        return (1 - z) * h_prev + z * self.candidate(x, h_prev, r)


@mistake("GRUCell", "reset gate applied before the recurrent matrix")
class GRUCell__reset_before_matrix(GRUCell__plain):
    """Cho's and d2l's form: (r * h_prev) U_h^T."""

    def candidate(self, x, h_prev, r):
        return torch.tanh(x @ self.W_h.T + (r * h_prev) @ self.U_h.T + self.b_h)


@mistake("GRUCell", "b_h put inside the reset product")
class GRUCell__b_h_inside_reset(GRUCell__plain):
    def candidate(self, x, h_prev, r):
        return torch.tanh(x @ self.W_h.T + r * (h_prev @ self.U_h.T + self.b_h))


@mistake("GRUCell", "candidate is not reset")
class GRUCell__no_reset(GRUCell__plain):
    def candidate(self, x, h_prev, r):
        return torch.tanh(x @ self.W_h.T + h_prev @ self.U_h.T + self.b_h)


@mistake("GRUCell", "bias b_h of the candidate is left out")
class GRUCell__no_candidate_bias(GRUCell__plain):
    def candidate(self, x, h_prev, r):
        return torch.tanh(x @ self.W_h.T + r * (h_prev @ self.U_h.T))


@mistake("GRUCell", "sigmoid instead of tanh")
class GRUCell__sigmoid_candidate(GRUCell__plain):
    def candidate(self, x, h_prev, r):
        return torch.sigmoid(x @ self.W_h.T + r * (h_prev @ self.U_h.T) + self.b_h)


@mistake("GRUCell", "biases b_z, b_r, b_h are left out")
class GRUCell__no_biases(GRUCell__plain):
    def forward(self, x, h_prev):
        z = torch.sigmoid(x @ self.W_z.T + h_prev @ self.U_z.T)
        r = torch.sigmoid(x @ self.W_r.T + h_prev @ self.U_r.T)
        h_candidate = torch.tanh(x @ self.W_h.T + r * (h_prev @ self.U_h.T))
        return z * h_prev + (1 - z) * h_candidate


@mistake("GRUCell", "the new state is the candidate alone")
class GRUCell__candidate_alone(GRUCell__plain):
    def forward(self, x, h_prev):
        _, r = self.gates(x, h_prev)
        return self.candidate(x, h_prev, r)


@mistake("GRUCell", "no gradient flows back through time")
class GRUCell__detached_state(GRUCell__plain):
    def forward(self, x, h_prev):
        return super().forward(x, h_prev.detach())


@mistake("GRUCell", "wrap each in nn.Parameter")
class GRUCell__plain_tensors(GRUCell__plain):
    """Weights kept as plain tensors: parameters() is empty."""

    def __init__(self, input_size, hidden_size):
        nn.Module.__init__(self)
        self.hidden_size = hidden_size
        for key, shape in shapes(input_size, hidden_size).items():
            setattr(self, key, self.draw(shape, input_size, hidden_size))


@mistake("GRUCell", "expected nn.Parameters named")
class GRUCell__other_names(GRUCell__plain):
    def __init__(self, input_size, hidden_size):
        nn.Module.__init__(self)
        self.hidden_size = hidden_size
        self.weights = nn.ParameterDict({
            key: nn.Parameter(self.draw(shape, input_size, hidden_size))
            for key, shape in shapes(input_size, hidden_size).items()})


@mistake("GRUCell", "beyond the bound 1/sqrt(H)")
class GRUCell__bound_from_input_size(GRUCell__plain):
    def draw(self, shape, input_size, hidden_size):
        return (torch.rand(shape) * 2 - 1) / math.sqrt(input_size)


@mistake("GRUCell", "well inside the bound")
class GRUCell__bound_1_over_H(GRUCell__plain):
    def draw(self, shape, input_size, hidden_size):
        return (torch.rand(shape) * 2 - 1) / hidden_size


@mistake("GRUCell", "beyond the bound 1/sqrt(H)")
class GRUCell__normal_init(GRUCell__plain):
    def draw(self, shape, input_size, hidden_size):
        return torch.randn(shape) / math.sqrt(hidden_size)


@mistake("GRUCell", "holds one value everywhere")
class GRUCell__zero_init(GRUCell__plain):
    def draw(self, shape, input_size, hidden_size):
        return torch.zeros(shape)


@mistake("GRUCell", "b_z holds one value everywhere")
class GRUCell__zero_biases(GRUCell__plain):
    """Uniform weights, but the biases start at zero (as many libraries do)."""

    def draw(self, shape, input_size, hidden_size):
        if len(shape) == 1:
            return torch.zeros(shape)
        return super().draw(shape, input_size, hidden_size)


@mistake("GRUCell", "only non-negative values")
class GRUCell__positive_init(GRUCell__plain):
    """torch.rand(...) * bound: uniform(0, b) instead of uniform(-b, b)."""

    def draw(self, shape, input_size, hidden_size):
        return torch.rand(shape) / math.sqrt(hidden_size)


@delegates("GRUCell", calls="torch.nn.GRUCell")
class GRUCell__torch_cell(GRUCell__plain):
    def forward(self, x, h_prev):
        torch_cell = nn.GRUCell(x.shape[1], self.hidden_size).to(x.dtype)
        return torch_cell(x, h_prev)


@delegates("GRUCell")
class GRUCell__reference(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        from helpers.reference import GRUCell

        self.inner = GRUCell(input_size, hidden_size)

    def forward(self, x, h_prev):
        return self.inner(x, h_prev)


# ---------------------------------------------------------------- GRU


@correct("GRU")
class GRU__preallocated(nn.Module):
    """A time-major loop writing into a preallocated output tensor."""

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


@correct("GRU")
class GRU__plain(nn.Module):
    """A correct GRU written plainly; the mistakes below change one line of it."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.cell = GRUCell__plain(input_size, hidden_size)

    def start(self, X, h0):
        return X.new_zeros(X.shape[0], self.cell.hidden_size) if h0 is None else h0

    def forward(self, X, h0=None):
        h = self.start(X, h0)
        outputs = []
        for t in range(X.shape[1]):
            h = self.cell(X[:, t], h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


@mistake("GRU", "fix GRUCell first")
class GRU__wrong_cell(GRU__plain):
    """A right loop over a wrong cell: the message must send the student to GRUCell."""

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        self.cell = GRUCell__z_swapped(input_size, hidden_size)


@mistake("GRU", "no gradient flows through time")
class GRU__detached_state(GRU__plain):
    def forward(self, X, h0=None):
        h = self.start(X, h0)
        outputs = []
        for t in range(X.shape[1]):
            h = self.cell(X[:, t], h.detach())
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


@mistake("GRU", "h0 is ignored")
class GRU__ignores_h0(GRU__plain):
    def forward(self, X, h0=None):
        return super().forward(X, None)


@mistake("GRU", "states before each step")
class GRU__states_before_step(GRU__plain):
    def forward(self, X, h0=None):
        h = self.start(X, h0)
        outputs = []
        for t in range(X.shape[1]):
            outputs.append(h)
            h = self.cell(X[:, t], h)
        return torch.stack(outputs, dim=1), h


@mistake("GRU", "h_last is the first state")
class GRU__last_is_first(GRU__plain):
    def forward(self, X, h0=None):
        outputs, _ = super().forward(X, h0)
        return outputs, outputs[:, 0]


@mistake("GRU", "store a GRUCell as self.cell")
class GRU__no_self_cell(GRU__plain):
    """Steps with a cell stored under another name."""

    def __init__(self, input_size, hidden_size):
        nn.Module.__init__(self)
        self.step = GRUCell__plain(input_size, hidden_size)
        self.hidden_size = hidden_size

    def forward(self, X, h0=None):
        h = X.new_zeros(X.shape[0], self.hidden_size) if h0 is None else h0
        outputs = []
        for t in range(X.shape[1]):
            h = self.step(X[:, t], h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


@mistake("GRU", "in X's dtype")
class GRU__float32_zeros(GRU__plain):
    def start(self, X, h0):
        return torch.zeros(X.shape[0], self.cell.hidden_size) if h0 is None else h0


@delegates("GRU", calls="torch.nn.GRU")
class GRU__torch_gru(GRU__plain):
    """The loop delegated to nn.GRU."""

    def forward(self, X, h0=None):
        gru = nn.GRU(X.shape[2], self.cell.hidden_size, batch_first=True).to(X.dtype)
        outputs, h_last = gru(X, self.start(X, h0)[None])
        return outputs, h_last[0]


@delegates("GRU")
class GRU__reference(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        from helpers.reference import GRU

        self.inner = GRU(input_size, hidden_size)
        self.cell = self.inner.cell

    def forward(self, X, h0=None):
        return self.inner(X, h0)


# ---------------------------------------------------------------- gru_params_to_torch


def stacked(params, kind, order="rzh"):
    return torch.cat([torch.as_tensor(params[f"{kind}_{gate}"]) for gate in order])


@correct("gru_params_to_torch")
def gru_params_to_torch__recurrent_biases(params):
    """b_r and b_z in the recurrent bias (only their sum matters), b_h stays out."""
    b = stacked(params, "b")
    H = b.shape[0] // 3
    zeros = torch.zeros(H, dtype=b.dtype)
    return {"weight_ih_l0": stacked(params, "W"), "weight_hh_l0": stacked(params, "U"),
            "bias_ih_l0": torch.cat([zeros, zeros, b[2 * H:]]),
            "bias_hh_l0": torch.cat([b[:2 * H], zeros])}


@correct("gru_params_to_torch")
def gru_params_to_torch__numpy_first(params):
    """Concatenated in NumPy, converted once."""
    def cat(kind):
        return torch.from_numpy(np.concatenate([params[f"{kind}_r"], params[f"{kind}_z"],
                                                params[f"{kind}_h"]]))

    return {"weight_ih_l0": cat("W"), "weight_hh_l0": cat("U"), "bias_ih_l0": cat("b"),
            "bias_hh_l0": torch.zeros_like(cat("b"))}


@mistake("gru_params_to_torch", "gate order (z, r, h) instead of PyTorch's (r, z, n)")
def gru_params_to_torch__order_zrh(params):
    return {"weight_ih_l0": stacked(params, "W", "zrh"),
            "weight_hh_l0": stacked(params, "U", "zrh"),
            "bias_ih_l0": stacked(params, "b", "zrh"),
            "bias_hh_l0": torch.zeros_like(stacked(params, "b"))}


@mistake("gru_params_to_torch", "b_h is put in bias_hh_l0")
def gru_params_to_torch__b_h_in_bias_hh(params):
    b = stacked(params, "b")
    H = b.shape[0] // 3
    return {"weight_ih_l0": stacked(params, "W"), "weight_hh_l0": stacked(params, "U"),
            "bias_ih_l0": torch.cat([b[:2 * H], torch.zeros(H, dtype=b.dtype)]),
            "bias_hh_l0": torch.cat([torch.zeros(2 * H, dtype=b.dtype), b[2 * H:]])}


@mistake("gru_params_to_torch", "biases are given twice")
def gru_params_to_torch__biases_twice(params):
    return {"weight_ih_l0": stacked(params, "W"), "weight_hh_l0": stacked(params, "U"),
            "bias_ih_l0": stacked(params, "b"), "bias_hh_l0": stacked(params, "b")}


@mistake("gru_params_to_torch", "missing keys ['bias_hh_l0']")
def gru_params_to_torch__no_bias_hh(params):
    return {"weight_ih_l0": stacked(params, "W"), "weight_hh_l0": stacked(params, "U"),
            "bias_ih_l0": stacked(params, "b")}


@mistake("gru_params_to_torch", "dtype torch.float32")
def gru_params_to_torch__float32(params):
    return {"weight_ih_l0": stacked(params, "W").float(),
            "weight_hh_l0": stacked(params, "U").float(),
            "bias_ih_l0": stacked(params, "b").float(),
            "bias_hh_l0": torch.zeros_like(stacked(params, "b")).float()}


@mistake("gru_params_to_torch", "the transpose of")
def gru_params_to_torch__transposed(params):
    return {"weight_ih_l0": stacked(params, "W").T, "weight_hh_l0": stacked(params, "U").T,
            "bias_ih_l0": stacked(params, "b"),
            "bias_hh_l0": torch.zeros_like(stacked(params, "b"))}


@mistake("gru_params_to_torch", "not a torch.Tensor")
def gru_params_to_torch__arrays(params):
    return {"weight_ih_l0": np.concatenate([params["W_r"], params["W_z"], params["W_h"]]),
            "weight_hh_l0": stacked(params, "U"), "bias_ih_l0": stacked(params, "b"),
            "bias_hh_l0": torch.zeros_like(stacked(params, "b"))}


@mistake("gru_params_to_torch", "in place", seen_by="hidden")
def gru_params_to_torch__converts_in_place(params):
    """Turns the arrays of the dict it was given into tensors: the caller's dict changes."""
    for key in list(params):
        params[key] = torch.as_tensor(params[key])
    return {"weight_ih_l0": stacked(params, "W"), "weight_hh_l0": stacked(params, "U"),
            "bias_ih_l0": stacked(params, "b"),
            "bias_hh_l0": torch.zeros_like(stacked(params, "b"))}


@delegates("gru_params_to_torch")
def gru_params_to_torch__reference(params):
    from helpers.reference import gru_params_to_torch

    return gru_params_to_torch(params)


# ---------------------------------------------------------------- train_epoch


@correct("train_epoch")
def train_epoch__manual_clip(model, loader, optimizer, loss_fn, max_grad_norm=None):
    """Clips by hand, zeroes through the model, sums the losses as it goes."""
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


@correct("train_epoch")
def train_epoch__running_mean(model, loader, optimizer, loss_fn, max_grad_norm=None):
    """Zeroes to zeros (not None), clips the optimizer's own parameters, keeps a running mean."""
    if max_grad_norm is not None and max_grad_norm < 0:
        raise ValueError(f"max_grad_norm={max_grad_norm} is negative")
    model.train(True)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    mean = 0.0
    for count, (X, y) in enumerate(loader, start=1):
        optimizer.zero_grad(set_to_none=False)
        loss = loss_fn(model(X), y)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, max_norm=max_grad_norm)
        optimizer.step()
        mean += (loss.item() - mean) / count
    return mean


def epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, mistake):
    """The reference loop with one named mistake."""
    if mistake != "no ValueError" and max_grad_norm is not None and max_grad_norm < 0:
        raise ValueError("max_grad_norm must be >= 0")
    if mistake == "eval":
        model.eval()
    elif mistake != "no model.train()":
        model.train()
    if mistake == "own optimizer":
        optimizer = torch.optim.SGD(model.parameters(), lr=optimizer.param_groups[0]["lr"])
    clipping = max_grad_norm is not None and not (mistake == "zero is None" and not max_grad_norm)
    losses = []
    for X, y in loader:
        if mistake not in ("no zero_grad", "zero_grad at the end"):
            optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        if mistake == "step before backward":
            optimizer.step()
        loss.backward()
        if clipping and mistake == "clip by value":
            nn.utils.clip_grad_value_(model.parameters(), max_grad_norm)
        elif clipping and mistake == "clip per parameter":
            for p in model.parameters():
                nn.utils.clip_grad_norm_(p, max_grad_norm)
        elif clipping and mistake not in ("no clip", "clip after step"):
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        if mistake == "zeroed before step":
            optimizer.zero_grad()
        if mistake != "step before backward":
            optimizer.step()
        if clipping and mistake == "clip after step":
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        if mistake == "zero_grad at the end":
            optimizer.zero_grad()
        losses.append(loss if mistake == "tensor" else loss.item())
    if mistake == "last":
        return losses[-1]
    if mistake == "sum":
        return sum(losses)
    return sum(losses) / len(losses)


@mistake("train_epoch", "never zeroed")
def train_epoch__no_zero_grad(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "no zero_grad")


@mistake("train_epoch", "left from before the epoch")
def train_epoch__zero_grad_at_the_end(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "zero_grad at the end")


@mistake("train_epoch", "step() comes before")
def train_epoch__step_before_backward(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "step before backward")


@mistake("train_epoch", "not clipped")
def train_epoch__no_clip(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "no clip")


@mistake("train_epoch", "after optimizer.step()")
def train_epoch__clip_after_step(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "clip after step")


@mistake("train_epoch", "clipped separately")
def train_epoch__clip_per_parameter(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "clip per parameter")


@mistake("train_epoch", "clipped by value")
def train_epoch__clip_by_value(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "clip by value")


@mistake("train_epoch", "zeroed between backward() and step()")
def train_epoch__zeroed_before_step(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "zeroed before step")


@mistake("train_epoch", "eval mode")
def train_epoch__eval_mode(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "eval")


@mistake("train_epoch", "eval mode")
def train_epoch__no_train_call(model, loader, optimizer, loss_fn, max_grad_norm=None):
    """Never calls model.train(): right only when the model happens to be in training mode."""
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "no model.train()")


@mistake("train_epoch", "never called on the optimizer it was given")
def train_epoch__own_optimizer(model, loader, optimizer, loss_fn, max_grad_norm=None):
    """Builds a plain SGD of its own: right only while the given optimizer is plain SGD."""
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "own optimizer")


@mistake("train_epoch", "last batch's loss")
def train_epoch__returns_last(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "last")


@mistake("train_epoch", "sum of the batch losses")
def train_epoch__returns_sum(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "sum")


@mistake("train_epoch", "expected a Python float")
def train_epoch__returns_tensor(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "tensor")


@mistake("train_epoch", "negative max_grad_norm")
def train_epoch__no_value_error(model, loader, optimizer, loss_fn, max_grad_norm=None):
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "no ValueError")


@mistake("train_epoch", "treated like None", seen_by="hidden")
def train_epoch__zero_is_none(model, loader, optimizer, loss_fn, max_grad_norm=None):
    """`if max_grad_norm:` instead of `is not None`: max_grad_norm=0 does not clip."""
    return epoch_with(model, loader, optimizer, loss_fn, max_grad_norm, "zero is None")


@delegates("train_epoch")
def train_epoch__reference(model, loader, optimizer, loss_fn, max_grad_norm=None):
    from helpers.reference import train_epoch

    return train_epoch(model, loader, optimizer, loss_fn, max_grad_norm)
