"""Hidden tests of 03_gru_numpy: the GRU in NumPy, forward and back-propagation through time.

Each probe runs the student's code on seeded inputs and keeps what came back; each judge
rebuilds the same inputs and compares, output by output, with the reference, with
PyTorch (``nn.GRU`` with the same weights, float64, autograd) and with what each known
mistake gives on the same input, so that a failure names the mistake that fits.

The inputs switch on one term at a time (a gate saturated, a recurrent matrix set to 0),
and the checks go in the order of what they explain: inputs unchanged and repeated calls
alike, then types and shapes, then each parameter gradient (path by path: through z,
through the candidate, through r), then ``dh_prev``, then ``dx``. A backward is checked
on the cache of the student's own forward: the judge blames that forward only when it is
wrong on the same input.
"""

import re

import numpy as np
import torch
from torch import nn

from helpers.checks import (
    check_close,
    check_dtype,
    check_shape,
    check_type,
    fail,
    matching_causes,
)
from helpers.gru_layout import GRU_KEYS, TORCH_GATE_ORDER, stack_gates
from helpers.hidden import hidden_test
from helpers.hidden import reference as ref
from helpers.hidden.observe import call

# The order in which parameter gradients are checked: the backward pass meets the update
# gate first, then the candidate, then the reset gate (whose gradient comes through it).
PATH_ORDER = ("W_z", "U_z", "b_z", "W_h", "U_h", "b_h", "W_r", "U_r", "b_r")
B, T, D, H = 3, 4, 2, 5  # all different, so a misplaced axis shows in the shape


def shapes(input_size, hidden_size):
    return {"W": (hidden_size, input_size), "U": (hidden_size, hidden_size),
            "b": (hidden_size,)}


def random_params(input_size, hidden_size, seed, scale=1.0, **fixed):
    """Parameters larger than the initialisation's, so that every gate matters; ``fixed``
    sets some of them to a constant (``b_z=40.0``: z saturated at 1)."""
    rng = np.random.default_rng(seed)
    kinds = shapes(input_size, hidden_size)
    params = {key: rng.uniform(-scale, scale, size=kinds[key[0]]) for key in GRU_KEYS}
    params.update({key: np.full(kinds[key[0]], float(value)) for key, value in fixed.items()})
    return params


def _normal(seed, *shape):
    return np.random.default_rng(seed).normal(size=shape)


def cell_case(seed, **fixed):
    """``(x, h_prev, params)`` for one step."""
    return (_normal(seed + 1, B, D), np.tanh(_normal(seed + 2, B, H)),
            random_params(D, H, seed, **fixed))


def sequence_case(seed, **fixed):
    """``(X, h0, params)`` for a sequence of T steps."""
    return (_normal(seed + 1, B, T, D), np.tanh(_normal(seed + 2, B, H)),
            random_params(D, H, seed, **fixed))


# ---------------------------------------------------------------- what the student's code did

def _named(seen, names):
    """The Seen with "argument number k" said as the argument's name (h_prev, the cache)."""
    def rename(label):
        return re.sub(r"argument number (\d+)", lambda m: names[int(m.group(1)) - 1], label)

    seen.changed = [rename(label) for label in seen.changed]
    return seen


def _matmul_hint(seen):
    """A cause for an exception that only a weight used without its transpose explains: the
    inputs have D != H, so x @ W (instead of x @ W.T) is the one product whose shapes clash."""
    if seen.raised and seen.raised[0] == "ValueError" and "matmul" in seen.raised[1]:
        return ("Likely cause: an input weight is used without transpose: x is (B, D) and W_* "
                "is (H, D), so a pre-activation is x @ W.T.")
    return None


def _tuple_of(name, result, length, what):
    if not isinstance(result, tuple | list) or len(result) != length:
        fail(name, f"expected a tuple {what}, got {type(result).__name__}"
                   + (f" of length {len(result)}" if isinstance(result, tuple | list) else "")
                   + ".")
    return result


def _outputs(name, seen, names, length, what):
    """The result of a call as a tuple, after the faults that explain the most."""
    result = _named(seen, names).value(name, hint=_matmul_hint(seen))
    return _tuple_of(name, result, length, what)


def _cache_of(seen):
    """The cache a forward returned beside its state, or None."""
    result = seen.result
    if seen.ok and isinstance(result, tuple | list) and len(result) == 2:
        return result[1]
    return None


def _state_only(seen):
    """The Seen of a forward with its cache left out (and its state copied now, before a
    backward could change it): the judge needs the state, the backward the cache."""
    result = seen.result
    if seen.ok and isinstance(result, tuple | list) and len(result) == 2:
        state = result[0].copy() if isinstance(result[0], np.ndarray) else result[0]
        seen.result = (state, "the cache")
    return seen


def _same_data(a, b):
    """Two decoded values hold the same numbers (to rounding); what is not data is not
    compared."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and (a.dtype.kind not in "biufc" or np.allclose(
            a, b, rtol=1e-12, atol=1e-14, equal_nan=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(_same_data(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same_data(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or a != a and b != b
    return True


def _same_again(name, first, again, what):
    """A second call with the same arguments gives the same results."""
    if not _same_data(first, again):
        fail(name, f"a second call with the same {what} gave different results: something is "
                   "kept between calls (a default argument such as grads={} or states=[], or "
                   "a global that each call updates).")


# ---------------------------------------------------------------- PyTorch, the independent oracle

def torch_gru(X, h0, params, dH_all):
    """``nn.GRU`` with these weights (gate order r, z, n; no recurrent bias) in float64:
    the states, and dX, dh0 and the parameter gradients for the upstream gradient dH_all."""
    with torch.random.fork_rng(devices=[]):  # leave the notebook's random stream alone
        gru = nn.GRU(X.shape[2], h0.shape[1], batch_first=True).double()
    layers = (("weight_ih_l0", "W"), ("weight_hh_l0", "U"), ("bias_ih_l0", "b"))
    with torch.no_grad():
        for name, prefix in layers:
            getattr(gru, name).copy_(stack_gates(params, prefix))
        gru.bias_hh_l0.zero_()
    X_t = torch.tensor(X, requires_grad=True)
    h0_t = torch.tensor(h0, requires_grad=True)
    states, _ = gru(X_t, h0_t[None])
    states.backward(torch.from_numpy(dH_all))
    grads = {}
    for name, prefix in layers:
        for gate, chunk in zip(TORCH_GATE_ORDER, getattr(gru, name).grad.chunk(3),
                               strict=True):
            grads[f"{prefix}_{gate}"] = chunk.numpy().copy()
    return states.detach().numpy(), X_t.grad.numpy(), h0_t.grad.numpy(), grads


# ---------------------------------------------------------------- forward mistakes

def cell_forward_variant(x, h_prev, p, mistake=None):
    """The cell's new state, right or with one known mistake."""
    sigmoid = ref.sigmoid

    def through_U(key):
        return h_prev @ (p[key] if mistake == "U not transposed" else p[key].T)

    def bias(key):
        return 0.0 if mistake == "no biases" else p[key]

    z = sigmoid(x @ p["W_z"].T + through_U("U_z") + bias("b_z"))
    r = sigmoid(x @ p["W_r"].T + through_U("U_r") + bias("b_r"))
    recurrent = {"reset before": (r * h_prev) @ p["U_h"].T,
                 "no reset": through_U("U_h")}.get(mistake, r * through_U("U_h"))
    if mistake == "reset everything":
        h_candidate = np.tanh(r * (x @ p["W_h"].T + through_U("U_h") + p["b_h"]))
    elif mistake == "bias in reset":
        h_candidate = np.tanh(x @ p["W_h"].T + r * (through_U("U_h") + p["b_h"]))
    else:
        h_candidate = np.tanh(x @ p["W_h"].T + recurrent + bias("b_h"))
    if mistake == "z swapped":
        return (1 - z) * h_prev + z * h_candidate
    return z * h_prev + (1 - z) * h_candidate


CELL_MISTAKES = {
    "z and 1 - z swapped (h = (1 - z) * h_prev + z * h~)": "z swapped",
    "the reset gate is applied before the recurrent matrix (Cho et al.'s (r * h_prev) @ U_h.T; "
    "this course resets after: r * (h_prev @ U_h.T))": "reset before",
    "the reset gate is missing from the candidate": "no reset",
    "the reset gate multiplies the whole pre-activation of the candidate": "reset everything",
    "the bias b_h sits inside the reset product (r * (h_prev @ U_h.T + b_h))": "bias in reset",
    "the biases b_z, b_r, b_h are left out": "no biases",
    "the recurrent weights are used without transpose (h_prev @ U instead of h_prev @ U.T)":
        "U not transposed",
}


def cell_forward_causes(x, h_prev, p):
    return {cause: cell_forward_variant(x, h_prev, p, mistake)
            for cause, mistake in CELL_MISTAKES.items()}


def sequence_variant(X, h0, p, mistake=None):
    """All states of a GRU over X, right or with one known mistake."""
    if mistake == "state not carried":
        return np.stack([cell_forward_variant(X[:, t], h0, p) for t in range(X.shape[1])], 1)
    h = np.zeros_like(h0) if mistake == "h0 ignored" else h0
    states = []
    for t in range(X.shape[1]):
        h = cell_forward_variant(X[:, t], h, p, CELL_MISTAKES.get(mistake))
        states.append(h)
    states = np.stack(states, axis=1)
    return states[:, ::-1] if mistake == "reversed" else states


SEQUENCE_MISTAKES = {
    "the state is not carried from step to step (every step starts from h0)":
        "state not carried",
    "h0 is ignored (the first step starts from zeros)": "h0 ignored",
    "the hidden states are stored in reverse time order": "reversed",
}


def sequence_causes(X, h0, p):
    causes = {cause: sequence_variant(X, h0, p, mistake)
              for cause, mistake in SEQUENCE_MISTAKES.items()}
    causes.update({f"in the cell, {cause}": sequence_variant(X, h0, p, cause)
                   for cause in CELL_MISTAKES})
    return causes


# ---------------------------------------------------------------- backward mistakes

def cell_backward_variant(dh, cache, mistake=None):
    """``ref.gru_cell_backward`` on the reference cache, right or with one known mistake."""
    x, h_prev, p = cache["x"], cache["h_prev"], cache["params"]
    z, r, uh, h_candidate = cache["z"], cache["r"], cache["uh"], cache["h_candidate"]
    dz = dh * (h_prev - h_candidate) * (-1.0 if mistake == "dz sign" else 1.0)
    if mistake in ("no z path", "gates constant"):
        dz = np.zeros_like(dz)
    a_h = x @ p["W_h"].T + r * uh + p["b_h"]
    tanh_slope = 1.0 - (a_h**2 if mistake == "tanh of preactivation" else h_candidate**2)
    da_h = dh * (1.0 - z) * tanh_slope
    dr = np.zeros_like(dh) if mistake in ("no r path", "gates constant") else da_h * uh
    duh = da_h if mistake == "U_h without r" else da_h * r
    if mistake == "sigmoid as sigma":
        da_z, da_r = dz * z, dr * r
    else:
        da_z, da_r = dz * z * (1.0 - z), dr * r * (1.0 - r)
    grads = {
        "W_z": da_z.T @ x, "U_z": da_z.T @ h_prev, "b_z": da_z.sum(axis=0),
        "W_r": da_r.T @ x, "U_r": da_r.T @ h_prev, "b_r": da_r.sum(axis=0),
        "W_h": da_h.T @ x, "U_h": duh.T @ h_prev, "b_h": da_h.sum(axis=0),
    }
    dx = da_z @ p["W_z"] + da_r @ p["W_r"] + da_h @ p["W_h"]
    direct = 0.0 if mistake == "no direct" else dh * z
    through_matrices = da_z @ p["U_z"] + da_r @ p["U_r"] + duh @ p["U_h"]
    dh_prev = direct + (0.0 if mistake == "only direct" else through_matrices)
    if mistake == "averaged over batch":
        grads = {key: g / len(dh) for key, g in grads.items()}
    if mistake == "U transposed":
        grads = {key: (g.T if key[0] == "U" else g) for key, g in grads.items()}
    return dx, dh_prev, grads


CELL_BACKWARD_MISTAKES = {
    "the gates are treated as constants (no gradient flows through z or r)": "gates constant",
    "the gradient through the update gate z is dropped": "no z path",
    "the gradient through the reset gate r is dropped": "no r path",
    "dL/dz has the wrong sign (dh/dz = h_prev - h~)": "dz sign",
    "the sigmoid derivative is wrong (sigma instead of sigma * (1 - sigma))": "sigmoid as sigma",
    "the tanh derivative uses the pre-activation (1 - a**2 instead of 1 - h~**2)":
        "tanh of preactivation",
    "delta u forgets the reset gate (the candidate sees r * (h_prev @ U_h.T), so delta u = "
    "delta a_h * r, in U_h's gradient and on the path to h_prev)": "U_h without r",
    "dh_prev misses the direct term dh * z": "no direct",
    "dh_prev keeps only the direct term dh * z (the paths through the matrices U are missing)":
        "only direct",
    "the parameter gradients are averaged over the batch instead of summed": "averaged over batch",
    "the U gradients are transposed (h_prev.T @ da instead of da.T @ h_prev)": "U transposed",
}


def backward_causes(outputs_by_mistake, labels):
    """``{output label: {cause: value}}`` from ``{cause: (dx, dh, grads)}``."""
    causes = {labels[0]: {}, labels[1]: {}, **{key: {} for key in GRU_KEYS}}
    for cause, (dx, dh, grads) in outputs_by_mistake.items():
        causes[labels[0]][cause], causes[labels[1]][cause] = dx, dh
        for key in GRU_KEYS:
            causes[key][cause] = grads[key]
    return causes


def gru_backward_variant(dH_all, caches, mistake=None):
    """Back-propagation through time with the reference cell, right or with one mistake."""
    steps = len(caches)
    grads = {key: np.zeros_like(value) for key, value in caches[0]["params"].items()}
    per_step, dX = [], []
    dh_next = np.zeros_like(dH_all[:, 0])
    for t in reversed(range(steps)):
        upstream = dH_all[:, t] + (0.0 if mistake == "not carried" else dh_next)
        if mistake == "last only":
            upstream = (dH_all[:, t] if t == steps - 1 else 0.0) + dh_next
        dx, dh_next, step_grads = ref.gru_cell_backward(upstream, caches[t])
        dX.append(dx)
        per_step.append(step_grads)
        grads = {key: grads[key] + step_grads[key] for key in grads}
    if mistake == "overwritten first":
        grads = per_step[-1]
    if mistake == "overwritten last":
        grads = per_step[0]
    if mistake == "averaged":
        grads = {key: g / steps for key, g in grads.items()}
    dX = np.stack(dX if mistake == "reversed" else dX[::-1], axis=1)
    return dX, (np.zeros_like(dh_next) if mistake == "no dh0" else dh_next), grads


GRU_BACKWARD_MISTAKES = {
    "dh is not carried to the previous step (each step gets only dH_all[:, t], without the "
    "gradient coming back from step t + 1)": "not carried",
    "only the gradient of the last state dH_all[:, -1] is used": "last only",
    "the parameter gradients are overwritten at each step instead of summed over time "
    "(only the first step's are left)": "overwritten first",
    "the parameter gradients are overwritten at each step instead of summed over time "
    "(only the last step's are left)": "overwritten last",
    "the parameter gradients are averaged over time instead of summed": "averaged",
    "dX is in reversed time order (the steps were appended while going backwards)": "reversed",
    "dh0 is not returned (zeros): it is the dh_prev of the first step": "no dh0",
}


# ---------------------------------------------------------------- comparing a backward

def _check_grads_structure(name, grads, expected_shapes):
    check_type(f"{name}: grads", grads, dict)
    missing = [k for k in GRU_KEYS if k not in grads]
    extra = [k for k in grads if k not in GRU_KEYS]
    if missing or extra:
        fail(f"{name}: grads", f"expected exactly the keys {' '.join(GRU_KEYS)}; "
             + (f"missing {missing}. " if missing else "")
             + (f"unexpected {extra}." if extra else ""))
    for key in PATH_ORDER:
        got, want = np.shape(grads[key]), expected_shapes[key]
        if key[0] == "b" and len(got) == 2 and got[1:] == want:
            fail(f"{name}: grads[{key!r}]", f"expected shape {want}, got {got}: one row per "
                 "example.", "Likely cause: the bias gradient is not summed over the batch "
                 "(sum da over axis 0).")
        check_shape(f"{name}: grads[{key!r}]", grads[key], want)


def _compare_backward(name, label, got, expected, causes, labels):
    """Each parameter gradient (path by path), then the gradient of the state, then that of
    the input, against the reference, naming the mistake whose output fits. A mistake whose
    output differs from what came on an output that passed is no longer a cause."""
    (g_dx, g_dh, g_grads), (e_dx, e_dh, e_grads) = got, expected
    outputs = [(f"grads[{key!r}]", key, g_grads[key], e_grads[key]) for key in PATH_ORDER]
    outputs += [(labels[1], labels[1], g_dh, e_dh), (labels[0], labels[0], g_dx, e_dx)]
    ruled_out = set()
    for output, key, value, expected_value in outputs:
        live = {cause: wrong for cause, wrong in causes[key].items() if cause not in ruled_out}
        check_close(f"{name}: {output} ({label})", value, expected_value, causes=live,
                    dtype=np.float64)
        ruled_out |= set(live) - set(matching_causes(value, live))


def _compare_with_torch(name, got, oracle, labels):
    (g_dx, g_dh, g_grads), (t_dx, t_dh, t_grads) = got, oracle
    for key in PATH_ORDER:
        check_close(f"{name}: grads[{key!r}] (against PyTorch autograd)", g_grads[key],
                    t_grads[key], rtol=1e-6, atol=1e-9)
    check_close(f"{name}: {labels[1]} (against PyTorch autograd)", g_dh, t_dh, rtol=1e-6,
                atol=1e-9)
    check_close(f"{name}: {labels[0]} (against PyTorch autograd)", g_dx, t_dx, rtol=1e-6,
                atol=1e-9)


def _forward_first(name, forward_name, seen, names, expected, causes, label, cache="cache"):
    """The student's forward, required to be right on this input before the backward that
    takes its cache is checked; the failure says so only when that forward is wrong here."""
    try:
        state, _ = _outputs(forward_name, seen, names, 2, "(states, cache)")
        check_close(f"{forward_name}: {label}", state, expected, causes=causes,
                    dtype=np.float64)
    except AssertionError as error:
        fail(forward_name, f"{name} is checked on the {cache} of your {forward_name}, which is "
                           f"wrong on one of its inputs: fix {forward_name} first (its test "
                           "names the mistake). On that input:", *str(error).splitlines()[:4])


# ---------------------------------------------------------------- init_gru_params

INIT_SIZES = (3, 16)  # 1/sqrt(H) = 0.25, 1/sqrt(D) = 0.577, 1/H = 0.0625


def probe_init_gru_params(init_gru_params):
    """Calls with the global NumPy generator reseeded between them, to expose its use (and
    restored after), with equal and different seeds, and twice with one generator."""
    state = np.random.get_state()
    try:
        np.random.seed(1)
        first = call(init_gru_params, *INIT_SIZES, np.random.default_rng(7))
        np.random.seed(2)
        same_seed = call(init_gru_params, *INIT_SIZES, np.random.default_rng(7))
        other_seed = call(init_gru_params, *INIT_SIZES, np.random.default_rng(8))
        rng = np.random.default_rng(9)
        one_generator = [call(init_gru_params, *INIT_SIZES, rng) for _ in range(2)]
    finally:
        np.random.set_state(state)
    return {"first": first, "same seed": same_seed, "other seed": other_seed,
            "one generator": one_generator}


def _init_values(name, seen):
    input_size, hidden_size = INIT_SIZES
    params = seen.value(name)
    check_type(name, params, dict)
    if sorted(params) != sorted(GRU_KEYS):
        fail(name, f"expected exactly the keys {' '.join(GRU_KEYS)}, got {sorted(params)}.")
    kinds = shapes(input_size, hidden_size)
    for key in GRU_KEYS:
        check_type(f"{name}: {key}", params[key], np.ndarray)
        check_shape(f"{name}: {key}", params[key], kinds[key[0]])
        check_dtype(f"{name}: {key}", params[key], np.float64)
    return params


def judge_init_gru_params(seen):
    name = "init_gru_params"
    input_size, hidden_size = INIT_SIZES
    bound = 1 / np.sqrt(hidden_size)
    params = _init_values(name, seen["first"])
    values = np.concatenate([params[key].ravel() for key in GRU_KEYS])
    if any(not np.any(params[key]) for key in GRU_KEYS):
        fail(name, "some parameters are all zeros: every entry, biases included, is drawn from "
                   "uniform(-1/sqrt(H), 1/sqrt(H)).")
    if len({params[key].tobytes() for key in GRU_KEYS if key[0] == "U"}) < 3:
        fail(name, "several parameters hold the same values: draw each one separately.")
    largest = np.abs(values).max()
    by_kind = {kind: max(np.abs(params[key]).max() for key in GRU_KEYS if key[0] == kind)
               for kind in "WUb"}
    if largest > bound + 1e-12:
        input_bound = 1 / np.sqrt(input_size)  # every kind fills it, if that is the bound used
        why = ("the bound uses the input size: 1/sqrt(input_size) instead of 1/sqrt(hidden_size)"
               if all(0.8 * input_bound <= v <= input_bound for v in by_kind.values()) else
               "the entries are drawn from a wider range than [-1/sqrt(H), 1/sqrt(H)], or not "
               "from a uniform distribution at all (a normal one has no bound)")
        fail(name, f"an entry is {largest:.3g}, outside +-1/sqrt(H) = {bound:.3g}.",
             f"Likely cause: {why}.")
    if largest < 0.95 * bound:
        why = ("the bound is 1/H instead of 1/sqrt(H)" if largest <= 1 / hidden_size else
               "the entries are drawn from a narrower range than [-1/sqrt(H), 1/sqrt(H)]")
        fail(name, f"the largest entry of {values.size} is only {largest:.3g}, but with "
                   f"H = {hidden_size} they should fill +-{bound:.3g}.", f"Likely cause: {why}.")
    for kind, what in (("W", "the input weights W_*"), ("U", "the recurrent weights U_*"),
                       ("b", "the biases b_*")):
        if by_kind[kind] < 0.8 * bound:  # 48 or more draws: below 0.8 with probability < 2e-5
            fail(name, f"{what} reach only {by_kind[kind]:.3g}, but with H = {hidden_size} they "
                       f"should fill +-{bound:.3g}, like the other parameters.",
                 "Likely cause: they are drawn from a narrower range than [-1/sqrt(H), "
                 "1/sqrt(H)]; every entry, biases included, uses that one bound.")
    if abs(np.abs(values).mean() / bound - 0.5) > 0.05 or abs(values.mean()) > 0.05 * bound:
        fail(name, "the entries do not look uniform on [-1/sqrt(H), 1/sqrt(H)]: their mean "
                   f"absolute value is {np.abs(values).mean() / bound:.2f} of the bound (uniform: "
                   f"0.5) and their mean {values.mean():.3g} (uniform: 0).",
             "Likely cause: they are not drawn from a uniform distribution; use "
             "rng.uniform(-bound, bound, size=shape).")
    again = _init_values(name, seen["same seed"])
    if not all(np.array_equal(params[key], again[key]) for key in GRU_KEYS):
        fail(name, "two calls with generators of the same seed gave different values.",
             "Likely cause: it draws from the global np.random instead of the rng argument: "
             "use rng.uniform(...).")
    other = _init_values(name, seen["other seed"])
    if all(np.array_equal(params[key], other[key]) for key in GRU_KEYS):
        fail(name, "generators with different seeds gave the same values: the rng argument "
                   "is not used.", "Draw every entry with rng.uniform(...).")
    first, second = (_init_values(name, one) for one in seen["one generator"])
    if all(np.array_equal(first[key], second[key]) for key in GRU_KEYS):
        fail(name, "two calls with the same generator gave the same values: each call must draw "
                   "new values from rng itself, not from a copy of it.")


check_init_gru_params = hidden_test("init_gru_params", "test_init_gru_params",
                                    probe_init_gru_params, judge_init_gru_params)


# ---------------------------------------------------------------- gru_cell_forward

CELL_NAMES = ("x", "h_prev", "params")
# One term at a time: the general case, then z = 1 (the state is copied), z = 0 and r = 0
# (the candidate reads the input only), z = 0 (the candidate alone, reset gate open).
CELL_CASES = {
    "general": dict(seed=31),
    "with z = 1 (b_z = 40): the state is copied": dict(seed=34, b_z=40.0),
    "with z = 0 and r = 0 (b_z = b_r = -40): the new state is the candidate, which ignores "
    "h_prev": dict(seed=35, b_z=-40.0, b_r=-40.0),
    "with z = 0 (b_z = -40): the new state is the candidate": dict(seed=36, b_z=-40.0),
}


def probe_gru_cell_forward(gru_cell_forward):
    return {case: _state_only(call(gru_cell_forward, *cell_case(**spec)))
            for case, spec in CELL_CASES.items()}


def judge_gru_cell_forward(seen):
    name = "gru_cell_forward"
    for case, spec in CELL_CASES.items():
        x, h_prev, params = cell_case(**spec)
        h, _ = _outputs(name, seen[case], CELL_NAMES, 2, "(h, cache)")
        check_close(f"{name}: h ({case})", h, ref.gru_cell_forward(x, h_prev, params)[0],
                    causes=cell_forward_causes(x, h_prev, params), dtype=np.float64)
        if case == "general":
            oracle = torch_gru(x[:, None], h_prev, params, np.zeros((B, 1, H)))[0][:, 0]
            check_close(f"{name}: h (against torch.nn.GRU)", h, oracle)


check_gru_cell_forward = hidden_test("gru_cell_forward", "test_gru_cell_forward",
                                     probe_gru_cell_forward, judge_gru_cell_forward)


def mismatched_shapes():
    """``{what is wrong: (x, h_prev, params)}``: shapes that no GRU step can take."""
    x, h_prev, params = cell_case(seed=37)
    return {f"an x of shape {(B, D + 1)} for W_* of shape {(H, D)}":
                (_normal(40, B, D + 1), h_prev, params),
            f"an h_prev of shape {(B + 1, H)} for an x of shape {(B, D)}":
                (x, np.tanh(_normal(41, B + 1, H)), params)}


def probe_gru_cell_forward_shapes(gru_cell_forward):
    return {why: call(gru_cell_forward, *args) for why, args in mismatched_shapes().items()}


def judge_gru_cell_forward_shapes(seen):
    for why in mismatched_shapes():
        seen[why].raises("gru_cell_forward", "ValueError", why=why)


check_gru_cell_forward_shapes = hidden_test(
    "gru_cell_forward", "test_gru_cell_forward_shapes", probe_gru_cell_forward_shapes,
    judge_gru_cell_forward_shapes)


# ---------------------------------------------------------------- gru_cell_backward

BACKWARD_NAMES = ("dh", "the cache")
# One path at a time into h_prev: with z = 1 only the direct one; with U_z = U_r = 0 the
# gates do not depend on h_prev (direct and candidate paths); then z's, then r's, then all.
CELL_BACKWARD_STAGES = (
    ("z = 1, b_z = 40: only the direct path", {"b_z": 40.0}),
    ("U_z = U_r = 0: the gates do not depend on h_prev", {"U_z": 0.0, "U_r": 0.0}),
    ("U_r = 0: the path through z switched on", {"U_r": 0.0}),
    ("U_z = 0: the path through r switched on", {"U_z": 0.0}),
    ("every path switched on", {}),
)


def cell_backward_case(stage):
    """``(x, h_prev, params, dh)`` of a stage."""
    seed = 41 + 5 * stage
    return (*cell_case(seed, **CELL_BACKWARD_STAGES[stage][1]), _normal(seed + 3, B, H))


def probe_gru_cell_backward(gru_cell_backward, gru_cell_forward):
    """The student's forward on each stage's input, then the student's backward (twice) on
    that forward's cache."""
    records = []
    for stage in range(len(CELL_BACKWARD_STAGES)):
        x, h_prev, params, dh = cell_backward_case(stage)
        forward = call(gru_cell_forward, x, h_prev, params)
        cache = _cache_of(forward)
        record = {"forward": _state_only(forward)}
        if cache is not None:
            record["backward"] = call(gru_cell_backward, dh, cache)
            record["again"] = call(gru_cell_backward, dh, cache)
        records.append(record)
    return records


def judge_gru_cell_backward(seen):
    name = "gru_cell_backward"
    labels = ("dx", "dh_prev")
    for stage, record in enumerate(seen):  # the forward on every input first
        x, h_prev, params, _ = cell_backward_case(stage)
        _forward_first(name, "gru_cell_forward", record["forward"], CELL_NAMES,
                       ref.gru_cell_forward(x, h_prev, params)[0],
                       cell_forward_causes(x, h_prev, params), "h")
    for stage, ((label, _), record) in enumerate(zip(CELL_BACKWARD_STAGES, seen, strict=True)):
        x, h_prev, params, dh = cell_backward_case(stage)
        _, cache = ref.gru_cell_forward(x, h_prev, params)
        got = _outputs(name, record["backward"], BACKWARD_NAMES, 3, "(dx, dh_prev, grads)")
        _same_again(name, got, _named(record["again"], BACKWARD_NAMES).value(name),
                    "dh and cache")
        _check_grads_structure(name, got[2], {k: v.shape for k, v in params.items()})
        causes = backward_causes({cause: cell_backward_variant(dh, cache, mistake)
                                  for cause, mistake in CELL_BACKWARD_MISTAKES.items()}, labels)
        _compare_backward(name, label, got, ref.gru_cell_backward(dh, cache), causes, labels)
        if stage == len(CELL_BACKWARD_STAGES) - 1:
            _, dX, dh0, grads = torch_gru(x[:, None], h_prev, params, dh[:, None])
            _compare_with_torch(name, got, (dX[:, 0], dh0, grads), labels)


check_gru_cell_backward = hidden_test("gru_cell_backward", "test_gru_cell_backward",
                                      probe_gru_cell_backward, judge_gru_cell_backward)


# ---------------------------------------------------------------- gru_forward

SEQUENCE_NAMES = ("X", "h0", "params")
FORWARD_CASES = {
    "general": dict(seed=51),
    "with z = 1 (b_z = 40): every state is h0": dict(seed=54, b_z=40.0),
}


def probe_gru_forward(gru_forward):
    """Each case, the general one twice, and each of its prefixes: the last cache of the
    run over X[:, :t + 1] is what the cache of step t must still hold at the end."""
    X, h0, params = sequence_case(**FORWARD_CASES["general"])
    seen = {case: call(gru_forward, *sequence_case(**spec)) for case, spec in FORWARD_CASES.items()}
    seen["again"] = call(gru_forward, X, h0, params)
    seen["prefixes"] = [call(gru_forward, X[:, :t + 1], h0, params) for t in range(T)]
    return seen


def _states(name, seen, expected_shape):
    H_all, caches = _outputs(name, seen, SEQUENCE_NAMES, 2, "(H_all, caches)")
    time_first = (expected_shape[1], expected_shape[0], expected_shape[2])
    if np.shape(H_all) == time_first != expected_shape:
        fail(f"{name}: H_all", f"expected shape {expected_shape}, got {np.shape(H_all)}: the "
             "axes are in another order: the states are stacked time first.",
             "Batch first: np.stack(states, axis=1).")
    return H_all, caches


def judge_gru_forward(seen):
    name = "gru_forward"
    first = _states(name, seen["general"], (B, T, H))
    _same_again(name, first, _states(name, seen["again"], (B, T, H)), "X, h0 and params")
    for case, spec in FORWARD_CASES.items():
        X, h0, params = sequence_case(**spec)
        H_all, _ = _states(name, seen[case], (B, T, H))
        check_close(f"{name}: H_all ({case})", H_all, ref.gru_forward(X, h0, params)[0],
                    causes=sequence_causes(X, h0, params), dtype=np.float64)
        if case == "general":
            oracle = torch_gru(X, h0, params, np.zeros((B, T, H)))[0]
            check_close(f"{name}: H_all (against torch.nn.GRU)", H_all, oracle)
    _, caches = first
    if not isinstance(caches, list | tuple) or len(caches) != T:
        fail(f"{name}: caches", f"expected the list of the T step caches (here {T}), got "
             f"{type(caches).__name__}" + (f" of length {len(caches)}" if isinstance(
                 caches, list | tuple) else "") + ".")
    _check_caches(name, caches, [_states(name, prefix, (B, t + 1, H))[1]
                                 for t, prefix in enumerate(seen["prefixes"])])


def _holds_arrays(value):
    if isinstance(value, np.ndarray):
        return True
    items = value.values() if isinstance(value, dict) else value if isinstance(
        value, list | tuple) else ()
    return any(_holds_arrays(item) for item in items)


def _check_caches(name, caches, runs):
    """``caches[t]`` is still the cache of step t: the one cache that the run over the first
    t + 1 steps has and the run over the first t steps has not (``runs``)."""
    if not all(isinstance(run, list | tuple) and len(run) == t + 1 and _holds_arrays(run)
               for t, run in enumerate(runs)):
        return  # nothing to compare (the length of the caches is checked above)
    step_caches = []
    for t, run in enumerate(runs):
        before = runs[t - 1] if t else []
        fresh = [c for c in run if not any(_same_data(c, old) for old in before)]
        step_caches.append(fresh[0] if len(fresh) == 1 else None)
    for t, cache in enumerate(caches):
        if step_caches[t] is not None and _same_data(cache, step_caches[t]):
            continue
        elsewhere = [s for s, c in enumerate(step_caches) if c is not None and _same_data(cache, c)]
        if elsewhere:
            fail(f"{name}: caches", f"the caches are not in time order: entry {t} holds the "
                 f"cache of step {elsewhere[0]}.", "caches[t] is the cache of step t, as "
                 "gru_backward reads them (append each step's cache as it is made).")
        fail(f"{name}: caches", f"the cache of step {t} was changed by later steps: at the "
             f"end it no longer holds what step {t} left in it.",
             "Likely cause: an array shared between steps and updated in place "
             "(h[...] = ..., h += ...) after its step stored it in the cache.")


check_gru_forward = hidden_test("gru_forward", "test_gru_forward", probe_gru_forward,
                                judge_gru_forward)


# ---------------------------------------------------------------- gru_backward

BPTT_NAMES = ("dH_all", "the caches")
# A gradient at every step, then the loss on the last state only (every earlier step then
# learns only through the carried gradient).
BPTT_STAGES = ("a gradient at every step", "the loss on the last state only")


def bptt_case():
    """``(X, h0, params, {stage: dH_all})``."""
    X, h0, params = sequence_case(seed=61)
    last = np.zeros((B, T, H))
    last[:, -1] = _normal(64, B, H)
    return X, h0, params, dict(zip(BPTT_STAGES, (_normal(65, B, T, H), last), strict=True))


def probe_gru_backward(gru_backward, gru_forward):
    X, h0, params, upstream = bptt_case()
    forward = call(gru_forward, X, h0, params)
    caches = _cache_of(forward)
    seen = {"forward": _state_only(forward)}
    if caches is not None:
        for stage, dH_all in upstream.items():
            seen[stage] = call(gru_backward, dH_all, caches)
        seen["again"] = call(gru_backward, upstream[BPTT_STAGES[0]], caches)
    return seen


def judge_gru_backward(seen):
    name = "gru_backward"
    labels = ("dX", "dh0")
    X, h0, params, upstream = bptt_case()
    states, caches = ref.gru_forward(X, h0, params)
    _forward_first(name, "gru_forward", seen["forward"], SEQUENCE_NAMES, states,
                   sequence_causes(X, h0, params), "H_all", cache="caches")
    for stage, dH_all in upstream.items():
        got = _outputs(name, seen[stage], BPTT_NAMES, 3, "(dX, dh0, grads)")
        if stage == BPTT_STAGES[0]:
            _same_again(name, got, _named(seen["again"], BPTT_NAMES).value(name),
                        "dH_all and caches")
        if np.shape(got[0]) == (T, B, D):
            fail(f"{name}: dX", f"expected shape {(B, T, D)}, got {(T, B, D)}: the axes are in "
                 "another order: dX is stacked time first.",
                 "Batch first: np.stack(dxs, axis=1), in time order.")
        _check_grads_structure(name, got[2], {k: v.shape for k, v in params.items()})
        causes = backward_causes({cause: gru_backward_variant(dH_all, caches, mistake)
                                  for cause, mistake in GRU_BACKWARD_MISTAKES.items()}, labels)
        _compare_backward(name, stage, got, ref.gru_backward(dH_all, caches), causes, labels)
        _, dX, dh0, grads = torch_gru(X, h0, params, dH_all)
        _compare_with_torch(name, got, (dX, dh0, grads), labels)


check_gru_backward = hidden_test("gru_backward", "test_gru_backward", probe_gru_backward,
                                 judge_gru_backward)
