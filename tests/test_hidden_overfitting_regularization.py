"""05_overfitting_regularization: its visible and hidden tests pass the solution, the
reference and every correct variant, and name each mistake of its wrong answers where the
student first meets it (tests/exercise_suite.py). Then what is particular to this notebook:
the oracles agree with PyTorch, the early-stopping scenarios part every mistake from the right
answer and from each other, and the hidden checks are quiet and leave the global generators
alone."""

import numpy as np
import pytest
import torch

import helpers.hidden.overfitting_regularization as hidden
from helpers import reference
from helpers.hidden import hidden_tests
from tests.exercise_suite import exercise_suite
from tests.hidden_suite import assert_random_streams_untouched

globals().update(exercise_suite("05_overfitting_regularization"))


def test_sgd_oracle_is_torch_and_agrees_with_the_reference():
    rng = np.random.default_rng(5)
    w, grad = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    np.testing.assert_allclose(hidden.torch_sgd_step(w, grad, 0.3, 0.1),
                               reference.sgd_step_weight_decay(w, grad, 0.3, 0.1), rtol=1e-12)


def test_dropout_check_accepts_torch_dropout_statistics():
    """nn.Dropout's mask is what the check's properties describe: values 0 or 1/(1-p)."""
    mask = torch.nn.Dropout(0.25)(torch.ones(2000, dtype=torch.float64)).numpy()
    assert set(np.unique(mask)) <= {0.0, 1 / 0.75}


SCENARIOS = [*hidden.STOPPING_SCENARIOS.values(), hidden.MODEL_SCENARIO]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[*hidden.STOPPING_SCENARIOS, "model"])
def test_the_simulated_stopper_is_the_reference_when_nothing_is_swapped(scenario):
    """The judge simulates each mistake as the right stopper with one part swapped: with
    no part swapped it does what the reference does."""
    run = hidden.reference_run(scenario)
    stop, epochs = hidden.simulate(scenario["losses"], scenario["patience"],
                                   scenario.get("min_delta", 0.0))
    assert (stop, epochs) == (run["stop"], run["best_epoch"].tolist())


def test_each_stopping_mistake_is_told_apart_where_it_first_shows():
    """In the judge's order (each scenario's stop call, then its best_epochs), the first
    check where a mistake differs from the right answer is one where no other mistake that
    got that far gives the same outcome: its cause is the only one named there."""
    def checks(mistake):
        for scenario in SCENARIOS:
            stop, epochs = hidden.simulate(scenario["losses"], scenario["patience"],
                                           scenario.get("min_delta", 0.0), **mistake)
            yield stop
            yield tuple(epochs)

    right = list(checks({}))
    outcomes = {cause: list(checks(mistake)) for cause, mistake in
                hidden.STOPPING_MISTAKES.items()}
    for cause, seen in outcomes.items():
        first = next(i for i, (got, want) in enumerate(zip(seen, right, strict=True))
                     if got != want)
        rivals = [other for other, theirs in outcomes.items() if other != cause
                  and theirs[:first] == right[:first] and theirs[first] == seen[first]]
        assert not rivals, f"{cause!r} is confused with {rivals} at check {first}"


def test_hidden_checks_are_silent(capsys, seal_lifted):
    for test in hidden_tests("05_overfitting_regularization"):
        test(getattr(reference, test.exercise))
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


def test_hidden_checks_leave_the_global_generators_alone(seal_lifted):
    assert_random_streams_untouched(
        lambda: hidden.check_dropout_forward(reference.dropout_forward),
        lambda: hidden.check_ensemble_predict(reference.ensemble_predict),
        lambda: hidden.check_EarlyStopping(reference.EarlyStopping))
