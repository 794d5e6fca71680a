"""04_gru_pytorch: the GRU as nn.Modules (autograd does the backward), and training."""

import math

import torch
from torch import nn

from helpers.gru_layout import gru_shapes, stack_gates


class GRUCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1.0 / math.sqrt(hidden_size)
        for key, shape in gru_shapes(input_size, hidden_size).items():
            self.register_parameter(key, nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))

    def forward(self, x, h_prev):
        z = torch.sigmoid(x @ self.W_z.T + h_prev @ self.U_z.T + self.b_z)
        r = torch.sigmoid(x @ self.W_r.T + h_prev @ self.U_r.T + self.b_r)
        h_candidate = torch.tanh(x @ self.W_h.T + r * (h_prev @ self.U_h.T) + self.b_h)
        return z * h_prev + (1 - z) * h_candidate



class GRU(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.cell = GRUCell(input_size, hidden_size)

    def forward(self, X, h0=None):
        B, T, _ = X.shape
        h = X.new_zeros(B, self.cell.hidden_size) if h0 is None else h0
        outputs = []
        for t in range(T):
            h = self.cell(X[:, t], h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


def gru_params_to_torch(params):
    """The course's GRU dict as a state dict for nn.GRU(D, H, batch_first=True).

    PyTorch's second bias b_hn sits inside the reset product, r * (h U_h^T + b_hn);
    the course's GRU has none there, so it is zero and b_h becomes b_in.
    """
    bias_ih = stack_gates(params, "b")
    return {
        "weight_ih_l0": stack_gates(params, "W"),
        "weight_hh_l0": stack_gates(params, "U"),
        "bias_ih_l0": bias_ih,
        "bias_hh_l0": torch.zeros_like(bias_ih),
    }


def train_epoch(model, loader, optimizer, loss_fn, max_grad_norm=None):
    if max_grad_norm is not None and max_grad_norm < 0:
        raise ValueError(f"max_grad_norm must be non-negative, got {max_grad_norm}")
    model.train()
    losses = []
    for X, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        if max_grad_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        losses.append(loss.item())
    if not losses:
        raise ValueError("the loader yielded no batch")
    return sum(losses) / len(losses)
