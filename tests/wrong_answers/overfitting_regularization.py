"""Answers students write for 05_overfitting_regularization: mistakes, and correct answers
written differently from the reference. ``tests/test_hidden_overfitting_regularization.py`` proves
that the hidden checks fail on each mistake, naming it, and pass every correct variant.

Names read ``<graded name>__<what it does>``.
"""

import copy
import math

import numpy as np
import torch

import helpers.reference as reference


def _check_p(p):
    if not 0 <= p < 1:
        raise ValueError(f"p must be in [0, 1), got {p}")


def _check_features(X_train, X_other):
    if X_train.shape[1] != X_other.shape[1]:
        raise ValueError("both sets need the same number of features")


# ---------------------------------------------------------------- standardize

def standardize__np_divide_where(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = np.mean(X_train, axis=0), np.std(X_train, axis=0)

    def scale(X):
        centred = X - mean
        return np.divide(centred, std, out=centred.copy(), where=std != 0)

    return scale(X_train), scale(X_other)


def standardize__manual_formula(X_train, X_other):
    _check_features(X_train, X_other)
    n = X_train.shape[0]
    mean = X_train.sum(axis=0) / n
    std = np.sqrt(((X_train - mean) ** 2).sum(axis=0) / n)
    std[std == 0] = 1.0
    return (X_train - mean) / std, (X_other - mean) / std


def standardize__other_stats(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = X_other.mean(axis=0), X_other.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_other - mean) / std


def standardize__both_sets(X_train, X_other):
    _check_features(X_train, X_other)
    both = np.concatenate([X_train, X_other])
    mean, std = both.mean(axis=0), both.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_other - mean) / std


def standardize__own_stats(X_train, X_other):
    _check_features(X_train, X_other)

    def scale(X):
        std = X.std(axis=0)
        return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)

    return scale(X_train), scale(X_other)


def standardize__ddof1(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0, ddof=1)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_other - mean) / std


def standardize__divide_by_zero(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return (X_train - mean) / std, (X_other - mean) / std


def standardize__not_centred(X_train, X_other):
    _check_features(X_train, X_other)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return X_train / std, X_other / std


def standardize__constant_left_alone(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    constant = std == 0
    mean = np.where(constant, 0.0, mean)
    std = np.where(constant, 1.0, std)
    return (X_train - mean) / std, (X_other - mean) / std


def standardize__in_place(X_train, X_other):
    _check_features(X_train, X_other)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    X_other -= mean
    X_other /= std
    X_train -= mean
    X_train /= std
    return X_train, X_other


# ---------------------------------------------------------------- dropout_forward

def dropout_forward__binomial(x, p, training, rng):
    _check_p(p)
    if not training:
        return x, None
    mask = rng.binomial(1, 1.0 - p, size=x.shape) / (1.0 - p)
    return x * mask, mask


def dropout_forward__torch_dropout(x, p, training, rng):
    """PyTorch's own dropout kernel on a tensor of ones gives the mask, with torch's
    generator seeded from the given rng (and restored afterwards)."""
    _check_p(p)
    if not training:
        return x, None
    with torch.random.fork_rng():
        torch.manual_seed(int(rng.integers(2**62)))
        ones = torch.ones(x.shape, dtype=torch.float64)
        mask = torch.nn.functional.dropout(ones, p=p, training=True).numpy()
    return x * mask, mask


def dropout_forward__no_rescale(x, p, training, rng):
    _check_p(p)
    if not training:
        return x, None
    mask = (rng.random(x.shape) >= p).astype(np.float64)
    return x * mask, mask


def dropout_forward__keep_p(x, p, training, rng):
    _check_p(p)
    if not training:
        return x, None
    mask = (rng.random(x.shape) < p) / p if p > 0 else np.ones_like(x)
    return x * mask, mask


def dropout_forward__keep_p_scaled_right(x, p, training, rng):
    _check_p(p)
    if not training:
        return x, None
    mask = (rng.random(x.shape) < p) / (1.0 - p)
    return x * mask, mask


def dropout_forward__active_in_eval(x, p, training, rng):
    _check_p(p)
    mask = (rng.random(x.shape) >= p) / (1.0 - p)
    return x * mask, mask


def dropout_forward__vanilla(x, p, training, rng):
    """The original dropout: no scaling in training, multiply by 1 - p at test time."""
    _check_p(p)
    if not training:
        return x * (1.0 - p), None
    mask = (rng.random(x.shape) >= p).astype(np.float64)
    return x * mask, mask


def dropout_forward__global_rng(x, p, training, rng):
    _check_p(p)
    if not training:
        return x, None
    mask = (np.random.rand(*x.shape) >= p) / (1.0 - p)
    return x * mask, mask


def dropout_forward__in_place(x, p, training, rng):
    _check_p(p)
    if not training:
        return x, None
    mask = (rng.random(x.shape) >= p) / (1.0 - p)
    x *= mask
    return x, mask


def dropout_forward__no_p_check(x, p, training, rng):
    if not training:
        return x, None
    mask = (rng.random(x.shape) >= p) / (1.0 - p) if p != 1 else np.zeros_like(x)
    return x * mask, mask


# ---------------------------------------------------------------- penalties

def l1_penalty__stacked(weights):
    return torch.cat([w.flatten() for w in weights]).abs().sum()


def l1_penalty__norm1(weights):
    return sum(torch.linalg.vector_norm(w, ord=1) for w in weights)


def l1_penalty__no_abs(weights):
    return sum(w.sum() for w in weights)


def l1_penalty__mean(weights):
    return torch.cat([w.flatten() for w in weights]).abs().mean()


def l1_penalty__python_float(weights):
    return sum(w.abs().sum().item() for w in weights)


def l1_penalty__detached(weights):
    return sum(w.detach().abs().sum() for w in weights)


def l1_penalty__numpy(weights):
    return torch.tensor(sum(np.abs(w.detach().numpy()).sum() for w in weights))


def l2_penalty__stacked(weights):
    flat = torch.cat([w.flatten() for w in weights])
    return flat @ flat


def l2_penalty__squared_norms(weights):
    return sum(torch.linalg.norm(w) ** 2 for w in weights)


def l2_penalty__norm(weights):
    return torch.cat([w.flatten() for w in weights]).norm()


def l2_penalty__half(weights):
    return 0.5 * sum((w**2).sum() for w in weights)


def l2_penalty__sum_of_norms(weights):
    return sum(w.norm() for w in weights)


def l2_penalty__python_float(weights):
    return float(sum((w.detach() ** 2).sum() for w in weights))


def l2_penalty__data(weights):
    return sum((w.data**2).sum() for w in weights)


def elastic_net_penalty__own_terms(weights, l1, l2):
    if l1 < 0 or l2 < 0:
        raise ValueError("strengths must be non-negative")
    return sum(l1 * w.abs().sum() + l2 * w.pow(2).sum() for w in weights)


def elastic_net_penalty__swapped(weights, l1, l2):
    if l1 < 0 or l2 < 0:
        raise ValueError("strengths must be non-negative")
    return l2 * l1_penalty__stacked(weights) + l1 * l2_penalty__stacked(weights)


def elastic_net_penalty__no_l1(weights, l1, l2):
    if l1 < 0 or l2 < 0:
        raise ValueError("strengths must be non-negative")
    return l2 * l2_penalty__stacked(weights)


def elastic_net_penalty__l2_norm(weights, l1, l2):
    if l1 < 0 or l2 < 0:
        raise ValueError("strengths must be non-negative")
    return l1 * l1_penalty__stacked(weights) + l2 * l2_penalty__norm(weights)


def elastic_net_penalty__no_check(weights, l1, l2):
    return l1 * l1_penalty__stacked(weights) + l2 * l2_penalty__stacked(weights)


# ---------------------------------------------------------------- sgd_step_weight_decay

def _check_same_shape(w, grad):
    if w.shape != grad.shape:
        raise ValueError("w and grad must have the same shape")


def sgd_step_weight_decay__shrink_factor(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    return (1.0 - lr * weight_decay) * w - lr * grad


def sgd_step_weight_decay__sign_error(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    return w - lr * (grad - weight_decay * w)


def sgd_step_weight_decay__no_lr_on_decay(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    return w - lr * grad - weight_decay * w


def sgd_step_weight_decay__decay_after_step(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    stepped = w - lr * grad
    return stepped - lr * weight_decay * stepped


def sgd_step_weight_decay__twice_decay(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    return w - lr * (grad + 2 * weight_decay * w)


def sgd_step_weight_decay__in_place(w, grad, lr, weight_decay):
    _check_same_shape(w, grad)
    w -= lr * (grad + weight_decay * w)
    return w


# ---------------------------------------------------------------- EarlyStopping

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
        self.calls, self.bad_calls = 0, 0

    def improved(self, val_loss):
        return val_loss < self.best_loss - self.min_delta

    def save(self, model):
        return {k: v.clone() for k, v in model.state_dict().items()}

    def epoch(self):
        return self.calls

    def stop(self):
        return self.bad_calls >= self.patience

    def step(self, val_loss, model=None):
        if self.improved(val_loss):
            self.best_loss, self.best_epoch, self.bad_calls = val_loss, self.epoch(), 0
            if model is not None:
                self.best_state = self.save(model)
        else:
            self.bad_calls += 1
        self.calls += 1
        return self.stop()


class EarlyStopping__state_reference(_EarlyStoppingBase):
    def save(self, model):
        return model.state_dict()


class EarlyStopping__shallow_copy(_EarlyStoppingBase):
    def save(self, model):
        return dict(model.state_dict())


class EarlyStopping__less_equal(_EarlyStoppingBase):
    def improved(self, val_loss):
        return val_loss <= self.best_loss - self.min_delta


class EarlyStopping__no_min_delta(_EarlyStoppingBase):
    def improved(self, val_loss):
        return val_loss < self.best_loss


class EarlyStopping__patience_early(_EarlyStoppingBase):
    def stop(self):
        return self.bad_calls >= self.patience - 1


class EarlyStopping__patience_late(_EarlyStoppingBase):
    def stop(self):
        return self.bad_calls > self.patience


class EarlyStopping__one_based(_EarlyStoppingBase):
    def epoch(self):
        return self.calls + 1


class EarlyStopping__saves_every_call(_EarlyStoppingBase):
    def step(self, val_loss, model=None):
        if model is not None:
            self.best_state = self.save(model)
        return super().step(val_loss, None)


class EarlyStopping__no_check(_EarlyStoppingBase):
    def __init__(self, patience, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best_loss, self.best_epoch, self.best_state = math.inf, None, None
        self.calls, self.bad_calls = 0, 0


# ---------------------------------------------------------------- ensemble_predict

def ensemble_predict__stacked_mean(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
        return torch.mean(torch.stack([model(X).softmax(dim=-1) for model in models]), dim=0)


def ensemble_predict__running_sum(models, X):
    total = 0
    for model in models:
        model.eval()
        total = total + torch.softmax(model(X), dim=1).detach()
    return total / len(models)


def ensemble_predict__mean_logits(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
        return torch.softmax(torch.stack([model(X) for model in models]).mean(dim=0), dim=1)


def ensemble_predict__votes(models, X):
    with torch.no_grad():
        votes = []
        for model in models:
            model.eval()
            logits = model(X)
            votes.append(torch.nn.functional.one_hot(logits.argmax(dim=1), logits.shape[1]))
        return torch.stack(votes).float().mean(dim=0)


def ensemble_predict__no_eval(models, X):
    with torch.no_grad():
        return torch.stack([torch.softmax(model(X), dim=1) for model in models]).mean(dim=0)


def ensemble_predict__with_grad(models, X):
    for model in models:
        model.eval()
    return torch.stack([torch.softmax(model(X), dim=1) for model in models]).mean(dim=0)


def ensemble_predict__softmax_dim0(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
        return torch.stack([torch.softmax(model(X), dim=0) for model in models]).mean(dim=0)


def ensemble_predict__log_probs(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
        return torch.stack([torch.log_softmax(model(X), dim=1) for model in models]).mean(dim=0)


def ensemble_predict__last_model(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
            probabilities = torch.softmax(model(X), dim=1)
        return probabilities


# ---------------------------------------------------------------- delegating to the reference

def standardize__reference(X_train, X_other):
    return reference.standardize(X_train, X_other)


def dropout_forward__reference(x, p, training, rng):
    return reference.dropout_forward(x, p, training, rng)


def l1_penalty__reference(weights):
    return reference.l1_penalty(weights)


def l2_penalty__reference(weights):
    return reference.l2_penalty(weights)


def elastic_net_penalty__reference(weights, l1, l2):
    return reference.elastic_net_penalty(weights, l1, l2)


def sgd_step_weight_decay__reference(w, grad, lr, weight_decay):
    return reference.sgd_step_weight_decay(w, grad, lr, weight_decay)


class EarlyStopping__reference(reference.EarlyStopping):
    pass


def ensemble_predict__reference(models, X):
    return reference.ensemble_predict(models, X)
