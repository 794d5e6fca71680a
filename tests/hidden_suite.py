"""What every tests/test_hidden_<topic>.py asserts about its hidden checks: correct answers
pass, each known mistake fails with a message that names it, delegation is caught."""

import numpy as np
import pytest
import torch

from helpers.checks import CheckFailure
from helpers.hidden import seal


def answer_id(value):
    """A parametrize id: the answer's function name."""
    return getattr(value, "__name__", None) or ""


@pytest.fixture
def seal_lifted(monkeypatch):
    """The reference lives in helpers.reference, which the seal forbids: lift the seal to
    show that the reference itself passes its checks."""
    monkeypatch.setattr(seal, "_forbidden", lambda *args: None)


def assert_names_mistake(check, answer, phrase):
    with pytest.raises(CheckFailure, match="is wrong") as failure:
        check(answer)
    assert phrase in str(failure.value), str(failure.value)


def assert_sealed(check, answer, called="helpers.reference"):
    with pytest.raises(CheckFailure, match="from scratch") as failure:
        check(answer)
    assert called in str(failure.value), str(failure.value)


def assert_random_streams_untouched(*calls):
    """Running ``calls`` leaves NumPy's and torch's global generators where they were:
    a hidden check must not change what the student's later cells draw."""
    def next_draws(run):
        np.random.seed(3)
        torch.manual_seed(3)
        run()
        return np.random.random(), torch.rand(1).item()

    assert next_draws(lambda: [call() for call in calls]) == next_draws(lambda: None)
