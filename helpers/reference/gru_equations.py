"""02_gru_equations: the GRU with one input and one unit, and its exact derivative."""

import math


def _sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))


def gru_step_scalar(x, h_prev, p):
    z = _sigmoid(p["w_z"] * x + p["u_z"] * h_prev + p["b_z"])
    r = _sigmoid(p["w_r"] * x + p["u_r"] * h_prev + p["b_r"])
    h_candidate = math.tanh(p["w_h"] * x + r * (p["u_h"] * h_prev) + p["b_h"])
    h = z * h_prev + (1.0 - z) * h_candidate
    return z, r, h_candidate, h


def gru_dh_dhprev_scalar(x, h_prev, p):
    """dh/dh_prev = z + (h_prev - h~) dz/dh_prev + (1 - z) dh~/dh_prev."""
    z, r, h_candidate, _ = gru_step_scalar(x, h_prev, p)
    dz = z * (1.0 - z) * p["u_z"]
    dr = r * (1.0 - r) * p["u_r"]
    # h~ = tanh(a), a = w_h x + r * (u_h h_prev) + b_h: product rule on r * u_h h_prev
    dh_candidate = (1.0 - h_candidate**2) * (dr * p["u_h"] * h_prev + r * p["u_h"])
    return z + (h_prev - h_candidate) * dz + (1.0 - z) * dh_candidate
