"""04_gru_pytorch: its visible and hidden tests pass the solution, the reference and every
correct variant, and name each mistake of tests/wrong_answers/gru_pytorch.py where the
student first meets it (tests/exercise_suite.py). Then what is particular to this notebook:
the stored numbers of its visible tests agree with PyTorch, a wrong GRUCell is not blamed on
GRU (nor GRU's mistakes on GRUCell), the hidden tests' cases isolate the terms they are meant
to, and the probes run without the reference, quietly, leaving the random streams alone."""

import functools
import sys

import numpy as np
import pytest
import torch
from oracles import loaded_gru, loaded_gru_cell, strip_l0, torch_state_dict
from torch import nn

from helpers.hidden import gru_pytorch as hidden
from tests.exercise_suite import exercise_suite, namespace_before, run_test_cell
from tests.hidden_suite import assert_random_streams_untouched
from tests.variants import variants
from tests.wrong_answers import gru_pytorch as answers

globals().update(exercise_suite("04_gru_pytorch"))

ASSIGNMENT = "04_gru_pytorch"
CHECKS = {"GRUCell": (hidden.check_GRUCell, answers.GRUCell__plain),
          "GRU": (hidden.check_GRU, answers.GRU__plain),
          "gru_params_to_torch": (hidden.check_gru_params_to_torch,
                                  answers.gru_params_to_torch__numpy_first),
          "train_epoch": (hidden.check_train_epoch, answers.train_epoch__manual_clip),
          "train_epoch (ValueError)": (hidden.check_train_epoch_value_error,
                                       answers.train_epoch__manual_clip)}


def of(kind, exercise):
    return [pytest.param(v, id=v.id) for v in variants("gru_pytorch")
            if v.kind == kind and v.exercise == exercise]


# ---------------------------------------------------------------- the visible tests' numbers


@functools.cache
def setup():
    """What the setup cell defines (the tiny example)."""
    return namespace_before(ASSIGNMENT, "test_GRUCell")


def test_the_tiny_example_agrees_with_nn_gru_cell_and_nn_gru():
    """The stored expected states of the setup cell are what PyTorch's own GRU computes with
    the tiny weights (mapped by the tests' oracle, not by the course's answer)."""
    tiny = setup()
    params = tiny["tiny_params"]
    cell = loaded_gru_cell(strip_l0(torch_state_dict(params, "_l0")))
    with torch.no_grad():
        np.testing.assert_allclose(cell(tiny["tiny_x"], tiny["tiny_h_prev"]),
                                   tiny["tiny_h_expected"], rtol=0, atol=1e-15)
        states, _ = loaded_gru(torch_state_dict(params, "_l0"))(tiny["tiny_X"])
    np.testing.assert_allclose(states, tiny["tiny_states_expected"], rtol=0, atol=1e-15)


def sgd_epoch(max_grad_norm, per_parameter=False):
    """The visible train_epoch test's example worked through with torch's own clipping:
    y_hat = w . x + b from zero, two batches x = (2, 2), y = 1, SGD at learning rate 0.1."""
    w, b = torch.zeros(2, dtype=torch.float64, requires_grad=True), torch.zeros(
        1, dtype=torch.float64, requires_grad=True)
    x, losses, steps = torch.tensor([2.0, 2.0], dtype=torch.float64), [], []
    for _ in range(2):
        loss = ((w @ x + b - 1) ** 2).sum()
        w.grad, b.grad = None, None
        loss.backward()
        if max_grad_norm is not None:
            for group in ([[w], [b]] if per_parameter else [[w, b]]):
                nn.utils.clip_grad_norm_(group, max_grad_norm)
        steps.append(torch.cat([w.grad, b.grad]).clone())
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        losses.append(loss.item())
    return np.mean(losses), torch.stack(steps), torch.cat([w, b]).detach()


def test_the_hand_worked_training_example_is_right():
    """train_test_text and the visible test quote these numbers: here they come from torch."""
    mean_loss, steps, weights = sgd_epoch(None)
    np.testing.assert_allclose(steps, [[-4, -4, -2], [3.2, 3.2, 1.6]], rtol=1e-12)
    np.testing.assert_allclose(weights, [0.08, 0.08, 0.04], rtol=1e-12)
    assert mean_loss == pytest.approx(0.82, rel=1e-12)
    mean_loss, steps, weights = sgd_epoch(0.3)
    np.testing.assert_allclose(steps, [[-0.2, -0.2, -0.1]] * 2, rtol=1e-6)
    np.testing.assert_allclose(weights, [0.04, 0.04, 0.02], rtol=1e-6)
    assert mean_loss == pytest.approx((1 + 0.91**2) / 2, rel=1e-6)
    _, steps, _ = sgd_epoch(0.3, per_parameter=True)
    np.testing.assert_allclose(steps, [[-0.3 / 2**0.5, -0.3 / 2**0.5, -0.3]] * 2, rtol=1e-6)


# ---------------------------------------------------------------- who gets the blame


@pytest.mark.parametrize("variant", of("mistake", "GRUCell"))
def test_a_wrong_cell_is_not_blamed_on_gru(variant):
    """With a right GRU and a wrong GRUCell, GRU's test passes or sends the student to
    GRUCell, in its visible part and in its hidden part alike."""
    for only in (("visible", "hidden"), ("hidden",)):
        outcome = run_test_cell(ASSIGNMENT, "test_GRU", {"GRUCell": variant.answer}, only=only)
        assert outcome.part is None or "fix GRUCell first" in outcome.message, str(outcome)


@pytest.mark.parametrize("variant", [v for v in of("mistake", "GRU")
                                     if v.id != "GRU__wrong_cell"])
def test_a_wrong_loop_is_not_blamed_on_the_cell(variant):
    outcome = run_test_cell(ASSIGNMENT, "test_GRU", {"GRU": variant.answer})
    assert outcome.part and "fix GRUCell first" not in outcome.message, str(outcome)


# ---------------------------------------------------------------- the hidden cases


def test_the_cell_cases_switch_on_one_term_at_a_time():
    """z = 1 copies the state, z = 0 leaves the candidate alone, the general case has every
    gate strictly inside (0, 1); and where a mistake is named, it gives its own numbers."""
    for case, fixed in hidden.CELL_CASES.items():
        params = {k: torch.as_tensor(v) for k, v in hidden.random_params(**fixed).items()}
        x, h_prev = hidden.cell_inputs(fixed["seed"])
        z = torch.sigmoid(x @ params["W_z"].T + h_prev @ params["U_z"].T + params["b_z"])
        r = torch.sigmoid(x @ params["W_r"].T + h_prev @ params["U_r"].T + params["b_r"])
        if "b_z" in fixed:
            assert (z - float(fixed["b_z"] > 0)).abs().max() < 1e-12, case
        else:
            assert 1e-3 < z.min() and z.max() < 1 - 1e-3 and 1e-3 < r.min() and r.max() < 1 - 1e-3
    fixed = hidden.CELL_CASES["z = 0 (b_z = -40, so h is the candidate alone)"]
    mistakes = hidden.cell_mistakes(hidden.random_params(**fixed), *hidden.cell_inputs(
        fixed["seed"]))
    named_here = [m for m in mistakes if "reset" in m or "b_h" in m or "sigmoid" in m]
    for i, first in enumerate(named_here):
        for second in named_here[i + 1:]:
            assert not torch.allclose(mistakes[first], mistakes[second]), (first, second)


def test_the_training_setup_has_the_traps_the_judge_relies_on():
    """The model comes in eval mode, with gradients left over, dropout active and momentum:
    so a missing model.train(), a missing zero_grad() and an own optimizer all show."""
    model, optimizer, _, loader = hidden.make_training()
    assert not model.training and all(p.grad is not None and p.grad.any()
                                      for p in model.parameters())
    assert any(isinstance(m, nn.Dropout) for m in model.modules())
    assert optimizer.defaults["momentum"] > 0 and len(loader) == hidden.N_BATCHES


# ---------------------------------------------------------------- the probes


@pytest.mark.parametrize("name", CHECKS)
def test_a_probe_runs_without_the_reference(name, monkeypatch):
    """Under grading the kernel has no helpers.reference: the probes must not need it."""
    check, answer = CHECKS[name]
    for module in [m for m in sys.modules if m.startswith("helpers.reference")]:
        monkeypatch.setitem(sys.modules, module, None)
    check.probe(answer)


@pytest.mark.parametrize("name", CHECKS)
def test_passing_checks_are_silent(name, capfd):
    check, answer = CHECKS[name]
    check(answer)
    assert capfd.readouterr() == ("", "")


def test_hidden_checks_leave_the_random_streams_alone():
    assert_random_streams_untouched(*(lambda c=check, a=answer: c(a)
                                      for check, answer in CHECKS.values()))
