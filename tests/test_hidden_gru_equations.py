"""02_gru_equations: its visible and hidden tests pass the solution, the reference and
every correct variant, and name each mistake of tests/wrong_answers/gru_equations.py where
the student first meets it (tests/exercise_suite.py). Then what is particular to 02: the
values the setup cell stores are PyTorch's, and a derivative that takes its gates from a
wrong gru_step_scalar is told so, in the visible and in the hidden test."""

import pytest
import torch
from oracles import loaded_gru_cell, torch_state_dict
from test_reference_gru_equations import as_matrices, column, gates_by_torch

from helpers.checks import check_close
from tests.exercise_suite import exercise_suite, first_failure, namespace_before, run_test_cell
from tests.variants import variants
from tests.wrong_answers import gru_equations as answers

ASSIGNMENT = "02_gru_equations"
globals().update(exercise_suite(ASSIGNMENT))

DERIVATIVE_TEST = "test_gru_dh_dhprev_scalar"
WRONG_STEP = "it uses the z, r and h~ of your gru_step_scalar, which are wrong here"
# Step mistakes whose z, r and h~ are right (only h is wrong): a derivative built on them is right.
RIGHT_GATES = {"gru_step_scalar__z_swapped", "gru_step_scalar__no_one_minus_z",
               "gru_step_scalar__ignores_a_saturated_gate"}
STEP_MISTAKES = [pytest.param(v.answer, id=v.id) for v in variants("gru_equations")
                 if v.exercise == "gru_step_scalar" and v.kind == "mistake"]


def test_the_values_stored_in_the_setup_cell_are_pytorchs():
    """Z_DEMO, R_DEMO, HC_DEMO from torch's sigmoid and tanh; h from nn.GRUCell(1, 1) with
    the same weights; DH_DEMO from its autograd."""
    stored = namespace_before(ASSIGNMENT, "test_gru_step_scalar")
    x, h_prev, p = stored["x_demo"], stored["h_demo"], stored["p_demo"]
    for name, expected in zip(("Z_DEMO", "R_DEMO", "HC_DEMO"), gates_by_torch(x, h_prev, p),
                              strict=True):
        check_close(name, stored[name], expected, rtol=1e-15, atol=1e-15)
    cell = loaded_gru_cell(torch_state_dict(as_matrices(p)))
    h_prev_t = column(h_prev).requires_grad_()
    h = cell(column(x), h_prev_t)
    h.sum().backward()
    z, h_candidate = stored["Z_DEMO"], stored["HC_DEMO"]
    check_close("h", z * h_prev + (1 - z) * h_candidate, h[0, 0].detach(), rtol=1e-15)
    check_close("DH_DEMO", stored["DH_DEMO"], h_prev_t.grad[0, 0], rtol=1e-14, atol=1e-15)
    assert h_prev_t.grad.dtype == torch.float64


@pytest.mark.parametrize("wrong_step", STEP_MISTAKES)
def test_a_derivative_built_on_a_wrong_step_is_told_so(wrong_step):
    """The solution's derivative calls gru_step_scalar: with a wrong one in its place, the
    derivative's test names the step, first in the visible part and in the hidden part alone;
    unless that step's z, r and h~ are right, when the derivative is right too."""
    step = {"gru_step_scalar": wrong_step}
    visible = first_failure(ASSIGNMENT, [DERIVATIVE_TEST], step)
    hidden = first_failure(ASSIGNMENT, [DERIVATIVE_TEST], step, only=("hidden",))
    if wrong_step.__name__ in RIGHT_GATES:
        assert visible.part is None and hidden.part is None, f"{visible} / {hidden}"
    else:
        assert visible.part == "visible" and WRONG_STEP in visible.message, str(visible)
        assert hidden.part == "hidden" and WRONG_STEP in hidden.message, str(hidden)


@pytest.mark.parametrize("wrong_step", STEP_MISTAKES)
def test_a_derivative_of_its_own_is_not_blamed_for_a_wrong_step(wrong_step):
    """A right derivative that computes its own gates passes, whatever gru_step_scalar does."""
    outcome = run_test_cell(ASSIGNMENT, DERIVATIVE_TEST, {
        "gru_step_scalar": wrong_step,
        "gru_dh_dhprev_scalar": answers.gru_dh_dhprev_scalar__chain})
    assert outcome.part is None, str(outcome)
