"""Answers students give to 01_vanishing_exploding_gradients: mistakes, each a complete
function, and correct answers written differently from the reference, each declared with
what it is (``tests.variants``). Names read ``<graded name>__<what is different>``.
"""

import itertools

import numpy as np
import torch
from torch import nn

from tests.variants import correct, delegates, mistake

# --- sigmoid ----------------------------------------------------------------------------


@mistake("sigmoid", "overflow")
def sigmoid__naive(x):
    return 1.0 / (1.0 + np.exp(-x))  # exp(1e4) overflows: a RuntimeWarning


@mistake("sigmoid", "evaluates both branches")
def sigmoid__where_both_branches(x):
    # np.where evaluates both branches everywhere: exp(-x) still overflows for x = -1e4
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))


@mistake("sigmoid", "sign of the exponent is flipped")
def sigmoid__sign_flipped(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, e / (1.0 + e), 1.0 / (1.0 + e))


@mistake("sigmoid", "clipping the input")
def sigmoid__clipped_input(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -500.0, 500.0)))


@mistake("sigmoid", "in place")
def sigmoid__writes_into_x(x):
    out = x  # not a new array: the results overwrite the caller's x
    e = np.exp(-np.abs(x))
    out[...] = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


@mistake("sigmoid", "float32")
def sigmoid__float32(x):
    e = np.exp(-np.abs(x)).astype(np.float32)  # "to save memory"
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


@correct("sigmoid")
def sigmoid__errstate(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))  # exp(1e4) = inf gives exactly 0: harmless


@correct("sigmoid")
def sigmoid__tanh(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@correct("sigmoid")
def sigmoid__masks(x):
    out = np.empty_like(x, dtype=np.float64)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out


# --- sigmoid_derivative ------------------------------------------------------------------


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@mistake("sigmoid_derivative", "of the wrong thing")
def sigmoid_derivative__of_x(x):
    return x * (1 - x)


@mistake("sigmoid_derivative", "overflow")
def sigmoid_derivative__naive_exp(x):
    return np.exp(-x) / (1 + np.exp(-x)) ** 2


@mistake("sigmoid_derivative", "tanh's derivative")
def sigmoid_derivative__tanh_pattern(x):
    return 1 - _sigmoid(x) ** 2


@mistake("sigmoid_derivative", "sigmoid(x) itself")
def sigmoid_derivative__sigmoid_itself(x):
    return _sigmoid(x)


@mistake("sigmoid_derivative", "the sign inside is wrong")
def sigmoid_derivative__plus(x):
    return _sigmoid(x) * (1 + _sigmoid(x))


@mistake("sigmoid_derivative", "in place")
def sigmoid_derivative__reuses_x(x):
    s = _sigmoid(x)
    x[...] = s * (1 - s)  # reuses the input's memory
    return x


@correct("sigmoid_derivative")
def sigmoid_derivative__symmetric(x):
    e = np.exp(-np.abs(x))  # sigmoid' is even, so sigmoid'(x) = sigmoid'(|x|)
    return e / (1.0 + e) ** 2


@correct("sigmoid_derivative")
def sigmoid_derivative__sech(x):
    return 0.25 * (1.0 - np.tanh(0.5 * x) ** 2)  # sigmoid'(x) = sech^2(x / 2) / 4


# --- rnn_jacobian_norms -----------------------------------------------------------------


@mistake("rnn_jacobian_norms", "wrong order")
def rnn_jacobian_norms__wrong_order(W_hh, hidden_states):
    product, norms = np.eye(len(W_hh)), []
    for h in hidden_states[::-1]:
        product = np.diag(1 - h**2) @ W_hh @ product  # J_(T-k) ... J_T
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


@mistake("rnn_jacobian_norms", "tanh derivative is forgotten")
def rnn_jacobian_norms__no_tanh_derivative(W_hh, hidden_states):
    return np.array([np.linalg.norm(np.linalg.matrix_power(W_hh, k + 1), 2)
                     for k in range(len(hidden_states))])


@mistake("rnn_jacobian_norms", "diag(1 - h_t) is used")
def rnn_jacobian_norms__one_minus_h(W_hh, hidden_states):
    product, norms = np.eye(len(W_hh)), []
    for h in hidden_states[::-1]:
        product = product @ np.diag(1 - h) @ W_hh
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


@mistake("rnn_jacobian_norms", "h_(t-1) is used")
def rnn_jacobian_norms__previous_state(W_hh, hidden_states):
    previous = np.vstack([np.zeros((1, len(W_hh))), hidden_states[:-1]])  # h_0 = 0, ..., h_(T-1)
    product, norms = np.eye(len(W_hh)), []
    for h in previous[::-1]:
        product = product @ np.diag(1 - h**2) @ W_hh
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


@mistake("rnn_jacobian_norms", "Frobenius")
def rnn_jacobian_norms__frobenius(W_hh, hidden_states):
    product, norms = np.eye(len(W_hh)), []
    for h in hidden_states[::-1]:
        product = product @ np.diag(1 - h**2) @ W_hh
        norms.append(np.linalg.norm(product))
    return np.array(norms)


@mistake("rnn_jacobian_norms", "W_hh @ diag(1 - h_t**2) instead of diag(1 - h_t**2) @ W_hh")
def rnn_jacobian_norms__diag_on_the_right(W_hh, hidden_states):
    product, norms = np.eye(len(W_hh)), []
    for h in hidden_states[::-1]:
        product = product @ W_hh @ np.diag(1 - h**2)
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


@mistake("rnn_jacobian_norms", "W_hh is transposed")
def rnn_jacobian_norms__transposed(W_hh, hidden_states):
    product, norms = np.eye(len(W_hh)), []
    for h in hidden_states[::-1]:
        product = product @ np.diag(1 - h**2) @ W_hh.T  # the batch-first h @ W_hh.T, misread
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


@mistake("rnn_jacobian_norms", "product starts at J_1")
def rnn_jacobian_norms__oldest_first(W_hh, hidden_states):
    product, norms = np.eye(len(W_hh)), []
    for h in hidden_states:  # forgot to go backwards in time
        product = product @ np.diag(1 - h**2) @ W_hh
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


@mistake("rnn_jacobian_norms", "reverse order")
def rnn_jacobian_norms__indexed_by_t(W_hh, hidden_states):
    T = len(hidden_states)
    norms = np.empty(T)
    for t in range(1, T + 1):  # entry t - 1 holds the norm of J_T ... J_t
        product = np.eye(len(W_hh))
        for h in hidden_states[t - 1:][::-1]:  # h_T, ..., h_t
            product = product @ np.diag(1 - h**2) @ W_hh
        norms[t - 1] = np.linalg.norm(product, 2)
    return norms


@mistake("rnn_jacobian_norms", "in place")
def rnn_jacobian_norms__squares_the_states(W_hh, hidden_states):
    squared = hidden_states
    squared **= 2  # h**2, but written into the caller's array
    product, norms = np.eye(len(W_hh)), []
    for h2 in squared[::-1]:
        product = product @ np.diag(1 - h2) @ W_hh
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


@mistake("rnn_jacobian_norms", "not square")
def rnn_jacobian_norms__no_validation(W_hh, hidden_states):
    product, norms = np.eye(len(W_hh)), []
    for h in hidden_states[::-1]:
        product = product @ ((1 - h**2)[:, None] * W_hh)  # broadcasts silently
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


@mistake("rnn_jacobian_norms", "size 1")
def rnn_jacobian_norms__checks_only_squareness(W_hh, hidden_states):
    if W_hh.ndim != 2 or W_hh.shape[0] != W_hh.shape[1]:
        raise ValueError(f"W_hh must be square, got {W_hh.shape}")
    return rnn_jacobian_norms__no_validation(W_hh, hidden_states)


@correct("rnn_jacobian_norms")
def rnn_jacobian_norms__multi_dot(W_hh, hidden_states):
    if W_hh.ndim != 2 or W_hh.shape[0] != W_hh.shape[1]:
        raise ValueError("W_hh must be square")
    if hidden_states.ndim != 2 or hidden_states.shape[1] != W_hh.shape[0]:
        raise ValueError("hidden_states must be (T, H) with W_hh (H, H)")
    jacobians = [np.diag(1 - h**2) @ W_hh for h in hidden_states[::-1]]
    products = itertools.accumulate(jacobians, np.matmul)  # J_T, J_T J_(T-1), ...
    return np.array([np.linalg.svd(p, compute_uv=False)[0] for p in products])


@correct("rnn_jacobian_norms")
def rnn_jacobian_norms__transposed_rows(W_hh, hidden_states):
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


@mistake("clip_grad_norm", "by its own norm")
def clip_grad_norm__per_array(grads, max_norm):
    _check_max_norm(max_norm)
    out = []
    for g in grads:
        norm = np.linalg.norm(g)
        out.append(g * (max_norm / (norm + 1e-6)) if norm > max_norm else g.copy())
    return out, _global_norm(grads)


@mistake("clip_grad_norm", "clipping by value")
def clip_grad_norm__by_value(grads, max_norm):
    _check_max_norm(max_norm)
    return [np.clip(g, -max_norm, max_norm) for g in grads], _global_norm(grads)


@mistake("clip_grad_norm", "norm after clipping")
def clip_grad_norm__post_clip_norm(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    if norm > max_norm:
        grads = [g * (max_norm / (norm + 1e-6)) for g in grads]
    else:
        grads = [g.copy() for g in grads]
    return grads, _global_norm(grads)


@mistake("clip_grad_norm", "1e-6 is missing")
def clip_grad_norm__no_epsilon(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    scale = max_norm / norm if norm > max_norm else 1.0
    return [g * scale for g in grads], norm


@mistake("clip_grad_norm", "in place")
def clip_grad_norm__in_place(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    if norm > max_norm:
        for g in grads:
            g *= max_norm / (norm + 1e-6)
    return [g.copy() for g in grads], norm


@mistake("clip_grad_norm", "not a copy")
def clip_grad_norm__no_copies(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    if norm > max_norm:
        grads = [g * (max_norm / (norm + 1e-6)) for g in grads]
    return grads, norm


@mistake("clip_grad_norm", "even when the norm is below")
def clip_grad_norm__always_scaled(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    return [g * (max_norm / (norm + 1e-6)) for g in grads], norm


@mistake("clip_grad_norm", "squared norm")
def clip_grad_norm__squared_norm(grads, max_norm):
    _check_max_norm(max_norm)
    squared = sum(np.sum(g**2) for g in grads)
    scale = max_norm / (np.sqrt(squared) + 1e-6) if np.sqrt(squared) > max_norm else 1.0
    return [g * scale for g in grads], float(squared)


@mistake("clip_grad_norm", "negative max_norm")
def clip_grad_norm__no_validation(grads, max_norm):
    norm = _global_norm(grads)
    scale = max_norm / (norm + 1e-6) if norm > max_norm else 1.0
    return [g * scale for g in grads], norm


@mistake("clip_grad_norm", "in place")
def clip_grad_norm__replaces_list_entries(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    if norm > max_norm:
        grads[:] = [g * (max_norm / (norm + 1e-6)) for g in grads]  # the caller's list
    return [g.copy() for g in grads], norm


@mistake("clip_grad_norm", "1e-6 is missing")
def clip_grad_norm__unconditional_without_epsilon(grads, max_norm):
    _check_max_norm(max_norm)
    norm = _global_norm(grads)
    scale = min(1.0, max_norm / norm)  # PyTorch's form, but without its 1e-6
    return [g * scale for g in grads], norm


@correct("clip_grad_norm")
def clip_grad_norm__concatenated(grads, max_norm):
    if max_norm < 0:
        raise ValueError("max_norm must not be negative")
    flat = np.concatenate([g.ravel() for g in grads])
    norm = np.linalg.norm(flat)
    scale = min(1.0, max_norm / (norm + 1e-6)) if norm > max_norm else 1.0
    return [np.array(g) * scale for g in grads], norm


@correct("clip_grad_norm")
def clip_grad_norm__in_place_on_copies(grads, max_norm):
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


@mistake("make_mlp", "residual is added before the activation")
def make_mlp__residual_before_activation(depth, width, activation, residual=False):
    return nn.Sequential(*[_Block(width, activation, residual, before_activation=True)
                           for _ in range(depth)])


@mistake("make_mlp", "after the last block is missing")
def make_mlp__last_activation_missing(depth, width, activation, residual=False):
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers[:-1])


@mistake("make_mlp", "nn.Linear layers (one per block)")
def make_mlp__extra_output_layer(depth, width, activation, residual=False):
    blocks = [_Block(width, activation, residual) for _ in range(depth)]
    return nn.Sequential(*blocks, nn.Linear(width, width))


@mistake("make_mlp", "residual=True is ignored")
def make_mlp__residual_ignored(depth, width, activation, residual=False):
    return nn.Sequential(*[_Block(width, activation, False) for _ in range(depth)])


@mistake("make_mlp", "the activation is tanh")
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


@mistake("make_mlp", "share their weights")
def make_mlp__repeated_block(depth, width, activation, residual=False):
    return nn.Sequential(*[_Block(width, activation, residual)] * depth)  # one block, depth times


class _ConfiguredBlock(nn.Module):
    activation = "relu"  # class attributes: every block of every model reads the same ones
    residual = False

    def __init__(self, width):
        super().__init__()
        self.linear = nn.Linear(width, width)

    def forward(self, x):
        y = ACTIVATIONS[self.activation]()(self.linear(x))
        return x + y if self.residual else y


@mistake("make_mlp", "building another model changed")
def make_mlp__settings_on_the_class(depth, width, activation, residual=False):
    _ConfiguredBlock.activation, _ConfiguredBlock.residual = activation, residual
    return nn.Sequential(*(_ConfiguredBlock(width) for _ in range(depth)))


@correct("make_mlp")
def make_mlp__module_list(depth, width, activation, residual=False):
    return _FunctionalMLP(depth, width, activation, residual)


@correct("make_mlp")
def make_mlp__sequential(depth, width, activation, residual=False):
    if residual:
        return nn.Sequential(*[_Block(width, activation, True) for _ in range(depth)])
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


# --- layer_grad_norms -------------------------------------------------------------------------


def _linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


@mistake("layer_grad_norms", "bias's gradient")
def layer_grad_norms__bias(model):
    return [m.bias.grad.norm().item() for m in _linears(model)]


@mistake("layer_grad_norms", "weight itself, not its .grad")
def layer_grad_norms__weight_not_grad(model):
    return [m.weight.norm().item() for m in _linears(model)]


@mistake("layer_grad_norms", "reverse order")
def layer_grad_norms__reversed(model):
    return [m.weight.grad.norm().item() for m in _linears(model)][::-1]


@mistake("layer_grad_norms", "squared norm")
def layer_grad_norms__squared(model):
    return [(m.weight.grad**2).sum().item() for m in _linears(model)]


@mistake("layer_grad_norms", "LayerNorm", seen_by="hidden")
def layer_grad_norms__every_weight(model):
    return [p.grad.norm().item() for n, p in model.named_parameters() if n.endswith("weight")]


@mistake("layer_grad_norms", "every 2-D parameter", seen_by="hidden")
def layer_grad_norms__matrices(model):
    return [p.grad.norm().item() for p in model.parameters() if p.dim() == 2]  # "the weights"


@mistake("layer_grad_norms", ".item()")
def layer_grad_norms__tensors(model):
    return [m.weight.grad.norm() for m in _linears(model)]


@mistake("layer_grad_norms", "changed the gradients")
def layer_grad_norms__zeroes_grads(model):
    norms = [m.weight.grad.norm().item() for m in _linears(model)]
    model.zero_grad()
    return norms


@mistake("layer_grad_norms", "model.children()")
def layer_grad_norms__children(model):
    return [m.weight.grad.norm().item() for m in model.children() if isinstance(m, nn.Linear)]


@correct("layer_grad_norms")
def layer_grad_norms__named_modules(model):
    return [float(torch.sqrt((module.weight.grad**2).sum()))
            for _, module in model.named_modules() if isinstance(module, nn.Linear)]


@correct("layer_grad_norms")
def layer_grad_norms__numpy(model):
    return [float(np.linalg.norm(m.weight.grad.numpy().ravel())) for m in _linears(model)]


# --- answers that delegate to the reference (the seal must stop them) --------------------------


@delegates("sigmoid")
def sigmoid__reference(x):
    from helpers.reference import sigmoid

    return sigmoid(x)


@delegates("sigmoid_derivative")
def sigmoid_derivative__reference(x):
    from helpers.reference import sigmoid_derivative

    return sigmoid_derivative(x)


@delegates("rnn_jacobian_norms")
def rnn_jacobian_norms__reference(W_hh, hidden_states):
    from helpers.reference import rnn_jacobian_norms

    return rnn_jacobian_norms(W_hh, hidden_states)


@delegates("clip_grad_norm")
def clip_grad_norm__reference(grads, max_norm):
    from helpers.reference import clip_grad_norm

    return clip_grad_norm(grads, max_norm)


@delegates("make_mlp")
def make_mlp__reference(depth, width, activation, residual=False):
    from helpers.reference import make_mlp

    return make_mlp(depth, width, activation, residual)


@delegates("layer_grad_norms")
def layer_grad_norms__reference(model):
    from helpers.reference import layer_grad_norms

    return layer_grad_norms(model)
