"""01_vanishing_exploding_gradients: the mistakes students make, and correct answers written
differently from the reference.

``<name>__<mistake>`` is a wrong answer; ``<name>__ok_<how>`` a correct one.
"""

import itertools

import numpy as np
import torch
from torch import nn

# --- sigmoid ----------------------------------------------------------------------------


def sigmoid__naive(x):
    return 1.0 / (1.0 + np.exp(-x))  # exp(1e4) overflows: a RuntimeWarning


def sigmoid__where_both_branches(x):
    # np.where evaluates both branches everywhere: exp(-x) still overflows for x = -1e4
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))


def sigmoid__sign_flipped(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, e / (1.0 + e), 1.0 / (1.0 + e))


def sigmoid__clipped_input(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -500.0, 500.0)))


def sigmoid__ok_errstate(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))  # exp(1e4) = inf gives exactly 0: harmless


def sigmoid__ok_tanh(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def sigmoid__ok_masks(x):
    out = np.empty_like(x, dtype=np.float64)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out


# --- sigmoid_derivative ------------------------------------------------------------------


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def sigmoid_derivative__of_x(x):
    return x * (1 - x)


def sigmoid_derivative__naive_exp(x):
    return np.exp(-x) / (1 + np.exp(-x)) ** 2


def sigmoid_derivative__tanh_pattern(x):
    return 1 - _sigmoid(x) ** 2


def sigmoid_derivative__sigmoid_itself(x):
    return _sigmoid(x)


def sigmoid_derivative__ok_symmetric(x):
    e = np.exp(-np.abs(x))  # sigmoid' is even, so sigmoid'(x) = sigmoid'(|x|)
    return e / (1.0 + e) ** 2


def sigmoid_derivative__ok_sech(x):
    return 0.25 * (1.0 - np.tanh(0.5 * x) ** 2)  # sigmoid'(x) = sech^2(x / 2) / 4


# --- rnn_jacobian_norms -----------------------------------------------------------------


def rnn_jacobian_norms__wrong_order(W_hh, hidden_states):
    product, norms = np.eye(len(W_hh)), []
    for h in hidden_states[::-1]:
        product = np.diag(1 - h**2) @ W_hh @ product  # J_(T-k) ... J_T
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


def rnn_jacobian_norms__no_tanh_derivative(W_hh, hidden_states):
    return np.array([np.linalg.norm(np.linalg.matrix_power(W_hh, k + 1), 2)
                     for k in range(len(hidden_states))])


def rnn_jacobian_norms__one_minus_h(W_hh, hidden_states):
    product, norms = np.eye(len(W_hh)), []
    for h in hidden_states[::-1]:
        product = product @ np.diag(1 - h) @ W_hh
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


def rnn_jacobian_norms__previous_state(W_hh, hidden_states):
    previous = np.vstack([np.zeros((1, len(W_hh))), hidden_states[:-1]])  # h_0 = 0, ..., h_(T-1)
    product, norms = np.eye(len(W_hh)), []
    for h in previous[::-1]:
        product = product @ np.diag(1 - h**2) @ W_hh
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


def rnn_jacobian_norms__frobenius(W_hh, hidden_states):
    product, norms = np.eye(len(W_hh)), []
    for h in hidden_states[::-1]:
        product = product @ np.diag(1 - h**2) @ W_hh
        norms.append(np.linalg.norm(product))
    return np.array(norms)


def rnn_jacobian_norms__diag_on_the_right(W_hh, hidden_states):
    product, norms = np.eye(len(W_hh)), []
    for h in hidden_states[::-1]:
        product = product @ W_hh @ np.diag(1 - h**2)
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


def rnn_jacobian_norms__ok_multi_dot(W_hh, hidden_states):
    if W_hh.ndim != 2 or W_hh.shape[0] != W_hh.shape[1]:
        raise ValueError("W_hh must be square")
    if hidden_states.ndim != 2 or hidden_states.shape[1] != W_hh.shape[0]:
        raise ValueError("hidden_states must be (T, H) with W_hh (H, H)")
    jacobians = [np.diag(1 - h**2) @ W_hh for h in hidden_states[::-1]]
    products = itertools.accumulate(jacobians, np.matmul)  # J_T, J_T J_(T-1), ...
    return np.array([np.linalg.svd(p, compute_uv=False)[0] for p in products])


def rnn_jacobian_norms__ok_transposed_rows(W_hh, hidden_states):
    # builds (J_T ... J_(T-k))^T = J_(T-k)^T ... J_T^T: same singular values
    H = W_hh.shape[0] if W_hh.ndim == 2 else -1
    if W_hh.shape != (H, H) or hidden_states.ndim != 2 or hidden_states.shape[1] != H:
        raise ValueError(f"expected W_hh (H, H) and hidden_states (T, H), got {W_hh.shape} "
                         f"and {hidden_states.shape}")
    transposed, norms = np.eye(H), np.zeros(len(hidden_states))
    for k in range(len(hidden_states)):
        h = hidden_states[len(hidden_states) - 1 - k]
        transposed = (W_hh.T * (1 - h**2)) @ transposed
        norms[k] = np.linalg.norm(transposed, ord=2)
    return norms


# --- clip_grad_norm -----------------------------------------------------------------------


def _check_max_norm(max_norm):
    if max_norm < 0:
        raise ValueError(f"max_norm must be >= 0, got {max_norm}")


def _global_norm(grads):
    return float(np.sqrt(sum(np.sum(g**2) for g in grads)))


def clip_grad_norm__per_array(grads, max_norm):
    _check_max_norm(max_norm)
    out = []
    for g in grads:
        norm = np.linalg.norm(g)
        out.append(g * (max_norm / (norm + 1e-6)) if norm > max_norm else g.copy())
    return out, _global_norm(grads)


def clip_grad_norm__by_value(grads, max_norm):
    _check_max_norm(max_norm)
    return [np.clip(g, -max_norm, max_norm) for g in grads], _global_norm(grads)


def clip_grad_norm__post_clip_norm(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    if norm > max_norm:
        grads = [g * (max_norm / (norm + 1e-6)) for g in grads]
    else:
        grads = [g.copy() for g in grads]
    return grads, _global_norm(grads)


def clip_grad_norm__no_epsilon(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    scale = max_norm / norm if norm > max_norm else 1.0
    return [g * scale for g in grads], norm


def clip_grad_norm__in_place(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    if norm > max_norm:
        for g in grads:
            g *= max_norm / (norm + 1e-6)
    return [g.copy() for g in grads], norm


def clip_grad_norm__no_copies(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    if norm > max_norm:
        grads = [g * (max_norm / (norm + 1e-6)) for g in grads]
    return grads, norm


def clip_grad_norm__always_scaled(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    return [g * (max_norm / (norm + 1e-6)) for g in grads], norm


def clip_grad_norm__squared_norm(grads, max_norm):
    _check_max_norm(max_norm)
    squared = sum(np.sum(g**2) for g in grads)
    scale = max_norm / (np.sqrt(squared) + 1e-6) if np.sqrt(squared) > max_norm else 1.0
    return [g * scale for g in grads], float(squared)


def clip_grad_norm__no_validation(grads, max_norm):
    norm = _global_norm(grads)
    scale = max_norm / (norm + 1e-6) if norm > max_norm else 1.0
    return [g * scale for g in grads], norm


def clip_grad_norm__ok_concatenated(grads, max_norm):
    if max_norm < 0:
        raise ValueError("max_norm must not be negative")
    flat = np.concatenate([g.ravel() for g in grads])
    norm = np.linalg.norm(flat)
    scale = min(1.0, max_norm / (norm + 1e-6)) if norm > max_norm else 1.0
    return [np.array(g) * scale for g in grads], norm


def clip_grad_norm__ok_in_place_on_copies(grads, max_norm):
    if max_norm < 0:
        raise ValueError(f"negative max_norm {max_norm}")
    copies = [g.copy() for g in grads]
    norm = float(np.sqrt(sum(np.vdot(g, g) for g in copies)))
    if norm > max_norm:
        for g in copies:
            g *= max_norm / (norm + 1e-6)
    return copies, norm


# --- make_mlp --------------------------------------------------------------------------------

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class _Block(nn.Module):
    def __init__(self, width, activation, residual, before_activation=False):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.act = ACTIVATIONS[activation]()
        self.residual, self.before_activation = residual, before_activation

    def forward(self, x):
        if self.residual and self.before_activation:
            return self.act(x + self.linear(x))
        y = self.act(self.linear(x))
        return x + y if self.residual else y


def make_mlp__residual_before_activation(depth, width, activation, residual=False):
    return nn.Sequential(*[_Block(width, activation, residual, before_activation=True)
                           for _ in range(depth)])


def make_mlp__last_activation_missing(depth, width, activation, residual=False):
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers[:-1])


def make_mlp__extra_output_layer(depth, width, activation, residual=False):
    blocks = [_Block(width, activation, residual) for _ in range(depth)]
    return nn.Sequential(*blocks, nn.Linear(width, width))


def make_mlp__residual_ignored(depth, width, activation, residual=False):
    return nn.Sequential(*[_Block(width, activation, False) for _ in range(depth)])


def make_mlp__always_tanh(depth, width, activation, residual=False):
    return nn.Sequential(*[_Block(width, "tanh", residual) for _ in range(depth)])


class _FunctionalMLP(nn.Module):
    def __init__(self, depth, width, activation, residual):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
        self.residual = residual

    def forward(self, x):
        for layer in self.layers:
            x = x + self.act(layer(x)) if self.residual else self.act(layer(x))
        return x


def make_mlp__ok_module_list(depth, width, activation, residual=False):
    return _FunctionalMLP(depth, width, activation, residual)


def make_mlp__ok_sequential(depth, width, activation, residual=False):
    if residual:
        return nn.Sequential(*[_Block(width, activation, True) for _ in range(depth)])
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


# --- layer_grad_norms -------------------------------------------------------------------------


def _linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def layer_grad_norms__bias(model):
    return [m.bias.grad.norm().item() for m in _linears(model)]


def layer_grad_norms__weight_not_grad(model):
    return [m.weight.norm().item() for m in _linears(model)]


def layer_grad_norms__reversed(model):
    return [m.weight.grad.norm().item() for m in _linears(model)][::-1]


def layer_grad_norms__squared(model):
    return [(m.weight.grad**2).sum().item() for m in _linears(model)]


def layer_grad_norms__every_weight(model):
    return [p.grad.norm().item() for n, p in model.named_parameters() if n.endswith("weight")]


def layer_grad_norms__tensors(model):
    return [m.weight.grad.norm() for m in _linears(model)]


def layer_grad_norms__zeroes_grads(model):
    norms = [m.weight.grad.norm().item() for m in _linears(model)]
    model.zero_grad()
    return norms


def layer_grad_norms__ok_named_modules(model):
    return [float(torch.sqrt((module.weight.grad**2).sum()))
            for _, module in model.named_modules() if isinstance(module, nn.Linear)]


def layer_grad_norms__ok_numpy(model):
    return [float(np.linalg.norm(m.weight.grad.numpy().ravel())) for m in _linears(model)]


# --- answers that delegate to the reference (the seal must stop them) --------------------------


def sigmoid__reference(x):
    from helpers.reference import sigmoid

    return sigmoid(x)


def sigmoid_derivative__reference(x):
    from helpers.reference import sigmoid_derivative

    return sigmoid_derivative(x)


def rnn_jacobian_norms__reference(W_hh, hidden_states):
    from helpers.reference import rnn_jacobian_norms

    return rnn_jacobian_norms(W_hh, hidden_states)


def clip_grad_norm__reference(grads, max_norm):
    from helpers.reference import clip_grad_norm

    return clip_grad_norm(grads, max_norm)


def make_mlp__reference(depth, width, activation, residual=False):
    from helpers.reference import make_mlp

    return make_mlp(depth, width, activation, residual)


def layer_grad_norms__reference(model):
    from helpers.reference import layer_grad_norms

    return layer_grad_norms(model)
