"""Hidden tests of 05_overfitting_regularization: one check per graded name.

Each check builds seeded inputs, computes what is expected with
``helpers.reference`` (or PyTorch's own optimiser and modules), runs the
student's code sealed, and names the known mistake that fits what came back.
"""

import math

import numpy as np
import torch
from torch import nn

from helpers import reference as ref
from helpers.checks import (
    as_array,
    check_close,
    check_inputs_unchanged,
    check_raises,
    check_shape,
    describe,
    fail,
)
from helpers.hidden.seal import run_sealed, sealed


def _unpack_pair(name, result):
    if not isinstance(result, tuple) or len(result) != 2:
        fail(name, f"expected a tuple of two values, got {describe(result)}.")
    return result


# ---------------------------------------------------------------- standardize

def _scaled(X, mean, std):
    return (X - mean) / np.where(std > 0, std, 1.0)


def _standardize_cases(rng):
    """Features on very different scales, a constant one (index 3), and another set with
    other statistics, so that each mistaken choice of statistics gives another output."""
    X_train = rng.normal([5.0, -3.0, 100.0, 7.0], [2.0, 0.5, 30.0, 0.0], size=(40, 4))
    X_other = rng.normal([6.0, -2.0, 80.0, 9.0], [3.0, 1.0, 10.0, 1.0], size=(15, 4))
    return X_train, X_other


def check_standardize(standardize):
    name = "standardize"
    X_train, X_other = _standardize_cases(np.random.default_rng(0))
    expected = ref.standardize(X_train, X_other)
    result = check_inputs_unchanged(name, run_sealed, name, standardize, X_train, X_other)
    got_train, got_other = _unpack_pair(name, result)
    if np.isnan(as_array(got_train)).any() or np.isnan(as_array(got_other)).any():
        fail(name, "the result holds NaN: feature 3 is constant in X_train, its standard "
                   "deviation is 0, and dividing by it gives 0/0.",
             "Only centre a feature whose standard deviation is 0 (divide it by 1).")
    both = np.concatenate([X_train, X_other])
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    stats = {
        "the statistics were computed from X_other instead of X_train":
            (X_other.mean(axis=0), X_other.std(axis=0)),
        "the statistics were computed from both sets together (only the training set may "
        "be used: the other set stands for data the model has not seen)":
            (both.mean(axis=0), both.std(axis=0)),
        "the sample standard deviation (ddof=1) was used instead of NumPy's default ddof=0":
            (mean, X_train.std(axis=0, ddof=1)),
        "the data was not centred (only divided by the standard deviation)": (0.0, std),
        "the data was centred but not divided by the standard deviation": (mean, np.zeros(4)),
    }
    for part, X, got, want in (("X_train_std", X_train, got_train, expected[0]),
                               ("X_other_std", X_other, got_other, expected[1])):
        causes = {cause: _scaled(X, m, s) for cause, (m, s) in stats.items()}
        causes["each set was standardised with its own statistics"] = _scaled(
            X, X.mean(axis=0), X.std(axis=0))
        left_alone = _scaled(X, mean, std)
        left_alone[:, 3] = X[:, 3]
        causes["the constant feature was left as it was instead of being centred"] = left_alone
        check_close(f"{name}: {part}", got, want, causes=causes, dtype=np.float64)
    check_raises(name, standardize, X_train, X_other[:, :3],
                 why="sets with different numbers of features (4 and 3)")


# ---------------------------------------------------------------- dropout_forward

def _mask_of(name, result, shape):
    out, mask = _unpack_pair(name, result)
    if mask is None:
        fail(name, "in training mode the mask is None: dropout must drop units while training.")
    check_shape(f"{name}: mask", mask, shape)
    check_shape(f"{name}: out", out, shape)
    return as_array(out), as_array(mask).astype(np.float64)


def _check_dropout_eval(dropout_forward, x):
    name = "dropout_forward(x, p=0.3, training=False, rng)"
    out, mask = _unpack_pair(name, run_sealed(name, dropout_forward, x, 0.3, False,
                                              np.random.default_rng(1)))
    check_close(f"{name}: out", out, x, causes={
        "non-inverted dropout: the output was scaled by 1 - p at evaluation (inverted "
        "dropout scales the kept units by 1 / (1 - p) while training instead)": x * 0.7,
    }, hint="dropout is active in evaluation too: not training, return (x, None) unchanged.")
    if mask is not None:
        fail(name, f"the mask should be None when not training, got {describe(mask)}.",
             "Dropout is active in training only.")


def _check_dropout_values(name, mask, p):
    values = set(np.unique(mask).round(9).tolist())
    keep_scale = round(1.0 / (1.0 - p), 9)
    if values <= {0.0, keep_scale}:
        return
    if values <= {0.0, 1.0}:
        cause = ("the mask holds 0 and 1 without the rescaling by 1 / (1 - p), so the "
                 "output's expected value shrinks to (1 - p) x")
    elif values <= {0.0, round(1.0 / p, 9)}:
        cause = "p was used as the keep probability (scale 1 / p) instead of the drop probability"
    else:
        cause = "the mask should only hold 0 and 1 / (1 - p)"
    fail(name, f"expected mask values in {{0, {keep_scale:g}}} for p = {p}, "
               f"got {sorted(values)[:6]}.", f"Likely cause: {cause}.")


def _check_dropout_statistics(name, x, out, mask, p):
    check_close(f"{name}: out", out, x * mask, hint="out must be x * mask.", dtype=np.float64)
    dropped = float((mask == 0).mean())
    tolerance = 5 * math.sqrt(p * (1 - p) / mask.size)  # five binomial standard deviations
    if abs(dropped - p) > tolerance:
        cause = ("p was used as the keep probability instead of the drop probability"
                 if abs(dropped - (1 - p)) <= tolerance else "units are not dropped with "
                 "probability p, independently")
        fail(name, f"a fraction {dropped:.3f} of the units was dropped, expected about p = {p} "
                   f"(within {tolerance:.3f}).", f"Likely cause: {cause}.")
    kept_mean = float(out.mean() / x.mean())
    if abs(kept_mean - 1.0) > 5 * math.sqrt(p / (1 - p) / mask.size):
        fail(name, f"dropout should keep the mean: mean(out) / mean(x) = {kept_mean:.3f}, "
                   "expected about 1.", "Scale the kept units by 1 / (1 - p).")


def _check_dropout_uses_rng(dropout_forward, x, p):
    """Two calls with generators of the same seed give the same mask, whatever the global
    generators of NumPy and PyTorch hold."""
    name = f"dropout_forward(x, p={p}, training=True, rng)"
    masks, numpy_state, torch_state = [], np.random.get_state(), torch.get_rng_state()
    try:
        for global_seed in (11, 12):
            np.random.seed(global_seed)
            torch.manual_seed(global_seed)
            result = run_sealed(name, dropout_forward, x, p, True, np.random.default_rng(7))
            masks.append(_mask_of(name, result, x.shape)[1])
    finally:
        np.random.set_state(numpy_state)
        torch.set_rng_state(torch_state)
    if not np.array_equal(masks[0], masks[1]):
        fail(name, "two calls with generators of the same seed drew different masks.",
             "Likely cause: the mask was drawn with np.random (or torch) instead of the "
             "given rng: draw it with rng.random(...) or rng.binomial(...) so runs repeat.")


def check_dropout_forward(dropout_forward):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 1.5, size=(100, 80))
    for bad_p in (1.0, -0.1):
        check_raises("dropout_forward", dropout_forward, x, bad_p, True, rng,
                     why=f"a drop probability p = {bad_p} (outside [0, 1))")
    _check_dropout_eval(dropout_forward, x)
    for p in (0.2, 0.6):
        name = f"dropout_forward(x, p={p}, training=True, rng)"
        result = check_inputs_unchanged(name, run_sealed, name, dropout_forward, x, p, True,
                                        np.random.default_rng(3))
        out, mask = _mask_of(name, result, x.shape)
        _check_dropout_values(name, mask, p)
        _check_dropout_statistics(name, x, out, mask, p)
    _check_dropout_uses_rng(dropout_forward, x, 0.2)
    name = "dropout_forward(x, p=0.0, training=True, rng)"
    out, mask = _mask_of(name, run_sealed(name, dropout_forward, x, 0.0, True, rng), x.shape)
    check_close(f"{name}: out", out, x, hint="p = 0 drops nothing: the mask is all ones.")


# ---------------------------------------------------------------- penalties

def _penalty_weights():
    """float64 leaves of several shapes with both signs, none at 0."""
    generator = torch.Generator().manual_seed(0)
    shapes = [(4, 3), (4,), (2, 4)]
    return [torch.randn(s, generator=generator, dtype=torch.float64).requires_grad_()
            for s in shapes]


def _differentiable_value(name, penalty, weights, expected, causes):
    before = [w.detach().clone() for w in weights]
    value = run_sealed(name, penalty, weights)
    if not isinstance(value, torch.Tensor):
        fail(name, f"expected a torch.Tensor, got {describe(value)}.",
             "A Python float (from .item(), float() or NumPy) cannot be differentiated: "
             "the penalty would not change the weights. Build it from torch operations.")
    check_close(f"{name}: value", value, expected, causes=causes)
    if not value.requires_grad or value.grad_fn is None:
        fail(name, "the penalty is detached from the weights (no grad_fn).",
             "Likely cause: .detach(), .data, torch.tensor(...) or NumPy in between: the "
             "gradient of the penalty would never reach the weights.")
    for w in weights:
        w.grad = None
    value.backward()
    for w, old in zip(weights, before, strict=True):
        if not torch.equal(w.detach(), old):
            fail(name, "it modified the weights in place.", "Compute a new tensor instead.")
    return [w.grad for w in weights]


def _check_grads(name, grads, expected, causes):
    for i, (grad, want) in enumerate(zip(grads, expected, strict=True)):
        if grad is None:
            fail(name, f"weights[{i}] got no gradient: it is left out of the penalty.")
        check_close(f"{name}: gradient of weights[{i}]", grad, want,
                    causes={cause: c[i] for cause, c in causes.items()})


def check_l1_penalty(l1_penalty):
    name = "l1_penalty"
    weights = _penalty_weights()
    flat = torch.cat([w.detach().flatten() for w in weights])
    causes = {
        "the sum of the weights without abs() (L1 is the sum of |w|)": flat.sum(),
        "the mean of |w| instead of the sum": flat.abs().mean(),
        "the sum of squares (that is the L2 penalty)": (flat**2).sum(),
    }
    grads = _differentiable_value(name, l1_penalty, weights, ref.l1_penalty(weights), causes)
    _check_grads(name, grads, [torch.sign(w.detach()) for w in weights], {
        "abs() is missing: the gradient of the sum of w is 1 everywhere":
            [torch.ones_like(w) for w in weights]})


def check_l2_penalty(l2_penalty):
    name = "l2_penalty"
    weights = _penalty_weights()
    flat = torch.cat([w.detach().flatten() for w in weights])
    total = (flat**2).sum()
    causes = {
        "the norm sqrt(sum w^2) instead of its square": total.sqrt(),
        "a factor 1/2 (the penalty is the plain sum of squares)": total / 2,
        "the sum of the per-tensor norms instead of the sum of squares":
            sum(w.detach().norm() for w in weights),
        "the sum of |w| (that is the L1 penalty)": flat.abs().sum(),
        "the mean of the squares instead of the sum": (flat**2).mean(),
    }
    grads = _differentiable_value(name, l2_penalty, weights, ref.l2_penalty(weights), causes)
    _check_grads(name, grads, [2 * w.detach() for w in weights], {
        "a factor 1/2: the gradient came out w instead of 2w": [w.detach() for w in weights],
        "the norm instead of its square: the gradient came out w / ||w||":
            [w.detach() / total.sqrt() for w in weights]})


def check_elastic_net_penalty(elastic_net_penalty):
    weights = _penalty_weights()
    flat = torch.cat([w.detach().flatten() for w in weights])
    l1_value, l2_value = flat.abs().sum(), (flat**2).sum()
    # One term at a time first, so that a failure names the term that is wrong.
    for l1, l2 in ((0.3, 0.0), (0.0, 0.05), (0.3, 0.05)):
        name = f"elastic_net_penalty(weights, l1={l1}, l2={l2})"
        causes = {
            "l1 and l2 swapped (l1 must scale the sum of |w|, l2 the sum of squares)":
                l2 * l1_value + l1 * l2_value,
            "the L1 term is missing": l2 * l2_value,
            "the L2 term is missing": l1 * l1_value,
            "the L2 term used the norm instead of its square": l1 * l1_value
                + l2 * l2_value.sqrt(),
            "the strengths were not applied (l1_penalty + l2_penalty)": l1_value + l2_value,
        }
        expected = ref.elastic_net_penalty(weights, l1, l2)
        grads = _differentiable_value(name, lambda w, a=l1, b=l2: elastic_net_penalty(w, a, b),
                                      weights, expected, causes)
        _check_grads(name, grads, [l1 * torch.sign(w.detach()) + 2 * l2 * w.detach()
                                   for w in weights], {})
    check_raises("elastic_net_penalty", elastic_net_penalty, weights, -0.1, 0.05,
                 why="a negative strength l1 = -0.1")


# ---------------------------------------------------------------- sgd_step_weight_decay

def torch_sgd_step(w, grad, lr, weight_decay):
    """The oracle: one step of torch.optim.SGD(lr, weight_decay), no momentum."""
    param = torch.nn.Parameter(torch.tensor(w, dtype=torch.float64))
    param.grad = torch.tensor(grad, dtype=torch.float64)
    torch.optim.SGD([param], lr=lr, weight_decay=weight_decay).step()
    return param.detach().numpy()


def check_sgd_step_weight_decay(sgd_step_weight_decay):
    rng = np.random.default_rng(0)
    w, grad = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    lr = 0.1
    # One term at a time: no decay, then no loss gradient, then both.
    for g, wd in ((grad, 0.0), (np.zeros_like(grad), 0.2), (grad, 0.2)):
        name = f"sgd_step_weight_decay(w, grad, lr={lr}, weight_decay={wd})"
        got = check_inputs_unchanged(name, run_sealed, name, sgd_step_weight_decay,
                                     w, g, lr, wd)
        after_step = w - lr * g
        causes = {
            "a sign error: weight decay must pull w towards 0 (w - lr * (grad + wd * w))":
                w - lr * (g - wd * w),
            "the step goes up the gradient (w + lr * ...)": w + lr * (g + wd * w),
            "the decay is not multiplied by the learning rate": w - lr * g - wd * w,
            "the decay was applied after the step, to the updated weights":
                after_step - lr * wd * after_step,
            "the decay is 2 * wd * w: SGD's weight_decay is the gradient of "
            "(wd / 2) * sum(w^2), so the decay term is wd * w": w - lr * (g + 2 * wd * w),
            "the weight decay was left out": after_step,
        }
        check_close(name, got, torch_sgd_step(w, g, lr, wd), causes=causes, dtype=np.float64)
    check_raises("sgd_step_weight_decay", sgd_step_weight_decay, w, grad[:, :2], lr, 0.1,
                 why="w of shape (5, 3) with grad of shape (5, 2)")


# ---------------------------------------------------------------- EarlyStopping

def _stop_call(losses, patience, min_delta=0.0, improved=lambda loss, best, d: loss < best - d):
    """The 0-based call at which a stopper with this improvement test first says stop, or -1."""
    best, waited = math.inf, 0
    for call, loss in enumerate(losses):
        if improved(loss, best, min_delta):
            best, waited = loss, 0
        else:
            waited += 1
        if waited >= patience:
            return call
    return -1


def _feed(stopper, losses, model=None, train_step=None):
    """Feed ``losses`` to ``stopper.step`` like a training loop; the call that said stop."""
    for call, loss in enumerate(losses):
        if train_step is not None:
            train_step()
        if stopper.step(loss, model) if model is not None else stopper.step(loss):
            return call
    return -1


def _run_stopper(name, stopper, losses, model=None, train_step=None):
    with sealed(name):
        return _feed(stopper, losses, model, train_step)


def _check_stop_call(name, got, losses, patience, min_delta):
    expected = _stop_call(losses, patience, min_delta)
    causes = {
        "patience off by one: it stops one call too early": expected - 1,
        "patience off by one: it stops one call too late": expected + 1,
        "a loss equal to the best counts as an improvement (<= instead of <)":
            _stop_call(losses, patience, min_delta, lambda loss, best, d: loss <= best - d),
    }
    if min_delta:
        causes["min_delta is ignored (an improvement must beat best_loss - min_delta)"] = (
            _stop_call(losses, patience, 0.0))
    check_close(f"{name}: the call (0-based, -1 for never) at which step first returned True",
                got, expected, causes={k: v for k, v in causes.items() if v != expected})


def _attribute(name, obj, attribute):
    if not hasattr(obj, attribute):
        fail(name, f"it has no attribute {attribute}: set it in __init__ and update it in step.")
    return getattr(obj, attribute)


def _check_best(name, stopper, expected):
    check_close(f"{name}: best_epoch", _attribute(name, stopper, "best_epoch"),
                expected.best_epoch, causes={
                    "best_epoch counts from 1 (it is the 0-based count of step calls)":
                        expected.best_epoch + 1})
    check_close(f"{name}: best_loss", _attribute(name, stopper, "best_loss"), expected.best_loss)


def _flat_state(state):
    return np.concatenate([as_array(v).ravel() for v in state.values()])


def _check_best_state(EarlyStopping):
    name = "EarlyStopping(patience=3) with a model"
    losses = [1.0, 0.5, 0.6, 0.7, 0.8]
    model = nn.Linear(3, 2).double()
    snapshots = []

    def train_step():  # an optimiser updates the weights in place
        with torch.no_grad():
            for param in model.parameters():
                param.add_(1.0)
        snapshots.append(_flat_state(model.state_dict()).copy())

    stopper = run_sealed(name, EarlyStopping, 3)
    _run_stopper(name, stopper, losses, model, train_step)
    state = getattr(stopper, "best_state", None)
    if not hasattr(state, "keys"):
        fail(name, f"best_state should be a copy of model.state_dict(), got {describe(state)}.")
    if list(state.keys()) != list(model.state_dict().keys()):
        fail(name, f"best_state has the keys {list(state.keys())}, expected "
                   f"{list(model.state_dict().keys())} (those of model.state_dict()).")
    stored = _flat_state(state).copy()
    train_step()
    if not np.array_equal(_flat_state(state), stored):
        fail(name, "best_state changed when the model was trained further.",
             "Likely cause: best_state is model.state_dict() itself or a shallow copy: its "
             "tensors are the model's live weights, which training goes on changing; store "
             "copies (v.clone() or copy.deepcopy).")
    check_close(f"{name}: best_state (the weights at the best call, 1)", stored,
                snapshots[1], causes={
                    "the state is saved at every call, not only at an improvement":
                        snapshots[-2],
                    "the state is saved at the first call only": snapshots[0]})


def check_EarlyStopping(EarlyStopping):
    check_raises("EarlyStopping", EarlyStopping, 0, why="patience=0")
    check_raises("EarlyStopping", EarlyStopping, 2, -0.1, why="min_delta=-0.1")
    # A tie with the best loss (call 3), then min_delta that a small gain does not beat.
    for losses, patience, min_delta in (
        ([1.0, 0.7, 0.8, 0.7, 0.75, 0.72, 0.9, 0.6, 0.65], 3, 0.0),
        ([1.0, 0.97, 0.96, 0.99, 0.9, 0.88, 0.87], 2, 0.05),
    ):
        name = f"EarlyStopping(patience={patience}, min_delta={min_delta})"
        expected = ref.EarlyStopping(patience, min_delta)
        _feed(expected, losses)
        stopper = run_sealed(name, EarlyStopping, patience, min_delta)
        _check_stop_call(name, _run_stopper(name, stopper, losses), losses, patience, min_delta)
        _check_best(name, stopper, expected)
        if getattr(stopper, "best_state", None) is not None:
            fail(name, "best_state should stay None when step is called without a model.")
    _check_best_state(EarlyStopping)


# ---------------------------------------------------------------- ensemble_predict

def _ensemble_members(count=3):
    generator_state = torch.get_rng_state()
    torch.manual_seed(0)
    models = [nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
              for _ in range(count)]
    torch.set_rng_state(generator_state)
    return models


def _ensemble_causes(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
        logits = torch.stack([model(X) for model in models])
    votes = nn.functional.one_hot(logits.argmax(dim=2), logits.shape[2]).double()
    return {
        "the logits were averaged, then passed through softmax (average the probabilities)":
            torch.softmax(logits.mean(dim=0), dim=1),
        "the logits were averaged without a softmax": logits.mean(dim=0),
        "the members' argmax votes were averaged (average the probabilities)":
            votes.mean(dim=0),
        "log-probabilities were averaged instead of probabilities":
            torch.log_softmax(logits, dim=2).mean(dim=0),
        "softmax over the wrong dimension (dim=0, the samples; classes are dim=1)":
            torch.softmax(logits, dim=1).mean(dim=0),
        "only the last model was used": torch.softmax(logits[-1], dim=1),
    }


def check_ensemble_predict(ensemble_predict):
    name = "ensemble_predict"
    models = _ensemble_members()
    X = torch.randn(12, 4, generator=torch.Generator().manual_seed(1))
    expected = ref.ensemble_predict(models, X)
    outputs = []
    for _ in range(2):
        for model in models:
            model.train()  # as they come out of training: dropout on
        outputs.append(run_sealed(name, ensemble_predict, models, X))
    got = outputs[0]
    if not isinstance(got, torch.Tensor):
        fail(name, f"expected a torch.Tensor, got {describe(got)}.")
    check_shape(name, got, expected.shape)
    if not torch.equal(outputs[0], outputs[1]):
        fail(name, "two calls on the same input gave different probabilities.",
             "Likely cause: model.eval() was not called, so the members' dropout is still "
             "active and every call drops other units.")
    if got.requires_grad:
        fail(name, "the result requires grad: it was computed with gradients on.",
             "Predict under torch.no_grad(): prediction needs no graph.")
    check_close(name, got, expected, rtol=1e-5, atol=1e-6,
                causes=_ensemble_causes(models, X))
