"""Hidden tests of 01_vanishing_exploding_gradients: one per test cell.

Each probe runs the student's code on seeded inputs (``observe.call``) and keeps what came
back; each judge rebuilds the same inputs, compares with the reference and with what each
known mistake gives on them, and names the mistake that fits. The ``*_case`` functions
build the inputs (``tests/test_hidden_vanishing_exploding_gradients.py`` shows that on them
the reference agrees with PyTorch). Probes that build torch modules do so on a forked
random stream, so that a hidden test never changes what the student's later cells draw.
"""

import numbers

import numpy as np
import torch
from torch import nn

from helpers.checks import check_close, check_type, fail
from helpers.hidden import hidden_test
from helpers.hidden import reference as ref
from helpers.hidden.observe import call

TORCH_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def _fresh_random_stream():
    """The global torch generator, restored when the block ends."""
    return torch.random.fork_rng(devices=[])


def _quiet_value(name, seen, warning_cause):
    """The result of a call that must not warn; a warning is named with
    ``warning_cause(messages)``, the likely cause the messages point to."""
    result = seen.value(name, warnings_allowed=True)  # a delegation, an exception, in place
    if seen.warned:
        category, message = seen.warned[0]
        fail(name, f"it emitted a {category}: {message}.",
             warning_cause(" ".join(text for _, text in seen.warned)),
             "A test cell that prints a warning scores 0 under nbgrader.")
    return result


# ---------------------------------------------------------------- sigmoid and its derivative

def sigmoid_case():
    """Extremes (where a naive exp overflows) and ordinary values, as a (4, 7) array."""
    extremes = [-1e4, -800.0, -40.0, -1.0, 0.0, 1.0, 40.0, 800.0, 1e4]
    ordinary = np.random.default_rng(1).normal(0.0, 6.0, size=28 - len(extremes))
    return np.concatenate([extremes, ordinary]).reshape(4, 7)


def sigmoid_warning_cause(messages):
    if "overflow" in messages and "invalid value" in messages:
        return ("Likely cause: np.where evaluates both branches for every element, so the "
                "branch meant for the other sign still computes exp(10000) = inf (and "
                "inf / inf = nan). Only ever call exp on -|x|: exp(-|x|) lies in (0, 1].")
    if "overflow" in messages:
        return ("Likely cause: an overflow in np.exp: for x = -1e4, 1 / (1 + np.exp(-x)) "
                "computes exp(10000) = inf. Only ever call exp on -|x|: exp(-|x|) lies in "
                "(0, 1].")
    return ""


def derivative_warning_cause(messages):
    if "overflow" in messages:
        return ("Likely cause: an overflow in np.exp: np.exp(-x) is exp(10000) = inf at "
                "x = -1e4 (and inf / inf = nan). Build the derivative from your stable "
                "sigmoid: s * (1 - s).")
    return ""


def probe_sigmoid(sigmoid):
    return {"x": call(sigmoid, sigmoid_case())}


def judge_sigmoid(seen):
    name = "sigmoid(x)"
    x = sigmoid_case()
    got = _quiet_value(name, seen["x"], sigmoid_warning_cause)
    check_close(name, got, ref.sigmoid(x), dtype=np.float64, causes={
        "the sign of the exponent is flipped: 1 / (1 + exp(x)) is sigmoid(-x)": ref.sigmoid(-x),
        "np.tanh(x) is not the logistic function (sigmoid(x) = (1 + tanh(x / 2)) / 2)":
            np.tanh(x),
    })
    low, high = float(got[x == -1e4][0]), float(got[x == 1e4][0])
    if low != 0.0 or high != 1.0:
        fail("sigmoid(x) at x = -1e4 and x = 1e4",
             f"expected exactly 0.0 and 1.0 (the float64 values of e^-10000 and "
             f"1 - e^-10000), got {low!r} and {high!r}.",
             "Likely cause: clipping the input (to +-500, say) leaves exp(-500) = 7e-218 "
             "instead of 0. Compute exp(-|x|), which underflows to exactly 0."
             if 0.0 < low < 1e-100 else "")


check_sigmoid = hidden_test("sigmoid", "test_sigmoid", probe_sigmoid, judge_sigmoid)


def probe_sigmoid_derivative(sigmoid_derivative):
    return {"x": call(sigmoid_derivative, sigmoid_case()),
            "zero": call(sigmoid_derivative, np.zeros(1))}


def judge_sigmoid_derivative(seen):
    name = "sigmoid_derivative(x)"
    x = sigmoid_case()
    s = ref.sigmoid(x)
    got = _quiet_value(name, seen["x"], derivative_warning_cause)
    check_close(name, got, ref.sigmoid_derivative(x), dtype=np.float64, causes={
        "s * (1 - s) of the wrong thing: x * (1 - x) uses x itself, not s = sigmoid(x)":
            x * (1 - x),
        "it returns sigmoid(x) itself, not its derivative": s,
        "1 - sigmoid(x)**2 is the pattern of tanh's derivative, not sigmoid's": 1 - s**2,
        "sigmoid(x) * (1 + sigmoid(x)): the sign inside is wrong": s * (1 + s),
    })
    peak = np.asarray(_quiet_value("sigmoid_derivative(0)", seen["zero"],
                                   derivative_warning_cause))
    if peak.shape != (1,) or peak[0] != 0.25:
        fail("sigmoid_derivative(0)", f"expected exactly 0.25 (= 1/2 * 1/2), got {peak!r}.")


check_sigmoid_derivative = hidden_test("sigmoid_derivative", "test_sigmoid_derivative",
                                       probe_sigmoid_derivative, judge_sigmoid_derivative)


# ---------------------------------------------------------------- the Jacobians of a tanh RNN

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


def _norms_multiplied_on_the_left(matrices):
    """Norms of M_1, M_2 M_1, M_3 M_2 M_1, ..."""
    product, norms = np.eye(len(matrices[0])), []
    for matrix in matrices:
        product = matrix @ product
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)


def jacobian_mistakes(W, states):
    """What each known mistake returns for ``rnn_jacobian_norms(W, states)``."""
    newest_first = states[::-1]
    jacobians = [(1 - h**2)[:, None] * W for h in newest_first]
    previous = np.vstack([np.zeros((1, W.shape[0])), states[:-1]])[::-1]  # h_(t-1) for J_t
    return {
        "the Jacobians are multiplied in the wrong order: J_(T-k) ... J_T instead of "
        "J_T J_(T-1) ... J_(T-k)": _norms_multiplied_on_the_left(jacobians),
        "the tanh derivative is forgotten: W_hh**k alone, without diag(1 - h_t**2)":
            _norms([W] * len(states)),
        "diag(1 - h_t) is used instead of diag(1 - h_t**2)":
            _norms([(1 - h)[:, None] * W for h in newest_first]),
        "h_(t-1) is used in J_t instead of h_t":
            _norms([(1 - h**2)[:, None] * W for h in previous]),
        "the Frobenius norm is used instead of the spectral norm (ord=2)":
            _norms(jacobians, "fro"),
        "W_hh @ diag(1 - h_t**2) instead of diag(1 - h_t**2) @ W_hh":
            _norms([W * (1 - h**2)[None, :] for h in newest_first]),
        "W_hh is transposed: diag(1 - h_t**2) @ W_hh.T":
            _norms([(1 - h**2)[:, None] * W.T for h in newest_first]),
        "the product starts at J_1 instead of J_T (the states are taken oldest first)":
            _norms([(1 - h**2)[:, None] * W for h in states]),
        "the entries are in reverse order (entry 0 is the norm of J_T alone)":
            _norms(jacobians)[::-1],
    }


def probe_rnn_jacobian_norms(rnn_jacobian_norms):
    return [call(rnn_jacobian_norms, W, states) for _, W, _, _, states in jacobian_cases()]


def judge_rnn_jacobian_norms(seen):
    for (what, W, _, _, states), one in zip(jacobian_cases(), seen, strict=True):
        name = f"rnn_jacobian_norms, {what},"
        check_close(name, one.value(name), ref.rnn_jacobian_norms(W, states), dtype=np.float64,
                    causes=jacobian_mistakes(W, states))


check_rnn_jacobian_norms = hidden_test("rnn_jacobian_norms", "test_rnn_jacobian_norms",
                                       probe_rnn_jacobian_norms, judge_rnn_jacobian_norms)

JACOBIAN_SHAPE_ERRORS = (
    # (why it is wrong, W_hh, hidden_states): with T = 1 a missing check often runs through
    ("a W_hh of shape (3, 4), which is not square,", np.ones((3, 4)), np.zeros((1, 3))),
    ("hidden states of size 1 with a 4 x 4 W_hh", np.eye(4), np.zeros((5, 1))),
)


def probe_rnn_jacobian_norms_errors(rnn_jacobian_norms):
    return [call(rnn_jacobian_norms, W, states) for _, W, states in JACOBIAN_SHAPE_ERRORS]


def judge_rnn_jacobian_norms_errors(seen):
    for (why, _, _), one in zip(JACOBIAN_SHAPE_ERRORS, seen, strict=True):
        one.raises("rnn_jacobian_norms", "ValueError", why=why)


check_rnn_jacobian_norms_errors = hidden_test(
    "rnn_jacobian_norms", "test_rnn_jacobian_norms_errors", probe_rnn_jacobian_norms_errors,
    judge_rnn_jacobian_norms_errors)


# ---------------------------------------------------------------- gradient clipping

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
        ("gradients that are all zero, and max_norm = 0", [np.zeros((2, 2)), np.zeros(3)], 0.0),
    ]


def clip_mistakes(grads, max_norm):
    """What each known mistake returns, as (arrays, norm)."""
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    clipped = norm > max_norm
    scale = max_norm / (norm + 1e-6) if clipped else 1.0
    arrays = {
        "each array is clipped by its own norm instead of by the global norm of all arrays": [
            g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads],
        "clipping by value (np.clip(g, -max_norm, max_norm)) instead of by norm": [
            np.clip(g, -max_norm, max_norm) for g in grads],
        "the 1e-6 is missing: the scale is max_norm / (norm + 1e-6)": [
            g * (max_norm / norm if clipped else 1.0) for g in grads],
        "the arrays are scaled even when the norm is below max_norm": [
            g * (max_norm / (norm + 1e-6)) for g in grads],
    }
    norms = {"it returns the squared norm (the sqrt is missing)": norm**2}
    if clipped:
        norms["it returns the norm after clipping; return the norm before clipping"] = (
            norm * scale)
    return arrays, norms


def _shared_memory(result, grads):
    """For each returned array, whether it is (a view of) the array it came from."""
    try:
        return [bool(np.shares_memory(out, g)) if isinstance(out, np.ndarray) else False
                for out, g in zip(result[0], grads, strict=False)]
    except (TypeError, IndexError, KeyError):
        return []


def probe_clip_grad_norm(clip_grad_norm):
    seen = []
    for _, grads, max_norm in clip_cases():
        one = call(clip_grad_norm, grads, max_norm)
        seen.append({"call": one, "shares": _shared_memory(one.result, grads)})
    return seen


def _check_clip_case(name, one, grads, max_norm):
    result = one["call"].value(name)
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
                    causes=causes)
    for i, shared in enumerate(one["shares"]):
        if shared:
            fail(f"{name}: array {i}", "it is the input array itself, not a copy.",
                 "Return copies (np.array(g) or g.copy()) even when nothing is clipped, "
                 "so that changing them later cannot change the caller's gradients.")
    total = float(np.sqrt(sum(np.sum(np.asarray(a) ** 2) for a in arrays)))
    if total > max_norm + 1e-12:
        fail(name, f"after clipping the global norm is {total:.6g} > max_norm = {max_norm:.6g}.")


def judge_clip_grad_norm(seen):
    for (what, grads, max_norm), one in zip(clip_cases(), seen, strict=True):
        _check_clip_case(f"clip_grad_norm with {what}", one, grads, max_norm)


check_clip_grad_norm = hidden_test("clip_grad_norm", "test_clip_grad_norm",
                                   probe_clip_grad_norm, judge_clip_grad_norm)

NEGATIVE_MAX_NORMS = (-1.0, -1e-9)


def probe_clip_grad_norm_errors(clip_grad_norm):
    grads = clip_cases()[0][1]
    return [call(clip_grad_norm, grads, max_norm) for max_norm in NEGATIVE_MAX_NORMS]


def judge_clip_grad_norm_errors(seen):
    for max_norm, one in zip(NEGATIVE_MAX_NORMS, seen, strict=True):
        one.raises("clip_grad_norm", "ValueError", why=f"a negative max_norm ({max_norm:g})")


check_clip_grad_norm_errors = hidden_test("clip_grad_norm", "test_clip_grad_norm_errors",
                                          probe_clip_grad_norm_errors,
                                          judge_clip_grad_norm_errors)


# ---------------------------------------------------------------- deep MLPs

MLP_DEPTH, MLP_WIDTH = 3, 5
MLP_CASES = [(activation, residual) for activation in TORCH_ACTIVATIONS
             for residual in (False, True)]


def linear_layers(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def mlp_input():
    return torch.from_numpy(np.random.default_rng(4).normal(0.0, 1.5, size=(6, MLP_WIDTH)))


def mlp_weights(case):
    """The (W, b) of each block that case number ``case`` loads, as float64 tensors."""
    rng = np.random.default_rng(40 + case)
    scale = 1.0 / np.sqrt(MLP_WIDTH)
    return [(torch.from_numpy(rng.normal(0.0, 1.5 * scale, size=(MLP_WIDTH, MLP_WIDTH))),
             torch.from_numpy(rng.normal(0.0, 0.5, size=MLP_WIDTH))) for _ in range(MLP_DEPTH)]


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


def _structure(model):
    """What the judge needs to know of a built model, as data."""
    if not isinstance(model, nn.Module):
        return {"module": False}
    layers = linear_layers(model)
    with_repeats = [m for _, m in model.named_modules(remove_duplicate=False)
                    if isinstance(m, nn.Linear)]
    return {"module": True, "linear": [(tuple(m.weight.shape), m.bias is not None)
                                       for m in layers],
            "linear_with_repeats": len(with_repeats)}


def _loaded(model, weights):
    """``model`` in float64 with ``weights`` copied into its Linear layers, or None when its
    layers cannot hold them (the judge says why)."""
    layers = linear_layers(model)
    if len(layers) != len(weights) or any(
            tuple(m.weight.shape) != tuple(W.shape) or m.bias is None
            for m, (W, _) in zip(layers, weights, strict=True)):
        return None
    model.double()
    with torch.no_grad():
        for layer, (W, b) in zip(layers, weights, strict=True):
            layer.weight.copy_(W)
            layer.bias.copy_(b)
    return model


def probe_make_mlp(make_mlp):
    x, cases, models = mlp_input(), [], []
    with _fresh_random_stream():
        for case, (activation, residual) in enumerate(MLP_CASES):
            built = call(make_mlp, MLP_DEPTH, MLP_WIDTH, activation, residual=residual)
            structure = _structure(built.result)
            try:
                model = _loaded(built.result, mlp_weights(case)) if structure["module"] else None
            except Exception:  # noqa: BLE001 - the student's module may refuse .double()
                model = None
            with torch.no_grad():
                output = call(model, x) if model is not None else None
            cases.append({"built": built, "structure": structure, "output": output})
            models.append(model)
        with torch.no_grad():  # after five more models were built, the first one again
            again = call(models[0], x) if models[0] is not None else None
    return {"cases": cases, "first_again": again}


def _check_structure(name, structure):
    if not structure["module"]:
        fail(name, "expected an nn.Module (an nn.Sequential of the blocks, say).")
    found = len(structure["linear"])
    if found != MLP_DEPTH:
        repeated = structure["linear_with_repeats"] == MLP_DEPTH > found
        fail(name, f"expected {MLP_DEPTH} nn.Linear layers (one per block), found {found}.",
             "Likely cause: one block is repeated ([block] * depth), so the blocks share "
             "their weights; create a new block for each." if repeated else
             "Likely cause: an extra layer: each of the depth blocks is one "
             "Linear(width, width) then the activation, and there is no input or output "
             "layer." if found > MLP_DEPTH else "")
    for i, (shape, has_bias) in enumerate(structure["linear"]):
        if tuple(shape) != (MLP_WIDTH, MLP_WIDTH) or not has_bias:
            fail(name, f"Linear layer {i} has weight shape {tuple(shape)} and bias "
                       f"{has_bias}: expected Linear({MLP_WIDTH}, {MLP_WIDTH}) with a bias.")


def _expected_mlp(case, activation, residual, x):
    weights = mlp_weights(case)
    expected = _loaded(ref.make_mlp(MLP_DEPTH, MLP_WIDTH, activation, residual=residual),
                       weights)
    with torch.no_grad():
        causes = {text: mlp_forward(weights, x, activation, residual, variant)
                  for variant, text in MLP_MISTAKES.items()}
        causes.update({f"the activation is {other}, not {activation}":
                       mlp_forward(weights, x, activation, residual, other)
                       for other in TORCH_ACTIVATIONS if other != activation})
        return expected(x), causes


def judge_make_mlp(seen):
    x = mlp_input()
    for case, ((activation, residual), one) in enumerate(zip(MLP_CASES, seen["cases"],
                                                             strict=True)):
        name = f"make_mlp({MLP_DEPTH}, {MLP_WIDTH}, {activation!r}, residual={residual})"
        one["built"].value(name)
        _check_structure(name, one["structure"])
        if one["output"] is None:
            fail(name, "the hidden test could not load float64 weights into its Linear "
                       "layers (model.double(), then layer.weight.copy_(...)).")
        expected, causes = _expected_mlp(case, activation, residual, x)
        check_close(f"{name}: its output", one["output"].value(f"{name}: its output"),
                    expected, causes=causes)
    first = f"make_mlp({MLP_DEPTH}, {MLP_WIDTH}, 'sigmoid', residual=False)"
    again = seen["first_again"].value(f"{first}: its output")
    before = seen["cases"][0]["output"].result
    if not torch.equal(torch.as_tensor(again), torch.as_tensor(before)):
        fail(f"{first}: its output",
             "building another model changed this one: run again after five more make_mlp "
             "calls, it computes something else.",
             "Likely cause: the blocks read their activation or residual from a place that "
             "every model shares (a class attribute or a global) instead of keeping their own.")


check_make_mlp = hidden_test("make_mlp", "test_make_mlp", probe_make_mlp, judge_make_mlp)


# ---------------------------------------------------------------- per-layer gradient norms

class Gain(nn.Module):
    """A learned gain per unit, stored as a (1, width) matrix: a 2-D parameter that is no
    nn.Linear weight."""

    def __init__(self, width):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1, width))

    def forward(self, x):
        return x * self.gain


def grad_norms_model():
    """Nested Linear layers with a LayerNorm and a Gain in between, after one backward pass."""
    with _fresh_random_stream():
        torch.manual_seed(5)
        model = nn.Sequential(
            nn.Linear(3, 6), nn.Tanh(),
            nn.Sequential(nn.Linear(6, 6), nn.LayerNorm(6), nn.Sigmoid()),
            Gain(6), nn.Linear(6, 2),
        ).double()
        with torch.no_grad():
            for scale, layer in zip([1.0, 3.0, 0.2], linear_layers(model), strict=True):
                layer.weight.mul_(scale)  # distinct norms, so a reversed order shows
                layer.bias.normal_()
        x = torch.randn(8, 3, dtype=torch.float64)
        model(x).pow(2).sum().backward()
    return model


def probe_layer_grad_norms(layer_grad_norms):
    model = grad_norms_model()
    before = [p.grad.clone() for p in model.parameters()]
    seen = call(layer_grad_norms, model)
    changed = [p.grad is None or not torch.equal(p.grad, old)
               for p, old in zip(model.parameters(), before, strict=True)]
    return {"norms": seen, "grads_changed": changed}


def judge_layer_grad_norms(seen):
    name = "layer_grad_norms(model)"
    got = seen["norms"].value(name)
    if any(seen["grads_changed"]):
        fail(name, "it changed the gradients: only read .grad, never modify or zero it.")
    check_type(name, got, list)
    if not all(isinstance(v, numbers.Real) for v in got):
        fail(name, f"expected a list of Python floats, got a list of "
                   f"{', '.join(sorted({type(v).__name__ for v in got}))}.",
             "Turn each norm into a float with .item()."
             if any(isinstance(v, torch.Tensor) for v in got) else "")
    model = grad_norms_model()
    layers = linear_layers(model)

    def norms(tensors):
        return [torch.linalg.vector_norm(t).item() for t in tensors]

    if len(got) != len(layers):
        fail(name, f"expected one norm per nn.Linear layer ({len(layers)}), got {len(got)}.",
             _count_cause(got, model, norms))
    expected = ref.layer_grad_norms(model)
    check_close(name, np.array(got, dtype=np.float64), np.array(expected), causes={
        "it reports the bias's gradient instead of the weight's": norms(
            [m.bias.grad for m in layers]),
        "it reports the weight itself, not its .grad": norms([m.weight for m in layers]),
        "the norms are in reverse order (use model.modules() order, first layer first)":
            expected[::-1],
        "it reports the squared norm (the sqrt is missing)": [v**2 for v in expected],
        "weight and bias gradients are counted together": norms(
            [torch.cat([m.weight.grad.flatten(), m.bias.grad]) for m in layers]),
    })


def _count_cause(got, model, norms):
    """The likely cause of a wrong number of norms: which parameters the norms are of."""
    candidates = {
        "model.children() stops at the first level and misses the Linear layer nested "
        "inside a block; model.modules() visits every module":
            [m.weight.grad for m in model.children() if isinstance(m, nn.Linear)],
        "every parameter named weight counts here, a LayerNorm's included; only nn.Linear "
        "weights count": [p.grad for n, p in model.named_parameters() if n.endswith("weight")],
        "every 2-D parameter counts here, a Gain module's (1, 6) included; only nn.Linear "
        "weights count": [p.grad for p in model.parameters() if p.dim() == 2],
    }
    for cause, grads in candidates.items():
        if len(got) == len(grads) and np.allclose(got, norms(grads)):
            return f"Likely cause: {cause}."
    return "Only nn.Linear weights count: not biases, not the parameters of other modules."


check_layer_grad_norms = hidden_test("layer_grad_norms", "test_layer_grad_norms",
                                     probe_layer_grad_norms, judge_layer_grad_norms)
