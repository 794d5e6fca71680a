"""Answers students give to 05_overfitting_regularization: mistakes, each a complete function
or class, and correct answers written differently from the reference, each declared with
what it is (``tests.variants``). Names read ``<graded name>__<what is different>``.
"""

import copy
import math

import numpy as np
import torch

from tests.variants import correct, delegates, mistake


def _check_features(X_train, X_other):
    if X_train.shape[1] != X_other.shape[1]:
        raise ValueError("both sets need the same number of features")


def _check_p(p):
    if not 0 <= p < 1:
        raise ValueError(f"p must be in [0, 1), got {p}")


def _check_strengths(l1, l2):
    if l1 < 0 or l2 < 0:
        raise ValueError("strengths must be non-negative")


def _check_same_shape(w, grad):
    if w.shape != grad.shape:
        raise ValueError("w and grad must have the same shape")


# ---------------------------------------------------------------- standardize

@correct("standardize")
def standardize__np_divide_where(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = np.mean(X_train, axis=0), np.std(X_train, axis=0)

    def scale(X):
        centred = X - mean
        return np.divide(centred, std, out=centred.copy(), where=std != 0)

    return scale(X_train), scale(X_other)


@correct("standardize")
def standardize__manual_formula(X_train, X_other):
    _check_features(X_train, X_other)
    n = X_train.shape[0]
    mean = X_train.sum(axis=0) / n
    std = np.sqrt(((X_train - mean) ** 2).sum(axis=0) / n)
    std[std == 0] = 1.0
    return (X_train - mean) / std, (X_other - mean) / std


@mistake("standardize", "computed from X_other instead of X_train")
def standardize__other_stats(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = X_other.mean(axis=0), X_other.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_other - mean) / std


@mistake("standardize", "computed from both sets together")
def standardize__both_sets(X_train, X_other):
    _check_features(X_train, X_other)
    both = np.concatenate([X_train, X_other])
    mean, std = both.mean(axis=0), both.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_other - mean) / std


@mistake("standardize", "its own statistics")
def standardize__own_stats(X_train, X_other):
    _check_features(X_train, X_other)

    def scale(X):
        std = X.std(axis=0)
        return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)

    return scale(X_train), scale(X_other)


@mistake("standardize", "ddof=1")
def standardize__ddof1(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0, ddof=1)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_other - mean) / std


@mistake("standardize", "standard deviation of 0")
def standardize__divide_by_zero(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return (X_train - mean) / std, (X_other - mean) / std


@mistake("standardize", "epsilon")
def standardize__epsilon(X_train, X_other):
    """The usual guard against 0/0, which the contract does not ask for: a constant feature
    of new data is divided by 1e-8."""
    _check_features(X_train, X_other)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-8
    return (X_train - mean) / std, (X_other - mean) / std


@mistake("standardize", "RuntimeWarning")
def standardize__warns(X_train, X_other):
    """Right values, but the division runs where std is 0 too, and NumPy warns."""
    _check_features(X_train, X_other)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)

    def scale(X):
        return np.where(std > 0, (X - mean) / std, X - mean)

    return scale(X_train), scale(X_other)


@mistake("standardize", "not centred")
def standardize__not_centred(X_train, X_other):
    _check_features(X_train, X_other)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return X_train / std, X_other / std


@mistake("standardize", "not divided by the standard deviation")
def standardize__not_scaled(X_train, X_other):
    _check_features(X_train, X_other)
    mean = X_train.mean(axis=0)
    return X_train - mean, X_other - mean


@mistake("standardize", "constant feature was left as it was")
def standardize__constant_left_alone(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    constant = std == 0
    mean = np.where(constant, 0.0, mean)
    std = np.where(constant, 1.0, std)
    return (X_train - mean) / std, (X_other - mean) / std


@mistake("standardize", "in place")
def standardize__in_place(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    X_other -= mean
    X_other /= std
    X_train -= mean
    X_train /= std
    return X_train, X_other


@mistake("standardize", "should raise ValueError")
def standardize__no_check(X_train, X_other):
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_other - mean) / std


@delegates("standardize")
def standardize__reference(X_train, X_other):
    from helpers.reference import standardize

    return standardize(X_train, X_other)


# ---------------------------------------------------------------- dropout_forward

@correct("dropout_forward")
def dropout_forward__binomial(x, p, training, rng):
    _check_p(p)
    if not training:
        return x, None
    mask = rng.binomial(1, 1.0 - p, size=x.shape) / (1.0 - p)
    return x * mask, mask


@correct("dropout_forward")
def dropout_forward__torch_dropout(x, p, training, rng):
    """PyTorch's own dropout on a tensor of ones gives the mask, with torch's generator
    seeded from the given rng (and restored afterwards)."""
    _check_p(p)
    if not training:
        return x, None
    with torch.random.fork_rng():
        torch.manual_seed(int(rng.integers(2**62)))
        ones = torch.ones(x.shape, dtype=torch.float64)
        mask = torch.nn.functional.dropout(ones, p=p, training=True).numpy()
    return x * mask, mask


@mistake("dropout_forward", "without the rescaling")
def dropout_forward__no_rescale(x, p, training, rng):
    _check_p(p)
    if not training:
        return x, None
    mask = (rng.random(x.shape) >= p).astype(np.float64)
    return x * mask, mask


@mistake("dropout_forward", "keep probability")
def dropout_forward__keep_p(x, p, training, rng):
    _check_p(p)
    if not training:
        return x, None
    mask = (rng.random(x.shape) < p) / p if p > 0 else np.ones_like(x)
    return x * mask, mask


@mistake("dropout_forward", "keep probability")
def dropout_forward__keep_p_scaled_right(x, p, training, rng):
    """Keeps each unit with probability p, though the scale is the right one: at p = 0.5
    the two readings of p agree."""
    _check_p(p)
    if not training:
        return x, None
    mask = (rng.random(x.shape) < p) / (1.0 - p)
    return x * mask, mask


@mistake("dropout_forward", "active in evaluation")
def dropout_forward__active_in_eval(x, p, training, rng):
    _check_p(p)
    mask = (rng.random(x.shape) >= p) / (1.0 - p)
    return x * mask, mask


@mistake("dropout_forward", "scaled by 1 - p at evaluation")
def dropout_forward__vanilla(x, p, training, rng):
    """The original dropout: no scaling in training, multiply by 1 - p at test time."""
    _check_p(p)
    if not training:
        return x * (1.0 - p), None
    mask = (rng.random(x.shape) >= p).astype(np.float64)
    return x * mask, mask


@mistake("dropout_forward", "instead of the given rng")
def dropout_forward__global_rng(x, p, training, rng):
    _check_p(p)
    if not training:
        return x, None
    mask = (np.random.rand(*x.shape) >= p) / (1.0 - p)
    return x * mask, mask


@mistake("dropout_forward", "for every row of x")
def dropout_forward__same_mask_every_row(x, p, training, rng):
    """Drops whole columns ("units") for the entire batch: one draw per feature."""
    _check_p(p)
    if not training:
        return x, None
    mask = np.broadcast_to((rng.random(x.shape[-1]) >= p) / (1.0 - p), x.shape).copy()
    return x * mask, mask


@mistake("dropout_forward", "all ones when p = 0", seen_by="hidden")
def dropout_forward__no_mask_at_p_zero(x, p, training, rng):
    """Nothing to drop at p = 0, so no mask: but in training the contract's mask is an
    array, all ones here. The visible test tries p = 0.2 only."""
    _check_p(p)
    if not training or p == 0:
        return x, None
    mask = (rng.random(x.shape) >= p) / (1.0 - p)
    return x * mask, mask


@mistake("dropout_forward", "in place")
def dropout_forward__in_place(x, p, training, rng):
    _check_p(p)
    if not training:
        return x, None
    mask = (rng.random(x.shape) >= p) / (1.0 - p)
    x *= mask
    return x, mask


@mistake("dropout_forward", "should raise ValueError")
def dropout_forward__no_p_check(x, p, training, rng):
    if not training:
        return x, None
    mask = (rng.random(x.shape) >= p) / (1.0 - p) if p != 1 else np.zeros_like(x)
    return x * mask, mask


@delegates("dropout_forward")
def dropout_forward__reference(x, p, training, rng):
    from helpers.reference import dropout_forward

    return dropout_forward(x, p, training, rng)


# ---------------------------------------------------------------- l1_penalty

@correct("l1_penalty")
def l1_penalty__stacked(weights):
    return torch.cat([w.flatten() for w in weights]).abs().sum()


@correct("l1_penalty")
def l1_penalty__norm1(weights):
    return sum(torch.linalg.vector_norm(w, ord=1) for w in weights)


@mistake("l1_penalty", "without abs()")
def l1_penalty__no_abs(weights):
    return sum(w.sum() for w in weights)


@mistake("l1_penalty", "mean of |w|")
def l1_penalty__mean(weights):
    return torch.cat([w.flatten() for w in weights]).abs().mean()


@mistake("l1_penalty", "cannot be differentiated")
def l1_penalty__python_float(weights):
    return sum(w.abs().sum().item() for w in weights)


@mistake("l1_penalty", "detached from the weights")
def l1_penalty__detached(weights):
    return sum(w.detach().abs().sum() for w in weights)


@mistake("l1_penalty", "detached from the weights")
def l1_penalty__numpy(weights):
    return torch.tensor(sum(np.abs(w.detach().numpy()).sum() for w in weights))


@mistake("l1_penalty", "detached from the weights")
def l1_penalty__new_leaf(weights):
    """A fresh tensor that requires grad, but of nothing: its gradient reaches no weight."""
    total = sum(w.abs().sum().item() for w in weights)
    return torch.tensor(total, requires_grad=True)


@mistake("l1_penalty", "left out of the penalty")
def l1_penalty__first_only(weights):
    return weights[0].abs().sum()


@delegates("l1_penalty")
def l1_penalty__reference(weights):
    from helpers.reference import l1_penalty

    return l1_penalty(weights)


# ---------------------------------------------------------------- l2_penalty

@correct("l2_penalty")
def l2_penalty__stacked(weights):
    flat = torch.cat([w.flatten() for w in weights])
    return flat @ flat


@correct("l2_penalty")
def l2_penalty__squared_norms(weights):
    return sum(torch.linalg.norm(w) ** 2 for w in weights)


@mistake("l2_penalty", "instead of its square")
def l2_penalty__norm(weights):
    return torch.cat([w.flatten() for w in weights]).norm()


@mistake("l2_penalty", "factor 1/2")
def l2_penalty__half(weights):
    return 0.5 * sum((w**2).sum() for w in weights)


@mistake("l2_penalty", "per-tensor norms")
def l2_penalty__sum_of_norms(weights):
    return sum(w.norm() for w in weights)


@mistake("l2_penalty", "cannot be differentiated")
def l2_penalty__python_float(weights):
    return float(sum((w.detach() ** 2).sum() for w in weights))


@mistake("l2_penalty", "detached from the weights")
def l2_penalty__data(weights):
    return sum((w.data**2).sum() for w in weights)


@delegates("l2_penalty")
def l2_penalty__reference(weights):
    from helpers.reference import l2_penalty

    return l2_penalty(weights)


# ---------------------------------------------------------------- elastic_net_penalty

def _abs_sum(weights):
    return sum(w.abs().sum() for w in weights)


def _square_sum(weights):
    return sum((w**2).sum() for w in weights)


@correct("elastic_net_penalty")
def elastic_net_penalty__own_terms(weights, l1, l2):
    _check_strengths(l1, l2)
    return sum(l1 * w.abs().sum() + l2 * w.pow(2).sum() for w in weights)


@mistake("elastic_net_penalty", "l1 and l2 swapped")
def elastic_net_penalty__swapped(weights, l1, l2):
    _check_strengths(l1, l2)
    return l2 * _abs_sum(weights) + l1 * _square_sum(weights)


@mistake("elastic_net_penalty", "L1 term is missing")
def elastic_net_penalty__no_l1(weights, l1, l2):
    _check_strengths(l1, l2)
    return l2 * _square_sum(weights)


@mistake("elastic_net_penalty", "norm instead of its square")
def elastic_net_penalty__l2_norm(weights, l1, l2):
    _check_strengths(l1, l2)
    return l1 * _abs_sum(weights) + l2 * torch.cat([w.flatten() for w in weights]).norm()


@mistake("elastic_net_penalty", "factor 1/2")
def elastic_net_penalty__half_l2(weights, l1, l2):
    """The textbook's (lambda / 2) ||w||^2, where the contract's term is l2 * sum(w^2)."""
    _check_strengths(l1, l2)
    return l1 * _abs_sum(weights) + l2 / 2 * _square_sum(weights)


@mistake("elastic_net_penalty", "strengths were not applied")
def elastic_net_penalty__no_strengths(weights, l1, l2):
    _check_strengths(l1, l2)
    return _abs_sum(weights) + _square_sum(weights)


@mistake("elastic_net_penalty", "should raise ValueError")
def elastic_net_penalty__no_check(weights, l1, l2):
    return l1 * _abs_sum(weights) + l2 * _square_sum(weights)


@mistake("elastic_net_penalty", "should raise ValueError")
def elastic_net_penalty__checks_l1_only(weights, l1, l2):
    if l1 < 0:
        raise ValueError("l1 must be non-negative")
    return l1 * _abs_sum(weights) + l2 * _square_sum(weights)


@delegates("elastic_net_penalty")
def elastic_net_penalty__reference(weights, l1, l2):
    from helpers.reference import elastic_net_penalty

    return elastic_net_penalty(weights, l1, l2)


# ---------------------------------------------------------------- sgd_step_weight_decay

@correct("sgd_step_weight_decay")
def sgd_step_weight_decay__shrink_factor(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    return (1.0 - lr * weight_decay) * w - lr * grad


@correct("sgd_step_weight_decay")
def sgd_step_weight_decay__copy_then_update(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    new = w.copy()
    new -= lr * (grad + weight_decay * w)
    return new


@mistake("sgd_step_weight_decay", "sign error")
def sgd_step_weight_decay__sign_error(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    return w - lr * (grad - weight_decay * w)


@mistake("sgd_step_weight_decay", "up the gradient")
def sgd_step_weight_decay__up_the_gradient(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    return w + lr * (grad + weight_decay * w)


@mistake("sgd_step_weight_decay", "not multiplied by the learning rate")
def sgd_step_weight_decay__no_lr_on_decay(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    return w - lr * grad - weight_decay * w


@mistake("sgd_step_weight_decay", "applied after the step")
def sgd_step_weight_decay__decay_after_step(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    stepped = w - lr * grad
    return stepped - lr * weight_decay * stepped


@mistake("sgd_step_weight_decay", "2 * wd * w")
def sgd_step_weight_decay__twice_decay(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    return w - lr * (grad + 2 * weight_decay * w)


@mistake("sgd_step_weight_decay", "weight decay was left out")
def sgd_step_weight_decay__no_decay(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    return w - lr * grad


@mistake("sgd_step_weight_decay", "in place")
def sgd_step_weight_decay__in_place(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    w -= lr * (grad + weight_decay * w)
    return w


@mistake("sgd_step_weight_decay", "should raise ValueError")
def sgd_step_weight_decay__no_check(w, grad, lr, weight_decay):
    return w - lr * (grad + weight_decay * w)


@delegates("sgd_step_weight_decay")
def sgd_step_weight_decay__reference(w, grad, lr, weight_decay):
    from helpers.reference import sgd_step_weight_decay

    return sgd_step_weight_decay(w, grad, lr, weight_decay)


# ---------------------------------------------------------------- EarlyStopping

@correct("EarlyStopping")
class EarlyStopping__deepcopy:
    """Counts calls and remembers the best call's index instead of a counter of bad calls."""

    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("patience must be >= 1 and min_delta >= 0")
        self.patience, self.min_delta = patience, min_delta
        self.best_loss, self.best_epoch, self.best_state = float("inf"), None, None
        self.calls = 0

    def step(self, val_loss, model=None):
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch = val_loss, self.calls
            if model is not None:
                self.best_state = copy.deepcopy(model.state_dict())
        self.calls += 1
        return self.calls - 1 - self.best_epoch >= self.patience


class _EarlyStoppingBase:
    """A correct stopper whose parts the mistakes below override one at a time."""

    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("patience must be >= 1 and min_delta >= 0")
        self.patience, self.min_delta = patience, min_delta
        self.best_loss, self.best_epoch, self.best_state = math.inf, None, None
        self.calls, self.bad_calls, self.improvements = 0, 0, 0

    def improved(self, val_loss):
        return val_loss < self.best_loss - self.min_delta

    def save(self, model):
        return {k: v.clone() for k, v in model.state_dict().items()}

    def epoch(self):
        return self.calls

    def reset(self):
        self.bad_calls = 0

    def stop(self):
        return self.bad_calls >= self.patience

    def step(self, val_loss, model=None):
        if self.improved(val_loss):
            self.best_loss, self.best_epoch = val_loss, self.epoch()
            self.improvements += 1
            self.reset()
            if model is not None:
                self.best_state = self.save(model)
        else:
            self.bad_calls += 1
        self.calls += 1
        return self.stop()


@correct("EarlyStopping")
class EarlyStopping__returns_stop_once(_EarlyStoppingBase):
    """True exactly when the count reaches patience: a loop stops there, so it never sees
    what later calls would return."""

    def stop(self):
        return self.bad_calls == self.patience


@mistake("EarlyStopping", "live weights")
class EarlyStopping__state_reference(_EarlyStoppingBase):
    def save(self, model):
        return model.state_dict()


@mistake("EarlyStopping", "live weights")
class EarlyStopping__shallow_copy(_EarlyStoppingBase):
    def save(self, model):
        return dict(model.state_dict())


@mistake("EarlyStopping", "live weights")
class EarlyStopping__detached_state(_EarlyStoppingBase):
    """detach() makes a new tensor that shares the model's storage."""

    def save(self, model):
        return {k: v.detach() for k, v in model.state_dict().items()}


@mistake("EarlyStopping", "saved at every call")
class EarlyStopping__saves_every_call(_EarlyStoppingBase):
    def step(self, val_loss, model=None):
        if model is not None:
            self.best_state = self.save(model)
        return super().step(val_loss, None)


@mistake("EarlyStopping", "first call only")
class EarlyStopping__saves_first_only(_EarlyStoppingBase):
    def save(self, model):
        return self.best_state if self.best_state is not None else super().save(model)


@mistake("EarlyStopping", "<= instead of <")
class EarlyStopping__less_equal(_EarlyStoppingBase):
    def improved(self, val_loss):
        return val_loss <= self.best_loss - self.min_delta


@mistake("EarlyStopping", "min_delta is ignored")
class EarlyStopping__no_min_delta(_EarlyStoppingBase):
    def improved(self, val_loss):
        return val_loss < self.best_loss


@mistake("EarlyStopping", "min_delta has the wrong sign")
class EarlyStopping__min_delta_sign(_EarlyStoppingBase):
    def improved(self, val_loss):
        return val_loss < self.best_loss + self.min_delta


@mistake("EarlyStopping", "relative threshold", seen_by="hidden")
class EarlyStopping__relative_min_delta(_EarlyStoppingBase):
    """min_delta as a fraction of the best loss (ReduceLROnPlateau's default mode): where the
    best loss is near 1, as in the visible test, the two agree."""

    def improved(self, val_loss):
        return val_loss < self.best_loss * (1 - self.min_delta)


@mistake("EarlyStopping", "one call too early")
class EarlyStopping__patience_early(_EarlyStoppingBase):
    def stop(self):
        return self.bad_calls >= self.patience - 1


@mistake("EarlyStopping", "one call too late")
class EarlyStopping__patience_late(_EarlyStoppingBase):
    def stop(self):
        return self.bad_calls > self.patience


@mistake("EarlyStopping", "not reset to 0 after an improvement")
class EarlyStopping__no_reset(_EarlyStoppingBase):
    """Counts every call without an improvement since the start: it stops after patience
    bad calls in all, not patience in a row."""

    def reset(self):
        pass


@mistake("EarlyStopping", "counts from 1")
class EarlyStopping__one_based(_EarlyStoppingBase):
    def epoch(self):
        return self.calls + 1


@mistake("EarlyStopping", "counts the improvements")
class EarlyStopping__counts_improvements(_EarlyStoppingBase):
    def epoch(self):
        return self.improvements


@mistake("EarlyStopping", "should raise ValueError")
class EarlyStopping__no_check(_EarlyStoppingBase):
    def __init__(self, patience, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best_loss, self.best_epoch, self.best_state = math.inf, None, None
        self.calls, self.bad_calls, self.improvements = 0, 0, 0


@mistake("EarlyStopping", "should raise ValueError")
class EarlyStopping__checks_patience_only(_EarlyStoppingBase):
    def __init__(self, patience, min_delta=0.0):
        if patience < 1:
            raise ValueError("patience must be at least 1")
        self.patience, self.min_delta = patience, min_delta
        self.best_loss, self.best_epoch, self.best_state = math.inf, None, None
        self.calls, self.bad_calls, self.improvements = 0, 0, 0


@delegates("EarlyStopping")
class EarlyStopping__reference:
    def __init__(self, patience, min_delta=0.0):
        from helpers.reference import EarlyStopping

        self._inner = EarlyStopping(patience, min_delta)

    def step(self, val_loss, model=None):
        return self._inner.step(val_loss, model)

    def __getattr__(self, name):
        if name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)


# ---------------------------------------------------------------- ensemble_predict

@correct("ensemble_predict")
def ensemble_predict__stacked_mean(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
        return torch.mean(torch.stack([model(X).softmax(dim=-1) for model in models]), dim=0)


@correct("ensemble_predict")
def ensemble_predict__running_sum(models, X):
    total = 0
    for model in models:
        model.eval()
        total = total + torch.softmax(model(X), dim=1).detach()
    return total / len(models)


@correct("ensemble_predict")
def ensemble_predict__inference_mode_restores(models, X):
    """torch.inference_mode, and each model put back in the mode it came in."""
    probabilities = []
    with torch.inference_mode():
        for model in models:
            was_training = model.training
            model.eval()
            probabilities.append(torch.softmax(model(X), dim=1))
            model.train(was_training)
    return sum(probabilities) / len(probabilities)


@mistake("ensemble_predict", "averaged, then passed through softmax")
def ensemble_predict__mean_logits(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
        return torch.softmax(torch.stack([model(X) for model in models]).mean(dim=0), dim=1)


@mistake("ensemble_predict", "argmax votes")
def ensemble_predict__votes(models, X):
    with torch.no_grad():
        votes = []
        for model in models:
            model.eval()
            logits = model(X)
            votes.append(torch.nn.functional.one_hot(logits.argmax(dim=1), logits.shape[1]))
        return torch.stack(votes).float().mean(dim=0)


@mistake("ensemble_predict", "model.eval() was not called")
def ensemble_predict__no_eval(models, X):
    with torch.no_grad():
        return torch.stack([torch.softmax(model(X), dim=1) for model in models]).mean(dim=0)


@mistake("ensemble_predict", "with gradients on")
def ensemble_predict__with_grad(models, X):
    for model in models:
        model.eval()
    return torch.stack([torch.softmax(model(X), dim=1) for model in models]).mean(dim=0)


@mistake("ensemble_predict", "softmax over the wrong dimension")
def ensemble_predict__softmax_dim0(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
        return torch.stack([torch.softmax(model(X), dim=0) for model in models]).mean(dim=0)


@mistake("ensemble_predict", "log-probabilities were averaged")
def ensemble_predict__log_probs(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
        return torch.stack([torch.log_softmax(model(X), dim=1) for model in models]).mean(dim=0)


@mistake("ensemble_predict", "only the last model")
def ensemble_predict__last_model(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
            probabilities = torch.softmax(model(X), dim=1)
        return probabilities


@delegates("ensemble_predict")
def ensemble_predict__reference(models, X):
    from helpers.reference import ensemble_predict

    return ensemble_predict(models, X)
