"""05_overfitting_regularization: standardize against torch's statistics, dropout against the
statistics of nn.Dropout, the penalties against torch norms and autograd, the weight-decay
step against torch.optim.SGD, early stopping on losses whose outcome is derived by hand, and
ensembles against softmax averaging."""

import copy

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from oracles import ORACLE, reference_and_twin, verdict
from torch import nn

from helpers import reference
from helpers.checks import check_close, check_inputs_unchanged, check_raises

seeds = st.integers(0, 2**32 - 1)
finite = st.floats(-10, 10, allow_nan=False)


# ---------------------------------------------------------------- wrong twins


def statistics_of_the_other_set(X_train, X_other):
    mean, std = X_other.mean(axis=0), X_other.std(axis=0)
    scale = np.where(std > 0, std, 1.0)
    return (X_train - mean) / scale, (X_other - mean) / scale


def without_rescaling(x, p, training, rng):
    if not training:
        return x, None
    mask = (rng.random(x.shape) >= p).astype(np.float64)
    return x * mask, mask


def l1_without_abs(weights):
    return sum(w.sum() for w in weights)


def l2_as_norm(weights):
    return torch.sqrt(reference.l2_penalty(weights))


def strengths_swapped(weights, l1, l2):
    return reference.elastic_net_penalty(weights, l2, l1)


def decay_without_lr(w, grad, lr, weight_decay):
    return w - lr * grad - weight_decay * w


class KeepsAReference(reference.EarlyStopping):
    """Stores model.state_dict() itself: its tensors are the model's, and change with it."""

    def step(self, val_loss, model=None):
        best_before = self.best_loss
        stop = super().step(val_loss, model)
        if model is not None and self.best_loss != best_before:
            self.best_state = model.state_dict()
        return stop


class NeverResetsItsCount(reference.EarlyStopping):
    """Counts every call without an improvement since the start, not in a row."""

    def step(self, val_loss, model=None):
        waited = self.steps_without_improvement
        stop = super().step(val_loss, model)
        if self.steps_without_improvement == 0:
            self.steps_without_improvement = waited
            stop = waited >= self.patience
        return stop


class IgnoresMinDelta(reference.EarlyStopping):
    def __init__(self, patience, min_delta=0.0):
        super().__init__(patience, 0.0)


def averages_logits(models, X):
    with torch.no_grad():
        for model in models:
            model.eval()
        return torch.softmax(torch.stack([m(X) for m in models]).mean(dim=0), dim=1)


# ---------------------------------------------------------------- standardize


def assert_standardize_matches_torch(standardize):
    @ORACLE
    @given(n_train=st.integers(2, 8), n_other=st.integers(1, 5), features=st.integers(1, 4),
           seed=seeds)
    def run(n_train, n_other, features, seed):
        rng = np.random.default_rng(seed)
        X_train = rng.normal(3.0, 2.0, (n_train, features))
        X_train[:, 0] = 5.0  # a constant feature: only centred
        X_other = rng.normal(-1.0, 4.0, (n_other, features))
        train, other = check_inputs_unchanged("standardize", standardize, X_train, X_other)
        t = torch.tensor(X_train)
        mean, std = t.mean(dim=0), t.std(dim=0, correction=0)
        std = torch.where(std > 0, std, torch.ones_like(std))
        check_close("standardize: training set", train, ((t - mean) / std).numpy(),
                    dtype=np.float64)
        check_close("standardize: other set", other, ((torch.tensor(X_other) - mean) / std).numpy(),
                    dtype=np.float64)

    run()


@reference_and_twin(reference.standardize, statistics_of_the_other_set)
def test_standardize_matches_torch(impl, is_right):
    verdict(is_right, assert_standardize_matches_torch, impl)


def test_standardize_rejects_mismatched_features():
    check_raises("standardize", reference.standardize, np.ones((3, 2)), np.ones((3, 4)),
                 why="sets with different numbers of features")


# ---------------------------------------------------------------- dropout


def dropout_statistics(out, x, p):
    """Fraction kept and the values a kept element takes, relative to x."""
    kept = out != 0
    return kept.mean(), np.unique(np.round(out[kept] / x[kept], 12))


def assert_dropout_behaves_like_nn_dropout(dropout):
    n = 200_000
    rng = np.random.default_rng(0)
    x = rng.uniform(1.0, 2.0, n)  # never 0, so a zero in out means dropped
    for p in (0.1, 0.5, 0.8):
        out, mask = dropout(x, p, True, np.random.default_rng(1))
        torch.manual_seed(0)
        torch_out = nn.Dropout(p)(torch.tensor(x)).numpy()
        kept, scales = dropout_statistics(out, x, p)
        torch_kept, torch_scales = dropout_statistics(torch_out, x, p)
        # the kept fractions are binomial: standard error sqrt(p (1 - p) / n) < 0.0012
        check_close(f"dropout_forward(p={p}): fraction kept", kept, 1 - p, atol=0.006)
        check_close(f"dropout_forward(p={p}): fraction kept vs nn.Dropout", kept, torch_kept,
                    atol=0.008)
        check_close(f"dropout_forward(p={p}): kept values / x", scales, torch_scales)
        check_close(f"dropout_forward(p={p}): mean", out.mean(), x.mean(), rtol=0.01)
        check_close(f"dropout_forward(p={p}): out", out, x * mask)


@reference_and_twin(reference.dropout_forward, without_rescaling)
def test_dropout_behaves_like_nn_dropout(impl, is_right):
    verdict(is_right, assert_dropout_behaves_like_nn_dropout, impl)


def test_dropout_mask_values_and_determinism():
    x = np.random.default_rng(0).standard_normal((50, 40))
    out, mask = check_inputs_unchanged("dropout_forward", reference.dropout_forward, x, 0.3, True,
                                       np.random.default_rng(5))
    assert set(np.unique(mask)) <= {0.0, 1 / 0.7}
    again, _ = reference.dropout_forward(x, 0.3, True, np.random.default_rng(5))
    other, _ = reference.dropout_forward(x, 0.3, True, np.random.default_rng(6))
    np.testing.assert_array_equal(out, again)
    assert not np.array_equal(out, other)


def test_dropout_with_p_zero_and_in_eval_changes_nothing():
    x = np.random.default_rng(0).standard_normal((4, 5))
    out, mask = reference.dropout_forward(x, 0.0, True, np.random.default_rng(0))
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(mask, np.ones_like(x))
    out, mask = reference.dropout_forward(x, 0.5, False, np.random.default_rng(0))
    assert mask is None
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rejects_p_outside_the_unit_interval(p):
    check_raises("dropout_forward", reference.dropout_forward, np.ones(3), p, True,
                 np.random.default_rng(0), why=f"p = {p}")


# ---------------------------------------------------------------- penalties

weight_lists = st.lists(arrays(np.float64, array_shapes(max_dims=2, max_side=4), elements=finite),
                        min_size=1, max_size=3)


def as_leaves(arrays_):
    return [torch.tensor(a, requires_grad=True) for a in arrays_]


def assert_penalty_matches_torch(penalty, norm_of_all, gradient):
    @ORACLE
    @given(weights=weight_lists)
    def run(weights):
        leaves = as_leaves(weights)
        value = penalty(leaves)
        flat = torch.cat([torch.tensor(w).flatten() for w in weights])
        check_close("penalty vs torch", value, norm_of_all(flat))
        value.backward()
        for leaf, w in zip(leaves, weights, strict=True):
            check_close("penalty gradient vs autograd", leaf.grad.numpy(), gradient(w))

    run()


def abs_sum(flat):
    return torch.linalg.vector_norm(flat, ord=1)


def square_sum(flat):
    return torch.linalg.vector_norm(flat, ord=2) ** 2


@reference_and_twin(reference.l1_penalty, l1_without_abs)
def test_l1_penalty_matches_torch(impl, is_right):
    verdict(is_right, assert_penalty_matches_torch, impl, abs_sum, np.sign)


@reference_and_twin(reference.l2_penalty, l2_as_norm)
def test_l2_penalty_matches_torch(impl, is_right):
    verdict(is_right, assert_penalty_matches_torch, impl, square_sum, lambda w: 2 * w)


@reference_and_twin(reference.elastic_net_penalty, strengths_swapped)
def test_elastic_net_penalty_matches_torch(impl, is_right):
    l1, l2 = 0.3, 0.05

    def penalty(leaves):
        return impl(leaves, l1, l2)

    verdict(is_right, assert_penalty_matches_torch, penalty,
            lambda flat: l1 * abs_sum(flat) + l2 * square_sum(flat),
            lambda w: l1 * np.sign(w) + 2 * l2 * w)


def test_elastic_net_rejects_negative_strengths():
    check_raises("elastic_net_penalty", reference.elastic_net_penalty, [torch.ones(2)], -1.0, 0.1,
                 why="a negative l1")


# ---------------------------------------------------------------- weight decay


def assert_step_matches_torch_sgd(step):
    @ORACLE
    @given(shape=array_shapes(max_dims=2, max_side=4), lr=st.floats(0, 1),
           weight_decay=st.floats(0, 1), seed=seeds)
    def run(shape, lr, weight_decay, seed):
        rng = np.random.default_rng(seed)
        w, grad = rng.standard_normal(shape), rng.standard_normal(shape)
        got = check_inputs_unchanged("sgd_step_weight_decay", step, w, grad, lr, weight_decay)
        parameter = torch.tensor(w, requires_grad=True)
        parameter.grad = torch.tensor(grad)
        torch.optim.SGD([parameter], lr=lr, weight_decay=weight_decay).step()
        check_close("sgd_step_weight_decay vs torch.optim.SGD", got, parameter.detach().numpy(),
                    dtype=np.float64)

    run()


@reference_and_twin(reference.sgd_step_weight_decay, decay_without_lr)
def test_sgd_step_weight_decay_matches_torch(impl, is_right):
    verdict(is_right, assert_step_matches_torch_sgd, impl)


def test_sgd_step_rejects_bad_arguments():
    check_raises("sgd_step_weight_decay", reference.sgd_step_weight_decay, np.ones(3), np.ones(2),
                 0.1, 0.01, why="w and grad of different shapes")
    check_raises("sgd_step_weight_decay", reference.sgd_step_weight_decay, np.ones(3), np.ones(3),
                 -0.1, 0.01, why="a negative learning rate")


# ---------------------------------------------------------------- early stopping


def assert_min_delta_counts(stopping_class):
    # min_delta = 0.1: 1.0 is the first best; 0.95 and 0.91 improve by less than 0.1, so they
    # are the 1st and 2nd calls without an improvement, and patience 2 stops at the 0.91.
    stopper = stopping_class(patience=2, min_delta=0.1)
    decisions = [stopper.step(loss) for loss in (1.0, 0.95, 0.91)]
    assert decisions == [False, False, True], decisions
    assert (stopper.best_loss, stopper.best_epoch) == (1.0, 0)


@reference_and_twin(reference.EarlyStopping, IgnoresMinDelta)
def test_early_stopping_respects_min_delta(impl, is_right):
    verdict(is_right, assert_min_delta_counts, impl)


def assert_counts_calls_in_a_row(stopping_class):
    # losses 3, 2, 2.5, 1, 1.5, 1.2, 1.1: the best is 1 at call 3; the calls after it (1.5,
    # 1.2, 1.1) are 1, 2, 3 without an improvement, so patience 3 stops at the last one (a
    # count not reset at call 3 would stop at call 5, its 3rd bad call in all).
    stopper = stopping_class(patience=3)
    decisions = [stopper.step(loss) for loss in (3, 2, 2.5, 1, 1.5, 1.2, 1.1)]
    assert decisions == [False] * 6 + [True], decisions
    assert (stopper.best_loss, stopper.best_epoch, stopper.best_state) == (1, 3, None)


@reference_and_twin(reference.EarlyStopping, NeverResetsItsCount)
def test_early_stopping_counts_calls_without_improvement_in_a_row(impl, is_right):
    verdict(is_right, assert_counts_calls_in_a_row, impl)


def assert_best_state_is_frozen(stopping_class):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    stopper = stopping_class(patience=5)
    stopper.step(1.0, model)
    snapshot = copy.deepcopy(model.state_dict())
    for loss in (1.2, 1.3):  # worse: the model keeps training, in place
        optimizer.zero_grad()
        model(torch.randn(4, 3)).sum().backward()
        optimizer.step()
        stopper.step(loss, model)
    assert not torch.equal(model.weight, snapshot["weight"]), "the test must change the model"
    assert stopper.best_epoch == 0
    for key, value in snapshot.items():
        check_close(f"EarlyStopping.best_state[{key!r}]", stopper.best_state[key], value)


@reference_and_twin(reference.EarlyStopping, KeepsAReference)
def test_early_stopping_best_state_is_a_copy(impl, is_right):
    verdict(is_right, assert_best_state_is_frozen, impl)


@pytest.mark.parametrize("args", [(0,), (2, -0.1)], ids=["patience 0", "negative min_delta"])
def test_early_stopping_rejects_bad_arguments(args):
    check_raises("EarlyStopping", reference.EarlyStopping, *args, why=f"EarlyStopping{args}")


# ---------------------------------------------------------------- ensembles


def assert_ensemble_averages_probabilities(ensemble):
    torch.manual_seed(0)
    models = [nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.5), nn.Linear(16, 3)).double()
              for _ in range(3)]
    X = torch.randn(10, 4, dtype=torch.float64)
    with torch.no_grad():
        expected = torch.stack([torch.softmax(m.eval()(X), dim=1) for m in models]).mean(dim=0)
    for m in models:
        m.train()  # ensemble_predict must switch dropout off itself
    got = ensemble(models, X)
    assert not got.requires_grad, "predict without gradients (torch.no_grad())"
    check_close("ensemble_predict vs mean of softmax", got, expected)
    check_close("ensemble_predict: rows sum to 1", got.sum(dim=1), torch.ones(10, dtype=got.dtype))


@reference_and_twin(reference.ensemble_predict, averages_logits)
def test_ensemble_predict_averages_probabilities(impl, is_right):
    verdict(is_right, assert_ensemble_averages_probabilities, impl)


def test_ensemble_predict_rejects_an_empty_ensemble():
    check_raises("ensemble_predict", reference.ensemble_predict, [], torch.ones(2, 3),
                 why="an ensemble without models")
