"""Hidden tests of 03_gru_numpy: the GRU in NumPy, forward and back-propagation through time.

Every result is compared with the reference and with PyTorch (``nn.GRU`` with the same
weights, float64, gradients by autograd). Where a result is wrong, the check lists the
output that each known mistake gives on the same input, so the failure names it. The
backward checks take the cache of the student's own forward, so they first require that
forward to be right.
"""

import numpy as np
import torch
from torch import nn

from helpers.checks import (
    check_close,
    check_dtype,
    check_inputs_unchanged,
    check_shape,
    check_type,
    fail,
)
from helpers.hidden.seal import sealed
from helpers.reference import gru_numpy as ref
from helpers.reference.vanishing_exploding_gradients import sigmoid

KEYS = ref.GRU_KEYS
B, T, D, H = 3, 4, 2, 5  # all different, so a misplaced axis shows in the shape


def random_params(input_size, hidden_size, seed, scale=1.0):
    """Parameters larger than the initialisation's, so that every gate matters."""
    rng = np.random.default_rng(seed)
    shapes = {"W": (hidden_size, input_size), "U": (hidden_size, hidden_size),
              "b": (hidden_size,)}
    return {key: rng.uniform(-scale, scale, size=shapes[key[0]]) for key in KEYS}


def _normal(seed, *shape):
    return np.random.default_rng(seed).normal(size=shape)


def _run(name, fn, *args):
    """The student's ``fn(*args)``, sealed; an exception becomes a failure that says so
    (after the seal has had its say: a delegating answer often fails on the way)."""
    error = None
    with sealed(name):
        try:
            result = fn(*args)
        except AssertionError:
            raise
        except Exception as caught:  # noqa: BLE001 - any error in the student's code is reported
            error = caught
    if error is not None:
        fail(name, f"it raised {type(error).__name__}: {error}"[:400],
             "Check the shapes: x is (B, D), h is (B, H), W_* is (H, D), U_* is (H, H); "
             "a pre-activation is x @ W.T + h @ U.T + b.")
    return result


def _run_unchanged(name, fn, *args):
    """``_run`` that also fails if an array argument (or a params array) was modified."""
    return check_inputs_unchanged(name, lambda *a: _run(name, fn, *a), *args)


def _tuple_of(name, result, length, what):
    if not isinstance(result, tuple | list) or len(result) != length:
        fail(name, f"expected a tuple {what}, got {type(result).__name__}"
                   + (f" of length {len(result)}" if isinstance(result, tuple | list) else "")
                   + ".")
    return result


# ---------------------------------------------------------------- PyTorch, the independent oracle

def torch_gru(X, h0, params, dH_all):
    """``nn.GRU`` with these weights (gate order r, z, n; no recurrent bias) in float64:
    the states, and dX, dh0 and the parameter gradients for the upstream gradient dH_all."""
    with torch.random.fork_rng(devices=[]):  # leave the notebook's random stream alone
        gru = nn.GRU(X.shape[2], h0.shape[1], batch_first=True).double()
    with torch.no_grad():
        for name, prefix in (("weight_ih_l0", "W"), ("weight_hh_l0", "U"), ("bias_ih_l0", "b")):
            getattr(gru, name).copy_(torch.from_numpy(np.concatenate(
                [params[f"{prefix}_{gate}"] for gate in "rzh"])))
        gru.bias_hh_l0.zero_()
    X_t = torch.tensor(X, requires_grad=True)
    h0_t = torch.tensor(h0, requires_grad=True)
    states, _ = gru(X_t, h0_t[None])
    states.backward(torch.from_numpy(dH_all))
    grads = {}
    for name, prefix in (("weight_ih_l0", "W"), ("weight_hh_l0", "U"), ("bias_ih_l0", "b")):
        for gate, chunk in zip("rzh", getattr(gru, name).grad.chunk(3), strict=True):
            grads[f"{prefix}_{gate}"] = chunk.numpy().copy()
    return states.detach().numpy(), X_t.grad.numpy(), h0_t.grad.numpy(), grads


# ---------------------------------------------------------------- forward mistakes

def cell_forward_variant(x, h_prev, p, mistake=None):
    """The cell's new state, right or with one known mistake."""

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
    "U_h's gradient forgets the reset gate (the candidate sees r * (h_prev @ U_h.T))":
        "U_h without r",
    "dh_prev misses the direct term dh * z": "no direct",
    "dh_prev keeps only the direct term dh * z (the paths through the matrices U are missing)":
        "only direct",
    "the parameter gradients are averaged over the batch instead of summed": "averaged over batch",
    "the U gradients are transposed (h_prev.T @ da instead of da.T @ h_prev)": "U transposed",
}


def backward_causes(outputs_by_mistake):
    """``{output label: {cause: value}}`` from ``{cause: (dx, dh, grads)}``."""
    causes = {"dx": {}, "dh": {}, **{key: {} for key in KEYS}}
    for cause, (dx, dh, grads) in outputs_by_mistake.items():
        causes["dx"][cause], causes["dh"][cause] = dx, dh
        for key in KEYS:
            causes[key][cause] = grads[key]
    return causes


def _check_grads_dict(name, grads, expected_shapes):
    check_type(f"{name}: grads", grads, dict)
    missing = [k for k in KEYS if k not in grads]
    extra = [k for k in grads if k not in KEYS]
    if missing or extra:
        fail(f"{name}: grads", f"expected exactly the keys {' '.join(KEYS)}; "
             + (f"missing {missing}. " if missing else "")
             + (f"unexpected {extra}." if extra else ""))
    for key in KEYS:
        got = np.shape(grads[key])
        want = expected_shapes[key]
        if got == want[::-1] and got != want:
            fail(f"{name}: grads[{key!r}]", f"expected shape {want} (the shape of {key}), "
                 f"got {got}: the weight gradient is transposed.",
                 "With a = x @ W.T the gradient is dL/dW = da.T @ x (shape (H, D)), "
                 "not x.T @ da (shape (D, H)).")
        if key[0] == "b" and len(got) == 2 and got[1:] == want:
            fail(f"{name}: grads[{key!r}]", f"expected shape {want}, got {got}: the bias "
                 "gradient is not summed over the batch.",
                 "The bias is added to every example: sum da over the batch axis (axis=0).")


def _compare_backward(name, got, expected, oracle, causes, labels):
    """dx/dX, dh_prev/dh0 and each grads key against the reference, then against PyTorch."""
    (g_dx, g_dh, g_grads), (e_dx, e_dh, e_grads), (t_dx, t_dh, t_grads) = got, expected, oracle
    _check_grads_dict(name, g_grads, {k: v.shape for k, v in e_grads.items()})
    pairs = [(labels[0], g_dx, e_dx, t_dx, causes["dx"]),
             (labels[1], g_dh, e_dh, t_dh, causes["dh"])]
    pairs += [(f"grads[{k!r}]", g_grads[k], e_grads[k], t_grads[k], causes[k]) for k in KEYS]
    for label, value, expected_value, torch_value, value_causes in pairs:
        check_close(f"{name}: {label}", value, expected_value, causes=value_causes,
                    dtype=np.float64,
                    hint="write down the chain rule for this output term by term, as in the "
                         "notebook, and compare it with your code.")
        check_close(f"{name}: {label} (against PyTorch autograd)", value, torch_value,
                    rtol=1e-6, atol=1e-9)


def _forward_first(name, forward_name, forward, expected, *args):
    """The student's forward on ``args``, required to match ``expected`` before a backward check."""
    try:
        states, caches = _tuple_of(forward_name, _run(forward_name, forward, *args), 2,
                                   "(states, cache)")
        check_close(f"{forward_name}: {'h' if 'cell' in forward_name else 'H_all'}", states,
                    expected)
    except AssertionError as error:
        fail(name, f"{name} takes the cache of your {forward_name}, so it can be checked only "
                   f"once {forward_name} passes its test. Fix {forward_name} first; it fails with:",
             *str(error).splitlines()[:3])
    return caches


# ---------------------------------------------------------------- the checks

def check_init_gru_params(init_gru_params):
    """Keys, shapes, range and spread of the values, and that they come from ``rng`` alone.
    The global NumPy generator is reseeded to expose its use, then restored."""
    state = np.random.get_state()
    try:
        _check_init(init_gru_params)
    finally:
        np.random.set_state(state)


def _check_init(init_gru_params):
    name = "init_gru_params"
    input_size, hidden_size = 3, 16  # 1/sqrt(H) = 0.25, 1/sqrt(D) = 0.577, 1/H = 0.0625
    bound = 1 / np.sqrt(hidden_size)
    np.random.seed(1)
    params = _run(name, init_gru_params, input_size, hidden_size, np.random.default_rng(7))
    shapes = {"W": (hidden_size, input_size), "U": (hidden_size, hidden_size),
              "b": (hidden_size,)}
    check_type(name, params, dict)
    if sorted(params) != sorted(KEYS):
        fail(name, f"expected exactly the keys {' '.join(KEYS)}, got {sorted(params)}.")
    for key in KEYS:
        check_type(f"{name}: {key}", params[key], np.ndarray)
        check_shape(f"{name}: {key}", params[key], shapes[key[0]])
        check_dtype(f"{name}: {key}", params[key], np.float64)
    values = np.concatenate([params[key].ravel() for key in KEYS])
    if any(not np.any(params[key]) for key in KEYS):
        fail(name, "some parameters are all zeros: every entry, biases included, is drawn from "
                   "uniform(-1/sqrt(H), 1/sqrt(H)).")
    if len({params[key].tobytes() for key in KEYS if key[0] == "U"}) < 3:
        fail(name, "several parameters hold the same values: draw each one separately.")
    largest = np.abs(values).max()
    if largest > bound + 1e-12:
        why = ("the bound uses the input size: 1/sqrt(input_size) instead of 1/sqrt(hidden_size)"
               if largest <= 1 / np.sqrt(input_size) else
               "the entries are not drawn from a uniform distribution on [-1/sqrt(H), 1/sqrt(H)]")
        fail(name, f"an entry is {largest:.3g}, outside +-1/sqrt(H) = {bound:.3g}.",
             f"Likely cause: {why}.")
    if largest < 0.95 * bound:
        why = ("the bound is 1/H instead of 1/sqrt(H)" if largest <= 1 / hidden_size else
               "the entries are drawn from a narrower range than [-1/sqrt(H), 1/sqrt(H)]")
        fail(name, f"the largest entry of {values.size} is only {largest:.3g}, but with "
                   f"H = {hidden_size} they should fill +-{bound:.3g}.", f"Likely cause: {why}.")
    if abs(np.abs(values).mean() / bound - 0.5) > 0.05 or abs(values.mean()) > 0.05 * bound:
        fail(name, "the entries do not look uniform on [-1/sqrt(H), 1/sqrt(H)]: their mean "
                   f"absolute value is {np.abs(values).mean() / bound:.2f} of the bound (uniform: "
                   f"0.5) and their mean {values.mean():.3g} (uniform: 0).",
             "Use rng.uniform(-bound, bound, size=shape).")
    np.random.seed(2)
    again = _run(name, init_gru_params, input_size, hidden_size, np.random.default_rng(7))
    if not all(np.array_equal(params[key], again[key]) for key in KEYS):
        fail(name, "two calls with generators of the same seed gave different values.",
             "Likely cause: it draws from the global np.random instead of the rng argument: "
             "use rng.uniform(...).")
    other = _run(name, init_gru_params, input_size, hidden_size, np.random.default_rng(8))
    if all(np.array_equal(params[key], other[key]) for key in KEYS):
        fail(name, "generators with different seeds gave the same values: the rng argument "
                   "is not used.", "Draw every entry with rng.uniform(...).")


def check_gru_cell_forward(gru_cell_forward):
    name = "gru_cell_forward"
    params = random_params(D, H, seed=31)
    x, h_prev = _normal(32, B, D), np.tanh(_normal(33, B, H))
    expected, _ = ref.gru_cell_forward(x, h_prev, params)
    oracle = torch_gru(x[:, None], h_prev, params, np.zeros((B, 1, H)))[0][:, 0]
    h, _ = _tuple_of(name, _run_unchanged(name, gru_cell_forward, x, h_prev, params), 2,
                     "(h, cache)")
    check_close(f"{name}: h", h, expected, causes=cell_forward_causes(x, h_prev, params),
                dtype=np.float64, hint="compare each line with the four equations of the notebook.")
    check_close(f"{name}: h (against torch.nn.GRU)", h, oracle)
    saturated = {**params, "b_z": np.full(H, 40.0)}
    h_copy, _ = _run(name, gru_cell_forward, x, h_prev, saturated)
    check_close(f"{name}: h with the update gate saturated at z = 1 (b_z = 40)", h_copy, h_prev,
                hint="with z = 1 the state must be copied: h = z * h_prev + (1 - z) * h~.")
    too_wide = np.zeros((B, D + 1))
    try:
        _run(name, gru_cell_forward, too_wide, h_prev, params)
    except AssertionError as error:
        if "raised ValueError" in str(error):
            return
        raise
    fail(name, f"x of shape {too_wide.shape} does not fit W_* of shape {(H, D)}, but no ValueError "
               "was raised.", "Use the matrix product x @ W.T: it refuses mismatched shapes.")


def check_gru_cell_backward(gru_cell_backward, gru_cell_forward):
    name = "gru_cell_backward"
    params = random_params(D, H, seed=41)
    x, h_prev, dh = _normal(42, B, D), np.tanh(_normal(43, B, H)), _normal(44, B, H)
    h_expected, cache_expected = ref.gru_cell_forward(x, h_prev, params)
    cache = _forward_first(name, "gru_cell_forward", gru_cell_forward, h_expected,
                           x, h_prev, params)
    got = _tuple_of(name, _run_unchanged(name, gru_cell_backward, dh, cache), 3,
                    "(dx, dh_prev, grads)")
    _, dX, dh0, grads = torch_gru(x[:, None], h_prev, params, dh[:, None])
    causes = backward_causes({cause: cell_backward_variant(dh, cache_expected, mistake)
                              for cause, mistake in CELL_BACKWARD_MISTAKES.items()})
    _compare_backward(name, got, ref.gru_cell_backward(dh, cache_expected), (dX[:, 0], dh0, grads),
                      causes, ("dx", "dh_prev"))


def check_gru_forward(gru_forward):
    name = "gru_forward"
    params = random_params(D, H, seed=51)
    X, h0 = _normal(52, B, T, D), np.tanh(_normal(53, B, H))
    expected, _ = ref.gru_forward(X, h0, params)
    oracle = torch_gru(X, h0, params, np.zeros((B, T, H)))[0]
    H_all, _ = _tuple_of(name, _run_unchanged(name, gru_forward, X, h0, params), 2,
                         "(H_all, caches)")
    if np.shape(H_all) == (T, B, H):
        fail(f"{name}: H_all", f"expected shape {(B, T, H)}, got {(T, B, H)}: the states are "
             "stacked time first.", "Batch first: np.stack(states, axis=1).")
    check_close(f"{name}: H_all", H_all, expected, causes=sequence_causes(X, h0, params),
                dtype=np.float64, hint="h of step t is the h_prev of step t + 1.")
    check_close(f"{name}: H_all (against torch.nn.GRU)", H_all, oracle)


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


def check_gru_backward(gru_backward, gru_forward):
    name = "gru_backward"
    params = random_params(D, H, seed=61)
    X, h0, dH_all = _normal(62, B, T, D), np.tanh(_normal(63, B, H)), _normal(64, B, T, H)
    states, caches_expected = ref.gru_forward(X, h0, params)
    caches = _forward_first(name, "gru_forward", gru_forward, states, X, h0, params)
    got = _tuple_of(name, _run_unchanged(name, gru_backward, dH_all, caches), 3,
                    "(dX, dh0, grads)")
    if np.shape(got[0]) == (T, B, D):
        fail(f"{name}: dX", f"expected shape {(B, T, D)}, got {(T, B, D)}: dX is stacked time "
             "first.", "Batch first: np.stack(dxs, axis=1), in time order.")
    _, dX, dh0, grads = torch_gru(X, h0, params, dH_all)
    causes = backward_causes({cause: gru_backward_variant(dH_all, caches_expected, mistake)
                              for cause, mistake in GRU_BACKWARD_MISTAKES.items()})
    _compare_backward(name, got, ref.gru_backward(dH_all, caches_expected), (dX, dh0, grads),
                      causes, ("dX", "dh0"))
