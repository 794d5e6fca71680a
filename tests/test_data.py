"""helpers.data: every data set is seeded, shaped and typed as documented, and the adding
problem is what Hochreiter & Schmidhuber describe."""

import numpy as np
import pytest
import torch

from helpers.checks import check_close, check_raises
from helpers.data import (
    BOS,
    PAD,
    adding_problem,
    copy_task,
    noisy_spirals,
    teacher_regression,
    train_val_test_split,
)


def test_adding_problem_shapes_and_dtypes():
    X, y = adding_problem(7, 12, seed=0)
    assert (X.shape, y.shape) == ((7, 12, 2), (7, 1))
    assert X.dtype == y.dtype == torch.float32


def test_adding_problem_is_seeded():
    X, y = adding_problem(50, 20, seed=3)
    X_again, y_again = adding_problem(50, 20, seed=3)
    X_other, _ = adding_problem(50, 20, seed=4)
    assert torch.equal(X, X_again) and torch.equal(y, y_again)
    assert not torch.equal(X, X_other)
    X_rng, _ = adding_problem(50, 20, seed=np.random.default_rng(3))
    assert torch.equal(X, X_rng)


@pytest.mark.parametrize("length", [2, 3, 10, 51])
def test_adding_problem_marks_two_values_one_in_each_half(length):
    X, y = adding_problem(500, length, seed=1)
    values, markers = X[..., 0].double(), X[..., 1]
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    half = length // 2
    assert torch.all(markers[:, :half].sum(dim=1) == 1)
    assert torch.all(markers[:, half:].sum(dim=1) == 1)
    assert torch.all((values >= 0) & (values <= 1))
    marked_sum = (values * markers).sum(dim=1, keepdim=True)
    check_close("adding_problem: target", y.double(), marked_sum, rtol=1e-6, atol=1e-6)


def test_adding_problem_baseline_mse_is_one_sixth():
    # the target is a sum of two independent uniform(0, 1) draws: mean 1, variance 2/12 = 1/6;
    # the sample mean squared error of predicting 1 has standard error ~ 0.0012 for n = 20000
    _, y = adding_problem(20_000, 30, seed=2)
    mse = ((y.double() - 1.0) ** 2).mean().item()
    check_close("adding_problem: MSE of predicting 1", mse, 1 / 6, atol=0.006)


def test_adding_problem_rejects_a_length_below_two():
    check_raises("adding_problem", adding_problem, 5, 1, why="length 1")


def test_noisy_spirals_shapes_dtypes_and_seed():
    X, y = noisy_spirals(300, seed=0)
    X_again, y_again = noisy_spirals(300, seed=0)
    X_other, _ = noisy_spirals(300, seed=1)
    assert X.shape == (300, 2) and X.dtype == np.float64
    assert y.shape == (300,) and np.issubdtype(y.dtype, np.integer)
    assert set(np.unique(y)) == {0, 1}
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(X, X_other)


def test_noisy_spirals_flips_the_asked_fraction_of_labels():
    # same seed, so the same points: only the flips differ (binomial, standard error ~0.004)
    _, clean = noisy_spirals(10_000, label_noise=0.0, seed=5)
    _, noisy = noisy_spirals(10_000, label_noise=0.2, seed=5)
    check_close("noisy_spirals: fraction of flipped labels", np.mean(clean != noisy), 0.2,
                atol=0.02)


def test_split_is_a_seeded_partition():
    X, y = np.arange(100).reshape(50, 2), np.arange(50)
    parts = train_val_test_split(X, y, (0.6, 0.2, 0.2), seed=0)
    assert [len(part_y) for _, part_y in parts] == [30, 10, 10]
    indices = np.concatenate([part_y for _, part_y in parts])
    np.testing.assert_array_equal(np.sort(indices), np.arange(50))  # disjoint and complete
    for part_X, part_y in parts:
        np.testing.assert_array_equal(part_X[:, 0], 2 * part_y)  # rows stay with their labels
    again = train_val_test_split(X, y, (0.6, 0.2, 0.2), seed=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(parts, again, strict=True))


def test_split_rejects_fractions_that_do_not_sum_to_one():
    check_raises("train_val_test_split", train_val_test_split, np.zeros((4, 1)), np.zeros(4),
                 (0.5, 0.2, 0.2), why="fractions summing to 0.9")


def test_teacher_regression_is_seeded_and_follows_one_direction():
    X, y = teacher_regression(500, 8, seed=3)
    assert X.shape == (500, 8) and y.shape == (500, 1) and X.dtype == torch.float32
    again, _ = teacher_regression(500, 8, seed=3)
    assert torch.equal(X, again)
    # y = tanh(2 x.u): a least-squares fit of artanh(y) / 2 on x recovers u
    X64, y64 = X.double().numpy(), y.double().numpy()
    u, *_ = np.linalg.lstsq(X64, np.arctanh(y64) / 2, rcond=None)
    check_close("teacher_regression target", np.tanh(2 * X64 @ u), y64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("reverse", [False, True])
def test_copy_task_writes_each_sequence_back_after_its_padding(reverse):
    X, lengths, Y = copy_task(300, 2, 9, n_symbols=5, reverse=reverse, seed=4)
    assert X.shape == Y.shape == (300, 9) and lengths.shape == (300,)
    assert X.dtype == Y.dtype == lengths.dtype == torch.int64
    assert set(lengths.tolist()) == set(range(2, 10))
    for x, length, y in zip(X, lengths, Y, strict=True):
        sequence = x[:length]
        assert torch.all((sequence >= 2) & (sequence <= 6)) and BOS not in sequence
        assert torch.all(x[length:] == PAD) and torch.all(y[length:] == PAD)
        assert torch.equal(y[:length], sequence.flip(0) if reverse else sequence)


def test_copy_task_is_seeded_and_checks_its_arguments():
    first, again, other = (copy_task(20, 1, 6, seed=s) for s in (3, 3, 4))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])
    check_raises("copy_task", copy_task, 5, 4, 3, why="min_length > max_length")
    check_raises("copy_task", copy_task, 5, 0, 3, why="min_length 0")
    check_raises("copy_task", copy_task, 5, 1, 3, n_symbols=0, why="no symbols")
