"""Hidden checks of 04_gru_pytorch: the GRU as nn.Modules, the mapping to nn.GRU, training.

Every check loads the same float64 weights into the student's module (by parameter
name) and into the reference, runs the student's code sealed, and compares outputs
and autograd gradients. The ``causes`` are what the usual mistakes compute on the
same input, so that a failure names the mistake.
"""

import math

import numpy as np
import torch
from torch import nn

from helpers import reference
from helpers.checks import check_close, check_raises, check_shape, fail
from helpers.hidden.seal import run_sealed
from helpers.reference.gru_numpy import GRU_KEYS, gru_forward

D, H, B, T = 3, 5, 4, 6
SHAPES = {"W": (H, D), "U": (H, H), "b": (H,)}


def random_params(seed=0):
    """GRU weights large enough that every gate is far from 0, 1/2 and 1."""
    rng = np.random.default_rng(seed)
    return {key: rng.normal(0.0, 0.8, size=SHAPES[key[0]]) for key in GRU_KEYS}


def random_tensor(seed, *shape):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


# ---------------------------------------------------------------- parameters and init


def check_parameter_names(name, module, prefix=""):
    """``module`` registers exactly the GRU dict's keys (under ``prefix``) with their shapes."""
    named = dict(module.named_parameters())
    if not named:
        plain = [k for k in GRU_KEYS if torch.is_tensor(getattr(module, prefix + k, None))]
        fail(name, "it has no parameters: model.parameters() is empty, so an optimizer "
                   "would never update it.",
             f"{', '.join(plain)} are plain tensors: wrap each in nn.Parameter(...)." if plain
             else "Create each weight as nn.Parameter(...) in __init__.")
    expected = {prefix + k for k in GRU_KEYS}
    if set(named) != expected:
        fail(name, f"expected parameters named {sorted(expected)}, got {sorted(named)}.",
             "Name them like the GRU dict of notebook 03: W_z, U_z, b_z, W_r, ... "
             "(the hidden tests load weights by name).")
    for key in GRU_KEYS:
        check_shape(f"{name}: parameter {prefix + key}", named[prefix + key], SHAPES[key[0]])


def load_gru_params(module, params, prefix=""):
    """Copy the dict's float64 weights into ``module``'s parameters of the same names."""
    module.double()
    named = dict(module.named_parameters())
    with torch.no_grad():
        for key in GRU_KEYS:
            named[prefix + key].copy_(torch.as_tensor(params[key]))
    return module


def check_init(name, GRUCell, input_size=4, hidden_size=64):
    """Every entry uniform(-1/sqrt(H), 1/sqrt(H)): inside the bound, filling it, not constant."""
    torch.manual_seed(0)
    cell = run_sealed(name, GRUCell, input_size, hidden_size)
    bound = 1.0 / math.sqrt(hidden_size)
    values = torch.cat([p.detach().double().flatten() for p in cell.parameters()])
    for key, p in cell.named_parameters():
        if p.numel() > 1 and torch.all(p == p.flatten()[0]):
            fail(name, f"parameter {key} holds one value everywhere ({p.flatten()[0].item():g}).",
                 "Initialise every entry at random: uniform(-1/sqrt(H), 1/sqrt(H)).")
    largest = values.abs().max().item()
    if largest > bound * (1 + 1e-6):
        fail(name, f"with hidden_size={hidden_size} an initial weight reaches {largest:.3g}, "
                   f"beyond the bound 1/sqrt(H) = {bound:.3g}.",
             "Use uniform(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (not randn, not "
             "1/sqrt(input_size)).")
    if largest < 0.95 * bound or values.std().item() < 0.8 * bound / math.sqrt(3):
        fail(name, f"with hidden_size={hidden_size} the initial weights stay within "
                   f"{largest:.3g}, well inside the bound 1/sqrt(H) = {bound:.3g}.",
             "Use uniform(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (not 1/H, not a "
             "scaled-down normal).")


# ---------------------------------------------------------------- GRUCell


def cell_variants(p, x, h_prev):
    """What the usual mistakes compute for one step, named."""
    def gate(kind, bias=True):
        return x @ p[f"W_{kind}"].T + h_prev @ p[f"U_{kind}"].T + (p[f"b_{kind}"] if bias else 0)

    z, r = torch.sigmoid(gate("z")), torch.sigmoid(gate("r"))
    candidate = torch.tanh(x @ p["W_h"].T + r * (h_prev @ p["U_h"].T) + p["b_h"])
    before = torch.tanh(x @ p["W_h"].T + (r * h_prev) @ p["U_h"].T + p["b_h"])
    z0, r0 = torch.sigmoid(gate("z", False)), torch.sigmoid(gate("r", False))
    unbiased = torch.tanh(x @ p["W_h"].T + r0 * (h_prev @ p["U_h"].T))
    no_b_h = torch.tanh(x @ p["W_h"].T + r * (h_prev @ p["U_h"].T))
    return {
        "z and 1 - z swapped (h = (1 - z) * h_prev + z * h~)": (1 - z) * h_prev + z * candidate,
        "the reset gate applied before the matrix, (r * h_prev) U_h^T, instead of "
        "r * (h_prev U_h^T)": z * h_prev + (1 - z) * before,
        "the biases b_z, b_r, b_h are left out": z0 * h_prev + (1 - z0) * unbiased,
        "the bias b_h of the candidate is left out": z * h_prev + (1 - z) * no_b_h,
        "the candidate is not reset (r left out)": z * h_prev + (1 - z) * torch.tanh(
            x @ p["W_h"].T + h_prev @ p["U_h"].T + p["b_h"]),
        "the new state is the candidate alone (the update gate is not used)": candidate,
    }


def gradients(output, weights, wrt):
    """d (output * weights).sum() / d each of ``wrt`` (zeros where none flows)."""
    grads = torch.autograd.grad((output * weights).sum(), wrt, allow_unused=True)
    return [torch.zeros_like(w) if g is None else g for w, g in zip(wrt, grads, strict=True)]


def check_gradient_present(name, output):
    if not output.requires_grad:
        fail(name, "its output does not require grad: autograd cannot differentiate it.",
             "Do not use torch.no_grad(), .detach(), .data or NumPy inside forward.")


def check_GRUCell(GRUCell):
    name = "GRUCell"
    cell = run_sealed(name, GRUCell, D, H)
    if not isinstance(cell, nn.Module):
        fail(name, "GRUCell(...) is not an nn.Module: subclass nn.Module and call "
                   "super().__init__().")
    check_parameter_names(name, cell)
    check_init(name, GRUCell)
    params = random_params(1)
    load_gru_params(cell, params)
    expected_cell = load_gru_params(reference.GRUCell(D, H), params)
    x, h_prev = random_tensor(2, B, D), random_tensor(3, B, H)
    x_copy, h_copy = x.clone(), h_prev.clone()
    x.requires_grad_(True)
    h_prev.requires_grad_(True)
    h = run_sealed(name, cell, x, h_prev)
    if not torch.is_tensor(h):
        fail(name, f"forward should return the new state as a tensor, got {type(h).__name__}.")
    expected = expected_cell(x, h_prev)
    p = {k: torch.as_tensor(v) for k, v in params.items()}
    check_close("GRUCell: the new state h", h, expected, dtype=np.float64,
                causes={k: v.detach() for k, v in cell_variants(p, x, h_prev).items()})
    if not (torch.equal(x.detach(), x_copy) and torch.equal(h_prev.detach(), h_copy)):
        fail(name, "forward changed its input x or h_prev in place.")
    check_gradient_present(name, h)
    upstream = random_tensor(4, B, H)
    wrt = [x, h_prev, *[dict(cell.named_parameters())[k] for k in GRU_KEYS]]
    got = gradients(h, upstream, wrt)
    want = gradients(expected, upstream, [x, h_prev, *[getattr(expected_cell, k)
                                                        for k in GRU_KEYS]])
    check_close("GRUCell: dh/dh_prev (the gradient that flows back through time)", got[1],
                want[1], causes={"the state is detached (h_prev.detach() or .data), so no "
                                 "gradient flows back through time": torch.zeros_like(want[1])})
    for key, g, w in zip(("x", "h_prev", *GRU_KEYS), got, want, strict=True):
        check_close(f"GRUCell: the gradient of {key}", g, w,
                    causes={f"{key} gets no gradient (detached, or not used)": torch.zeros_like(w)})


# ---------------------------------------------------------------- GRU


def count_calls(module):
    """Make ``module.forward`` count its calls (through module(...) or module.forward(...))."""
    calls = []
    forward = module.forward

    def counted(*args, **kwargs):
        calls.append(1)
        return forward(*args, **kwargs)

    module.forward = counted
    return calls


def loop_cell(cell, X, h0):
    """The states that looping ``cell`` over time gives: what GRU should compute with it."""
    h, outputs = h0, []
    for t in range(X.shape[1]):
        h = cell(X[:, t], h)
        outputs.append(h)
    return torch.stack(outputs, dim=1)


def run_gru(name, gru, X, h0=None):
    if h0 is not None:
        result = run_sealed(name, gru, X, h0)
    else:
        try:
            result = run_sealed(name, gru, X)
        except (RuntimeError, TypeError, AttributeError) as error:
            fail(name, f"with h0=None it raised {type(error).__name__}: {error}",
                 "h0=None means a state of zeros of shape (B, H) in X's dtype: "
                 "X.new_zeros(B, H).")
    if not (isinstance(result, tuple) and len(result) == 2):
        fail(name, "forward should return the pair (outputs, h_last), "
                   f"got {type(result).__name__}.")
    outputs, h_last = result
    check_shape(f"{name}: outputs", outputs, (X.shape[0], X.shape[1], H))
    check_shape(f"{name}: h_last", h_last, (X.shape[0], H))
    return outputs, h_last


def check_GRU(GRU):
    name = "GRU"
    gru = run_sealed(name, GRU, D, H)
    if not isinstance(getattr(gru, "cell", None), nn.Module):
        fail(name, "it has no module self.cell: store a GRUCell as self.cell in __init__ "
                   "and loop it over time in forward.")
    check_parameter_names(name, gru, prefix="cell.")
    params = random_params(5)
    load_gru_params(gru, params, prefix="cell.")
    expected_gru = load_gru_params(reference.GRU(D, H), params, prefix="cell.")
    X, h0 = random_tensor(6, B, T, D).requires_grad_(True), random_tensor(7, B, H)
    calls = count_calls(gru.cell)
    outputs, h_last = run_gru(name, gru, X, h0)
    if len(calls) != T:
        fail(name, f"self.cell was called {len(calls)} times for a sequence of {T} steps.",
             "Call self.cell(x_t, h) once per time step: the hidden tests load the weights "
             "into self.cell.")
    expected, expected_last = expected_gru(X, h0)
    own_loop = run_sealed(name, loop_cell, gru.cell, X, h0)
    check_close("GRU: outputs", outputs, expected, dtype=np.float64, causes={
        "your GRUCell is wrong (GRU loops it correctly): fix GRUCell first": own_loop.detach(),
        "h0 is ignored (the loop starts from zeros)": expected_gru(X)[0].detach(),
        "outputs holds the states before each step (h_0 ... h_(T-1)), not after": torch.cat(
            [h0[:, None], expected[:, :-1]], dim=1).detach(),
    })
    check_close("GRU: h_last", h_last, expected_last, causes={
        "h_last is the first state, not the last": expected[:, 0].detach(),
        "h_last is h0 (the state is not carried)": h0})
    check_gradient_present(name, outputs)
    got = torch.autograd.grad(outputs[:, -1].sum(), X)[0]
    want = torch.autograd.grad(expected[:, -1].sum(), X)[0]
    check_close("GRU: d outputs[:, -1] / d X[:, 0] (the gradient through time)", got[:, 0],
                want[:, 0], causes={"the state is detached between steps (h.detach()), so no "
                                    "gradient flows through time": torch.zeros_like(want[:, 0])})
    X_short = random_tensor(8, 2, 3, D)
    outputs_none, _ = run_gru(name, gru, X_short)
    check_close("GRU: outputs with h0=None", outputs_none, expected_gru(X_short)[0],
                hint="h0=None means a state of zeros of shape (B, H), in X's dtype.")


# ---------------------------------------------------------------- gru_params_to_torch


def stack(params, kind, order):
    return torch.cat([torch.as_tensor(params[f"{kind}_{gate}"]) for gate in order])


def wrong_mappings(params):
    """State dicts for the usual mistakes of the mapping, named."""
    zeros = torch.zeros(3 * H, dtype=torch.float64)
    b = stack(params, "b", "rzh")
    b_without_h = torch.cat([b[:2 * H], zeros[:H]])
    return {
        "gate order z, r, n (PyTorch stacks r, z, n)": {
            "weight_ih_l0": stack(params, "W", "zrh"), "weight_hh_l0": stack(params, "U", "zrh"),
            "bias_ih_l0": stack(params, "b", "zrh"), "bias_hh_l0": zeros},
        "b_h is put in bias_hh_l0, which nn.GRU multiplies by r: r * (h U_h^T + b_hn)": {
            "weight_ih_l0": stack(params, "W", "rzh"), "weight_hh_l0": stack(params, "U", "rzh"),
            "bias_ih_l0": b_without_h, "bias_hh_l0": torch.cat([zeros[:2 * H], b[2 * H:]])},
        "the biases are given twice (in bias_ih_l0 and in bias_hh_l0)": {
            "weight_ih_l0": stack(params, "W", "rzh"), "weight_hh_l0": stack(params, "U", "rzh"),
            "bias_ih_l0": b, "bias_hh_l0": b},
    }


def torch_states(state_dict, X, h0):
    gru = nn.GRU(D, H, batch_first=True).double()
    gru.load_state_dict(state_dict)
    with torch.no_grad():
        return gru(X, h0[None])[0]


EXPECTED_SHAPES = {"weight_ih_l0": (3 * H, D), "weight_hh_l0": (3 * H, H),
                   "bias_ih_l0": (3 * H,), "bias_hh_l0": (3 * H,)}


def check_state_dict_entries(name, state_dict):
    if not isinstance(state_dict, dict):
        fail(name, f"expected a dict, got {type(state_dict).__name__}.")
    missing = sorted(set(EXPECTED_SHAPES) - set(state_dict))
    extra = sorted(set(state_dict) - set(EXPECTED_SHAPES))
    if missing or extra:
        fail(name, f"missing keys {missing}" if missing else "",
             f"unexpected keys {extra}" if extra else "",
             f"nn.GRU's state dict has exactly {sorted(EXPECTED_SHAPES)}.")
    for key, shape in EXPECTED_SHAPES.items():
        value = state_dict[key]
        if not torch.is_tensor(value):
            fail(name, f"{key} is {type(value).__name__}, not a torch.Tensor: "
                       "use torch.as_tensor / torch.cat.")
        if tuple(value.shape) == shape[::-1] and len(shape) == 2:
            fail(name, f"{key} has shape {tuple(value.shape)}, the transpose of {shape}.",
                 "PyTorch keeps weights as (out, in), like the course: stack W_r, W_z, W_h "
                 "along dim 0 without transposing.")
        check_shape(f"{name}: {key}", value, shape)
        if value.dtype != torch.float64:
            fail(name, f"{key} has dtype {value.dtype}, the weights were float64.",
                 "Keep the dtype: torch.as_tensor(array) keeps float64, torch.tensor(..., "
                 "dtype=torch.float32) or .float() does not.")


def check_gru_params_to_torch(gru_params_to_torch):
    name = "gru_params_to_torch"
    params = random_params(9)
    copies = {k: v.copy() for k, v in params.items()}
    state_dict = run_sealed(name, gru_params_to_torch, params)
    check_state_dict_entries(name, state_dict)
    if any(not np.array_equal(params[k], copies[k]) for k in GRU_KEYS):
        fail(name, "it changed the params dict it was given: build new tensors.")
    X, h0 = random_tensor(10, B, T, D), random_tensor(11, B, H)
    expected = torch.as_tensor(gru_forward(X.numpy(), h0.numpy(), params)[0])
    got = torch_states({k: v.detach() for k, v in state_dict.items()}, X, h0)
    check_close("gru_params_to_torch: the states of nn.GRU loaded with your state dict", got,
                expected, causes={mistake: torch_states(sd, X, h0)
                                  for mistake, sd in wrong_mappings(params).items()},
                hint="nn.GRU must compute the course's equations: gates stacked r, z, n, "
                     "b_h outside the reset product.")


# ---------------------------------------------------------------- train_epoch


def make_training(seed=0):
    """A small model with dropout, its SGD-with-momentum optimizer, a loss and six batches."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.Tanh(), nn.Dropout(0.25),
                          nn.Linear(16, 1)).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    X, y = random_tensor(seed + 1, 24, 4, 2), random_tensor(seed + 2, 24, 1) + 2.0
    loader = list(zip(X.split(4), y.split(4), strict=True))
    # gradients left by an earlier backward pass: the epoch must not use them
    model(X).pow(2).mean().backward()
    return model, optimizer, nn.MSELoss(), loader


def flat_weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def clip(model, max_grad_norm, how):
    if max_grad_norm is None:
        return
    if how == "global":
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    elif how == "per parameter":
        for p in model.parameters():
            nn.utils.clip_grad_norm_([p], max_grad_norm)
    elif how == "by value":
        nn.utils.clip_grad_value_(model.parameters(), max_grad_norm)


def mistaken_epoch(model, loader, optimizer, loss_fn, max_grad_norm, mistake):
    """One epoch with one named mistake; returns the batch losses."""
    model.eval() if mistake == "eval" else model.train()
    losses = []
    for X, y in loader:
        if mistake not in ("no zero_grad", "zero_grad at the end"):
            optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        if mistake == "step before backward":
            optimizer.step()
        loss.backward()
        if mistake not in ("no clip", "clip after step"):
            clip(model, max_grad_norm, {"clip per parameter": "per parameter",
                                        "clip by value": "by value"}.get(mistake, "global"))
        if mistake != "step before backward":
            optimizer.step()
        if mistake == "zero_grad at the end":
            optimizer.zero_grad()
        losses.append(loss.item())
    return losses


EPOCH_MISTAKES = {
    "no zero_grad": "the gradients are never zeroed (optimizer.zero_grad() missing before "
                    "each backward pass), so they accumulate",
    "zero_grad at the end": "the gradients left from before the epoch are used by the first "
                            "step: call optimizer.zero_grad() before each backward pass, "
                            "not after the step",
    "step before backward": "optimizer.step() comes before loss.backward()",
    "no clip": "the gradients are not clipped (or clipped after optimizer.step(), too late)",
    "clip per parameter": "each parameter's gradient is clipped separately, not the global "
                          "norm over all of them",
    "clip by value": "the gradients are clipped by value (clip_grad_value_), not by their "
                     "global norm",
    "eval": "the model is put in eval mode (model.eval()) while training: dropout is off",
}


def run_epoch(name, train_epoch, max_grad_norm):
    model, optimizer, loss_fn, loader = make_training()
    torch.manual_seed(1)
    mean_loss = run_sealed(name, train_epoch, model, loader, optimizer, loss_fn, max_grad_norm)
    return mean_loss, flat_weights(model)


def expected_epoch(max_grad_norm, mistake=None):
    model, optimizer, loss_fn, loader = make_training()
    torch.manual_seed(1)
    if mistake is None:
        mean_loss = reference.train_epoch(model, loader, optimizer, loss_fn, max_grad_norm)
        return mean_loss, flat_weights(model)
    losses = mistaken_epoch(model, loader, optimizer, loss_fn, max_grad_norm, mistake)
    return losses, flat_weights(model)


def check_train_epoch(train_epoch):
    name = "train_epoch"
    for max_grad_norm in (0.05, None):
        label = f"train_epoch(..., max_grad_norm={max_grad_norm})"
        mean_loss, weights = run_epoch(name, train_epoch, max_grad_norm)
        expected_loss, expected_weights = expected_epoch(max_grad_norm)
        wrong = {EPOCH_MISTAKES[m]: expected_epoch(max_grad_norm, m) for m in EPOCH_MISTAKES}
        check_close(f"{label}: the weights after one epoch", weights, expected_weights,
                    rtol=1e-5, atol=1e-7,
                    causes={m: w for m, (_, w) in wrong.items()},
                    hint="each batch: optimizer.zero_grad(), forward, loss, loss.backward(), "
                         "clip the global norm, optimizer.step().")
        if torch.is_tensor(mean_loss) or not isinstance(mean_loss, (float, int)):
            fail(f"{label}: the returned loss", f"expected a Python float, got "
                 f"{type(mean_loss).__name__}: use loss.item() for each batch.")
        losses, _ = expected_epoch(max_grad_norm, "none")
        check_close(f"{label}: the returned loss", float(mean_loss), expected_loss, causes={
            "it returns the last batch's loss, not the mean over batches": losses[-1],
            "it returns the sum of the batch losses, not their mean": sum(losses)})
    model, optimizer, loss_fn, loader = make_training()
    check_raises(name, train_epoch, model, loader, optimizer, loss_fn, -1.0,
                 why="a negative max_grad_norm")
