"""Answers students give to 03_gru_numpy: mistakes, each a complete function, and correct
answers written differently from the reference (fused gates, tuple caches, a backward that
recomputes, BPTT written without the cell's backward).

Names read ``<graded name>__<what is different>``. A backward is checked with the forward
that makes its cache: ``FORWARD_OF[backward]`` says which one.
"""

import numpy as np
from torch import nn

KEYS = ("W_z", "U_z", "b_z", "W_r", "U_r", "b_r", "W_h", "U_h", "b_h")


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# ---------------------------------------------------------------- init_gru_params

def _shapes(D, H):
    return {"W": (H, D), "U": (H, H), "b": (H,)}


def init_gru_params__one_block(input_size, hidden_size, rng):
    """Correct: one draw of a (3H, D + H + 1) block, cut into the nine parameters."""
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


def init_gru_params__global_random(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: np.random.uniform(-bound, bound, size=shapes[k[0]]) for k in KEYS}


def init_gru_params__bound_input_size(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(input_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: rng.uniform(-bound, bound, size=shapes[k[0]]) for k in KEYS}


def init_gru_params__bound_one_over_h(input_size, hidden_size, rng):
    bound = 1 / hidden_size
    shapes = _shapes(input_size, hidden_size)
    return {k: rng.uniform(-bound, bound, size=shapes[k[0]]) for k in KEYS}


def init_gru_params__normal(input_size, hidden_size, rng):
    scale = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: rng.normal(0.0, scale, size=shapes[k[0]]) for k in KEYS}


def init_gru_params__zero_biases(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: (np.zeros(shapes["b"]) if k[0] == "b" else rng.uniform(-bound, bound, shapes[k[0]]))
            for k in KEYS}


def init_gru_params__shared_draws(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    draws = {kind: rng.uniform(-bound, bound, size=shape) for kind, shape in shapes.items()}
    return {k: draws[k[0]].copy() for k in KEYS}


def init_gru_params__float32(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(hidden_size)
    shapes = _shapes(input_size, hidden_size)
    return {k: rng.uniform(-bound, bound, size=shapes[k[0]]).astype(np.float32) for k in KEYS}


def init_gru_params__transposed(input_size, hidden_size, rng):
    bound = 1 / np.sqrt(hidden_size)
    shapes = {"W": (input_size, hidden_size), "U": (hidden_size, hidden_size),
              "b": (hidden_size,)}
    return {k: rng.uniform(-bound, bound, size=shapes[k[0]]) for k in KEYS}


def init_gru_params__reference(input_size, hidden_size, rng):
    from helpers.reference import init_gru_params

    return init_gru_params(input_size, hidden_size, rng)


# ---------------------------------------------------------------- gru_cell_forward / backward
# A correct pair with a dict cache, as most students write it.

def gru_cell_forward(x, h_prev, params):
    p = params
    z = sigmoid(x @ p["W_z"].T + h_prev @ p["U_z"].T + p["b_z"])
    r = sigmoid(x @ p["W_r"].T + h_prev @ p["U_r"].T + p["b_r"])
    uh = h_prev @ p["U_h"].T
    h_candidate = np.tanh(x @ p["W_h"].T + r * uh + p["b_h"])
    h = z * h_prev + (1 - z) * h_candidate
    return h, {"x": x, "h_prev": h_prev, "z": z, "r": r, "uh": uh, "hc": h_candidate, "p": p}


def gru_cell_backward(dh, cache):
    x, h_prev, z, r, uh, hc, p = (cache[k] for k in ("x", "h_prev", "z", "r", "uh", "hc", "p"))
    da_h = dh * (1 - z) * (1 - hc**2)
    da_z = dh * (h_prev - hc) * z * (1 - z)
    da_r = da_h * uh * r * (1 - r)
    duh = da_h * r
    grads = {"W_z": da_z.T @ x, "U_z": da_z.T @ h_prev, "b_z": da_z.sum(0),
             "W_r": da_r.T @ x, "U_r": da_r.T @ h_prev, "b_r": da_r.sum(0),
             "W_h": da_h.T @ x, "U_h": duh.T @ h_prev, "b_h": da_h.sum(0)}
    dx = da_z @ p["W_z"] + da_r @ p["W_r"] + da_h @ p["W_h"]
    dh_prev = dh * z + da_z @ p["U_z"] + da_r @ p["U_r"] + duh @ p["U_h"]
    return dx, dh_prev, grads


# Correct: the three gates fused in one matrix product, a tuple cache.

def _stacked(p):
    W = np.concatenate([p["W_z"], p["W_r"], p["W_h"]])
    U = np.concatenate([p["U_z"], p["U_r"], p["U_h"]])
    b = np.concatenate([p["b_z"], p["b_r"], p["b_h"]])
    return W, U, b


def gru_cell_forward__fused(x, h_prev, params):
    W, U, b = _stacked(params)
    H = h_prev.shape[1]
    a_x = x @ W.T + b
    a_h = h_prev @ U.T
    z = sigmoid(a_x[:, :H] + a_h[:, :H])
    r = sigmoid(a_x[:, H:2 * H] + a_h[:, H:2 * H])
    h_candidate = np.tanh(a_x[:, 2 * H:] + r * a_h[:, 2 * H:])
    h = h_candidate + z * (h_prev - h_candidate)
    return h, (x, h_prev, z, r, a_h[:, 2 * H:], h_candidate, W, U)


def gru_cell_backward__fused(dh, cache):
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


# Correct: the cache keeps only the inputs; the backward recomputes the rest.

def gru_cell_forward__recompute(x, h_prev, params):
    h, _ = gru_cell_forward(x, h_prev, params)
    return h, (x, h_prev, params)


def gru_cell_backward__recompute(dh, cache):
    _, full_cache = gru_cell_forward(*cache)
    return gru_cell_backward(dh, full_cache)


# Forward mistakes.

def _cell(x, h_prev, p, reset, swap=False, biases=True, transpose_u=True):
    def U(key):
        return p[key].T if transpose_u else p[key]

    b = p if biases else dict.fromkeys(("b_z", "b_r", "b_h"), 0.0)
    z = sigmoid(x @ p["W_z"].T + h_prev @ U("U_z") + b["b_z"])
    r = sigmoid(x @ p["W_r"].T + h_prev @ U("U_r") + b["b_r"])
    h_candidate = np.tanh(x @ p["W_h"].T + reset(r, h_prev, U("U_h")) + b["b_h"])
    h = (1 - z) * h_prev + z * h_candidate if swap else z * h_prev + (1 - z) * h_candidate
    return h, {}


def gru_cell_forward__z_swapped(x, h_prev, params):
    return _cell(x, h_prev, params, lambda r, h, U: r * (h @ U), swap=True)


def gru_cell_forward__reset_before(x, h_prev, params):
    return _cell(x, h_prev, params, lambda r, h, U: (r * h) @ U)


def gru_cell_forward__no_reset(x, h_prev, params):
    return _cell(x, h_prev, params, lambda r, h, U: h @ U)


def gru_cell_forward__no_biases(x, h_prev, params):
    return _cell(x, h_prev, params, lambda r, h, U: r * (h @ U), biases=False)


def gru_cell_forward__u_not_transposed(x, h_prev, params):
    return _cell(x, h_prev, params, lambda r, h, U: r * (h @ U), transpose_u=False)


def gru_cell_forward__w_not_transposed(x, h_prev, params):
    p = params
    z = sigmoid(x @ p["W_z"] + h_prev @ p["U_z"].T + p["b_z"])
    r = sigmoid(x @ p["W_r"] + h_prev @ p["U_r"].T + p["b_r"])
    h_candidate = np.tanh(x @ p["W_h"] + r * (h_prev @ p["U_h"].T) + p["b_h"])
    return z * h_prev + (1 - z) * h_candidate, {}


def gru_cell_forward__in_place(x, h_prev, params):
    h_new, cache = gru_cell_forward(x, h_prev, params)
    h = h_prev
    h *= 0.0
    h += h_new  # h is h_prev: the caller's array now holds the new state
    return h, cache


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


# Backward mistakes, each with the dict cache of gru_cell_forward above.

def _unpack(cache):
    return (cache[k] for k in ("x", "h_prev", "z", "r", "uh", "hc", "p"))


def _assemble(da_z, da_r, da_h, duh, dh_direct, cache):
    """(dx, dh_prev, grads) from the gradients of the pre-activations."""
    x, h_prev, p = cache["x"], cache["h_prev"], cache["p"]
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


def gru_cell_backward__gates_constant(dh, cache):
    _, _, da_h = _deltas(dh, cache)
    zero = np.zeros_like(dh)
    return _assemble(zero, zero, da_h, da_h * cache["r"], dh * cache["z"], cache)


def gru_cell_backward__no_z_path(dh, cache):
    _, da_r, da_h = _deltas(dh, cache)
    return _assemble(np.zeros_like(dh), da_r, da_h, da_h * cache["r"], dh * cache["z"], cache)


def gru_cell_backward__no_r_path(dh, cache):
    da_z, _, da_h = _deltas(dh, cache)
    return _assemble(da_z, np.zeros_like(dh), da_h, da_h * cache["r"], dh * cache["z"], cache)


def gru_cell_backward__dz_sign(dh, cache):
    da_z, da_r, da_h = _deltas(dh, cache)
    return _assemble(-da_z, da_r, da_h, da_h * cache["r"], dh * cache["z"], cache)


def gru_cell_backward__sigmoid_derivative(dh, cache):
    _, h_prev, z, r, uh, hc, _ = _unpack(cache)
    da_h = dh * (1 - z) * (1 - hc**2)
    da_z = dh * (h_prev - hc) * z
    da_r = da_h * uh * r
    return _assemble(da_z, da_r, da_h, da_h * r, dh * z, cache)


def gru_cell_backward__tanh_of_preactivation(dh, cache):
    x, h_prev, z, r, uh, hc, p = _unpack(cache)
    a_h = x @ p["W_h"].T + r * uh + p["b_h"]
    da_h = dh * (1 - z) * (1 - a_h**2)
    da_z = dh * (h_prev - hc) * z * (1 - z)
    return _assemble(da_z, da_h * uh * r * (1 - r), da_h, da_h * r, dh * z, cache)


def gru_cell_backward__u_h_without_r(dh, cache):
    da_z, da_r, da_h = _deltas(dh, cache)
    return _assemble(da_z, da_r, da_h, da_h, dh * cache["z"], cache)


def gru_cell_backward__no_direct_term(dh, cache):
    da_z, da_r, da_h = _deltas(dh, cache)
    return _assemble(da_z, da_r, da_h, da_h * cache["r"], 0.0, cache)


def gru_cell_backward__only_direct_term(dh, cache):
    dx, _, grads = gru_cell_backward(dh, cache)
    return dx, dh * cache["z"], grads


def gru_cell_backward__averaged_over_batch(dh, cache):
    dx, dh_prev, grads = gru_cell_backward(dh, cache)
    return dx, dh_prev, {k: g / len(dh) for k, g in grads.items()}


def gru_cell_backward__w_transposed(dh, cache):
    da_z, da_r, da_h = _deltas(dh, cache)
    dx, dh_prev, grads = _assemble(da_z, da_r, da_h, da_h * cache["r"], dh * cache["z"], cache)
    x = cache["x"]
    grads.update(W_z=x.T @ da_z, W_r=x.T @ da_r, W_h=x.T @ da_h)
    return dx, dh_prev, grads


def gru_cell_backward__u_transposed(dh, cache):
    dx, dh_prev, grads = gru_cell_backward(dh, cache)
    return dx, dh_prev, {k: g.T if k[0] == "U" else g for k, g in grads.items()}


def gru_cell_backward__bias_not_summed(dh, cache):
    da_z, da_r, da_h = _deltas(dh, cache)
    dx, dh_prev, grads = _assemble(da_z, da_r, da_h, da_h * cache["r"], dh * cache["z"], cache)
    grads.update(b_z=da_z, b_r=da_r, b_h=da_h)
    return dx, dh_prev, grads


def gru_cell_backward__missing_key(dh, cache):
    dx, dh_prev, grads = gru_cell_backward(dh, cache)
    del grads["b_h"]
    return dx, dh_prev, grads


def gru_cell_backward__in_place(dh, cache):
    dx, dh_prev, grads = gru_cell_backward(dh, cache)
    dh *= cache["z"]  # reuses the caller's array
    return dx, dh_prev, grads


def gru_cell_backward__reference(dh, cache):
    from helpers.reference.gru_numpy import gru_cell_backward as backward

    return backward(dh, cache)


# ---------------------------------------------------------------- gru_forward / gru_backward

def gru_forward(X, h0, params):
    h, states, caches = h0, [], []
    for t in range(X.shape[1]):
        h, cache = gru_cell_forward(X[:, t], h, params)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), caches


def gru_backward(dH_all, caches):
    grads = {k: 0.0 for k in KEYS}
    dxs, dh = [], np.zeros_like(dH_all[:, 0])
    for t in reversed(range(len(caches))):
        dx, dh, step = gru_cell_backward(dH_all[:, t] + dh, caches[t])
        dxs.insert(0, dx)
        grads = {k: grads[k] + step[k] for k in KEYS}
    return np.stack(dxs, axis=1), dh, grads


def gru_forward__all_inputs_at_once(X, h0, params):
    """Correct: every input projection in one product, gates fused; caches as tuples."""
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


def gru_backward__inline(dH_all, caches):
    """Correct: BPTT written out, without calling a cell backward, for the tuple caches."""
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


def gru_forward__recompute(X, h0, params):
    h, states, caches = h0, [], []
    for t in range(X.shape[1]):
        h, cache = gru_cell_forward__recompute(X[:, t], h, params)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), caches


def gru_backward__recompute(dH_all, caches):
    grads, dxs = None, []
    dh = np.zeros_like(dH_all[:, 0])
    for t in range(len(caches) - 1, -1, -1):
        dx, dh, step = gru_cell_backward__recompute(dH_all[:, t] + dh, caches[t])
        grads = step if grads is None else {k: grads[k] + step[k] for k in KEYS}
        dxs.append(dx)
    return np.stack(dxs[::-1], axis=1), dh, grads


# Forward mistakes.

def gru_forward__state_not_carried(X, h0, params):
    states, caches = [], []
    for t in range(X.shape[1]):
        h, cache = gru_cell_forward(X[:, t], h0, params)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), caches


def gru_forward__h0_ignored(X, h0, params):
    return gru_forward(X, np.zeros_like(h0), params)


def gru_forward__time_major(X, h0, params):
    states, caches = gru_forward(X, h0, params)
    return np.stack([states[:, t] for t in range(X.shape[1])]), caches


def gru_forward__reversed(X, h0, params):
    states, caches = gru_forward(X, h0, params)
    return states[:, ::-1], caches


def gru_forward__z_swapped_cell(X, h0, params):
    h, states = h0, []
    for t in range(X.shape[1]):
        h, _ = gru_cell_forward__z_swapped(X[:, t], h, params)
        states.append(h)
    return np.stack(states, axis=1), []


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


# Backward mistakes, with the caches of gru_forward above.

def gru_backward__not_carried(dH_all, caches):
    grads = {k: 0.0 for k in KEYS}
    dxs = []
    for t in reversed(range(len(caches))):
        dx, dh, step = gru_cell_backward(dH_all[:, t], caches[t])
        dxs.insert(0, dx)
        grads = {k: grads[k] + step[k] for k in KEYS}
    return np.stack(dxs, axis=1), dh, grads


def gru_backward__last_state_only(dH_all, caches):
    grads = {k: 0.0 for k in KEYS}
    dxs, dh = [], dH_all[:, -1]
    for t in reversed(range(len(caches))):
        dx, dh, step = gru_cell_backward(dh, caches[t])
        dxs.insert(0, dx)
        grads = {k: grads[k] + step[k] for k in KEYS}
    return np.stack(dxs, axis=1), dh, grads


def gru_backward__overwrites(dH_all, caches):
    dxs, dh = [], np.zeros_like(dH_all[:, 0])
    for t in reversed(range(len(caches))):
        dx, dh, grads = gru_cell_backward(dH_all[:, t] + dh, caches[t])
        dxs.insert(0, dx)
    return np.stack(dxs, axis=1), dh, grads


def gru_backward__averaged_over_time(dH_all, caches):
    dX, dh0, grads = gru_backward(dH_all, caches)
    return dX, dh0, {k: g / len(caches) for k, g in grads.items()}


def gru_backward__dx_reversed(dH_all, caches):
    grads = {k: 0.0 for k in KEYS}
    dxs, dh = [], np.zeros_like(dH_all[:, 0])
    for t in reversed(range(len(caches))):
        dx, dh, step = gru_cell_backward(dH_all[:, t] + dh, caches[t])
        dxs.append(dx)
        grads = {k: grads[k] + step[k] for k in KEYS}
    return np.stack(dxs, axis=1), dh, grads


def gru_backward__no_dh0(dH_all, caches):
    dX, dh0, grads = gru_backward(dH_all, caches)
    return dX, np.zeros_like(dh0), grads


def gru_backward__time_major(dH_all, caches):
    dX, dh0, grads = gru_backward(dH_all, caches)
    return dX.transpose(1, 0, 2), dh0, grads


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


def gru_backward__reference(dH_all, caches):
    from helpers.reference import gru_backward as backward

    return backward(dH_all, caches)


FORWARD_OF = {
    gru_cell_backward__fused: gru_cell_forward__fused,
    gru_cell_backward__recompute: gru_cell_forward__recompute,
    gru_backward__inline: gru_forward__all_inputs_at_once,
    gru_backward__recompute: gru_forward__recompute,
}
