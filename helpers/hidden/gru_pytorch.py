"""Hidden tests of 04_gru_pytorch: the GRU as nn.Modules, its mapping onto nn.GRU, and a
training epoch.

Each probe runs in the student's kernel, where the reference is not available: it builds
the student's module through ``observe.call``, records the names and shapes of its
parameters and the values they start from, loads known float64 weights by name, runs the
forward pass and autograd's backward, and keeps the numbers. For ``train_epoch`` it builds
a seeded model, optimizer and loader itself and records, through hooks, what the epoch did
in which order. Each judge rebuilds the same inputs in the grader, computes what is
expected with the reference and what each known mistake gives, and checks in the order of
what a failure can explain: the module's layout, its initialisation, one term of the
equations at a time, the gradients, then the whole.
"""

import contextlib
import math
import random

import numpy as np
import torch
from torch import nn

from helpers.checks import check_close, check_shape, fail
from helpers.gru_layout import (
    COURSE_GATE_ORDER,
    GRU_KEYS,
    TORCH_GATE_NAMES,
    TORCH_GATE_ORDER,
    gru_shapes,
)
from helpers.hidden import hidden_test
from helpers.hidden import reference as ref
from helpers.hidden.codec import describe_type
from helpers.hidden.observe import call

FORBID = ("reference", "gru")
D, H, B, T = 3, 5, 4, 6
SHAPES = gru_shapes(D, H)


def random_params(seed, scale=0.8, **fixed):
    """float64 GRU weights large enough that every gate is far from 0, 1/2 and 1; a keyword
    sets that parameter to one value everywhere (``b_z=40.0``: z = 1)."""
    rng = np.random.default_rng(seed)
    params = {key: rng.normal(0.0, scale, size=shape) for key, shape in SHAPES.items()}
    params.update({key: np.full(SHAPES[key], value) for key, value in fixed.items()})
    return params


def random_tensor(seed, *shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def random_states(seed, *shape):
    """States in (-0.9, 0.9), where a GRU's states live."""
    generator = torch.Generator().manual_seed(seed)
    return 1.8 * torch.rand(*shape, generator=generator, dtype=torch.float64) - 0.9


@contextlib.contextmanager
def own_random_streams():
    """A block that draws random numbers (an initialisation, dropout) without moving the
    generators that the student's later cells draw from."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng():
        try:
            yield
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)


# ---------------------------------------------------------------- building a module


def layout(module):
    """What the student built, as data: whether it is an nn.Module, its parameters
    (name -> shape), the GRU keys it holds as plain tensors, and whether it has a module
    ``cell``."""
    if not isinstance(module, nn.Module):
        return {"module": False, "type": describe_type(module)}
    cell = getattr(module, "cell", None)
    holders = {"": module, "cell.": cell} if isinstance(cell, nn.Module) else {"": module}
    return {"module": True, "type": describe_type(module), "cell": "cell." in holders,
            "parameters": {name: list(p.shape) for name, p in module.named_parameters()},
            "plain": [prefix + key for prefix, holder in holders.items() for key in GRU_KEYS
                      if isinstance(vars(holder).get(key), torch.Tensor)]}


def build(cls, *args):
    """``cls(*args)`` through ``call``: the Seen (whose result is the module's layout, as
    data) and the module itself."""
    seen = call(cls, *args, forbid=FORBID)
    module = seen.result
    if seen.ok:
        described = call(layout, module, forbid=FORBID, watch=False)  # its code runs too
        seen.result, seen.raised = described.result, described.raised
    return seen, module


def expected_layout(shapes=SHAPES, prefix=""):
    return {prefix + key: list(shape) for key, shape in shapes.items()}


def fits(seen, shapes=SHAPES, prefix=""):
    """The module was built and holds exactly these parameters: the probe goes on."""
    return (seen.ok and not seen.forbidden and seen.result.get("module")
            and seen.result.get("parameters") == expected_layout(shapes, prefix))


def load_params(module, params, prefix=""):
    """The module in float64 with the dict's weights copied into its parameters by name."""
    module.double()
    named = dict(module.named_parameters())
    with torch.no_grad():
        for key in GRU_KEYS:
            named[prefix + key].copy_(torch.as_tensor(params[key]))


def check_layout(name, seen, prefix=""):
    """The module registers exactly the GRU dict's keys (under ``prefix``) with their shapes."""
    found = seen.value(f"{name}({D}, {H})")
    if not found.get("module"):
        fail(name, f"{name}({D}, {H}) is not an nn.Module (it is a {found.get('type')}): "
                   "subclass nn.Module and call super().__init__() first.")
    if prefix and not found["cell"]:
        fail(name, "it has no module self.cell: store a GRUCell as self.cell in __init__ and "
                   "loop it over time in forward.")
    expected, got = expected_layout(prefix=prefix), found["parameters"]
    owner = "self.cell" if prefix else "it"
    if set(got) != set(expected):
        plain = [key for key in found["plain"] if key not in got]
        fail(name, f"{owner} registers no nn.Parameter, so an optimizer would never update "
                   "it." if not got else f"expected nn.Parameters named {sorted(expected)}, "
                                         f"got {sorted(got)}."[:600],
             f"{', '.join(plain)} are plain tensors: wrap each in nn.Parameter(...)." if plain
             else "", "These are the parameters of your GRUCell: fix GRUCell first (the "
                      "hidden tests load weights into self.cell by these names)." if prefix
             else "")
    for key, shape in expected.items():
        if got[key] != shape:
            fail(name, f"parameter {key} has shape {tuple(got[key])}, expected {tuple(shape)} "
                       f"(W_* is (H, D), U_* is (H, H), b_* is (H,); here D = {D}, H = {H}).",
                 "These are the parameters of your GRUCell: fix GRUCell first." if prefix
                 else "")


# ---------------------------------------------------------------- GRUCell

INIT_SIZES = (4, 64)  # input_size, hidden_size of the cell whose initial values are judged


def reach(n, p_miss=1e-9):
    """How close to the bound the largest of n uniform(-b, b) draws comes (as a fraction
    of b), but for a probability ``p_miss``."""
    return 2 * p_miss ** (1 / n) - 1


def check_init(name, values, hidden_size):
    """Every entry uniform(-1/sqrt(H), 1/sqrt(H)): not constant, inside the bound, both
    signs, filling it."""
    bound = 1 / math.sqrt(hidden_size)
    where = f"with hidden_size={hidden_size}"
    for key in GRU_KEYS:
        p = np.asarray(values[key], dtype=np.float64).ravel()
        lowest, highest = p.min(), p.max()
        if lowest == highest:
            fail(name, f"{where} parameter {key} holds one value everywhere ({lowest:g}): "
                       "initialise every entry at random, uniform(-1/sqrt(H), 1/sqrt(H)).")
        if max(-lowest, highest) > bound * (1 + 1e-6):
            fail(name, f"{where} parameter {key} reaches {max(-lowest, highest):.3g}, beyond "
                       f"the bound 1/sqrt(H) = {bound:.3g}.", init_cause(p, bound))
        if lowest >= 0 or highest <= 0:
            fail(name, f"{where} parameter {key} holds only non-"
                       f"{'negative' if lowest >= 0 else 'positive'} values, in "
                       f"[{lowest:.3g}, {highest:.3g}]: uniform(-b, b) has both signs.")
        if min(-lowest, highest) < reach(p.size) * bound:
            fail(name, f"{where} parameter {key} stays within [{lowest:.3g}, {highest:.3g}], "
                       f"well inside the bound 1/sqrt(H) = {bound:.3g} that {p.size} uniform "
                       "draws would nearly reach.")


def init_cause(values, bound):
    """What a too-wide initialisation says about its cause, when it says anything."""
    std, D_bound = values.std(), 1 / math.sqrt(INIT_SIZES[0])
    if np.abs(values).max() > 2.2 * std:  # uniform draws stay within sqrt(3) std
        return "Likely cause: a normal distribution (randn), not a uniform one."
    if abs(std - D_bound / math.sqrt(3)) < 0.1 * std:
        return ("Likely cause: the bound uses input_size, 1/sqrt(D); the course's (and "
                "nn.GRU's) is 1/sqrt(hidden_size).")
    return ""


CELL_CASES = {  # one term at a time: only the copy, only the candidate, then both
    "z = 1 (b_z = 40, so h must copy h_prev)": dict(seed=11, b_z=40.0),
    "z = 0 (b_z = -40, so h is the candidate alone)": dict(seed=12, b_z=-40.0),
    "every gate strictly between 0 and 1": dict(seed=13),
}
GRADIENT_CASE = "every gate strictly between 0 and 1"  # where the backward is judged


def cell_inputs(seed):
    return random_tensor(10 * seed, B, D), random_states(10 * seed + 1, B, H)


def gradients(output, upstream, wrt):
    """d sum(output * upstream) / d each of ``wrt``, zeros where no gradient flows."""
    grads = torch.autograd.grad((output * upstream).sum(), wrt, allow_unused=True)
    return [torch.zeros_like(w) if g is None else g for w, g in zip(wrt, grads, strict=True)]


def run_cell(cell, x, h_prev, with_gradients):
    """The state the cell computes (a Seen) and, with ``with_gradients``, the gradients of
    sum(h * upstream) with respect to x, h_prev and each parameter."""
    x, h_prev = x.clone().requires_grad_(True), h_prev.clone().requires_grad_(True)
    seen = call(cell, x, h_prev, forbid=FORBID)
    record = {"h": seen}
    if with_gradients and seen.ok and isinstance(seen.result, torch.Tensor):
        record["requires grad"] = bool(seen.result.requires_grad)
        if seen.result.requires_grad:
            named = dict(cell.named_parameters())
            wrt = [x, h_prev, *(named[key] for key in GRU_KEYS)]
            record["grads"] = call(gradients, seen.result, random_tensor(99, B, H), wrt,
                                   forbid=FORBID, watch=False)
    return record


@own_random_streams()
def probe_GRUCell(GRUCell):
    built, cell = build(GRUCell, D, H)
    record = {"built": built}
    if not fits(built):
        return record
    torch.manual_seed(0)  # the decorator restores the student's random streams afterwards
    record["init"], big = build(GRUCell, *INIT_SIZES)
    if not fits(record["init"], gru_shapes(*INIT_SIZES)):
        return record
    record["init values"] = {name: p.detach().double().clone()
                             for name, p in big.named_parameters()}
    for case, fixed in CELL_CASES.items():
        loaded = call(load_params, cell, random_params(**fixed), forbid=FORBID, watch=False)
        if not loaded.ok:
            record["loaded"] = loaded
            return record
        record[case] = run_cell(cell, *cell_inputs(fixed["seed"]),
                                with_gradients=case == GRADIENT_CASE)
    return record


def reference_cell(params):
    cell = ref.GRUCell(D, H)
    load_params(cell, params)
    return cell


def cell_mistakes(p, x, h_prev):
    """What each usual mistake of GRUCell computes for one step, by name."""
    p = {key: torch.as_tensor(value) for key, value in p.items()}

    def gate(kind, bias=True):
        return torch.sigmoid(x @ p[f"W_{kind}"].T + h_prev @ p[f"U_{kind}"].T
                             + (p[f"b_{kind}"] if bias else 0))

    z, r = gate("z"), gate("r")
    a_x, a_h, b_h = x @ p["W_h"].T, h_prev @ p["U_h"].T, p["b_h"]

    def state(candidate, z=z):
        return z * h_prev + (1 - z) * candidate

    candidate = torch.tanh(a_x + r * a_h + b_h)
    return {
        "z and 1 - z swapped (h = (1 - z) * h_prev + z * h~)": (1 - z) * h_prev + z * candidate,
        "the reset gate applied before the recurrent matrix, (r * h_prev) U_h^T instead of "
        "r * (h_prev U_h^T)": state(torch.tanh(a_x + (r * h_prev) @ p["U_h"].T + b_h)),
        "b_h put inside the reset product, r * (h_prev U_h^T + b_h)":
            state(torch.tanh(a_x + r * (a_h + b_h))),
        "the candidate is not reset (r left out)": state(torch.tanh(a_x + a_h + b_h)),
        "the bias b_h of the candidate is left out": state(torch.tanh(a_x + r * a_h)),
        "the biases b_z, b_r, b_h are left out": state(
            torch.tanh(a_x + gate("r", False) * a_h), z=gate("z", False)),
        "the candidate uses sigmoid instead of tanh": state(torch.sigmoid(a_x + r * a_h + b_h)),
        "the new state is the candidate alone (the update gate is not used)": candidate,
    }


def check_state(name, value, shape):
    """A state is a float64 tensor of this shape, or a failure saying what came instead."""
    if not isinstance(value, torch.Tensor):
        fail(name, f"forward should return the new state as a torch.Tensor, got "
                   f"{describe_type(value)}.")
    check_shape(name, value, shape)
    if value.dtype != torch.float64:
        fail(name, f"with float64 weights and inputs it returned {value.dtype}: something "
                   "in forward creates a tensor of another dtype (torch.zeros(...) without "
                   "dtype=...?).")
    return value


@own_random_streams()
def judge_GRUCell(seen):
    name = "GRUCell"
    check_layout(name, seen["built"])
    found = seen["init"].value(f"{name}{INIT_SIZES}")
    if not fits(seen["init"], gru_shapes(*INIT_SIZES)):
        fail(name, f"{name}{INIT_SIZES} has the parameters {found.get('parameters')}"[:600],
             "Take each shape from input_size and hidden_size: W_* (H, D), U_* (H, H), "
             "b_* (H,).")
    check_init(name, seen["init values"], INIT_SIZES[1])
    if "loaded" in seen:
        seen["loaded"].value(f"loading weights into {name}({D}, {H}).double() by name")
    for case, fixed in CELL_CASES.items():
        params = random_params(**fixed)
        x, h_prev = cell_inputs(fixed["seed"])
        label = f"{name} with {case}: h"
        got = check_state(label, seen[case]["h"].value(label), (B, H))
        with torch.no_grad():
            expected = reference_cell(params)(x, h_prev)
            mistakes = cell_mistakes(params, x, h_prev)
        check_close(label, got, expected, causes=mistakes)
    fixed = CELL_CASES[GRADIENT_CASE]
    judge_cell_gradients(name, seen[GRADIENT_CASE], random_params(**fixed),
                         *cell_inputs(fixed["seed"]))


def judge_cell_gradients(name, seen, params, x, h_prev):
    if not seen["requires grad"]:
        fail(name, "its output does not require grad: autograd cannot differentiate it.",
             "Do not use torch.no_grad(), .detach(), .data or NumPy inside forward.")
    got = seen["grads"].value(f"{name}: autograd through your forward")
    x, h_prev = x.clone().requires_grad_(True), h_prev.clone().requires_grad_(True)
    cell = reference_cell(params)
    wrt = [x, h_prev, *(getattr(cell, key) for key in GRU_KEYS)]
    want = gradients(cell(x, h_prev), random_tensor(99, B, H), wrt)
    check_close(f"{name}: dh/dh_prev, the gradient that flows back through time", got[1],
                want[1], causes={"h_prev is detached (h_prev.detach() or .data), so no "
                                 "gradient flows back through time": torch.zeros_like(want[1])})
    for key, g, w in zip(("x", "h_prev", *GRU_KEYS), got, want, strict=True):
        check_close(f"{name}: the gradient of {key}", g, w,
                    causes={f"{key} gets no gradient (detached, or not used)": torch.zeros_like(w)})


check_GRUCell = hidden_test("GRUCell", "test_GRUCell", probe_GRUCell, judge_GRUCell)


# ---------------------------------------------------------------- GRU


def loop_cell(cell, X, h0):
    """The states that looping ``cell`` over time gives: what GRU should compute with it."""
    h, outputs = h0, []
    for t in range(X.shape[1]):
        h = cell(X[:, t], h)
        outputs.append(h)
    return torch.stack(outputs, dim=1)


def through_time(outputs, X):
    """d sum(outputs[:, -1]) / d X[:, 0]: the gradient from the last state to the first input."""
    (dX,) = torch.autograd.grad(outputs[:, -1].sum(), X, allow_unused=True)
    return torch.zeros_like(X[:, 0]) if dX is None else dX[:, 0]


def counting_calls(module):
    """Make ``module.forward`` count its calls; returns the list that grows by one per call
    and a function that removes the counter."""
    calls, forward = [], module.forward

    def counted(*args, **kwargs):
        calls.append(1)
        return forward(*args, **kwargs)

    module.forward = counted
    return calls, lambda: vars(module).pop("forward", None)


def gru_inputs():
    """A sequence with a given h0, and a shorter one to run from h0=None."""
    return random_tensor(6, B, T, D), random_states(7, B, H), random_tensor(8, 2, 3, D)


@own_random_streams()
def probe_GRU(GRU):
    built, gru = build(GRU, D, H)
    record = {"built": built}
    if not fits(built, prefix="cell."):
        return record
    record["loaded"] = call(load_params, gru, random_params(5), "cell.", forbid=FORBID,
                            watch=False)
    if not record["loaded"].ok:
        return record
    X, h0, X_short = gru_inputs()
    X = X.requires_grad_(True)
    calls, uncount = counting_calls(gru.cell)
    record["run"] = call(gru, X, h0, forbid=FORBID)
    uncount()
    record["cell calls"] = len(calls)
    record["loop"] = call(loop_cell, gru.cell, X, h0, forbid=FORBID)
    record["loop from zeros"] = call(loop_cell, gru.cell, X, torch.zeros_like(h0), forbid=FORBID)
    record["run from None"] = call(gru, X_short, forbid=FORBID)
    record["loop of the short sequence"] = call(loop_cell, gru.cell, X_short,
                                                X_short.new_zeros(2, H), forbid=FORBID)
    run, loop = record["run"].result, record["loop"].result
    if record["run"].ok and isinstance(run, tuple | list) and len(run) == 2 and isinstance(
            run[0], torch.Tensor) and run[0].shape == (B, T, H) and record["loop"].ok:
        record["through time"] = call(through_time, run[0], X, forbid=FORBID, watch=False)
        record["loop through time"] = call(through_time, loop, X, forbid=FORBID, watch=False)
        record["one step"] = call(one_step_gradient, gru.cell, X, h0, forbid=FORBID,
                                  watch=False)
    return record


def one_step_gradient(cell, X, h0):
    """d sum(cell(x_1, h0)) / d h0: whether the cell itself passes a gradient back."""
    h0 = h0.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(cell(X[:, 0].detach(), h0).sum(), h0, allow_unused=True)
    return torch.zeros_like(h0) if grad is None else grad


def gru_outputs(name, seen, shape):
    result = seen.value(name)
    if not (isinstance(result, tuple | list) and len(result) == 2):
        fail(name, f"forward should return the pair (outputs, h_last), got "
                   f"{describe_type(result)}.")
    outputs, h_last = result
    return (check_state(f"{name}: outputs", outputs, shape),
            check_state(f"{name}: h_last", h_last, (shape[0], H)))


@own_random_streams()
def judge_GRU(seen):
    name = "GRU"
    check_layout(name, seen["built"], prefix="cell.")
    seen["loaded"].value(f"loading weights into {name}({D}, {H}).cell by name")
    X, h0, X_short = gru_inputs()
    outputs, h_last = gru_outputs(f"{name}(X, h0)", seen["run"], (B, T, H))
    if seen["cell calls"] != T:
        fail(name, f"self.cell was called {seen['cell calls']} times for a sequence of {T} "
                   "steps.", "Call self.cell(x_t, h) once per time step: the hidden tests "
                   "load the weights into self.cell.")
    loop = seen["loop"].value(f"{name}: self.cell looped over the sequence")
    from_zeros = seen["loop from zeros"].value(f"{name}: self.cell looped from zeros")
    before = torch.cat([h0[:, None], loop[:, :-1]], dim=1)
    check_close(f"{name}: outputs[:, 0] with h0 given (one step of self.cell from h0)",
                outputs[:, 0], loop[:, 0], causes={
                    "h0 is ignored (the loop starts from zeros)": from_zeros[:, 0],
                    "outputs holds the states before each step (h_0 ... h_(T-1)), not after":
                        h0})
    check_close(f"{name}: outputs (self.cell looped over time, carrying the state)", outputs,
                loop, causes={"outputs holds the states before each step (h_0 ... h_(T-1)), "
                              "not after": before,
                              "h0 is ignored (the loop starts from zeros)": from_zeros})
    check_close(f"{name}: h_last", h_last, loop[:, -1], causes={
        "h_last is the first state, not the last": loop[:, 0],
        "h_last is h0 (the state is not carried)": h0})
    got = seen["through time"].value(f"{name}: autograd through your loop")
    want = seen["loop through time"].value(f"{name}: autograd through self.cell looped")
    if not seen["one step"].value(f"{name}: autograd through one step of self.cell").any():
        fail(name, "one step of self.cell passes no gradient to h_prev, so no gradient can flow "
                   "through time, whatever GRU does: fix GRUCell first (its test names the "
                   "mistake).")
    check_close(f"{name}: d outputs[:, -1] / d X[:, 0], the gradient through time", got, want,
                causes={"the state is detached between steps (h.detach()), so no gradient "
                        "flows through time": torch.zeros_like(want)})
    run_from_none = seen["run from None"]
    if not run_from_none.ok:
        kind, message, line = run_from_none.raised
        fail(name, f"with h0=None it raised {kind}: {message}"[:600], f"at: {line}" if line
             else "", "It runs with h0 given, so the state that h0=None stands for is "
                      "wrong: zeros of shape (B, H) in X's dtype, X.new_zeros(B, H).")
    short, _ = gru_outputs(f"{name}(X) with h0=None", run_from_none, (2, 3, H))
    check_close(f"{name}: outputs with h0=None (self.cell looped from zeros)", short,
                seen["loop of the short sequence"].value(f"{name}: self.cell from zeros"))
    gru = ref.GRU(D, H)
    load_params(gru, random_params(5), "cell.")
    with torch.no_grad():
        expected = gru(X, h0)[0]
    if not np.allclose(outputs.numpy(), expected.numpy(), rtol=1e-6, atol=1e-8):
        fail(name, "GRU loops self.cell correctly, but the states differ from the GRU's "
                   f"(largest difference {(outputs - expected).abs().max().item():.3g}): your "
                   "GRUCell is wrong; fix GRUCell first (its test names the mistake).")


check_GRU = hidden_test("GRU", "test_GRU", probe_GRU, judge_GRU)


# ---------------------------------------------------------------- gru_params_to_torch

TORCH_SHAPES = {"weight_ih_l0": (3 * H, D), "weight_hh_l0": (3 * H, H),
                "bias_ih_l0": (3 * H,), "bias_hh_l0": (3 * H,)}
MAPPING_SEED = 9


@own_random_streams()
def probe_gru_params_to_torch(gru_params_to_torch):
    return {"mapped": call(gru_params_to_torch, random_params(MAPPING_SEED), forbid=FORBID)}


def check_state_dict_entries(name, state_dict):
    if not isinstance(state_dict, dict):
        fail(name, f"expected a dict, got {describe_type(state_dict)}.")
    missing = sorted(set(TORCH_SHAPES) - set(state_dict))
    extra = sorted(set(state_dict) - set(TORCH_SHAPES), key=str)
    if missing or extra:
        fail(name, f"missing keys {missing}" if missing else "",
             f"unexpected keys {extra}"[:300] if extra else "",
             f"nn.GRU's state dict has exactly {sorted(TORCH_SHAPES)}.")
    for key, shape in TORCH_SHAPES.items():
        value = state_dict[key]
        if not isinstance(value, torch.Tensor):
            fail(name, f"{key} is {describe_type(value)}, not a torch.Tensor: use "
                       "torch.as_tensor / torch.cat.")
        if value.dtype != torch.float64:
            fail(name, f"{key} has dtype {value.dtype}, the weights were float64.",
                 "Keep the dtype: torch.as_tensor(array) keeps float64; torch.tensor(..., "
                 "dtype=torch.float32) or .float() does not.")
        if tuple(value.shape) == shape[::-1] and len(shape) == 2:
            fail(name, f"{key} has shape {tuple(value.shape)}, the transpose of {shape}.",
                 "PyTorch keeps weights as (out, in), like the course: stack the three "
                 "(H, D) or (H, H) blocks along dim 0, without transposing.")
        check_shape(f"{name}: {key}", value, shape)


GATE_ORDER_MISTAKE = "the course's gate order (z, r, h) instead of PyTorch's (r, z, n)"
B_H_IN_BIAS_HH = ("b_h is put in bias_hh_l0 (b_hn), which nn.GRU multiplies by r: "
                  "r * (h U_h^T + b_hn)")
BIASES_TWICE = "the biases are given twice (in bias_ih_l0 and in bias_hh_l0)"


def check_blocks(name, state_dict, params, hidden_size):
    """Block by block, each of nn.GRU's tensors holds what the course's equations need;
    the causes are what each usual mistake puts there."""
    params = {key: torch.as_tensor(value) for key, value in params.items()}
    H_ = hidden_size

    def block(key, index):
        return state_dict[key][index * H_:(index + 1) * H_]

    for key, kind in (("weight_ih_l0", "W"), ("weight_hh_l0", "U")):
        for index, (gate, course) in enumerate(zip(TORCH_GATE_ORDER, COURSE_GATE_ORDER,
                                                   strict=True)):
            check_close(f"{name}: {key} rows {index * H_}:{(index + 1) * H_} (nn.GRU's "
                        f"{TORCH_GATE_NAMES[gate]} block, {kind}_{gate})", block(key, index),
                        params[f"{kind}_{gate}"],
                        causes={GATE_ORDER_MISTAKE: params[f"{kind}_{course}"]})
    for index, gate in enumerate(TORCH_GATE_ORDER[:2]):
        total = block("bias_ih_l0", index) + block("bias_hh_l0", index)
        check_close(f"{name}: bias_ih_l0 + bias_hh_l0, rows {index * H_}:{(index + 1) * H_} "
                    f"(only their sum enters the {gate} gate: b_{gate})", total,
                    params[f"b_{gate}"], causes={
                        GATE_ORDER_MISTAKE: params[f"b_{COURSE_GATE_ORDER[index]}"],
                        BIASES_TWICE: 2 * params[f"b_{gate}"]})
    check_close(f"{name}: bias_hh_l0 rows {2 * H_}:{3 * H_} (b_hn, inside the reset product: "
                "the course's GRU has none there)", block("bias_hh_l0", 2),
                torch.zeros(H_, dtype=torch.float64), causes={B_H_IN_BIAS_HH: params["b_h"]})
    check_close(f"{name}: bias_ih_l0 rows {2 * H_}:{3 * H_} (b_in = b_h)",
                block("bias_ih_l0", 2), params["b_h"],
                causes={"b_h is left out": torch.zeros(H_, dtype=torch.float64)})


def torch_states(state_dict, X, h0):
    gru = nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    gru.load_state_dict(state_dict)
    with torch.no_grad():
        return gru(X, h0[None])[0]


@own_random_streams()
def judge_gru_params_to_torch(seen):
    name = "gru_params_to_torch"
    params = random_params(MAPPING_SEED)
    state_dict = seen["mapped"].value(name)
    check_state_dict_entries(name, state_dict)
    check_blocks(name, state_dict, params, H)
    X, h0 = random_tensor(10, B, T, D), random_states(11, B, H)
    gru = ref.GRU(D, H)
    load_params(gru, params, "cell.")
    with torch.no_grad():
        expected = gru(X, h0)[0]
    check_close(f"{name}: the states of nn.GRU loaded with your state dict", torch_states(
        state_dict, X, h0), expected)


check_gru_params_to_torch = hidden_test("gru_params_to_torch", "test_gru_params_to_torch",
                                        probe_gru_params_to_torch, judge_gru_params_to_torch)


# ---------------------------------------------------------------- train_epoch

EPOCH_NORMS = (None, 0.05, 0.0)  # no clipping, clipping at every step, clipping to zero
N_BATCHES = 6


def make_training(seed=0):
    """A small model with dropout, handed over in eval mode with gradients left from an
    earlier backward pass; its SGD-with-momentum optimizer, a loss and six batches."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.Tanh(), nn.Dropout(0.25),
                          nn.Linear(16, 1)).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    X, y = random_tensor(seed + 1, 24, 4, 2), random_tensor(seed + 2, 24, 1) + 2.0
    loader = list(zip(X.split(24 // N_BATCHES), y.split(24 // N_BATCHES), strict=True))
    model(X).pow(2).mean().backward()  # stale gradients: the epoch must not use them
    model.eval()                       # the epoch must switch to training mode itself
    return model, optimizer, nn.MSELoss(), loader


def flat(tensors):
    return torch.cat([t.detach().flatten() for t in tensors])


def watch_training(model, optimizer):
    """Hooks that record, in order, each forward pass (with the model's mode), each
    gradient that backward delivers to a parameter (and whether that parameter's .grad had
    been cleared), and each optimizer step (with the gradients it uses)."""
    params, events = list(model.parameters()), []

    def forward(module, args):
        events.append(("forward", module.training))

    def step(optimizer, args, kwargs):
        events.append(("step", [None if p.grad is None else p.grad.detach().clone()
                                for p in params]))

    def backward(index):
        def arrived(grad):
            old = params[index].grad
            events.append(("backward", index, old is None or not bool(old.any()),
                           grad.detach().clone()))
        return arrived

    handles = [model.register_forward_pre_hook(forward), optimizer.register_step_pre_hook(step)]
    handles += [p.register_hook(backward(i)) for i, p in enumerate(params)]
    return events, lambda: [handle.remove() for handle in handles]


def probe_train_epoch(train_epoch):
    record = {}
    for max_grad_norm in EPOCH_NORMS:
        with own_random_streams():
            model, optimizer, loss_fn, loader = make_training()
            events, unwatch = watch_training(model, optimizer)
            torch.manual_seed(1)
            epoch = call(train_epoch, model, loader, optimizer, loss_fn, max_grad_norm,
                         forbid=FORBID)
            unwatch()
        record[str(max_grad_norm)] = {
            "epoch": epoch, "events": events, "weights": flat(model.parameters()),
            "grads after": [None if p.grad is None else p.grad.detach().clone()
                            for p in model.parameters()]}
    return record


def batches_of(label, events):
    """The events grouped by forward pass: [{"training", "order", "cleared", "arrived",
    "steps"}], checking the mode, the zeroing and the order of each batch."""
    batches = []
    for event in events:
        if event[0] == "forward":
            batches.append({"training": event[1], "order": ["forward"], "cleared": [],
                            "arrived": {}, "steps": []})
            continue
        if not batches:
            fail(label, f"{event[0]} happens before the first forward pass.")
        batch = batches[-1]
        if batch["order"][-1] != event[0]:
            batch["order"].append(event[0])
        if event[0] == "backward":
            _, index, cleared, grad = event
            batch["cleared"].append(cleared)
            batch["arrived"][index] = batch["arrived"].get(index, 0) + grad
        else:
            batch["steps"].append(event[1])
    if any(not batch["training"] for batch in batches):
        fail(label, "the model is in eval mode during the epoch (the test hands it over in "
                    "eval mode, and dropout is then off): call model.train() at the start.")
    if len(batches) != N_BATCHES:
        fail(label, f"it ran {len(batches)} forward passes for {N_BATCHES} batches.")
    stale = [i for i, batch in enumerate(batches) if not all(batch["cleared"])]
    if any(i > 0 for i in stale):
        fail(label, "the gradients are never zeroed (optimizer.zero_grad() before each "
                    "backward pass), so they accumulate from batch to batch.")
    if stale:
        fail(label, "the gradients left from before the epoch reach the first backward pass: "
                    "call optimizer.zero_grad() before each backward pass, not after the step.")
    for i, batch in enumerate(batches):
        if batch["order"] == ["forward", "step", "backward"]:
            fail(label, "optimizer.step() comes before loss.backward(): each step uses the "
                        "gradients of the batch before.")
        if not batch["steps"]:
            fail(label, "optimizer.step() is never called on the optimizer it was given, in "
                        f"batch {i + 1}: the hooks saw {batch['order']}.")
        if len(batch["steps"]) > 1:
            fail(label, f"optimizer.step() is called {len(batch['steps'])} times in batch "
                        f"{i + 1}; once per batch is right.")
        if batch["order"] != ["forward", "backward", "step"]:
            fail(label, f"each batch should run forward, backward, step; the hooks saw "
                        f"{batch['order']} in batch {i + 1}.")
    return batches


def clipped(grads, max_grad_norm, how="global"):
    """``grads`` as the step should see them, or as a mistaken clipping leaves them."""
    if max_grad_norm is None:
        return grads
    if how == "by value":
        return [g.clamp(-max_grad_norm, max_grad_norm) for g in grads]
    groups = [[g] for g in grads] if how == "per parameter" else [grads]
    out = []
    for group in groups:
        norm = flat(group).norm().item()
        scale = max_grad_norm / (norm + 1e-6) if norm > max_grad_norm else 1.0
        out += [g * scale for g in group]
    return out


def or_zeros(grads, like):
    """Gradients with None (cleared by zero_grad) as zeros."""
    return [torch.zeros_like(w) if g is None else g for g, w in zip(grads, like, strict=True)]


def check_clipping(label, batches, grads_after, max_grad_norm):
    """The gradients each step uses are the batch's, clipped to their global norm."""
    arrived = [[b["arrived"][i] for i in sorted(b["arrived"])] for b in batches]
    stepped = flat(g for b, grads in zip(batches, arrived, strict=True)
                   for g in or_zeros(b["steps"][0], grads))
    raw = flat(g for grads in arrived for g in grads)
    after = flat(or_zeros(grads_after, arrived[-1]))
    late = max_grad_norm is not None and bool(
        torch.allclose(after, flat(clipped(arrived[-1], max_grad_norm)))
        and not torch.allclose(after, flat(arrived[-1])))
    unclipped = (
        "max_grad_norm=0 is treated like None (`if max_grad_norm:` is False for 0): test "
        "`max_grad_norm is not None`" if max_grad_norm == 0 else
        "the gradients are clipped after optimizer.step(), too late: the step used them "
        "unclipped" if late else
        "the gradients are not clipped before optimizer.step()")
    causes = {"the gradients are zeroed between backward() and step()": torch.zeros_like(raw)}
    if max_grad_norm is not None:
        causes |= {unclipped: raw,
                   "each parameter's gradient is clipped separately, not the global norm over "
                   "all of them": flat(g for grads in arrived
                                       for g in clipped(grads, max_grad_norm, "per parameter")),
                   "the gradients are clipped by value (clip_grad_value_), not by their "
                   "global norm": flat(g for grads in arrived
                                       for g in clipped(grads, max_grad_norm, "by value"))}
    expected = flat(g for grads in arrived for g in clipped(grads, max_grad_norm))
    check_close(f"{label}: the gradients optimizer.step() uses, batch by batch", stepped,
                expected, rtol=1e-5, atol=1e-9, causes=causes)


def mistaken_epoch(model, loader, optimizer, loss_fn, max_grad_norm, mistake=None):
    """One epoch with one named mistake (None: none); returns the batch losses."""
    model.eval() if mistake == "eval" else model.train()
    losses = []
    for X, y in loader:
        if mistake not in ("no zero_grad", "zero_grad at the end"):
            optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        if mistake == "step before backward":
            optimizer.step()
        loss.backward()
        if mistake != "no clip":
            nn.utils.clip_grad_norm_(model.parameters(), math.inf if max_grad_norm is None
                                     else max_grad_norm)
        if mistake != "step before backward":
            optimizer.step()
        if mistake == "zero_grad at the end":
            optimizer.zero_grad()
        losses.append(loss.item())
    return losses


EPOCH_MISTAKES = {
    "no zero_grad": "the gradients are never zeroed, so they accumulate",
    "zero_grad at the end": "the gradients left from before the epoch are used by the first step",
    "step before backward": "optimizer.step() comes before loss.backward()",
    "no clip": "the gradients are not clipped",
    "eval": "the model is in eval mode during the epoch (dropout is off)",
}


def replay(max_grad_norm, epoch):
    """``epoch`` on the seeded training setup: (its result, the batch losses, the weights)."""
    with own_random_streams():
        model, optimizer, loss_fn, loader = make_training()
        losses = []

        def recorded(prediction, target):
            loss = loss_fn(prediction, target)
            losses.append(loss.item())
            return loss

        torch.manual_seed(1)
        result = epoch(model, loader, optimizer, recorded, max_grad_norm)
    return result, losses, flat(model.parameters())


def judge_train_epoch(seen):
    name = "train_epoch"
    for max_grad_norm in EPOCH_NORMS:
        label = f"{name}(..., max_grad_norm={max_grad_norm})"
        record = seen[str(max_grad_norm)]
        mean_loss = record["epoch"].value(label)
        batches = batches_of(label, record["events"])
        check_clipping(label, batches, record["grads after"], max_grad_norm)
        expected_loss, losses, expected_weights = replay(max_grad_norm, ref.train_epoch)
        wrong = {} if torch.allclose(record["weights"], expected_weights, rtol=1e-5, atol=1e-7) \
            else {cause: replay(max_grad_norm, lambda *args, m=mistake: mistaken_epoch(
                *args, mistake=m))[2] for mistake, cause in EPOCH_MISTAKES.items()}
        check_close(f"{label}: the weights after one epoch", record["weights"],
                    expected_weights, rtol=1e-5, atol=1e-7, causes=wrong)
        if isinstance(mean_loss, bool) or not isinstance(mean_loss, float | int):
            fail(f"{label}: the returned loss", f"expected a Python float, got "
                 f"{describe_type(mean_loss)}: use loss.item() for each batch.")
        check_close(f"{label}: the returned loss (the mean of the batch losses)",
                    float(mean_loss), expected_loss, causes={
                        "it returns the last batch's loss, not the mean over batches": losses[-1],
                        "it returns the sum of the batch losses, not their mean": sum(losses)})


check_train_epoch = hidden_test("train_epoch", "test_train_epoch", probe_train_epoch,
                                judge_train_epoch)


def probe_train_epoch_value_error(train_epoch):
    with own_random_streams():
        model, optimizer, loss_fn, loader = make_training()
        return {"negative": call(train_epoch, model, loader, optimizer, loss_fn, -1.0,
                                 forbid=FORBID)}


def judge_train_epoch_value_error(seen):
    seen["negative"].raises("train_epoch", "ValueError", why="a negative max_grad_norm (-1.0)")


check_train_epoch_value_error = hidden_test(
    "train_epoch", "test_train_epoch_value_error", probe_train_epoch_value_error,
    judge_train_epoch_value_error)
