"""01_vanishing_exploding_gradients: where gradients vanish, and clipping."""

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def sigmoid(x):
    """Logistic function, stable for any x: exp only ever sees a non-positive number."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(x):
    s = sigmoid(x)
    return s * (1.0 - s)


def rnn_jacobian_norms(W_hh, hidden_states):
    """Spectral norms of J_T, J_T J_(T-1), ..., J_T ... J_1 for a tanh RNN."""
    W_hh = np.asarray(W_hh, dtype=np.float64)
    hs = np.asarray(hidden_states, dtype=np.float64)
    if W_hh.ndim != 2 or W_hh.shape[0] != W_hh.shape[1]:
        raise ValueError(f"W_hh must be a square (H, H) matrix, got shape {W_hh.shape}")
    if hs.ndim != 2 or hs.shape[1] != W_hh.shape[0]:
        raise ValueError(
            f"hidden_states must be (T, H) with H = {W_hh.shape[0]}, got shape {hs.shape}"
        )
    product = np.eye(W_hh.shape[0])
    norms = np.empty(len(hs))
    for k, h in enumerate(hs[::-1]):  # h_T, h_(T-1), ..., h_1
        jacobian = (1.0 - h**2)[:, None] * W_hh  # diag(1 - h_t^2) @ W_hh
        product = product @ jacobian
        norms[k] = np.linalg.norm(product, ord=2)
    return norms


def clip_grad_norm(grads, max_norm):
    """Scale all gradients together so that their global L2 norm is at most max_norm."""
    if max_norm < 0:
        raise ValueError(f"max_norm must be non-negative, got {max_norm}")
    grads = [np.array(g, dtype=np.float64) for g in grads]  # copies
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    if norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        grads = [g * scale for g in grads]
    return grads, norm


class Block(nn.Module):
    """Linear then activation; with a residual, the input is added after the activation."""

    def __init__(self, width, activation, residual):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.activation = ACTIVATIONS[activation]()
        self.residual = residual

    def forward(self, x):
        y = self.activation(self.linear(x))
        return x + y if self.residual else y


def make_mlp(depth, width, activation, residual=False):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be positive, got depth={depth}, width={width}")
    return nn.Sequential(*(Block(width, activation, residual) for _ in range(depth)))


def layer_grad_norms(model):
    norms = []
    for module in model.modules():
        if isinstance(module, nn.Linear):
            if module.weight.grad is None:
                raise ValueError("a Linear layer has no gradient: call loss.backward() first")
            norms.append(torch.linalg.vector_norm(module.weight.grad).item())
    return norms
