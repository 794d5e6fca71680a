"""05_overfitting_regularization: the remedies for overfitting, one function each."""

import math

import numpy as np
import torch


def standardize(X_train, X_other):
    """Centre and scale both sets with the training set's statistics only."""
    if X_train.ndim != 2 or X_other.ndim != 2 or X_train.shape[1] != X_other.shape[1]:
        raise ValueError(
            f"both sets must be (N, F) with the same F, got {X_train.shape} and {X_other.shape}"
        )
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    scale = np.where(std > 0, std, 1.0)  # a constant feature is only centred
    return (X_train - mean) / scale, (X_other - mean) / scale


def dropout_forward(x, p, training, rng):
    """Inverted dropout: drop with probability p, scale the survivors by 1 / (1 - p)."""
    if not 0 <= p < 1:
        raise ValueError(f"the drop probability p must be in [0, 1), got {p}")
    if not training:
        return x, None
    keep = rng.random(x.shape) >= p
    mask = keep / (1.0 - p)
    return x * mask, mask


def l1_penalty(weights):
    return sum((w.abs().sum() for w in weights), torch.tensor(0.0))


def l2_penalty(weights):
    return sum(((w**2).sum() for w in weights), torch.tensor(0.0))


def elastic_net_penalty(weights, l1, l2):
    if l1 < 0 or l2 < 0:
        raise ValueError(f"penalty strengths must be non-negative, got l1={l1}, l2={l2}")
    return l1 * l1_penalty(weights) + l2 * l2_penalty(weights)


def sgd_step_weight_decay(w, grad, lr, weight_decay):
    """One step of torch.optim.SGD with weight_decay: the decay is the gradient of
    (weight_decay / 2) * ||w||^2, added to the loss gradient."""
    if w.shape != grad.shape:
        raise ValueError(f"w and grad must have the same shape, got {w.shape} and {grad.shape}")
    if lr < 0 or weight_decay < 0:
        raise ValueError(f"lr and weight_decay must be non-negative, got {lr} and {weight_decay}")
    return w - lr * (grad + weight_decay * w)


class EarlyStopping:
    """Stop after `patience` validation losses in a row without an improvement."""

    def __init__(self, patience, min_delta=0.0):
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be non-negative, got {min_delta}")
        self.patience, self.min_delta = patience, min_delta
        self.best_loss = math.inf
        self.best_epoch = None
        self.best_state = None
        self.steps = 0
        self.steps_without_improvement = 0

    def step(self, val_loss, model=None):
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch = val_loss, self.steps
            self.steps_without_improvement = 0
            if model is not None:  # a copy: training goes on changing the model's tensors
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.steps_without_improvement += 1
        self.steps += 1
        return self.steps_without_improvement >= self.patience


def ensemble_predict(models, X):
    """Model averaging: the mean of the members' class probabilities."""
    if not models:
        raise ValueError("an ensemble needs at least one model")
    probabilities = []
    with torch.no_grad():
        for model in models:
            was_training = model.training
            model.eval()
            probabilities.append(torch.softmax(model(X), dim=1))
            model.train(was_training)
    return torch.stack(probabilities).mean(dim=0)
