"""03_gru_numpy: the GRU in NumPy, forward and backward side by side.

Shapes: x (B, D), h (B, H), W_* (H, D), U_* (H, H), b_* (H,).

    z  = sigmoid(x W_z^T + h_prev U_z^T + b_z)
    r  = sigmoid(x W_r^T + h_prev U_r^T + b_r)
    h~ = tanh(x W_h^T + r * (h_prev U_h^T) + b_h)
    h  = z * h_prev + (1 - z) * h~
"""

import numpy as np

from helpers.gru_layout import GRU_KEYS
from helpers.reference.vanishing_exploding_gradients import sigmoid


def init_gru_params(input_size, hidden_size, rng):
    if input_size < 1 or hidden_size < 1:
        raise ValueError(
            f"sizes must be positive, got input_size={input_size}, hidden_size={hidden_size}"
        )
    bound = 1.0 / np.sqrt(hidden_size)
    shapes = {"W": (hidden_size, input_size), "U": (hidden_size, hidden_size), "b": (hidden_size,)}
    return {key: rng.uniform(-bound, bound, size=shapes[key[0]]) for key in GRU_KEYS}


def _check_step_shapes(x, h_prev, params):
    H, D = params["W_z"].shape
    if x.ndim != 2 or x.shape[1] != D:
        raise ValueError(f"x must be (B, {D}) for these parameters, got shape {x.shape}")
    if h_prev.shape != (x.shape[0], H):
        raise ValueError(f"h_prev must be ({x.shape[0]}, {H}), got shape {h_prev.shape}")


def gru_cell_forward(x, h_prev, params):
    _check_step_shapes(x, h_prev, params)
    p = params
    z = sigmoid(x @ p["W_z"].T + h_prev @ p["U_z"].T + p["b_z"])
    r = sigmoid(x @ p["W_r"].T + h_prev @ p["U_r"].T + p["b_r"])
    uh = h_prev @ p["U_h"].T  # kept: the reset gate multiplies it, so backward needs it
    h_candidate = np.tanh(x @ p["W_h"].T + r * uh + p["b_h"])
    h = z * h_prev + (1.0 - z) * h_candidate
    cache = {"x": x, "h_prev": h_prev, "z": z, "r": r, "uh": uh, "h_candidate": h_candidate,
             "params": p}
    return h, cache


def gru_cell_backward(dh, cache):
    x, h_prev, p = cache["x"], cache["h_prev"], cache["params"]
    z, r, uh, h_candidate = cache["z"], cache["r"], cache["uh"], cache["h_candidate"]
    # h = z * h_prev + (1 - z) * h~
    dz = dh * (h_prev - h_candidate)
    dh_candidate = dh * (1.0 - z)
    dh_prev = dh * z
    # h~ = tanh(a_h), a_h = x W_h^T + r * uh + b_h
    da_h = dh_candidate * (1.0 - h_candidate**2)
    dr = da_h * uh
    duh = da_h * r
    # gates: z = sigmoid(a_z), r = sigmoid(a_r)
    da_z = dz * z * (1.0 - z)
    da_r = dr * r * (1.0 - r)
    grads = {
        "W_z": da_z.T @ x, "U_z": da_z.T @ h_prev, "b_z": da_z.sum(axis=0),
        "W_r": da_r.T @ x, "U_r": da_r.T @ h_prev, "b_r": da_r.sum(axis=0),
        "W_h": da_h.T @ x, "U_h": duh.T @ h_prev, "b_h": da_h.sum(axis=0),
    }
    dx = da_z @ p["W_z"] + da_r @ p["W_r"] + da_h @ p["W_h"]
    dh_prev = dh_prev + da_z @ p["U_z"] + da_r @ p["U_r"] + duh @ p["U_h"]
    return dx, dh_prev, grads


def gru_forward(X, h0, params):
    if X.ndim != 3:
        raise ValueError(f"X must be (B, T, D), got shape {X.shape}")
    h, states, caches = h0, [], []
    for t in range(X.shape[1]):
        h, cache = gru_cell_forward(X[:, t], h, params)
        states.append(h)
        caches.append(cache)
    return np.stack(states, axis=1), caches


def gru_backward(dH_all, caches):
    """Back-propagation through time: each step also receives the gradient of the next."""
    if dH_all.ndim != 3 or dH_all.shape[1] != len(caches):
        raise ValueError(
            f"dH_all must be (B, T, H) with T = {len(caches)} steps, got shape {dH_all.shape}"
        )
    grads = {key: np.zeros_like(value) for key, value in caches[0]["params"].items()}
    dX = []
    dh_next = np.zeros_like(dH_all[:, 0])
    for t in reversed(range(len(caches))):
        dx, dh_next, step_grads = gru_cell_backward(dH_all[:, t] + dh_next, caches[t])
        dX.append(dx)
        for key in grads:
            grads[key] += step_grads[key]
    return np.stack(dX[::-1], axis=1), dh_next, grads
