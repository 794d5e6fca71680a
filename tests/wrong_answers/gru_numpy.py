"""Answers students give to 03_gru_numpy: mistakes, each a complete function, and correct
answers written differently from the reference (fused gates, tuple caches, a backward that
recomputes, BPTT written without the cell's backward), each declared with what it is
(``tests.variants``). Names read ``<graded name>__<what is different>``.

A backward reads the cache of the forward it runs with: the mistakes read the solution's
dict cache (keys x, h_prev, z, r, uh, h_candidate, params), as a student's backward does
beside a right forward; a correct backward written for a forward of its own format says so
(``given``).
"""

import copy

import numpy as np
from torch import nn

from tests.variants import correct, delegates, mistake

KEYS = ("W_z", "U_z", "b_z", "W_r", "U_r", "b_r", "W_h", "U_h", "b_h")
CACHE_KEYS = ("x", "h_prev", "z", "r", "uh", "h_candidate", "params")


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# ---------------------------------------------------------------- init_gru_params

def _shapes(D, H):
    return {"W": (H, D), "U": (H, H), "b": (H,)}


@correct("init_gru_params")
def init_gru_params__one_block(input_size, hidden_size, rng):
    """One draw of a (3H, D + H + 1) block, cut into the nine parameters."""
    H, D = hidden_size, input_size
    bound = 1 / np.sqrt(H)
    block = rng.uniform(-bound, bound, size=(3 * H, D + H + 1))
    params = {}
    for i, gate in enumerate("zrh"):
        rows = block[i * H:(i + 1) * H]
        params[f"W_{gate}"] = rows[:, :D].copy()
        params[f"U_{gate}"] = rows[:, D:D + H].copy()
        params[f"b_{gate}"] = rows[:, -1].copy()
    return params


@correct("init_gru_params")
def init_gru_params__scaled_random(input_size, hidden_size, rng):
    """rng.random() in [0, 1), stretched to [-bound, bound)."""
    bound = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: (2 * rng.random(shapes[k[0]]) - 1) * bound for k in KEYS}


@mistake("init_gru_params", "global np.random")
def init_gru_params__global_random(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: np.random.uniform(-bound, bound, size=shapes[k[0]]) for k in KEYS}


@mistake("init_gru_params", "1/sqrt(input_size) instead of 1/sqrt(hidden_size)")
def init_gru_params__bound_input_size(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(input_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: rng.uniform(-bound, bound, size=shapes[k[0]]) for k in KEYS}


@mistake("init_gru_params", "1/H instead of 1/sqrt(H)")
def init_gru_params__bound_one_over_h(input_size, hidden_size, rng):
    bound = 1 / hidden_size
    shapes = _shapes(input_size, hidden_size)
    return {k: rng.uniform(-bound, bound, size=shapes[k[0]]) for k in KEYS}


@mistake("init_gru_params", "not from a uniform distribution")
def init_gru_params__normal(input_size, hidden_size, rng):
    scale = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: rng.normal(0.0, scale, size=shapes[k[0]]) for k in KEYS}


@mistake("init_gru_params", "wider range than")
def init_gru_params__glorot(input_size, hidden_size, rng):
    """Glorot's bound sqrt(6 / (fan_in + fan_out)) for the weights (Keras' default kernel)."""
    shapes = _shapes(input_size, hidden_size)
    bounds = {"W": np.sqrt(6 / (input_size + hidden_size)), "U": np.sqrt(3 / hidden_size),
              "b": 1 / np.sqrt(hidden_size)}
    return {k: rng.uniform(-bounds[k[0]], bounds[k[0]], size=shapes[k[0]]) for k in KEYS}


@mistake("init_gru_params", "narrower range", seen_by="hidden")
def init_gru_params__small_biases(input_size, hidden_size, rng):
    """The weights right, the biases from a narrower range (1/H)."""
    shapes = _shapes(input_size, hidden_size)
    return {k: rng.uniform(-1, 1, size=shapes[k[0]]) / (hidden_size if k[0] == "b"
                                                          else np.sqrt(hidden_size)) for k in KEYS}


@mistake("init_gru_params", "all zeros")
def init_gru_params__zero_biases(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: (np.zeros(shapes["b"]) if k[0] == "b" else rng.uniform(-bound, bound, shapes[k[0]]))
            for k in KEYS}


@mistake("init_gru_params", "same values")
def init_gru_params__shared_draws(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    draws = {kind: rng.uniform(-bound, bound, size=shape) for kind, shape in shapes.items()}
    return {k: draws[k[0]].copy() for k in KEYS}


@mistake("init_gru_params", "float64")
def init_gru_params__float32(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: rng.uniform(-bound, bound, size=shapes[k[0]]).astype(np.float32) for k in KEYS}


@mistake("init_gru_params", "expected shape (16, 3)")
def init_gru_params__transposed(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(hidden_size)
    shapes = {"W": (input_size, hidden_size), "U": (hidden_size, hidden_size),
              "b": (hidden_size,)}
    return {k: rng.uniform(-bound, bound, size=shapes[k[0]]) for k in KEYS}


@mistake("init_gru_params", "not from a copy of it")
def init_gru_params__copies_the_generator(input_size, hidden_size, rng):
    """Draws from a copy, so the caller's generator never moves on: every call with it
    gives the same network."""
    local = copy.deepcopy(rng)
    bound = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: local.uniform(-bound, bound, size=shapes[k[0]]) for k in KEYS}


@delegates("init_gru_params")
def init_gru_params__reference(input_size, hidden_size, rng):
    from helpers.reference import init_gru_params

    return init_gru_params(input_size, hidden_size, rng)


# ---------------------------------------------------------------- gru_cell_forward

@correct("gru_cell_forward")
def gru_cell_forward(x, h_prev, params):
    """The equations one by one, with the cache as the solution's backward reads it."""
    p = params
    z = sigmoid(x @ p["W_z"].T + h_prev @ p["U_z"].T + p["b_z"])
    r = sigmoid(x @ p["W_r"].T + h_prev @ p["U_r"].T + p["b_r"])
    uh = h_prev @ p["U_h"].T
    h_candidate = np.tanh(x @ p["W_h"].T + r * uh + p["b_h"])
    h = z * h_prev + (1 - z) * h_candidate
    return h, dict(zip(CACHE_KEYS, (x, h_prev, z, r, uh, h_candidate, p), strict=True))


def _stacked(p):
    W = np.concatenate([p["W_z"], p["W_r"], p["W_h"]])
    U = np.concatenate([p["U_z"], p["U_r"], p["U_h"]])
    b = np.concatenate([p["b_z"], p["b_r"], p["b_h"]])
    return W, U, b


@correct("gru_cell_forward")
def gru_cell_forward__fused(x, h_prev, params):
    """The three gates fused in one matrix product; a tuple cache."""
    W, U, b = _stacked(params)
    H = h_prev.shape[1]
    a_x = x @ W.T + b
    a_h = h_prev @ U.T
    z = sigmoid(a_x[:, :H] + a_h[:, :H])
    r = sigmoid(a_x[:, H:2 * H] + a_h[:, H:2 * H])
    h_candidate = np.tanh(a_x[:, 2 * H:] + r * a_h[:, 2 * H:])
    h = h_candidate + z * (h_prev - h_candidate)
    return h, (x, h_prev, z, r, a_h[:, 2 * H:], h_candidate, W, U)


@correct("gru_cell_forward")
def gru_cell_forward__recompute(x, h_prev, params):
    """The cache keeps only the inputs; its backward recomputes the rest."""
    h, _ = gru_cell_forward(x, h_prev, params)
    return h, (x, h_prev, params)


def _cell(x, h_prev, p, reset, swap=False, biases=True, transpose_u=True):
    def U(key):
        return p[key].T if transpose_u else p[key]

    b = p if biases else dict.fromkeys(("b_z", "b_r", "b_h"), 0.0)
    z = sigmoid(x @ p["W_z"].T + h_prev @ U("U_z") + b["b_z"])
    r = sigmoid(x @ p["W_r"].T + h_prev @ U("U_r") + b["b_r"])
    h_candidate = np.tanh(x @ p["W_h"].T + reset(r, h_prev, U("U_h"), b["b_h"]))
    h = (1 - z) * h_prev + z * h_candidate if swap else z * h_prev + (1 - z) * h_candidate
    return h, {}


def _reset_after(r, h, U, b_h):
    return r * (h @ U) + b_h


@mistake("gru_cell_forward", "z and 1 - z swapped")
def gru_cell_forward__z_swapped(x, h_prev, params):
    return _cell(x, h_prev, params, _reset_after, swap=True)


@mistake("gru_cell_forward", "reset gate is applied before the recurrent matrix")
def gru_cell_forward__reset_before(x, h_prev, params):
    return _cell(x, h_prev, params, lambda r, h, U, b_h: (r * h) @ U + b_h)


@mistake("gru_cell_forward", "reset gate is missing")
def gru_cell_forward__no_reset(x, h_prev, params):
    return _cell(x, h_prev, params, lambda r, h, U, b_h: h @ U + b_h)


@mistake("gru_cell_forward", "b_h sits inside the reset product")
def gru_cell_forward__bias_in_reset(x, h_prev, params):
    return _cell(x, h_prev, params, lambda r, h, U, b_h: r * (h @ U + b_h))


@mistake("gru_cell_forward", "multiplies the whole pre-activation")
def gru_cell_forward__reset_everything(x, h_prev, params):
    p = params
    z = sigmoid(x @ p["W_z"].T + h_prev @ p["U_z"].T + p["b_z"])
    r = sigmoid(x @ p["W_r"].T + h_prev @ p["U_r"].T + p["b_r"])
    h_candidate = np.tanh(r * (x @ p["W_h"].T + h_prev @ p["U_h"].T + p["b_h"]))
    return z * h_prev + (1 - z) * h_candidate, {}


@mistake("gru_cell_forward", "biases")
def gru_cell_forward__no_biases(x, h_prev, params):
    return _cell(x, h_prev, params, _reset_after, biases=False)


@mistake("gru_cell_forward", "without transpose")
def gru_cell_forward__u_not_transposed(x, h_prev, params):
    return _cell(x, h_prev, params, _reset_after, transpose_u=False)


@mistake("gru_cell_forward", "x @ W.T")
def gru_cell_forward__w_not_transposed(x, h_prev, params):
    p = params
    z = sigmoid(x @ p["W_z"] + h_prev @ p["U_z"].T + p["b_z"])
    r = sigmoid(x @ p["W_r"] + h_prev @ p["U_r"].T + p["b_r"])
    h_candidate = np.tanh(x @ p["W_h"] + r * (h_prev @ p["U_h"].T) + p["b_h"])
    return z * h_prev + (1 - z) * h_candidate, {}


@mistake("gru_cell_forward", "in place")
def gru_cell_forward__in_place(x, h_prev, params):
    h_new, cache = gru_cell_forward(x, h_prev, params)
    h = h_prev
    h *= 0.0
    h += h_new  # h is h_prev: the caller's array now holds the new state
    return h, cache


@mistake("gru_cell_forward", "raised AssertionError")
def gru_cell_forward__asserts_the_shapes(x, h_prev, params):
    """Checks the shapes, but with assert: an AssertionError, not a ValueError."""
    assert x.shape[1] == params["W_z"].shape[1], "x does not fit W_z"
    assert h_prev.shape == (x.shape[0], params["U_z"].shape[0]), "h_prev does not fit"
    return gru_cell_forward(x, h_prev, params)


@delegates("gru_cell_forward", calls="torch.nn.GRUCell")
def gru_cell_forward__torch(x, h_prev, params):
    import torch

    cell = nn.GRUCell(x.shape[1], h_prev.shape[1]).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(np.concatenate(
            [params["W_r"], params["W_z"], params["W_h"]])))
        cell.weight_hh.copy_(torch.from_numpy(np.concatenate(
            [params["U_r"], params["U_z"], params["U_h"]])))
        cell.bias_ih.copy_(torch.from_numpy(np.concatenate(
            [params["b_r"], params["b_z"], params["b_h"]])))
        cell.bias_hh.zero_()
        h = cell(torch.from_numpy(x), torch.from_numpy(h_prev))
    return h.numpy(), {}


# ---------------------------------------------------------------- gru_cell_backward

def _unpack(cache):
    return (cache[k] for k in CACHE_KEYS)


def _assemble(da_z, da_r, da_h, duh, dh_direct, cache):
    """(dx, dh_prev, grads) from the gradients of the pre-activations."""
    x, h_prev, p = cache["x"], cache["h_prev"], cache["params"]
    grads = {"W_z": da_z.T @ x, "U_z": da_z.T @ h_prev, "b_z": da_z.sum(0),
             "W_r": da_r.T @ x, "U_r": da_r.T @ h_prev, "b_r": da_r.sum(0),
             "W_h": da_h.T @ x, "U_h": duh.T @ h_prev, "b_h": da_h.sum(0)}
    dx = da_z @ p["W_z"] + da_r @ p["W_r"] + da_h @ p["W_h"]
    return dx, dh_direct + da_z @ p["U_z"] + da_r @ p["U_r"] + duh @ p["U_h"], grads


def _deltas(dh, cache):
    """The right gradients of the pre-activations a_z, a_r, a_h."""
    _, h_prev, z, r, uh, hc, _ = _unpack(cache)
    da_h = dh * (1 - z) * (1 - hc**2)
    return dh * (h_prev - hc) * z * (1 - z), da_h * uh * r * (1 - r), da_h


@correct("gru_cell_backward")
def gru_cell_backward(dh, cache):
    """The chain rule through the pre-activations, one line each."""
    da_z, da_r, da_h = _deltas(dh, cache)
    return _assemble(da_z, da_r, da_h, da_h * cache["r"], dh * cache["z"], cache)


@correct("gru_cell_backward", given={"gru_cell_forward": gru_cell_forward__fused})
def gru_cell_backward__fused(dh, cache):
    """The backward of the fused forward: one product per stacked matrix."""
    x, h_prev, z, r, uh, h_candidate, W, U = cache
    H = h_prev.shape[1]
    da_h = dh * (1 - z) * (1 - h_candidate**2)
    da_z = dh * (h_prev - h_candidate) * z * (1 - z)
    da_r = da_h * uh * r * (1 - r)
    da_x = np.concatenate([da_z, da_r, da_h], axis=1)  # gradient of x @ W.T + b
    da_hh = np.concatenate([da_z, da_r, da_h * r], axis=1)  # gradient of h_prev @ U.T
    dW, dU, db = da_x.T @ x, da_hh.T @ h_prev, da_x.sum(axis=0)
    grads = {}
    for i, gate in enumerate("zrh"):
        rows = slice(i * H, (i + 1) * H)
        grads[f"W_{gate}"], grads[f"U_{gate}"], grads[f"b_{gate}"] = dW[rows], dU[rows], db[rows]
    return da_x @ W, dh * z + da_hh @ U, grads


@correct("gru_cell_backward", given={"gru_cell_forward": gru_cell_forward__recompute})
def gru_cell_backward__recompute(dh, cache):
    """Recomputes the forward from the inputs the cache kept."""
    _, full_cache = gru_cell_forward(*cache)
    return gru_cell_backward(dh, full_cache)


@mistake("gru_cell_backward", "treated as constants")
def gru_cell_backward__gates_constant(dh, cache):
    _, _, da_h = _deltas(dh, cache)
    zero = np.zeros_like(dh)
    return _assemble(zero, zero, da_h, da_h * cache["r"], dh * cache["z"], cache)


@mistake("gru_cell_backward", "gradient through the update gate z is dropped")
def gru_cell_backward__no_z_path(dh, cache):
    _, da_r, da_h = _deltas(dh, cache)
    return _assemble(np.zeros_like(dh), da_r, da_h, da_h * cache["r"], dh * cache["z"], cache)


@mistake("gru_cell_backward", "gradient through the reset gate r is dropped")
def gru_cell_backward__no_r_path(dh, cache):
    da_z, _, da_h = _deltas(dh, cache)
    return _assemble(da_z, np.zeros_like(dh), da_h, da_h * cache["r"], dh * cache["z"], cache)


@mistake("gru_cell_backward", "wrong sign")
def gru_cell_backward__dz_sign(dh, cache):
    da_z, da_r, da_h = _deltas(dh, cache)
    return _assemble(-da_z, da_r, da_h, da_h * cache["r"], dh * cache["z"], cache)


@mistake("gru_cell_backward", "sigma instead of sigma * (1 - sigma)")
def gru_cell_backward__sigmoid_derivative(dh, cache):
    _, h_prev, z, r, uh, hc, _ = _unpack(cache)
    da_h = dh * (1 - z) * (1 - hc**2)
    da_z = dh * (h_prev - hc) * z
    da_r = da_h * uh * r
    return _assemble(da_z, da_r, da_h, da_h * r, dh * z, cache)


@mistake("gru_cell_backward", "uses the pre-activation")
def gru_cell_backward__tanh_of_preactivation(dh, cache):
    x, h_prev, z, r, uh, hc, p = _unpack(cache)
    a_h = x @ p["W_h"].T + r * uh + p["b_h"]
    da_h = dh * (1 - z) * (1 - a_h**2)
    da_z = dh * (h_prev - hc) * z * (1 - z)
    return _assemble(da_z, da_h * uh * r * (1 - r), da_h, da_h * r, dh * z, cache)


@mistake("gru_cell_backward", "forgets the reset gate")
def gru_cell_backward__u_h_without_r(dh, cache):
    da_z, da_r, da_h = _deltas(dh, cache)
    return _assemble(da_z, da_r, da_h, da_h, dh * cache["z"], cache)


@mistake("gru_cell_backward", "misses the direct term")
def gru_cell_backward__no_direct_term(dh, cache):
    da_z, da_r, da_h = _deltas(dh, cache)
    return _assemble(da_z, da_r, da_h, da_h * cache["r"], 0.0, cache)


@mistake("gru_cell_backward", "keeps only the direct term")
def gru_cell_backward__only_direct_term(dh, cache):
    dx, _, grads = gru_cell_backward(dh, cache)
    return dx, dh * cache["z"], grads


@mistake("gru_cell_backward", "averaged over the batch")
def gru_cell_backward__averaged_over_batch(dh, cache):
    dx, dh_prev, grads = gru_cell_backward(dh, cache)
    return dx, dh_prev, {k: g / len(dh) for k, g in grads.items()}


@mistake("gru_cell_backward", "axes are in another order")
def gru_cell_backward__w_transposed(dh, cache):
    da_z, da_r, da_h = _deltas(dh, cache)
    dx, dh_prev, grads = _assemble(da_z, da_r, da_h, da_h * cache["r"], dh * cache["z"], cache)
    x = cache["x"]
    grads.update(W_z=x.T @ da_z, W_r=x.T @ da_r, W_h=x.T @ da_h)
    return dx, dh_prev, grads


@mistake("gru_cell_backward", "U gradients are transposed")
def gru_cell_backward__u_transposed(dh, cache):
    dx, dh_prev, grads = gru_cell_backward(dh, cache)
    return dx, dh_prev, {k: g.T if k[0] == "U" else g for k, g in grads.items()}


@mistake("gru_cell_backward", "not summed over the batch")
def gru_cell_backward__bias_not_summed(dh, cache):
    da_z, da_r, da_h = _deltas(dh, cache)
    dx, dh_prev, grads = _assemble(da_z, da_r, da_h, da_h * cache["r"], dh * cache["z"], cache)
    grads.update(b_z=da_z, b_r=da_r, b_h=da_h)
    return dx, dh_prev, grads


@mistake("gru_cell_backward", "missing ['b_h']")
def gru_cell_backward__missing_key(dh, cache):
    dx, dh_prev, grads = gru_cell_backward(dh, cache)
    del grads["b_h"]
    return dx, dh_prev, grads


@mistake("gru_cell_backward", "in place")
def gru_cell_backward__in_place(dh, cache):
    dx, dh_prev, grads = gru_cell_backward(dh, cache)
    dh *= cache["z"]  # reuses the caller's array
    return dx, dh_prev, grads


@mistake("gru_cell_backward", "the cache in place")
def gru_cell_backward__squares_the_cache(dh, cache):
    """Right on the first call, but it squares the cached candidate in place: a second
    backward through the same cache is wrong."""
    _, h_prev, z, r, uh, hc, _ = _unpack(cache)
    dz = dh * (h_prev - hc)
    hc **= 2  # hc is now h~**2, and so is the cache's candidate
    da_h = dh * (1 - z) * (1 - hc)
    return _assemble(dz * z * (1 - z), da_h * uh * r * (1 - r), da_h, da_h * r, dh * z, cache)


def _running_total(total, step):
    """Adds ``step`` into ``total`` (kept by the caller between calls), started afresh when
    the shapes change: as in a notebook, where every call has the network's shapes, only a
    repeated call shows it."""
    if any(np.shape(total.get(key, g)) != np.shape(g) for key, g in step.items()):
        total.clear()
    for key, g in step.items():
        total[key] = total.get(key, 0.0) + g
    return dict(total)


@mistake("gru_cell_backward", "kept between calls")
def gru_cell_backward__grads_kept_between_calls(dh, cache, grads={}):  # noqa: B006 - the mistake
    dx, dh_prev, step = gru_cell_backward(dh, cache)
    return dx, dh_prev, _running_total(grads, step)


@delegates("gru_cell_backward")
def gru_cell_backward__reference(dh, cache):
    from helpers.reference.gru_numpy import gru_cell_backward as backward

    return backward(dh, cache)


# ---------------------------------------------------------------- gru_forward

@correct("gru_forward")
def gru_forward(X, h0, params):
    """The loop over time, caches in a list."""
    h, states, caches = h0, [], []
    for t in range(X.shape[1]):
        h, cache = gru_cell_forward(X[:, t], h, params)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), caches


@correct("gru_forward")
def gru_forward__all_inputs_at_once(X, h0, params):
    """Every input projection in one product, gates fused; caches as tuples."""
    B, T, D = X.shape
    W, U, b = _stacked(params)
    H = h0.shape[1]
    A_x = (X.reshape(B * T, D) @ W.T + b).reshape(B, T, 3 * H)
    h, states, caches = h0, [], []
    for t in range(T):
        a_h = h @ U.T
        z = sigmoid(A_x[:, t, :H] + a_h[:, :H])
        r = sigmoid(A_x[:, t, H:2 * H] + a_h[:, H:2 * H])
        h_candidate = np.tanh(A_x[:, t, 2 * H:] + r * a_h[:, 2 * H:])
        caches.append((X[:, t], h, z, r, a_h[:, 2 * H:], h_candidate, W, U))
        h = (1 - z) * h_candidate + z * h
        states.append(h)
    return np.stack(states, axis=1), caches


@correct("gru_forward")
def gru_forward__recompute(X, h0, params):
    """Caches that keep only each step's inputs."""
    h, states, caches = h0, [], []
    for t in range(X.shape[1]):
        h, cache = gru_cell_forward__recompute(X[:, t], h, params)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), caches


@mistake("gru_forward", "not carried from step to step")
def gru_forward__state_not_carried(X, h0, params):
    states, caches = [], []
    for t in range(X.shape[1]):
        h, cache = gru_cell_forward(X[:, t], h0, params)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), caches


@mistake("gru_forward", "h0 is ignored")
def gru_forward__h0_ignored(X, h0, params):
    return gru_forward(X, np.zeros_like(h0), params)


@mistake("gru_forward", "axes are in another order")
def gru_forward__time_major(X, h0, params):
    states, caches = gru_forward(X, h0, params)
    return np.stack([states[:, t] for t in range(X.shape[1])]), caches


@mistake("gru_forward", "reverse time order")
def gru_forward__reversed(X, h0, params):
    states, caches = gru_forward(X, h0, params)
    return states[:, ::-1], caches


@mistake("gru_forward", "in the cell, z and 1 - z swapped")
def gru_forward__z_swapped_cell(X, h0, params):
    h, states, caches = h0, [], []
    for t in range(X.shape[1]):
        h, cache = gru_cell_forward__z_swapped(X[:, t], h, params)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), caches


@mistake("gru_forward", "in place")
def gru_forward__in_place(X, h0, params):
    """Keeps the state in the caller's h0 array."""
    h, states, caches = h0, [], []
    for t in range(X.shape[1]):
        h_new, cache = gru_cell_forward(X[:, t], h.copy(), params)
        h[...] = h_new
        states.append(h_new)
        caches.append(cache)
    return np.stack(states, axis=1), caches


@mistake("gru_forward", "kept between calls")
def gru_forward__keeps_states(X, h0, params, states=[], caches=[]):  # noqa: B006 - the mistake
    """The lists outlive the call (started afresh when the shapes change, so that only a
    repeated call of one size shows it)."""
    if states and states[0].shape != (X.shape[0], h0.shape[1]):
        states.clear()
        caches.clear()
    h = h0
    for t in range(X.shape[1]):
        h, cache = gru_cell_forward(X[:, t], h, params)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), caches


@mistake("gru_forward", "the T step caches")
def gru_forward__last_cache_only(X, h0, params):
    states, caches = gru_forward(X, h0, params)
    return states, caches[-1]


@mistake("gru_forward", "not in time order", seen_by="hidden")
def gru_forward__caches_reversed(X, h0, params):
    """Right states, but the caches collected backwards."""
    states, caches = gru_forward(X, h0, params)
    return states, caches[::-1]


@mistake("gru_forward", "changed by later steps", seen_by="hidden")
def gru_forward__reuses_the_state_buffer(X, h0, params):
    """Right states, but one array holds the state of every step, and each step's cache
    keeps that array as its h_prev: by the end every cache holds the last state."""
    h = h0.copy()
    states, caches = [], []
    for t in range(X.shape[1]):
        h_new, cache = gru_cell_forward(X[:, t], h, params)
        h[...] = h_new
        states.append(h.copy())
        caches.append(cache)
    return np.stack(states, axis=1), caches


@delegates("gru_forward", calls="torch.nn.GRU")
def gru_forward__torch(X, h0, params):
    import torch

    gru = nn.GRU(X.shape[2], h0.shape[1], batch_first=True).double()
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(np.concatenate(
            [params["W_r"], params["W_z"], params["W_h"]])))
        gru.weight_hh_l0.copy_(torch.from_numpy(np.concatenate(
            [params["U_r"], params["U_z"], params["U_h"]])))
        gru.bias_ih_l0.copy_(torch.from_numpy(np.concatenate(
            [params["b_r"], params["b_z"], params["b_h"]])))
        gru.bias_hh_l0.zero_()
        states, _ = gru(torch.from_numpy(X), torch.from_numpy(h0)[None])
    return states.numpy(), []


# ---------------------------------------------------------------- gru_backward

@correct("gru_backward")
def gru_backward(dH_all, caches):
    """The loop backwards over time, dx inserted at the front."""
    grads = {k: 0.0 for k in KEYS}
    dxs, dh = [], np.zeros_like(dH_all[:, 0])
    for t in reversed(range(len(caches))):
        dx, dh, step = gru_cell_backward(dH_all[:, t] + dh, caches[t])
        dxs.insert(0, dx)
        grads = {k: grads[k] + step[k] for k in KEYS}
    return np.stack(dxs, axis=1), dh, grads


@correct("gru_backward", given={"gru_forward": gru_forward__all_inputs_at_once})
def gru_backward__inline(dH_all, caches):
    """BPTT written out, without a cell backward, for the tuple caches of its forward."""
    B, T, H = dH_all.shape
    W, U = caches[0][6], caches[0][7]
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros(3 * H)
    dX = np.zeros((B, T, W.shape[1]))
    dh = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        x, h_prev, z, r, uh, h_candidate, _, _ = caches[t]
        dh = dh + dH_all[:, t]
        da_h = dh * (1 - z) * (1 - h_candidate**2)
        da_x = np.concatenate([dh * (h_prev - h_candidate) * z * (1 - z),
                               da_h * uh * r * (1 - r), da_h], axis=1)
        da_hh = np.concatenate([da_x[:, :2 * H], da_h * r], axis=1)
        dW, dU, db = dW + da_x.T @ x, dU + da_hh.T @ h_prev, db + da_x.sum(axis=0)
        dX[:, t] = da_x @ W
        dh = dh * z + da_hh @ U
    grads = {}
    for i, gate in enumerate("zrh"):
        rows = slice(i * H, (i + 1) * H)
        grads[f"W_{gate}"], grads[f"U_{gate}"], grads[f"b_{gate}"] = dW[rows], dU[rows], db[rows]
    return dX, dh, grads


@correct("gru_backward")
def gru_backward__dict_caches_inline(dH_all, caches):
    """BPTT written out for the solution's dict caches, dX filled in place of a list."""
    B, T, H = dH_all.shape
    p = caches[0]["params"]
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dX = np.zeros((B, T, p["W_z"].shape[1]))
    dh = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        dh = dh + dH_all[:, t]
        da_z, da_r, da_h = _deltas(dh, caches[t])
        dX[:, t], dh, step = _assemble(da_z, da_r, da_h, da_h * caches[t]["r"],
                                       dh * caches[t]["z"], caches[t])
        grads = {k: grads[k] + step[k] for k in grads}
    return dX, dh, grads


@correct("gru_backward", given={"gru_forward": gru_forward__recompute})
def gru_backward__recompute(dH_all, caches):
    """The backward of the recomputing forward."""
    grads, dxs = None, []
    dh = np.zeros_like(dH_all[:, 0])
    for t in range(len(caches) - 1, -1, -1):
        dx, dh, step = gru_cell_backward__recompute(dH_all[:, t] + dh, caches[t])
        grads = step if grads is None else {k: grads[k] + step[k] for k in KEYS}
        dxs.append(dx)
    return np.stack(dxs[::-1], axis=1), dh, grads


@mistake("gru_backward", "dh is not carried")
def gru_backward__not_carried(dH_all, caches):
    grads = {k: 0.0 for k in KEYS}
    dxs = []
    for t in reversed(range(len(caches))):
        dx, dh, step = gru_cell_backward(dH_all[:, t], caches[t])
        dxs.insert(0, dx)
        grads = {k: grads[k] + step[k] for k in KEYS}
    return np.stack(dxs, axis=1), dh, grads


@mistake("gru_backward", "only the gradient of the last state")
def gru_backward__last_state_only(dH_all, caches):
    grads = {k: 0.0 for k in KEYS}
    dxs, dh = [], dH_all[:, -1]
    for t in reversed(range(len(caches))):
        dx, dh, step = gru_cell_backward(dh, caches[t])
        dxs.insert(0, dx)
        grads = {k: grads[k] + step[k] for k in KEYS}
    return np.stack(dxs, axis=1), dh, grads


@mistake("gru_backward", "overwritten at each step")
def gru_backward__overwrites(dH_all, caches):
    dxs, dh = [], np.zeros_like(dH_all[:, 0])
    for t in reversed(range(len(caches))):
        dx, dh, grads = gru_cell_backward(dH_all[:, t] + dh, caches[t])
        dxs.insert(0, dx)
    return np.stack(dxs, axis=1), dh, grads


@mistake("gru_backward", "averaged over time")
def gru_backward__averaged_over_time(dH_all, caches):
    dX, dh0, grads = gru_backward(dH_all, caches)
    return dX, dh0, {k: g / len(caches) for k, g in grads.items()}


@mistake("gru_backward", "reversed time order")
def gru_backward__dx_reversed(dH_all, caches):
    grads = {k: 0.0 for k in KEYS}
    dxs, dh = [], np.zeros_like(dH_all[:, 0])
    for t in reversed(range(len(caches))):
        dx, dh, step = gru_cell_backward(dH_all[:, t] + dh, caches[t])
        dxs.append(dx)
        grads = {k: grads[k] + step[k] for k in KEYS}
    return np.stack(dxs, axis=1), dh, grads


@mistake("gru_backward", "dh0 is not returned")
def gru_backward__no_dh0(dH_all, caches):
    dX, dh0, grads = gru_backward(dH_all, caches)
    return dX, np.zeros_like(dh0), grads


@mistake("gru_backward", "axes are in another order")
def gru_backward__time_major(dH_all, caches):
    dX, dh0, grads = gru_backward(dH_all, caches)
    return dX.transpose(1, 0, 2), dh0, grads


@mistake("gru_backward", "in place")
def gru_backward__in_place(dH_all, caches):
    grads = {k: 0.0 for k in KEYS}
    dxs = []
    for t in reversed(range(len(caches))):
        dx, dh, step = gru_cell_backward(dH_all[:, t], caches[t])
        if t > 0:
            dH_all[:, t - 1] += dh  # carries dh by writing into the caller's array
        dxs.insert(0, dx)
        grads = {k: grads[k] + step[k] for k in KEYS}
    return np.stack(dxs, axis=1), dh, grads


@mistake("gru_backward", "kept between calls")
def gru_backward__grads_kept_between_calls(dH_all, caches, grads={}):  # noqa: B006 - the mistake
    dX, dh0, step = gru_backward(dH_all, caches)
    return dX, dh0, _running_total(grads, step)


@delegates("gru_backward")
def gru_backward__reference(dH_all, caches):
    from helpers.reference import gru_backward as backward

    return backward(dH_all, caches)
