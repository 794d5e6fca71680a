"""Hidden tests of 02_gru_equations: the scalar GRU step and its exact derivative.

Each probe runs the student's function on seeded cases and keeps what came back; each
judge compares, output by output, with the reference and with what each known mistake
gives on the same cases. The derivative is judged in stages, one path switched on at a
time, so that a failure says which path is wrong; then for the accuracy that only the exact
formula reaches; and, when the student's own step is given too, a derivative that is right
for a wrong step is told so.
"""

import math

import numpy as np

from helpers.checks import check_close, fail
from helpers.hidden import hidden_test
from helpers.hidden import reference as ref
from helpers.hidden.observe import call

KEYS = ("w_z", "u_z", "b_z", "w_r", "u_r", "b_r", "w_h", "u_h", "b_h")


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def random_cases(seed, n=16, **fixed):
    """``n`` cases ``(x, h_prev, p)``; ``fixed`` overrides some parameters in every case."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(n):
        p = {key: float(v) for key, v in zip(KEYS, rng.uniform(-1.5, 1.5, size=len(KEYS)),
                                             strict=True)}
        p.update(fixed)
        cases.append((float(rng.uniform(-2.0, 2.0)), float(rng.uniform(-0.9, 0.9)), p))
    return cases


def _as_columns(cases):
    """Arrays x, h_prev and one array per parameter, over all cases."""
    x = np.array([c[0] for c in cases])
    h_prev = np.array([c[1] for c in cases])
    p = {key: np.array([c[2][key] for c in cases]) for key in KEYS}
    return x, h_prev, p


def _as_float(name, value):
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        fail(name, f"expected a number (a Python float), got {type(value).__name__} "
                   f"{value!r}"[:300])
    return float(value)


# ---------------------------------------------------------------- gru_step_scalar

STEP_CASES = {"general": dict(seed=1), "z saturated": dict(seed=11, n=4, b_z=40.0),
              "r closed": dict(seed=12, n=4, b_r=-40.0)}


def probe_gru_step_scalar(gru_step_scalar):
    return {case: [call(gru_step_scalar, *c) for c in random_cases(**kwargs)]
            for case, kwargs in STEP_CASES.items()}


def step_mistakes(x, h_prev, p):
    """What each known mistake of gru_step_scalar returns, per output, on these arrays."""
    a_z = p["w_z"] * x + p["u_z"] * h_prev + p["b_z"]
    a_r = p["w_r"] * x + p["u_r"] * h_prev + p["b_r"]
    z, r = _sigmoid(a_z), _sigmoid(a_r)
    a_h_no_reset = p["w_h"] * x + p["u_h"] * h_prev + p["b_h"]
    h_candidate = np.tanh(p["w_h"] * x + r * p["u_h"] * h_prev + p["b_h"])
    return {
        "z": {"the biases were left out of the update gate":
              _sigmoid(p["w_z"] * x + p["u_z"] * h_prev),
              "the outputs come in the wrong order (r returned where z belongs)": r,
              "the input and recurrent weights are swapped (w_z multiplies h_prev, u_z "
              "multiplies x)": _sigmoid(p["w_z"] * h_prev + p["u_z"] * x + p["b_z"])},
        "r": {"the biases were left out of the reset gate":
              _sigmoid(p["w_r"] * x + p["u_r"] * h_prev),
              "the outputs come in the wrong order (z returned where r belongs)": z,
              "the input and recurrent weights are swapped (w_r multiplies h_prev, u_r "
              "multiplies x)": _sigmoid(p["w_r"] * h_prev + p["u_r"] * x + p["b_r"])},
        "h_candidate": {
            "the reset gate is missing from the candidate": np.tanh(a_h_no_reset),
            "the reset gate multiplies the whole pre-activation, input and bias included":
                np.tanh(r * a_h_no_reset),
            "the bias b_h sits inside the reset product (r * (u_h h_prev + b_h))":
                np.tanh(p["w_h"] * x + r * (p["u_h"] * h_prev + p["b_h"])),
            "the candidate uses sigmoid instead of tanh":
                _sigmoid(p["w_h"] * x + r * p["u_h"] * h_prev + p["b_h"]),
            "the outputs come in the wrong order (h returned where h_candidate belongs)":
                z * h_prev + (1.0 - z) * h_candidate,
        },
        "h": {"z and 1 - z swapped (h = (1 - z) h_prev + z h~)":
              (1.0 - z) * h_prev + z * h_candidate,
              "the state is a plain sum z h_prev + h~ (the (1 - z) factor is missing)":
              z * h_prev + h_candidate},
    }


def _step_rows(name, seen):
    rows = []
    for one in seen:
        result = one.value(name)
        if not isinstance(result, tuple | list) or len(result) != 4:
            fail(name, f"expected a tuple (z, r, h_candidate, h), got {type(result).__name__} "
                       f"{result!r}"[:300])
        rows.append([_as_float(name, v) for v in result])
    return np.array(rows)


def judge_gru_step_scalar(seen):
    name = "gru_step_scalar"
    cases = random_cases(**STEP_CASES["general"])
    got = _step_rows(name, seen["general"])
    expected = np.array([ref.gru_step_scalar(*case) for case in cases])
    mistakes = step_mistakes(*_as_columns(cases))
    for column, output in enumerate(("z", "r", "h_candidate", "h")):
        check_close(f"{name}: {output}", got[:, column], expected[:, column],
                    causes=mistakes[output])
    for (_, h_prev, _), (_, _, _, h) in zip(random_cases(**STEP_CASES["z saturated"]),
                                            _step_rows(name, seen["z saturated"]), strict=True):
        if abs(h - h_prev) > 1e-12:
            fail(name, f"with the update gate saturated at z = 1 (b_z = 40) the state must be "
                       f"copied: h_prev = {h_prev:.6g}, but h = {h:.6g}.")
    for (x, _, p), (_, _, h_candidate, _) in zip(random_cases(**STEP_CASES["r closed"]),
                                                 _step_rows(name, seen["r closed"]), strict=True):
        alone = math.tanh(p["w_h"] * x + p["b_h"])
        if abs(h_candidate - alone) > 1e-12:
            fail(name, f"with the reset gate closed (r = 0, b_r = -40) the candidate must ignore "
                       f"h_prev: expected tanh(w_h x + b_h) = {alone:.6g}, got {h_candidate:.6g}.")


check_gru_step_scalar = hidden_test("gru_step_scalar", "test_gru_step_scalar",
                                    probe_gru_step_scalar, judge_gru_step_scalar)


# ---------------------------------------------------------------- gru_dh_dhprev_scalar

def derivative_mistakes(x, h_prev, p):
    """What each known mistake of gru_dh_dhprev_scalar returns on these arrays."""
    z = _sigmoid(p["w_z"] * x + p["u_z"] * h_prev + p["b_z"])
    r = _sigmoid(p["w_r"] * x + p["u_r"] * h_prev + p["b_r"])
    a_h = p["w_h"] * x + r * p["u_h"] * h_prev + p["b_h"]
    h_candidate = np.tanh(a_h)
    h = z * h_prev + (1 - z) * h_candidate
    u_z, u_r, u_h = p["u_z"], p["u_r"], p["u_h"]

    def total(direct=z, z_path_sign=1.0, dz=z * (1 - z) * u_z, dr=r * (1 - r) * u_r,
              r_path_factor=u_h * h_prev, recurrent=r * u_h, tanh_slope=1 - h_candidate**2,
              weight=1 - z):
        via_z = z_path_sign * (h_prev - h_candidate) * dz
        via_candidate = weight * tanh_slope * (dr * r_path_factor + recurrent)
        return direct + via_z + via_candidate

    gates_constant = z + (1 - z) * (1 - h_candidate**2) * r * u_h
    return {
        "the gates are treated as constants (only z + (1 - z)(1 - h~^2) r u_h; the paths "
        "through z and r are missing)": gates_constant,
        "the path through the update gate z is missing": total(dz=0.0),
        "the path through the reset gate r is missing": total(dr=0.0),
        "the path through z has the wrong sign (dh/dz = h_prev - h~, not h~ - h_prev)":
            total(z_path_sign=-1.0),
        "the sigmoid derivative is wrong (sigma instead of sigma (1 - sigma))":
            total(dz=z * u_z, dr=r * u_r),
        "the gate derivatives miss their weight (dz/dh_prev = z (1 - z) u_z, dr/dh_prev = "
        "r (1 - r) u_r)": total(dz=z * (1 - z), dr=r * (1 - r)),
        "the path through r misses its factor h_prev (the product rule on r u_h h_prev "
        "gives u_h h_prev dr/dh_prev)": total(r_path_factor=u_h),
        "the recurrent term misses the reset gate (r u_h, not u_h)": total(recurrent=u_h),
        "the candidate's paths miss their factor (1 - z)": total(weight=1.0),
        "the tanh derivative uses the pre-activation (1 - a^2 instead of 1 - tanh(a)^2)":
            total(tanh_slope=1 - a_h**2),
        "the tanh derivative uses the new state h (1 - h^2 instead of 1 - h~^2)":
            total(tanh_slope=1 - h**2),
        "the direct term z (h_prev copied through the update gate) is missing":
            total(direct=0.0),
        "z and 1 - z swapped": 1 - z + (h_candidate - h_prev) * z * (1 - z) * u_z
            + z * (1 - h_candidate**2) * (r * (1 - r) * u_r * u_h * h_prev + r * u_h),
    }


WRONG_STEP = ("it uses the z, r and h~ of your gru_step_scalar, which are wrong here: make "
              "test_gru_step_scalar pass first")
EXACT = 1e-13  # how far from the reference an exact formula may be (relative to 1 + |value|)


def derivative_from_gates(z, r, h_candidate, x, h_prev, p):
    """Section 3's formula, with the gates and candidate given: what a right derivative
    returns when it takes them from a gru_step_scalar."""
    dz = z * (1 - z) * p["u_z"]
    dr = r * (1 - r) * p["u_r"]
    return (z + (h_prev - h_candidate) * dz
            + (1 - z) * (1 - h_candidate**2) * (r * p["u_h"] + p["u_h"] * h_prev * dr))


# One path switched on at a time: with u_z = u_r = 0 the gates do not depend on h_prev.
DERIVATIVE_STAGES = (
    ("u_z = u_r = 0 (gates independent of h_prev: only the direct path and the candidate)",
     {"u_z": 0.0, "u_r": 0.0}),
    ("u_r = 0 (the path through z switched on)", {"u_r": 0.0}),
    ("u_z = 0 (the path through r switched on)", {"u_z": 0.0}),
    ("every path switched on", {}),
)


def derivative_cases(stage):
    return random_cases(seed=20 + stage, **DERIVATIVE_STAGES[stage][1])


def probe_gru_dh_dhprev_scalar(gru_dh_dhprev_scalar, gru_step_scalar=None):
    """Each stage's calls; with the student's step, also what it returns on the same cases."""
    seen = []
    for stage in range(len(DERIVATIVE_STAGES)):
        cases = derivative_cases(stage)
        seen.append({"derivative": [call(gru_dh_dhprev_scalar, *case) for case in cases]})
        if gru_step_scalar is not None:
            seen[-1]["step"] = [call(gru_step_scalar, *case) for case in cases]
    return seen


def _gates(calls):
    """(z, r, h_candidate) per call of the student's step, NaN where it gave no numbers."""
    rows = []
    for one in calls:
        result = one.result if one.ok and not one.forbidden else None
        try:
            rows.append([float(v) for v in result[:3]])
        except (TypeError, ValueError, IndexError, KeyError):
            rows.append([math.nan] * 3)
    return np.array(rows)


def judge_gru_dh_dhprev_scalar(seen):
    name = "gru_dh_dhprev_scalar"
    worst = 0.0
    for stage, ((label, _), calls) in enumerate(zip(DERIVATIVE_STAGES, seen, strict=True)):
        cases = derivative_cases(stage)
        got = np.array([_as_float(name, one.value(name)) for one in calls["derivative"]])
        expected = np.array([ref.gru_dh_dhprev_scalar(*case) for case in cases])
        causes = derivative_mistakes(*_as_columns(cases))
        if "step" in calls:
            gates = _gates(calls["step"])
            right = np.array([ref.gru_step_scalar(*case)[:3] for case in cases])
            if not np.allclose(gates, right, rtol=1e-6, atol=1e-8):
                causes[WRONG_STEP] = derivative_from_gates(*gates.T, *_as_columns(cases))
        check_close(f"{name} (cases with {label})", got, expected, causes=causes)
        worst = max(worst, float(np.max(np.abs(got - expected) / (1 + np.abs(expected)))))
    if worst > EXACT:
        fail(name, f"it agrees with the exact derivative only to {worst:.1g} (relative): about "
                   "what a finite difference, or float32 arithmetic, gives. The exercise asks "
                   "for the exact formula of section 3, in float64.")


check_gru_dh_dhprev_scalar = hidden_test("gru_dh_dhprev_scalar", "test_gru_dh_dhprev_scalar",
                                         probe_gru_dh_dhprev_scalar, judge_gru_dh_dhprev_scalar)
