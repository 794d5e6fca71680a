"""Every data set of the course, generated offline from a seed.

Sequences are batch first: X is (N, T, D). Nothing here touches the network.
"""

import numpy as np
import torch

PAD, BOS = 0, 1  # token ids of the sequence tasks: padding, and the start of an output


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def adding_problem(n, length, seed=0):
    """Hochreiter & Schmidhuber's adding problem.

    Each sequence has two channels: a value drawn uniformly from [0, 1] and a marker
    that is 1 at exactly two steps (one in each half of the sequence) and 0 elsewhere.
    The target is the sum of the two marked values. Predicting the mean (1.0) gives a
    mean squared error of about 1/6 = 0.167; beating it means remembering across
    up to ``length`` steps.

    Returns float32 tensors X (n, length, 2) and y (n, 1).
    """
    if length < 2:
        raise ValueError(f"the adding problem needs length >= 2, got {length}")
    rng = _rng(seed)
    values = rng.uniform(0.0, 1.0, size=(n, length))
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((n, length))
    markers[np.arange(n), first] = 1.0
    markers[np.arange(n), second] = 1.0
    X = np.stack([values, markers], axis=-1)
    y = (values * markers).sum(axis=1, keepdims=True)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


def noisy_spirals(n, noise=0.15, label_noise=0.1, turns=1.5, seed=0):
    """Two interleaved spirals in the plane, a classic set on which an MLP overfits.

    ``noise`` blurs the points, ``label_noise`` is the fraction of labels flipped at
    random: a network that fits those has learned the noise. Returns a float64
    array X (n, 2) and integer labels y (n,) in {0, 1}.
    """
    rng = _rng(seed)
    y = rng.integers(0, 2, size=n)
    t = np.sqrt(rng.uniform(0.05, 1.0, size=n)) * turns * 2 * np.pi
    radius = t / (turns * 2 * np.pi)
    angle = t + np.pi * y
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    X += rng.normal(0.0, noise * 0.5, size=X.shape) * radius[:, None] + rng.normal(
        0.0, noise * 0.1, size=X.shape
    )
    flip = rng.random(n) < label_noise
    y = np.where(flip, 1 - y, y)
    return X, y


def teacher_regression(n, dim, seed=0):
    """A smooth target of one hidden direction: y = tanh(2 x.u), x ~ N(0, I), |u| ~ 1.

    Easy for a network whose gradients reach its first layers; predicting the mean
    gives a mean squared error of var(y) (about 0.6). Returns float32 tensors
    X (n, dim) and y (n, 1).
    """
    rng = _rng(seed)
    X = rng.normal(size=(n, dim))
    u = rng.normal(size=dim) / np.sqrt(dim)
    y = np.tanh(2.0 * X @ u)[:, None]
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


def train_val_test_split(X, y, fractions=(0.6, 0.2, 0.2), seed=0):
    """Shuffle once, then cut into consecutive train, validation and test parts."""
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, "
                         f"got {fractions}")
    order = _rng(seed).permutation(len(X))
    n_train = int(round(fractions[0] * len(X)))
    n_val = int(round(fractions[1] * len(X)))
    parts = np.split(order, [n_train, n_train + n_val])
    return [(X[idx], y[idx]) for idx in parts]


def copy_task(n, min_length, max_length, n_symbols=10, reverse=False, seed=0):
    """Sequences of random symbols to be written back: a task whose alignment is known.
    Output step t reads input position t (the diagonal), or with ``reverse`` position
    length - 1 - t (the anti-diagonal).

    Lengths are uniform in [min_length, max_length]; symbols are uniform over the token ids
    2 .. n_symbols + 1 (0 is PAD, 1 is BOS). Returns int64 tensors X (n, max_length), each
    row a sequence followed by PAD; lengths (n,); and the targets Y (n, max_length), equal to
    X, or with ``reverse`` Y[i, t] = X[i, lengths[i] - 1 - t] for t < lengths[i] and PAD after.
    """
    if not 1 <= min_length <= max_length:
        raise ValueError(f"lengths must satisfy 1 <= min_length <= max_length, got "
                         f"{min_length} and {max_length}")
    if n_symbols < 1:
        raise ValueError(f"n_symbols must be at least 1, got {n_symbols}")
    rng = _rng(seed)
    lengths = rng.integers(min_length, max_length + 1, size=n)
    symbols = rng.integers(2, 2 + n_symbols, size=(n, max_length))
    position = np.arange(max_length)[None, :]
    inside = position < lengths[:, None]
    X = np.where(inside, symbols, PAD)
    read = np.where(inside, lengths[:, None] - 1 - position, position) if reverse else position
    Y = np.take_along_axis(X, read, axis=1)
    return torch.tensor(X), torch.tensor(lengths), torch.tensor(Y)
