"""Hidden tests of 05_overfitting_regularization: standardisation, dropout, the weight
penalties, SGD's weight decay, early stopping and model averaging.

Each probe runs the student's code on seeded cases, only through ``observe.call``, and keeps
what came back. ``EarlyStopping`` is a stateful object, so its probe drives one stopper per
scenario through a sequence of ``step`` calls, as a training loop would (the model trained
in place between calls), and records each return and, after each call, the attributes,
with a copy of ``best_state``; a last copy after more training shows whether ``best_state``
follows the model. Each judge rebuilds the cases, computes what is expected with the
reference (or PyTorch's own optimiser), and names the known mistake that fits what came
back. A bad-argument ``ValueError`` has a hidden test of its own, as it has a test cell of
its own.
"""

import math
import random
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from helpers.checks import as_array, check_close, check_shape, describe, fail
from helpers.hidden import hidden_test
from helpers.hidden import reference as ref
from helpers.hidden.observe import call


def _pair(name, result, what):
    if not isinstance(result, tuple | list) or len(result) != 2:
        fail(name, f"expected a tuple {what}, got {describe(result)}.")
    return result


def _numbers(name, value):
    """``value`` as a float64 array, or a failure saying what came instead."""
    if not isinstance(value, np.ndarray | torch.Tensor | float | int | np.number):
        fail(name, f"expected numbers, got {describe(value)}.")
    return as_array(value).astype(np.float64)


def _with_global_generators(run):
    """``run()`` with Python's, NumPy's and torch's global generators put back afterwards."""
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        return run()
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


# ---------------------------------------------------------------- standardize

CONSTANT = 3  # the feature of the case that is constant in X_train


def standardize_case():
    """Features on very different scales and one constant in X_train (index 3); the other
    set has other statistics, so that each wrong choice of statistics gives another output."""
    rng = np.random.default_rng(0)
    X_train = rng.normal([5.0, -3.0, 100.0, 7.0], [2.0, 0.5, 30.0, 0.0], size=(40, 4))
    X_other = rng.normal([6.0, -2.0, 80.0, 9.0], [3.0, 1.0, 10.0, 1.0], size=(15, 4))
    return X_train, X_other


def probe_standardize(standardize):
    return call(standardize, *standardize_case())


def _scaled(X, mean, std):
    return (X - mean) / np.where(std > 0, std, 1.0)


def standardize_mistakes(X_train, X_other):
    """What each known mistake of standardize returns, per output, on this case."""
    both = np.concatenate([X_train, X_other])
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    statistics = {
        "the statistics were computed from X_other instead of X_train":
            (X_other.mean(axis=0), X_other.std(axis=0)),
        "the statistics were computed from both sets together (only the training set may "
        "be used: the other set stands for data the model has not seen)":
            (both.mean(axis=0), both.std(axis=0)),
        "the sample standard deviation (ddof=1) was used instead of NumPy's default ddof=0":
            (mean, X_train.std(axis=0, ddof=1)),
        "the data was not centred (only divided by the standard deviation)":
            (np.zeros_like(mean), std),
        "the data was centred but not divided by the standard deviation":
            (mean, np.zeros_like(std)),
    }
    mistakes = {}
    for part, X in (("X_train_std", X_train), ("X_other_std", X_other)):
        causes = {cause: _scaled(X, m, s) for cause, (m, s) in statistics.items()}
        if part == "X_other_std":
            causes["each set was standardised with its own statistics"] = _scaled(
                X, X.mean(axis=0), X.std(axis=0))
        left_alone = _scaled(X, mean, std)
        left_alone[:, CONSTANT] = X[:, CONSTANT]
        causes["the constant feature was left as it was instead of being centred"] = left_alone
        mistakes[part] = causes
    return mistakes


def judge_standardize(seen):
    name = "standardize"
    X_train, X_other = standardize_case()
    # 0/0 warns: the NaN it leaves says more than the warning does, so it is named first.
    parts = _pair(name, seen.value(name, warnings_allowed=True), "(X_train_std, X_other_std)")
    got = dict(zip(("X_train_std", "X_other_std"), parts, strict=True))
    for part, value in got.items():
        if np.isnan(_numbers(f"{name}: {part}", value)).any():
            fail(name, f"{part} holds NaN: feature {CONSTANT} is constant in X_train, so it was "
                       "divided by a standard deviation of 0 (0/0).",
                 "A feature whose training deviation is 0 is only centred (divide it by 1).")
    expected = dict(zip(("X_train_std", "X_other_std"), ref.standardize(X_train, X_other),
                        strict=True))
    mistakes = standardize_mistakes(X_train, X_other)
    for part in ("X_train_std", "X_other_std"):
        if part == "X_other_std":
            _epsilon_check(name, got[part], expected[part])
        check_close(f"{name}: {part}", got[part], expected[part], causes=mistakes[part],
                    dtype=np.float64)
    seen.value(name)  # a warning that left the values right still costs the cell


def _epsilon_check(name, got, expected):
    """The constant feature of X_other divided by a tiny number: the mark of an epsilon
    added to the deviation instead of a deviation of 0 replaced by 1."""
    got = _numbers(name, got)
    if got.shape != expected.shape:
        return  # check_close says so
    ratio = np.abs(got[:, CONSTANT] / expected[:, CONSTANT])
    if np.all(ratio > 1e3):
        fail(name, f"X_other_std: the constant feature ({CONSTANT}) came out about "
                   f"{np.median(ratio):.2g} times too large: it was divided by a tiny number, "
                   "as when an epsilon is added to the standard deviation (std + 1e-8).",
             "A feature whose training deviation is 0 is only centred: divide it by 1, not by "
             "a tiny number, or new data that differs from its constant explodes.")


check_standardize = hidden_test("standardize", "test_standardize", probe_standardize,
                                judge_standardize)

# Shapes that broadcast: without a check of its own the function would return something.
MISMATCHED_FEATURES = (("X_train with 4 features and X_other with 1", slice(None), slice(0, 1)),
                       ("X_train with 1 feature and X_other with 4", slice(0, 1), slice(None)))


def probe_standardize_value_error(standardize):
    X_train, X_other = standardize_case()
    return [call(standardize, X_train[:, train], X_other[:, other])
            for _, train, other in MISMATCHED_FEATURES]


def judge_standardize_value_error(seen):
    for one, (why, _, _) in zip(seen, MISMATCHED_FEATURES, strict=True):
        one.raises("standardize", "ValueError", why=why)


check_standardize_value_error = hidden_test(
    "standardize", "test_standardize_value_error", probe_standardize_value_error,
    judge_standardize_value_error)


# ---------------------------------------------------------------- dropout_forward

TRAIN_P = (0.2, 0.6)
GLOBAL_SEEDS = (11, 12)


def dropout_input():
    return np.random.default_rng(0).uniform(0.5, 1.5, size=(100, 80))


def probe_dropout_forward(dropout_forward):
    def dropout(p, training, seed):  # each call on an x of its own: one may change it
        return call(dropout_forward, dropout_input(), p, training, np.random.default_rng(seed))

    def under_other_global_seeds():
        """The same call, once per seed of the global generators: it must not matter."""
        calls = []
        for seed in GLOBAL_SEEDS:
            random.seed(seed)
            np.random.seed(seed)
            torch.manual_seed(seed)
            calls.append(dropout(0.2, True, 7))
        return calls

    return {"eval": dropout(0.3, False, 1), "train": [dropout(p, True, 3) for p in TRAIN_P],
            "p = 0": dropout(0.0, True, 4), "same seed": _with_global_generators(
                under_other_global_seeds)}


def _judge_dropout_eval(seen, x):
    name = "dropout_forward(x, p=0.3, training=False, rng)"
    out, mask = _pair(name, seen.value(name), "(out, mask)")
    if mask is not None:
        fail(name, f"dropout is active in evaluation: not training, the mask must be None, "
                   f"got {describe(mask)}.",
             "Dropout acts in training only; at evaluation return (x, None) unchanged.")
    check_close(f"{name}: out", out, x, causes={
        "the output was scaled by 1 - p at evaluation (the original, non-inverted dropout; "
        "inverted dropout scales the kept units by 1 / (1 - p) while training instead)":
            x * 0.7})


def _training_result(seen, name, x):
    out, mask = _pair(name, seen.value(name), "(out, mask)")
    if mask is None:
        fail(name, "in training the mask must be an array of x's shape (all ones when p = 0), "
                   "got None.")
    check_shape(f"{name}: mask", _numbers(f"{name}: mask", mask), x.shape)
    check_shape(f"{name}: out", _numbers(f"{name}: out", out), x.shape)
    return out, _numbers(f"{name}: mask", mask)


def dropout_mask_mistakes(mask, p):
    """What the mask's nonzero entries would be for each known mistake, given which
    entries were dropped."""
    kept = mask != 0
    causes = {"the mask holds 0 and 1, without the rescaling of the kept units by "
              "1 / (1 - p) (the output's expected value shrinks to (1 - p) x)": kept * 1.0}
    if p > 0:
        causes["p was used as the keep probability (the kept units were scaled by 1 / p "
               "instead of 1 / (1 - p))"] = kept / p
    return causes


def _judge_dropout_training(seen, x, p):
    name = f"dropout_forward(x, p={p}, training=True, rng)"
    out, mask = _training_result(seen, name, x)
    check_close(f"{name}: mask", mask, (mask != 0) / (1 - p),
                causes=dropout_mask_mistakes(mask, p))
    if np.all(mask == mask[:1]):
        fail(name, "the same mask was used for every row of x: every element is dropped "
                   "independently (draw the mask with x's full shape).")
    dropped = float((mask == 0).mean())
    tolerance = 5 * math.sqrt(p * (1 - p) / mask.size)  # five binomial standard deviations
    check_close(f"{name}: fraction of the units dropped", dropped, p, rtol=0, atol=tolerance,
                causes={"p was used as the keep probability (a fraction 1 - p of the units "
                        "was dropped)": 1 - p})
    check_close(f"{name}: out", out, x * mask, dtype=np.float64, causes={
        "out is the mask itself (x * mask was expected)": mask,
        "out is x itself, undropped (x * mask was expected)": x})


def judge_dropout_forward(seen):
    x = dropout_input()
    _judge_dropout_eval(seen["eval"], x)
    for p, one in zip(TRAIN_P, seen["train"], strict=True):
        _judge_dropout_training(one, x, p)
    name = "dropout_forward(x, p=0.2, training=True, rng)"
    masks = [_training_result(one, name, x)[1] for one in seen["same seed"]]
    if not np.array_equal(*masks):
        fail(name, "two calls with generators of the same seed drew different masks: the mask "
                   "was drawn from a global generator (np.random, torch or random) instead of "
                   "the given rng.",
             "Draw it with rng.random(x.shape) (or rng.binomial) so that a run can be repeated.")
    name = "dropout_forward(x, p=0.0, training=True, rng)"
    out, mask = _training_result(seen["p = 0"], name, x)
    check_close(f"{name}: mask (p = 0 drops nothing)", mask, np.ones_like(x))
    check_close(f"{name}: out", out, x)


check_dropout_forward = hidden_test("dropout_forward", "test_dropout_forward",
                                    probe_dropout_forward, judge_dropout_forward)

BAD_P = (1.0, -0.1, 1.5)


def probe_dropout_forward_value_error(dropout_forward):
    x = dropout_input()
    return [call(dropout_forward, x, p, True, np.random.default_rng(0)) for p in BAD_P]


def judge_dropout_forward_value_error(seen):
    for one, p in zip(seen, BAD_P, strict=True):
        one.raises("dropout_forward", "ValueError",
                   why=f"a drop probability p = {p} (outside [0, 1))")


check_dropout_forward_value_error = hidden_test(
    "dropout_forward", "test_dropout_forward_value_error", probe_dropout_forward_value_error,
    judge_dropout_forward_value_error)


# ---------------------------------------------------------------- the penalties

def penalty_weights():
    """float64 leaves that require grad, of several shapes (a matrix, a vector like a bias,
    another matrix), both signs, none at 0."""
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(shape, generator=generator, dtype=torch.float64).requires_grad_()
            for shape in ((4, 3), (4,), (2, 4))]


def _probe_penalty(penalty, *strengths):
    """Call ``penalty(weights, *strengths)`` on fresh leaves, then back-propagate from what
    it returned; record the value, whether it is connected to the weights, and their
    gradients."""
    weights = penalty_weights()
    seen = call(penalty, weights, *strengths)
    record = {"call": seen}
    value = seen.result
    if seen.ok and isinstance(value, torch.Tensor):
        record["connected"] = bool(value.requires_grad and value.grad_fn is not None)
        if record["connected"]:
            record["backward"] = call(value.backward, watch=False)
            record["grads"] = [None if w.grad is None else w.grad.detach().clone()
                               for w in weights]
    return record


def _judge_penalty(name, record, expected, causes, gradients, gradient_causes):
    value = record["call"].value(name)
    if not isinstance(value, torch.Tensor):
        fail(name, f"expected a torch.Tensor, got {describe(value)}.",
             "A Python number (from .item(), float() or NumPy) cannot be differentiated: the "
             "penalty would add a constant to the loss and leave the weights alone. Build it "
             "from torch operations on the weights.")
    if not record["connected"]:
        fail(name, "the penalty is detached from the weights (it has no grad_fn).",
             "Likely cause: .detach(), .data, .item(), torch.tensor(...) or NumPy in between: "
             "its gradient would never reach the weights.")
    check_close(f"{name}: value", value, expected, causes=causes)
    record["backward"].value(f"{name}: backward()")
    for i, (grad, want) in enumerate(zip(record["grads"], gradients, strict=True)):
        if grad is None:
            fail(name, f"weights[{i}] got no gradient: it was left out of the penalty.")
        check_close(f"{name}: gradient of weights[{i}]", grad, want,
                    causes={cause: per_weight[i] for cause, per_weight in
                            gradient_causes.items()})


ONLY_FIRST = "only weights[0] was used (the other tensors were left out of the penalty)"


def _flat(weights):
    return torch.cat([w.detach().flatten() for w in weights])


def probe_l1_penalty(l1_penalty):
    return _probe_penalty(l1_penalty)


def judge_l1_penalty(seen):
    weights = penalty_weights()
    flat = _flat(weights)
    _judge_penalty("l1_penalty", seen, ref.l1_penalty(weights), {
        "the sum of the weights without abs() (L1 is the sum of |w|)": flat.sum(),
        ONLY_FIRST: weights[0].detach().abs().sum(),
        "the mean of |w| instead of the sum": flat.abs().mean(),
        "the sum of squares (that is the L2 penalty)": (flat**2).sum(),
    }, [torch.sign(w.detach()) for w in weights], {
        "abs() is missing: the gradient of the sum of w is 1 everywhere":
            [torch.ones_like(w) for w in weights]})


check_l1_penalty = hidden_test("l1_penalty", "test_l1_penalty", probe_l1_penalty,
                               judge_l1_penalty)


def probe_l2_penalty(l2_penalty):
    return _probe_penalty(l2_penalty)


def judge_l2_penalty(seen):
    weights = penalty_weights()
    flat = _flat(weights)
    total = (flat**2).sum()
    _judge_penalty("l2_penalty", seen, ref.l2_penalty(weights), {
        "the norm sqrt(sum w^2) instead of its square": total.sqrt(),
        ONLY_FIRST: (weights[0].detach() ** 2).sum(),
        "a factor 1/2 (the penalty is the plain sum of squares)": total / 2,
        "the sum of the per-tensor norms instead of the sum of squares":
            sum(w.detach().norm() for w in weights),
        "the sum of |w| (that is the L1 penalty)": flat.abs().sum(),
        "the mean of the squares instead of the sum": (flat**2).mean(),
    }, [2 * w.detach() for w in weights], {
        "a factor 1/2: the gradient came out w instead of 2w": [w.detach() for w in weights],
        "the norm instead of its square: the gradient came out w / ||w||":
            [w.detach() / total.sqrt() for w in weights]})


check_l2_penalty = hidden_test("l2_penalty", "test_l2_penalty", probe_l2_penalty,
                               judge_l2_penalty)

# One term at a time first, so that a failure names the term that is wrong.
STRENGTHS = ((0.3, 0.0), (0.0, 0.05), (0.3, 0.05))


def probe_elastic_net_penalty(elastic_net_penalty):
    return [_probe_penalty(elastic_net_penalty, l1, l2) for l1, l2 in STRENGTHS]


def elastic_net_mistakes(weights, l1, l2):
    flat = _flat(weights)
    l1_value, l2_value = flat.abs().sum(), (flat**2).sum()
    return {
        "l1 and l2 swapped (l1 must scale the sum of |w|, l2 the sum of squares)":
            l2 * l1_value + l1 * l2_value,
        "the L1 term is missing": l2 * l2_value,
        "the L2 term is missing": l1 * l1_value,
        "the L2 term used the norm instead of its square": l1 * l1_value + l2 * l2_value.sqrt(),
        "the L2 term has a factor 1/2 (the contract's L2 term is l2 * sum(w^2))":
            l1 * l1_value + l2 * l2_value / 2,
        "the strengths were not applied (l1_penalty + l2_penalty)": l1_value + l2_value,
    }


def judge_elastic_net_penalty(seen):
    for (l1, l2), record in zip(STRENGTHS, seen, strict=True):
        weights = penalty_weights()
        _judge_penalty(f"elastic_net_penalty(weights, l1={l1}, l2={l2})", record,
                       ref.elastic_net_penalty(weights, l1, l2),
                       elastic_net_mistakes(weights, l1, l2),
                       [l1 * torch.sign(w.detach()) + 2 * l2 * w.detach() for w in weights], {})


check_elastic_net_penalty = hidden_test("elastic_net_penalty", "test_elastic_net_penalty",
                                        probe_elastic_net_penalty, judge_elastic_net_penalty)

NEGATIVE_STRENGTHS = ((-0.1, 0.05), (0.3, -0.05))


def probe_elastic_net_penalty_value_error(elastic_net_penalty):
    return [call(elastic_net_penalty, penalty_weights(), l1, l2) for l1, l2 in NEGATIVE_STRENGTHS]


def judge_elastic_net_penalty_value_error(seen):
    for one, (l1, l2) in zip(seen, NEGATIVE_STRENGTHS, strict=True):
        one.raises("elastic_net_penalty", "ValueError",
                   why=f"a negative strength (l1={l1}, l2={l2})")


check_elastic_net_penalty_value_error = hidden_test(
    "elastic_net_penalty", "test_elastic_net_penalty_value_error",
    probe_elastic_net_penalty_value_error, judge_elastic_net_penalty_value_error)


# ---------------------------------------------------------------- sgd_step_weight_decay

LR = 0.1
# One term at a time: the data gradient alone, the decay alone, then both.
SGD_STAGES = (("the data gradient alone", True, 0.0), ("the decay alone (grad = 0)", False, 0.2),
              ("both", True, 0.2))


def sgd_case():
    rng = np.random.default_rng(0)
    return rng.normal(size=(5, 3)), rng.normal(size=(5, 3))


def _stage_inputs(with_grad, weight_decay):
    w, grad = sgd_case()
    return w, (grad if with_grad else np.zeros_like(grad)), LR, weight_decay


def probe_sgd_step_weight_decay(sgd_step_weight_decay):
    return [call(sgd_step_weight_decay, *_stage_inputs(with_grad, wd))
            for _, with_grad, wd in SGD_STAGES]


def torch_sgd_step(w, grad, lr, weight_decay):
    """The oracle: one step of torch.optim.SGD(lr, weight_decay), no momentum."""
    param = torch.nn.Parameter(torch.tensor(w, dtype=torch.float64))
    param.grad = torch.tensor(grad, dtype=torch.float64)
    torch.optim.SGD([param], lr=lr, weight_decay=weight_decay).step()
    return param.detach().numpy()


def sgd_mistakes(stage, w, g, lr, wd):
    """What the known mistakes give at this stage (each where it is first visible)."""
    after_step = w - lr * g
    if stage == "the data gradient alone":
        return {"the step goes up the gradient (w + lr * grad)": w + lr * g}
    return {
        "a sign error: weight decay must pull w towards 0 (w - lr * (grad + wd * w))":
            w - lr * (g - wd * w),
        "the decay is not multiplied by the learning rate": w - lr * g - wd * w,
        "the decay was applied after the step, to the updated weights":
            after_step - lr * wd * after_step,
        "the decay is 2 * wd * w: SGD's weight_decay is the gradient of (wd / 2) * sum(w^2), "
        "so the decay term is wd * w": w - lr * (g + 2 * wd * w),
        "the weight decay was left out": after_step,
    }


def judge_sgd_step_weight_decay(seen):
    for (stage, with_grad, wd), one in zip(SGD_STAGES, seen, strict=True):
        name = f"sgd_step_weight_decay(w, grad, lr={LR}, weight_decay={wd}), {stage}"
        w, g, lr, wd = _stage_inputs(with_grad, wd)
        check_close(name, one.value(name), torch_sgd_step(w, g, lr, wd),
                    causes=sgd_mistakes(stage, w, g, lr, wd), dtype=np.float64)


check_sgd_step_weight_decay = hidden_test("sgd_step_weight_decay", "test_sgd_step_weight_decay",
                                          probe_sgd_step_weight_decay,
                                          judge_sgd_step_weight_decay)

# Gradients whose shapes broadcast against w: only a check of its own raises.
MISMATCHED_GRADS = (("w of shape (5, 3) with grad of shape (3,)", (3,)),
                    ("w of shape (5, 3) with grad of shape (1, 3)", (1, 3)))


def probe_sgd_step_weight_decay_value_error(sgd_step_weight_decay):
    w, _ = sgd_case()
    return [call(sgd_step_weight_decay, w, np.ones(shape), LR, 0.1)
            for _, shape in MISMATCHED_GRADS]


def judge_sgd_step_weight_decay_value_error(seen):
    for one, (why, _) in zip(seen, MISMATCHED_GRADS, strict=True):
        one.raises("sgd_step_weight_decay", "ValueError", why=why)


check_sgd_step_weight_decay_value_error = hidden_test(
    "sgd_step_weight_decay", "test_sgd_step_weight_decay_value_error",
    probe_sgd_step_weight_decay_value_error, judge_sgd_step_weight_decay_value_error)


# ---------------------------------------------------------------- EarlyStopping

# Sequences of validation losses, each chosen so that the known mistakes part ways with
# the right answer (tests/test_hidden_overfitting_regularization.py shows they do).
STOPPING_SCENARIOS = {
    "a loss equal to the best (call 3)": dict(
        losses=(1.0, 0.7, 0.8, 0.7, 0.75, 0.72, 0.9, 0.6, 0.65), patience=3),
    "improvements after calls without one": dict(
        losses=(1.0, 1.1, 1.2, 0.9, 1.0, 1.1, 0.8, 0.9, 1.0, 1.1, 1.2), patience=4),
    "min_delta = 0.05, with gains smaller than it": dict(
        losses=(0.4, 0.37, 0.36, 0.355, 0.39, 0.39, 0.39), patience=3, min_delta=0.05),
}
MODEL_SCENARIO = dict(losses=(1.0, 0.6, 0.7, 0.5, 0.65, 0.8, 0.9), patience=3)


def stopping_model():
    """nn.Linear(3, 2) in float64 with known weights (no draw from torch's generator)."""
    with torch.random.fork_rng():
        model = nn.Linear(3, 2).double()
    with torch.no_grad():
        model.weight.copy_(torch.arange(6.0).reshape(2, 3) / 10)
        model.bias.copy_(torch.tensor([0.5, -0.5]))
    return model


def train_in_place(model):
    """What an optimiser step does to the model's tensors: change them in place."""
    with torch.no_grad():
        for param in model.parameters():
            param.add_(1.0)


def attributes(stopper):
    """The attributes the judge needs after a call, best_state as a copy of its tensors."""
    found = {name: getattr(stopper, name) for name in ("best_loss", "best_epoch", "best_state")
             if hasattr(stopper, name)}
    state = found.get("best_state")
    if isinstance(state, Mapping):
        found["best_state"] = {str(key): value.detach().clone() if isinstance(
            value, torch.Tensor) else value for key, value in state.items()}
    return found


def said_stop(result):
    return isinstance(result, bool | np.bool_) and bool(result)


def _drive(EarlyStopping, losses, patience, min_delta=0.0, model=None):
    """One stopper through ``losses`` as a training loop feeds it, until it says stop."""
    made = call(EarlyStopping, patience, min_delta)
    record = {"init": made, "steps": [], "after": []}
    if not made.ok:
        return record
    stopper = made.result
    for loss in losses:
        if model is not None:
            train_in_place(model)
        step = call(stopper.step, loss, model) if model is not None else call(stopper.step, loss)
        record["steps"].append(step)
        record["after"].append(call(attributes, stopper, watch=False))
        if not step.ok or said_stop(step.result):
            break
    if model is not None:
        train_in_place(model)  # training goes on: a copy does not follow it
        record["after more training"] = call(attributes, stopper, watch=False)
    return record


def probe_EarlyStopping(EarlyStopping):
    seen = {label: _drive(EarlyStopping, **scenario)
            for label, scenario in STOPPING_SCENARIOS.items()}
    seen["with a model"] = _drive(EarlyStopping, **MODEL_SCENARIO, model=stopping_model())
    return seen


def simulate(losses, patience, min_delta=0.0, *, improves=None, reset=True, stops=None,
             epoch=None):
    """A stopper with one part swapped for a known mistake: the call at which it first says
    stop (-1 for never), and best_epoch after each call up to it."""
    improves = improves or (lambda loss, best, delta: loss < best - delta)
    stops = stops or (lambda waited, patience: waited >= patience)
    epoch = epoch or (lambda call, improvements: call)
    best, waited, improvements, best_epoch, epochs = math.inf, 0, 0, None, []
    for call_index, loss in enumerate(losses):
        if improves(loss, best, min_delta):
            best, best_epoch = loss, epoch(call_index, improvements)
            improvements += 1
            waited = 0 if reset else waited
        else:
            waited += 1
        epochs.append(best_epoch)
        if stops(waited, patience):
            return call_index, epochs
    return -1, epochs


STOPPING_MISTAKES = {
    "patience off by one: it stops one call too early (after patience - 1 calls without "
    "an improvement)": dict(stops=lambda waited, patience: waited >= patience - 1),
    "patience off by one: it stops one call too late (after patience + 1 calls without "
    "an improvement)": dict(stops=lambda waited, patience: waited > patience),
    "a loss equal to the best counts as an improvement (<= instead of <)":
        dict(improves=lambda loss, best, delta: loss <= best - delta),
    "the count of calls without an improvement is not reset to 0 after an improvement":
        dict(reset=False),
    "min_delta is ignored (an improvement must beat best_loss - min_delta)":
        dict(improves=lambda loss, best, delta: loss < best),
    "min_delta has the wrong sign (loss < best_loss + min_delta lets worse losses count "
    "as improvements)": dict(improves=lambda loss, best, delta: loss < best + delta),
    "min_delta was used as a relative threshold (loss < best_loss * (1 - min_delta)); it is "
    "absolute: loss < best_loss - min_delta":
        dict(improves=lambda loss, best, delta: loss < best * (1 - delta)),
    "best_epoch counts from 1 (it is the 0-based index of the step call)":
        dict(epoch=lambda call_index, improvements: call_index + 1),
    "best_epoch counts the improvements, not the calls":
        dict(epoch=lambda call_index, improvements: improvements),
}


def _causes(outcomes, expected):
    """The mistakes whose outcome differs from the right one (only those can explain)."""
    return {cause: got for cause, got in outcomes.items() if not np.array_equal(got, expected)}


def _state_vector(state):
    return np.concatenate([as_array(state[key]).ravel() for key in ("weight", "bias")])


def reference_run(scenario, model=None):
    """The reference stopper fed like the probe feeds the student's: the call at which it
    first says stop (-1 for never), and after each call its best_epoch and best_loss and,
    with a model, its best_state and the model's own state, flattened."""
    stopper = ref.EarlyStopping(scenario["patience"], scenario.get("min_delta", 0.0))
    run = {"stop": -1, "best_epoch": [], "best_loss": [], "best_state": [], "model": []}
    for call_index, loss in enumerate(scenario["losses"]):
        if model is not None:
            train_in_place(model)
        said = stopper.step(loss, model)
        run["best_epoch"].append(stopper.best_epoch)
        run["best_loss"].append(stopper.best_loss)
        if model is not None:
            run["best_state"].append(_state_vector(stopper.best_state))
            run["model"].append(_state_vector(model.state_dict()))
        if said:
            run["stop"] = call_index
            break
    return {key: np.array(value) if isinstance(value, list) else value
            for key, value in run.items()}


def _judge_steps(label, record, scenario, expected):
    """The call that said stop, then best_epoch and best_loss after each call; returns the
    attributes read after each call."""
    patience, min_delta = scenario["patience"], scenario.get("min_delta", 0.0)
    losses = scenario["losses"]
    name = f"EarlyStopping(patience={patience}" + (
        f", min_delta={min_delta})" if min_delta else ")")
    record["init"].value(name)
    returns = []
    for one in record["steps"]:
        result = one.value(f"{name}.step")
        if not isinstance(result, bool | np.bool_):
            fail(f"{name}.step", f"it must return True or False, got {describe(result)}.")
        returns.append(bool(result))
    outcomes = {cause: simulate(losses, patience, min_delta, **mistake)
                for cause, mistake in STOPPING_MISTAKES.items()}
    where = f"{name}, on the losses {list(losses)} ({label})"
    check_close(f"{where}: the call (0-based, -1 for never) at which step first returned True",
                returns.index(True) if True in returns else -1, expected["stop"],
                causes=_causes({cause: got[0] for cause, got in outcomes.items()},
                               expected["stop"]))
    after = [one.value(f"{name}: reading its attributes") for one in record["after"]]
    for attribute in ("best_loss", "best_epoch", "best_state"):
        if any(attribute not in found for found in after):
            fail(name, f"it has no attribute {attribute}: set it in __init__ and update it "
                       "in step.")
    epochs = [found["best_epoch"] for found in after]
    if any(not isinstance(e, int | np.integer) or isinstance(e, bool) for e in epochs):
        fail(name, f"best_epoch after each call should be an int, got {epochs}.")
    check_close(f"{where}: best_epoch after each call", np.array(epochs), expected["best_epoch"],
                causes=_causes({cause: got[1] for cause, got in outcomes.items()},
                               expected["best_epoch"]))
    best_losses = expected["best_loss"]
    check_close(f"{where}: best_loss after each call",
                np.array([_numbers(f"{name}: best_loss", found["best_loss"]) for found in after]),
                best_losses, causes={
                    "best_loss holds the loss minus min_delta (keep the loss itself; min_delta "
                    "only sets how much the next one must beat it by)": best_losses - min_delta}
                if min_delta else None)
    return after


def _judge_without_model(label, record, scenario):
    after = _judge_steps(label, record, scenario, reference_run(scenario))
    if any(found["best_state"] is not None for found in after):
        fail("EarlyStopping", "best_state should stay None when step is called without a model.")


def _flat_state(name, state):
    if not isinstance(state, Mapping):
        fail(name, f"best_state should be a copy of model.state_dict(), got {describe(state)}.")
    if list(state) != ["weight", "bias"]:
        fail(name, f"best_state has the keys {list(state)}, expected ['weight', 'bias'] "
                   "(those of model.state_dict()).")
    return np.concatenate([_numbers(name, state[key]).ravel() for key in ("weight", "bias")])


def _judge_with_model(record):
    name = f"EarlyStopping(patience={MODEL_SCENARIO['patience']}) with a model"
    expected = reference_run(MODEL_SCENARIO, stopping_model())
    after = _judge_steps("with a model trained in place between calls", record, MODEL_SCENARIO,
                         expected)
    stored = np.array([_flat_state(name, found["best_state"]) for found in after])
    later = _flat_state(name, record["after more training"].value(name)["best_state"])
    if not np.array_equal(later, stored[-1]):
        fail(name, "best_state changed when the model was trained further.",
             "Likely cause: best_state holds the model's live weights (model.state_dict() "
             "itself, a shallow dict(...) or .copy() of it, or tensors that share their "
             "storage, like v.detach()): training changes them in place. Store copies "
             "(v.clone() or copy.deepcopy).")
    states = expected["model"]
    check_close(f"{name}: best_state after each call (the weights at the best call so far, "
                f"calls {expected['best_epoch'].tolist()})", stored, expected["best_state"],
                causes={"the state is saved at every call, not only at an improvement": states,
                        "the state is saved at the first call only": states[[0] * len(states)]})


def judge_EarlyStopping(seen):
    for label, scenario in STOPPING_SCENARIOS.items():
        _judge_without_model(label, seen[label], scenario)
    _judge_with_model(seen["with a model"])


check_EarlyStopping = hidden_test("EarlyStopping", "test_EarlyStopping", probe_EarlyStopping,
                                  judge_EarlyStopping)

BAD_STOPPERS = (("patience=0", (0,)), ("patience=-1", (-1,)), ("min_delta=-0.1", (2, -0.1)))


def probe_EarlyStopping_value_error(EarlyStopping):
    return [call(EarlyStopping, *args) for _, args in BAD_STOPPERS]


def judge_EarlyStopping_value_error(seen):
    for one, (why, _) in zip(seen, BAD_STOPPERS, strict=True):
        one.raises("EarlyStopping", "ValueError", why=f"EarlyStopping({why})")


check_EarlyStopping_value_error = hidden_test(
    "EarlyStopping", "test_EarlyStopping_value_error", probe_EarlyStopping_value_error,
    judge_EarlyStopping_value_error)


# ---------------------------------------------------------------- ensemble_predict

def ensemble_members(count=3):
    """Members with dropout, drawn from a seed without touching the global generator."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return [nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
                for _ in range(count)]


def ensemble_input():
    return torch.randn(12, 4, generator=torch.Generator().manual_seed(1))


def probe_ensemble_predict(ensemble_predict):
    models, X = ensemble_members(), ensemble_input()

    def twice():
        calls = []
        for _ in range(2):
            for model in models:
                model.train()  # as they come out of training: dropout on
            calls.append(call(ensemble_predict, models, X))
        return calls

    calls = _with_global_generators(twice)  # dropout left on would draw from torch's
    return {"calls": calls, "requires_grad": [bool(getattr(one.result, "requires_grad", False))
                                              for one in calls]}


def ensemble_mistakes(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
        logits = torch.stack([model(X) for model in models])
    votes = nn.functional.one_hot(logits.argmax(dim=2), logits.shape[2]).double()
    return {
        "the logits were averaged, then passed through softmax (average the probabilities)":
            torch.softmax(logits.mean(dim=0), dim=1),
        "the logits were averaged without a softmax": logits.mean(dim=0),
        "the members' argmax votes were averaged (average the probabilities)": votes.mean(dim=0),
        "log-probabilities were averaged instead of probabilities":
            torch.log_softmax(logits, dim=2).mean(dim=0),
        "softmax over the wrong dimension (dim=0, the samples; the classes are dim=1)":
            torch.softmax(logits, dim=1).mean(dim=0),
        "only the last model was used": torch.softmax(logits[-1], dim=1),
    }


def judge_ensemble_predict(seen):
    name = "ensemble_predict"
    models, X = ensemble_members(), ensemble_input()
    first, second = (one.value(name) for one in seen["calls"])
    expected = ref.ensemble_predict(models, X)
    if not isinstance(first, torch.Tensor):
        fail(name, f"expected a torch.Tensor, got {describe(first)}.")
    check_shape(name, first, expected.shape)
    if not torch.equal(first, second):
        fail(name, "two calls on the same input, with the members in training mode, gave "
                   "different probabilities: model.eval() was not called, so the members' "
                   "dropout is still active and every call drops other units.")
    if seen["requires_grad"][0]:
        fail(name, "the result requires grad: it was computed with gradients on.",
             "Predict under torch.no_grad(): prediction needs no graph.")
    check_close(name, first, expected, rtol=1e-5, atol=1e-6,
                causes=ensemble_mistakes(models, X))


check_ensemble_predict = hidden_test("ensemble_predict", "test_ensemble_predict",
                                     probe_ensemble_predict, judge_ensemble_predict)
