"""Answers students give to 02_gru_equations: mistakes, each a complete function, and
correct answers written differently from the reference, each declared with what it is
(``tests.variants``). Names read ``<graded name>__<what is different>``.
"""

import math

import numpy as np

from tests.variants import correct, delegates, mistake


def sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


def gates(x, h_prev, p):
    z = sigmoid(p["w_z"] * x + p["u_z"] * h_prev + p["b_z"])
    r = sigmoid(p["w_r"] * x + p["u_r"] * h_prev + p["b_r"])
    return z, r


# ---------------------------------------------------------------- gru_step_scalar

@correct("gru_step_scalar")
def gru_step_scalar__numpy(x, h_prev, p):
    """NumPy scalars, the gates from one matrix-vector product."""
    W = np.array([[p["w_z"], p["u_z"]], [p["w_r"], p["u_r"]]])
    b = np.array([p["b_z"], p["b_r"]])
    z, r = 1.0 / (1.0 + np.exp(-(W @ np.array([x, h_prev]) + b)))
    h_candidate = np.tanh(p["w_h"] * x + r * p["u_h"] * h_prev + p["b_h"])
    return z, r, h_candidate, h_prev + (1.0 - z) * (h_candidate - h_prev)


@correct("gru_step_scalar")
def gru_step_scalar__list(x, h_prev, p):
    """Returns a list and writes sigmoid with tanh."""
    z = 0.5 * (1.0 + math.tanh(0.5 * (p["w_z"] * x + p["u_z"] * h_prev + p["b_z"])))
    r = 0.5 * (1.0 + math.tanh(0.5 * (p["w_r"] * x + p["u_r"] * h_prev + p["b_r"])))
    h_candidate = math.tanh(p["w_h"] * x + p["b_h"] + r * p["u_h"] * h_prev)
    return [z, r, h_candidate, z * h_prev + (1.0 - z) * h_candidate]


@mistake("gru_step_scalar", "z and 1 - z swapped")
def gru_step_scalar__z_swapped(x, h_prev, p):
    z, r = gates(x, h_prev, p)
    h_candidate = math.tanh(p["w_h"] * x + r * p["u_h"] * h_prev + p["b_h"])
    return z, r, h_candidate, (1.0 - z) * h_prev + z * h_candidate


@mistake("gru_step_scalar", "reset gate is missing")
def gru_step_scalar__no_reset(x, h_prev, p):
    z, r = gates(x, h_prev, p)
    h_candidate = math.tanh(p["w_h"] * x + p["u_h"] * h_prev + p["b_h"])
    return z, r, h_candidate, z * h_prev + (1.0 - z) * h_candidate


@mistake("gru_step_scalar", "multiplies the whole pre-activation")
def gru_step_scalar__reset_everything(x, h_prev, p):
    z, r = gates(x, h_prev, p)
    h_candidate = math.tanh(r * (p["w_h"] * x + p["u_h"] * h_prev + p["b_h"]))
    return z, r, h_candidate, z * h_prev + (1.0 - z) * h_candidate


@mistake("gru_step_scalar", "bias b_h sits inside")
def gru_step_scalar__bias_in_reset(x, h_prev, p):
    z, r = gates(x, h_prev, p)
    h_candidate = math.tanh(p["w_h"] * x + r * (p["u_h"] * h_prev + p["b_h"]))
    return z, r, h_candidate, z * h_prev + (1.0 - z) * h_candidate


@mistake("gru_step_scalar", "biases were left out")
def gru_step_scalar__no_gate_bias(x, h_prev, p):
    z = sigmoid(p["w_z"] * x + p["u_z"] * h_prev)
    r = sigmoid(p["w_r"] * x + p["u_r"] * h_prev)
    h_candidate = math.tanh(p["w_h"] * x + r * p["u_h"] * h_prev + p["b_h"])
    return z, r, h_candidate, z * h_prev + (1.0 - z) * h_candidate


@mistake("gru_step_scalar", "wrong order")
def gru_step_scalar__order(x, h_prev, p):
    z, r = gates(x, h_prev, p)
    h_candidate = math.tanh(p["w_h"] * x + r * p["u_h"] * h_prev + p["b_h"])
    return r, z, h_candidate, z * h_prev + (1.0 - z) * h_candidate


@mistake("gru_step_scalar", "sigmoid instead of tanh")
def gru_step_scalar__sigmoid_candidate(x, h_prev, p):
    z, r = gates(x, h_prev, p)
    h_candidate = sigmoid(p["w_h"] * x + r * p["u_h"] * h_prev + p["b_h"])
    return z, r, h_candidate, z * h_prev + (1.0 - z) * h_candidate


@mistake("gru_step_scalar", "(1 - z) factor is missing")
def gru_step_scalar__no_one_minus_z(x, h_prev, p):
    z, r = gates(x, h_prev, p)
    h_candidate = math.tanh(p["w_h"] * x + r * p["u_h"] * h_prev + p["b_h"])
    return z, r, h_candidate, z * h_prev + h_candidate


@mistake("gru_step_scalar", "z = 1")
def gru_step_scalar__ignores_a_saturated_gate(x, h_prev, p):
    """Right wherever z < 1, but returns the candidate once z rounds to 1."""
    z, r, h_candidate, h = gru_step_scalar__list(x, h_prev, p)
    return z, r, h_candidate, (h_candidate if z > 1 - 1e-12 else h)


@mistake("gru_step_scalar", "input and recurrent weights are swapped")
def gru_step_scalar__weights_swapped(x, h_prev, p):
    """w_* taken for the recurrent weight (notebook 01 calls the recurrent matrix W_hh)."""
    z = sigmoid(p["w_z"] * h_prev + p["u_z"] * x + p["b_z"])
    r = sigmoid(p["w_r"] * h_prev + p["u_r"] * x + p["b_r"])
    h_candidate = math.tanh(p["w_h"] * h_prev * r + p["u_h"] * x + p["b_h"])
    return z, r, h_candidate, z * h_prev + (1.0 - z) * h_candidate


@mistake("gru_step_scalar", "h returned where h_candidate belongs")
def gru_step_scalar__state_before_candidate(x, h_prev, p):
    z, r = gates(x, h_prev, p)
    h_candidate = math.tanh(p["w_h"] * x + r * p["u_h"] * h_prev + p["b_h"])
    return z, r, z * h_prev + (1.0 - z) * h_candidate, h_candidate


@delegates("gru_step_scalar")
def gru_step_scalar__reference(x, h_prev, p):
    from helpers.reference import gru_step_scalar

    return gru_step_scalar(x, h_prev, p)


# ---------------------------------------------------------------- gru_dh_dhprev_scalar

def step(x, h_prev, p):
    z, r = gates(x, h_prev, p)
    a_h = p["w_h"] * x + r * p["u_h"] * h_prev + p["b_h"]
    return z, r, a_h, math.tanh(a_h)


@correct("gru_dh_dhprev_scalar")
def gru_dh_dhprev_scalar__chain(x, h_prev, p):
    """the chain rule written through the pre-activations, one path per line."""
    z, r, _, h_candidate = step(x, h_prev, p)
    da_z = p["u_z"]
    da_r = p["u_r"]
    da_h = p["u_h"] * (r + h_prev * r * (1.0 - r) * da_r)
    dh_candidate = (1.0 - h_candidate * h_candidate) * da_h
    dz = z * (1.0 - z) * da_z
    return dz * h_prev + z - dz * h_candidate + (1.0 - z) * dh_candidate


@correct("gru_dh_dhprev_scalar")
def gru_dh_dhprev_scalar__complex_step(x, h_prev, p):
    """complex-step differentiation of the state, exact to rounding."""
    import cmath

    def state(h):
        z = 1.0 / (1.0 + cmath.exp(-(p["w_z"] * x + p["u_z"] * h + p["b_z"])))
        r = 1.0 / (1.0 + cmath.exp(-(p["w_r"] * x + p["u_r"] * h + p["b_r"])))
        return z * h + (1.0 - z) * cmath.tanh(p["w_h"] * x + r * p["u_h"] * h + p["b_h"])

    step_size = 1e-30
    return state(complex(h_prev, step_size)).imag / step_size


@mistake("gru_dh_dhprev_scalar", "treated as constants")
def gru_dh_dhprev_scalar__gates_constant(x, h_prev, p):
    z, r, _, h_candidate = step(x, h_prev, p)
    return z + (1.0 - z) * (1.0 - h_candidate**2) * r * p["u_h"]


@mistake("gru_dh_dhprev_scalar", "path through the update gate z is missing")
def gru_dh_dhprev_scalar__no_z_path(x, h_prev, p):
    z, r, _, h_candidate = step(x, h_prev, p)
    dr = r * (1.0 - r) * p["u_r"]
    return z + (1.0 - z) * (1.0 - h_candidate**2) * (dr * p["u_h"] * h_prev + r * p["u_h"])


@mistake("gru_dh_dhprev_scalar", "path through the reset gate r is missing")
def gru_dh_dhprev_scalar__no_r_path(x, h_prev, p):
    z, r, _, h_candidate = step(x, h_prev, p)
    dz = z * (1.0 - z) * p["u_z"]
    return z + (h_prev - h_candidate) * dz + (1.0 - z) * (1.0 - h_candidate**2) * r * p["u_h"]


@mistake("gru_dh_dhprev_scalar", "wrong sign")
def gru_dh_dhprev_scalar__z_path_sign(x, h_prev, p):
    z, r, _, h_candidate = step(x, h_prev, p)
    dz = z * (1.0 - z) * p["u_z"]
    dr = r * (1.0 - r) * p["u_r"]
    dh_candidate = (1.0 - h_candidate**2) * (dr * p["u_h"] * h_prev + r * p["u_h"])
    return z + (h_candidate - h_prev) * dz + (1.0 - z) * dh_candidate


@mistake("gru_dh_dhprev_scalar", "sigma instead of sigma (1 - sigma)")
def gru_dh_dhprev_scalar__sigmoid_derivative(x, h_prev, p):
    z, r, _, h_candidate = step(x, h_prev, p)
    dz = z * p["u_z"]
    dr = r * p["u_r"]
    dh_candidate = (1.0 - h_candidate**2) * (dr * p["u_h"] * h_prev + r * p["u_h"])
    return z + (h_prev - h_candidate) * dz + (1.0 - z) * dh_candidate


@mistake("gru_dh_dhprev_scalar", "1 - a^2 instead of 1 - tanh(a)^2")
def gru_dh_dhprev_scalar__tanh_of_preactivation(x, h_prev, p):
    z, r, a_h, h_candidate = step(x, h_prev, p)
    dz = z * (1.0 - z) * p["u_z"]
    dr = r * (1.0 - r) * p["u_r"]
    dh_candidate = (1.0 - a_h**2) * (dr * p["u_h"] * h_prev + r * p["u_h"])
    return z + (h_prev - h_candidate) * dz + (1.0 - z) * dh_candidate


@mistake("gru_dh_dhprev_scalar", "direct term z")
def gru_dh_dhprev_scalar__no_direct_term(x, h_prev, p):
    z, r, _, h_candidate = step(x, h_prev, p)
    dz = z * (1.0 - z) * p["u_z"]
    dr = r * (1.0 - r) * p["u_r"]
    dh_candidate = (1.0 - h_candidate**2) * (dr * p["u_h"] * h_prev + r * p["u_h"])
    return (h_prev - h_candidate) * dz + (1.0 - z) * dh_candidate


@mistake("gru_dh_dhprev_scalar", "z and 1 - z swapped")
def gru_dh_dhprev_scalar__z_swapped(x, h_prev, p):
    """The exact derivative of h = (1 - z) h_prev + z h~, the other convention."""
    z, r, _, h_candidate = step(x, h_prev, p)
    dz = z * (1.0 - z) * p["u_z"]
    dr = r * (1.0 - r) * p["u_r"]
    dh_candidate = (1.0 - h_candidate**2) * (dr * p["u_h"] * h_prev + r * p["u_h"])
    return 1.0 - z + (h_candidate - h_prev) * dz + z * dh_candidate


@mistake("gru_dh_dhprev_scalar", "gate derivatives miss their weight")
def gru_dh_dhprev_scalar__gate_weights_missing(x, h_prev, p):
    """dz/dh_prev = z (1 - z): the chain rule stopped at the sigmoid."""
    z, r, _, h_candidate = step(x, h_prev, p)
    dz = z * (1.0 - z)
    dr = r * (1.0 - r)
    dh_candidate = (1.0 - h_candidate**2) * (dr * p["u_h"] * h_prev + r * p["u_h"])
    return z + (h_prev - h_candidate) * dz + (1.0 - z) * dh_candidate


@mistake("gru_dh_dhprev_scalar", "misses its factor h_prev")
def gru_dh_dhprev_scalar__r_path_without_h_prev(x, h_prev, p):
    z, r, _, h_candidate = step(x, h_prev, p)
    dz = z * (1.0 - z) * p["u_z"]
    dr = r * (1.0 - r) * p["u_r"]
    dh_candidate = (1.0 - h_candidate**2) * (dr * p["u_h"] + r * p["u_h"])
    return z + (h_prev - h_candidate) * dz + (1.0 - z) * dh_candidate


@mistake("gru_dh_dhprev_scalar", "misses the reset gate")
def gru_dh_dhprev_scalar__recurrent_without_reset(x, h_prev, p):
    z, r, _, h_candidate = step(x, h_prev, p)
    dz = z * (1.0 - z) * p["u_z"]
    dr = r * (1.0 - r) * p["u_r"]
    dh_candidate = (1.0 - h_candidate**2) * (dr * p["u_h"] * h_prev + p["u_h"])
    return z + (h_prev - h_candidate) * dz + (1.0 - z) * dh_candidate


@mistake("gru_dh_dhprev_scalar", "miss their factor (1 - z)")
def gru_dh_dhprev_scalar__candidate_without_one_minus_z(x, h_prev, p):
    z, r, _, h_candidate = step(x, h_prev, p)
    dz = z * (1.0 - z) * p["u_z"]
    dr = r * (1.0 - r) * p["u_r"]
    dh_candidate = (1.0 - h_candidate**2) * (dr * p["u_h"] * h_prev + r * p["u_h"])
    return z + (h_prev - h_candidate) * dz + dh_candidate


@mistake("gru_dh_dhprev_scalar", "1 - h^2 instead of 1 - h~^2")
def gru_dh_dhprev_scalar__tanh_of_new_state(x, h_prev, p):
    """The RNN's diag(1 - h_t^2) of notebook 01, with h_t the GRU's new state."""
    z, r, _, h_candidate = step(x, h_prev, p)
    h = z * h_prev + (1.0 - z) * h_candidate
    dz = z * (1.0 - z) * p["u_z"]
    dr = r * (1.0 - r) * p["u_r"]
    dh_candidate = (1.0 - h**2) * (dr * p["u_h"] * h_prev + r * p["u_h"])
    return z + (h_prev - h_candidate) * dz + (1.0 - z) * dh_candidate


@mistake("gru_dh_dhprev_scalar", "finite difference")
def gru_dh_dhprev_scalar__finite_difference(x, h_prev, p):
    """A central difference of the state instead of the derivative written out."""
    def state(h):
        z, _, _, h_candidate = step(x, h, p)
        return z * h + (1.0 - z) * h_candidate

    eps = 1e-6
    return (state(h_prev + eps) - state(h_prev - eps)) / (2 * eps)


@delegates("gru_dh_dhprev_scalar")
def gru_dh_dhprev_scalar__reference(x, h_prev, p):
    from helpers import reference

    return reference.gru_dh_dhprev_scalar(x, h_prev, p)
