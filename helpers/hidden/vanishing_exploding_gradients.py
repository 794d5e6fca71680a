"""Hidden checks of 01_vanishing_exploding_gradients: one per graded name.

Each check builds seeded inputs, computes what is expected with the reference,
runs the student's code sealed and compares, naming the mistake whose output fits.
The ``*_case`` functions build the inputs; tests compare the reference on them
with PyTorch's own functions.
"""

import numbers
import warnings

import numpy as np
import torch
from torch import nn

from helpers import reference as ref
from helpers.checks import (
    as_array,
    check_close,
    check_inputs_unchanged,
    check_raises,
    check_type,
    describe,
    fail,
)
from helpers.hidden.seal import run_sealed

TORCH_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def _run_quietly(name, fn, *args):
    """``fn(*args)`` sealed, unchanged inputs, and no warning (a warning scores 0 in nbgrader)."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(
        over="warn", divide="warn", invalid="warn"
    ):
        warnings.simplefilter("always")
        result = check_inputs_unchanged(name, lambda *a: run_sealed(name, fn, *a), *args)
    if caught:
        message = str(caught[0].message)
        fail(name, f"it emitted a {caught[0].category.__name__}: {message}.",
             "Likely cause: overflow in np.exp. For x = -1e4, 1 / (1 + np.exp(-x)) computes "
             "exp(10000) = inf. np.where does not help on its own: it evaluates both branches "
             "for every element. Only ever call exp on -|x| (exp(-|x|) lies in (0, 1]), "
             "or silence the harmless overflow with np.errstate.",
             "A test cell that prints a warning scores 0 under nbgrader.")
    return result


# --- sigmoid and its derivative ------------------------------------------------------

def sigmoid_case():
    """Extremes (where a naive exp overflows) and ordinary values, as a (4, 7) array."""
    extremes = [-1e4, -800.0, -40.0, -1.0, 0.0, 1.0, 40.0, 800.0, 1e4]
    ordinary = np.random.default_rng(1).normal(0.0, 6.0, size=28 - len(extremes))
    return np.concatenate([extremes, ordinary]).reshape(4, 7)


def check_sigmoid(sigmoid):
    name = "sigmoid(x)"
    x = sigmoid_case()
    expected = ref.sigmoid(x)
    got = _run_quietly(name, sigmoid, x)
    check_close(name, got, expected, dtype=np.float64, causes={
        "the sign of the exponent is flipped: 1 / (1 + exp(x)) is sigmoid(-x)": ref.sigmoid(-x),
        "np.tanh(x) is not the logistic function (sigmoid(x) = (1 + tanh(x / 2)) / 2)": np.tanh(x),
    })
    got = as_array(got)
    low, high = got[x == -1e4], got[x == 1e4]
    if not (np.all(low == 0.0) and np.all(high == 1.0)):
        fail("sigmoid(x) at x = -1e4 and x = 1e4",
             f"expected exactly 0.0 and 1.0 (the float64 values of e^-10000 and 1 - e^-10000), "
             f"got {float(low[0])!r} and {float(high[0])!r}.",
             "Likely cause: clipping the input (to +-500, say) leaves exp(-500) = 7e-218 "
             "instead of 0. Compute exp(-|x|), which underflows to exactly 0.")


def check_sigmoid_derivative(sigmoid_derivative):
    name = "sigmoid_derivative(x)"
    x = sigmoid_case()
    s = ref.sigmoid(x)
    expected = ref.sigmoid_derivative(x)
    got = _run_quietly(name, sigmoid_derivative, x)
    check_close(name, got, expected, dtype=np.float64, causes={
        "s * (1 - s) of the wrong thing: x * (1 - x) uses x itself, not s = sigmoid(x)":
            x * (1 - x),
        "it returns sigmoid(x) itself, not its derivative": s,
        "1 - sigmoid(x)**2 is the pattern of tanh's derivative, not sigmoid's": 1 - s**2,
        "sigmoid(x) * (1 + sigmoid(x)): the sign inside is wrong": s * (1 + s),
    })
    peak = as_array(run_sealed(name, sigmoid_derivative, np.zeros(1)))
    if peak.shape != (1,) or peak[0] != 0.25:
        fail("sigmoid_derivative(0)", f"expected exactly 0.25 (= 1/2 * 1/2), got {peak!r}.")


# --- the Jacobian product of a tanh RNN ----------------------------------------------------

def rnn_states(W_hh, h0, inputs):
    """h_1..h_T of the tanh RNN h_t = tanh(h_(t-1) W_hh^T + x_t), one sequence."""
    states, h = [], h0
    for x in inputs:
        h = np.tanh(h @ W_hh.T + x)
        states.append(h)
    return np.array(states)


def jacobian_cases():
    """(what makes the case special, W_hh, h0, inputs, hidden_states): one term at a time."""
    rng = np.random.default_rng(2)
    H, T = 4, 6
    W = rng.normal(0.0, 1.2 / np.sqrt(H), size=(H, H))  # not symmetric: order matters
    inputs = rng.normal(0.0, 1.0, size=(T, H))
    h0 = rng.normal(0.0, 0.5, size=H)
    cases = [("hidden states all zero, so J_t = W_hh", W, None, None, np.zeros((T, H)))]
    states_identity = rng.uniform(-0.9, 0.9, size=(T, H))
    cases.append(("W_hh = identity, so J_t = diag(1 - h_t**2)", np.eye(H), None, None,
                  states_identity))
    cases.append(("the states of a real tanh RNN", W, h0, inputs, rnn_states(W, h0, inputs)))
    return cases


def _norms(matrices, ord=2):
    """Norms of M_1, M_1 M_2, M_1 M_2 M_3, ..."""
    product, norms = np.eye(len(matrices[0])), []
    for matrix in matrices:
        product = product @ matrix
        norms.append(np.linalg.norm(product, ord=ord))
    return np.array(norms)


def jacobian_mistakes(W, states):
    """What each known mistake returns for ``rnn_jacobian_norms(W, states)``."""
    newest_first = states[::-1]
    jac = [(1 - h**2)[:, None] * W for h in newest_first]
    previous = np.vstack([np.zeros((1, W.shape[0])), states[:-1]])[::-1]  # h_(t-1) for J_t
    right = [W * (1 - h**2)[None, :] for h in newest_first]
    return {
        "the Jacobians are multiplied in the wrong order: J_(T-k) ... J_T instead of "
        "J_T J_(T-1) ... J_(T-k)": np.array(
            [np.linalg.norm(_chain_reversed(jac[: k + 1]), 2) for k in range(len(jac))]),
        "the tanh derivative is forgotten: W_hh**k alone, without diag(1 - h_t**2)":
            _norms([W] * len(states)),
        "diag(1 - h_t) is used instead of diag(1 - h_t**2)":
            _norms([(1 - h)[:, None] * W for h in newest_first]),
        "h_(t-1) is used in J_t instead of h_t":
            _norms([(1 - h**2)[:, None] * W for h in previous]),
        "the Frobenius norm is used instead of the spectral norm (ord=2)": _norms(jac, "fro"),
        "diag(1 - h_t**2) is multiplied on the right of W_hh instead of the left": _norms(right),
        "W_hh is transposed": _norms([(1 - h**2)[:, None] * W.T for h in newest_first]),
        "the product starts at J_1 instead of J_T":
            _norms([(1 - h**2)[:, None] * W for h in states]),
    }


def _chain_reversed(matrices):
    product = np.eye(len(matrices[0]))
    for matrix in matrices:
        product = matrix @ product
    return product


def check_rnn_jacobian_norms(rnn_jacobian_norms):
    for what, W, _, _, states in jacobian_cases():
        name = f"rnn_jacobian_norms, {what},"
        got = _run_quietly(name, rnn_jacobian_norms, W, states)
        check_close(name, got, ref.rnn_jacobian_norms(W, states), dtype=np.float64,
                    causes=jacobian_mistakes(W, states),
                    hint="entry k is the spectral norm of J_T @ J_(T-1) @ ... @ J_(T-k), "
                         "with J_t = diag(1 - h_t**2) @ W_hh.")
    W = jacobian_cases()[0][1]
    check_raises("rnn_jacobian_norms", run_sealed, "rnn_jacobian_norms", rnn_jacobian_norms,
                 W[:, :3], np.zeros((5, 4)), why="a W_hh that is not square")
    check_raises("rnn_jacobian_norms", run_sealed, "rnn_jacobian_norms", rnn_jacobian_norms,
                 W, np.zeros((5, 3)), why="hidden states of size 3 with a 4 x 4 W_hh")


# --- gradient clipping ------------------------------------------------------------------

def clip_cases():
    """(what makes the case special, grads, max_norm)."""
    rng = np.random.default_rng(3)
    grads = [rng.normal(0.0, 1.0, size=shape) for shape in [(3, 4), (4,), (2, 3)]]
    tiny = [g * 1e-4 for g in grads]  # norm ~ 5e-4: there the 1e-6 is visible
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    return [
        ("a norm above max_norm", grads, 0.5 * norm),
        ("a norm below max_norm", grads, 2.0 * norm),
        ("tiny gradients (norm about 5e-4) above max_norm", tiny, 1e-4),
    ]


def clip_mistakes(grads, max_norm):
    """What each known mistake returns, as (arrays, norm)."""
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    scale = max_norm / (norm + 1e-6)
    clipped = norm > max_norm
    arrays = {
        "each array is clipped by its own norm instead of by the global norm of all arrays": [
            g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads],
        "clipping by value (np.clip(g, -max_norm, max_norm)) instead of by norm": [
            np.clip(g, -max_norm, max_norm) for g in grads],
        "the 1e-6 is missing: the scale is max_norm / (norm + 1e-6)": [
            g * (max_norm / norm if clipped else 1.0) for g in grads],
        "the arrays are scaled even when the norm is below max_norm": [
            g * scale for g in grads],
    }
    norms = {"it returns the squared norm (the sqrt is missing)": norm**2}
    if clipped:
        norms["it returns the norm after clipping; return the norm before clipping"] = (
            norm * scale)
    return arrays, norms


def _check_clip_case(clip_grad_norm, what, grads, max_norm):
    name = f"clip_grad_norm with {what}"
    before = [g.copy() for g in grads]
    result = _run_quietly(name, clip_grad_norm, grads, max_norm)
    for g, copy in zip(grads, before, strict=True):
        if not np.array_equal(g, copy):
            fail(name, "it modified the input arrays in place.",
                 "Scale copies (g * scale), not the arrays you were given (g *= scale).")
    check_type(name, result, tuple)
    if len(result) != 2:
        fail(name, f"expected a pair (arrays, norm), got a tuple of length {len(result)}.")
    arrays, norm = result
    expected_arrays, expected_norm = ref.clip_grad_norm(grads, max_norm)
    wrong_arrays, wrong_norms = clip_mistakes(grads, max_norm)
    check_type(f"{name}: the norm", norm, numbers.Real)
    check_close(f"{name}: the norm", norm, expected_norm, causes=wrong_norms)
    check_type(f"{name}: the arrays", arrays, list)
    if len(arrays) != len(grads):
        fail(f"{name}: the arrays", f"expected {len(grads)} arrays, got {len(arrays)}.")
    for i, got in enumerate(arrays):
        causes = {mistake: wrong[i] for mistake, wrong in wrong_arrays.items()}
        check_close(f"{name}: array {i}", got, expected_arrays[i], dtype=np.float64,
                    causes=causes, hint="scale every array by max_norm / (norm + 1e-6).")
        if np.shares_memory(got, grads[i]):
            fail(f"{name}: array {i}", "it is the input array itself, not a copy.",
                 "Return copies (np.array(g) or g.copy()) even when nothing is clipped, "
                 "so that changing them later cannot change the caller's gradients.")
    total = float(np.sqrt(sum(np.sum(np.asarray(a) ** 2) for a in arrays)))
    if total > max_norm + 1e-12:
        fail(name, f"after clipping the global norm is {total:.6g} > max_norm = {max_norm:.6g}.")


def check_clip_grad_norm(clip_grad_norm):
    for what, grads, max_norm in clip_cases():
        _check_clip_case(clip_grad_norm, what, grads, max_norm)
    grads = clip_cases()[0][1]
    check_raises("clip_grad_norm", run_sealed, "clip_grad_norm", clip_grad_norm, grads, -1.0,
                 why="a negative max_norm")


# --- deep MLPs -------------------------------------------------------------------------------

def linear_layers(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def mlp_forward(layers, x, activation, residual, variant="correct"):
    """The MLP of ``make_mlp`` (or a known mistake, ``variant``) for given (W, b) pairs."""
    act = TORCH_ACTIVATIONS[activation]
    for i, (W, b) in enumerate(layers):
        last = i == len(layers) - 1
        pre = x @ W.T + b
        if variant == "residual before the activation":
            y = act(x + pre) if residual else act(pre)
        elif variant == "residual without the activation":
            y = x + pre if residual else act(pre)
        elif variant == "no activation after the last block":
            y = pre if last else act(pre)
            y = x + y if residual else y
        elif variant == "activation before the Linear layer":
            y = act(x) @ W.T + b
            y = x + y if residual else y
        elif variant == "residual ignored":
            y = act(pre)
        elif variant == "residual always added":
            y = x + act(pre)
        elif variant in TORCH_ACTIVATIONS:
            y = TORCH_ACTIVATIONS[variant](pre)
            y = x + y if residual else y
        else:
            y = act(pre)
            y = x + y if residual else y
        x = y
    return x


MLP_MISTAKES = {
    "residual before the activation":
        "the residual is added before the activation: act(x + linear(x)) instead of "
        "x + act(linear(x))",
    "residual without the activation": "the residual block forgets its activation: x + linear(x)",
    "no activation after the last block":
        "the activation after the last block is missing (every block ends with its activation)",
    "activation before the Linear layer": "the activation comes before the Linear layer",
    "residual ignored": "residual=True is ignored: the blocks return act(linear(x)) without x",
    "residual always added": "the residual is added although residual=False",
}


def check_make_mlp(make_mlp):
    depth, width = 3, 5
    x = torch.from_numpy(np.random.default_rng(4).normal(0.0, 1.5, size=(6, width)))
    for activation in TORCH_ACTIVATIONS:
        for residual in (False, True):
            name = f"make_mlp({depth}, {width}, {activation!r}, residual={residual})"
            _check_mlp_case(make_mlp, name, depth, width, activation, residual, x)


def _check_mlp_case(make_mlp, name, depth, width, activation, residual, x):
    model = run_sealed(name, make_mlp, depth, width, activation, residual=residual)
    check_type(name, model, nn.Module)
    layers = linear_layers(model)
    if len(layers) != depth:
        fail(name, f"expected {depth} nn.Linear layers (one per block), found {len(layers)}.",
             "Each of the depth blocks is one Linear(width, width) then the activation; "
             "there is no extra input or output layer.")
    for i, layer in enumerate(layers):
        if tuple(layer.weight.shape) != (width, width) or layer.bias is None:
            fail(name, f"Linear layer {i} has weight shape {tuple(layer.weight.shape)} and "
                       f"bias {layer.bias is not None}: expected Linear({width}, {width}) "
                       "with a bias.")
    model = model.double()
    weights = [(m.weight.detach().clone(), m.bias.detach().clone()) for m in layers]
    with torch.no_grad():
        got = run_sealed(name, model, x)
        expected = mlp_forward(weights, x, activation, residual)
        causes = {text: mlp_forward(weights, x, activation, residual, variant)
                  for variant, text in MLP_MISTAKES.items()}
        causes.update({f"the activation is {other}, not {activation}":
                       mlp_forward(weights, x, activation, residual, other)
                       for other in TORCH_ACTIVATIONS if other != activation})
    check_close(f"{name}: its output", got, expected, causes=causes,
                hint="are the Linear layers registered (model.modules() order) in the order "
                     "the forward pass uses them?")


# --- per-layer gradient norms -----------------------------------------------------------------

def grad_norms_model():
    """Nested Linear layers with a LayerNorm in between, after one backward pass."""
    torch.manual_seed(5)
    model = nn.Sequential(
        nn.Linear(3, 6), nn.Tanh(),
        nn.Sequential(nn.Linear(6, 6), nn.LayerNorm(6), nn.Sigmoid()),
        nn.Linear(6, 2),
    ).double()
    with torch.no_grad():
        for scale, layer in zip([1.0, 3.0, 0.2], linear_layers(model), strict=True):
            layer.weight.mul_(scale)  # distinct norms, so a reversed order shows
            layer.bias.normal_()
    x = torch.randn(8, 3, dtype=torch.float64)
    model(x).pow(2).sum().backward()
    return model


def check_layer_grad_norms(layer_grad_norms):
    name = "layer_grad_norms(model)"
    model = grad_norms_model()
    grads_before = [p.grad.clone() for p in model.parameters()]
    got = run_sealed(name, layer_grad_norms, model)
    grads_after = [p.grad for p in model.parameters()]
    if any(g is None or not torch.equal(g, before)
           for g, before in zip(grads_after, grads_before, strict=True)):
        fail(name, "it changed the gradients: only read .grad, never modify or zero it.")
    check_type(name, got, list)
    if not all(isinstance(v, numbers.Real) for v in got):
        fail(name, f"expected a list of Python floats, got {describe(got)}.",
             "Turn each norm into a float with .item().")
    layers = linear_layers(model)
    if len(got) != len(layers):
        fail(name, f"expected one norm per nn.Linear layer ({len(layers)}), got {len(got)}.",
             "Only nn.Linear weights count: not biases, not a LayerNorm's weight.")
    expected = ref.layer_grad_norms(model)

    def norms(tensors):
        return [torch.linalg.vector_norm(t).item() for t in tensors]

    check_close(name, np.array(got, dtype=np.float64), np.array(expected), causes={
        "it reports the bias's gradient instead of the weight's": norms(
            [m.bias.grad for m in layers]),
        "it reports the weight itself, not its .grad": norms([m.weight for m in layers]),
        "the norms are in reverse order (use model.modules() order, first layer first)":
            expected[::-1],
        "it reports the squared norm (the sqrt is missing)": [v**2 for v in expected],
        "weight and bias gradients are counted together": norms(
            [torch.cat([m.weight.grad.flatten(), m.bias.grad]) for m in layers]),
    }, hint="one norm per nn.Linear layer, of layer.weight.grad, in model.modules() order.")
