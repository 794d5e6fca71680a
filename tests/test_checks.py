"""helpers.checks: what a student reads when a check fails, and silence when it passes."""

import re

import numpy as np
import pytest
import torch

from helpers.checks import (
    CheckFailure,
    check_close,
    check_dtype,
    check_inputs_unchanged,
    check_raises,
    check_shape,
    check_type,
)


def message_of(check, *args, **kwargs):
    """The message of the CheckFailure that ``check(*args, **kwargs)`` raises."""
    with pytest.raises(CheckFailure) as failure:
        check(*args, **kwargs)
    assert isinstance(failure.value, AssertionError)  # pytest and nbgrader see a failed test
    return str(failure.value)


def test_a_passing_check_is_silent_and_returns_nothing(capsys):
    expected = np.linspace(0, 1, 6).reshape(2, 3)
    assert check_close("h", expected + 1e-10, expected) is None
    assert check_close("h", torch.tensor(expected), torch.tensor(expected)) is None
    assert capsys.readouterr() == ("", "")


def test_wrong_shape_names_the_output_and_both_shapes():
    message = message_of(check_close, "H_all", np.zeros((3, 2)), np.zeros((2, 3)))
    assert message.startswith("H_all is wrong.")
    assert "expected shape (2, 3), got (3, 2)" in message


def test_wrong_dtype_names_both_dtypes():
    message = message_of(check_close, "h", np.zeros(3, dtype=np.float32), np.zeros(3),
                         dtype=np.float64)
    assert "expected dtype float64, got float32" in message
    assert "expected dtype float64, got int64" in message_of(check_dtype, "n", np.arange(3),
                                                             np.float64)


def test_a_wrong_value_gives_the_largest_difference_and_where_it_is():
    expected = np.zeros((2, 3))
    got = expected.copy()
    got[0, 1], got[1, 2] = 0.1, -0.5
    message = message_of(check_close, "dh_prev", got, expected)
    assert "largest difference 0.5 at index (1, 2): expected 0, got -0.5" in message


def test_nan_is_named():
    got = np.array([1.0, np.nan, 3.0])
    message = message_of(check_close, "sigmoid(x)", got, np.array([1.0, 2.0, 3.0]))
    assert "NaN at 1 place(s)" in message
    assert "largest difference inf at index (1,)" in message


def test_a_listed_mistake_that_fits_is_named_as_the_likely_cause():
    expected = np.array([0.2, 0.4])
    swapped = np.array([0.8, 0.6])
    message = message_of(check_close, "h", swapped, expected, hint="re-read the update equation",
                         causes={"z and 1 - z swapped": swapped,
                                 "reset gate before U_h": np.array([0.3, 0.3])})
    assert "Likely cause: z and 1 - z swapped." in message
    assert "reset gate" not in message and "Hint" not in message


def test_the_hint_is_given_when_no_listed_mistake_fits():
    message = message_of(check_close, "h", np.array([9.0]), np.array([1.0]),
                         causes={"z and 1 - z swapped": np.array([0.0])}, hint="check b_h")
    assert "Likely cause" not in message
    assert "Hint: check b_h" in message


@pytest.mark.parametrize(("got", "says"), [
    (None, "got None: does the function end with a return statement?"),
    ([1.0, 2.0], "expected a NumPy array, got list"),
    (torch.ones(2), "expected a NumPy array, got a torch.Tensor of shape (2,)"),
    (np.array(["a", "b"]), "expected numbers"),
])
def test_results_that_are_not_arrays_are_explained(got, says):
    assert says in message_of(check_close, "out", got, np.array([1.0, 2.0]))


def test_type_and_shape_checks():
    assert "expected ndarray, got a torch.Tensor of shape (2,)" in message_of(
        check_type, "mask", torch.zeros(2), np.ndarray)
    assert "expected shape (4,), got (2, 2)" in message_of(check_shape, "norms", np.zeros((2, 2)),
                                                           (4,))


def test_check_raises_passes_for_a_value_error_with_a_message():
    def rejects(x):
        raise ValueError(f"x must be positive, got {x}")

    check_raises("f", rejects, -1, why="a negative x")


@pytest.mark.parametrize(("fn", "says"), [
    (lambda x: x, "a negative x should raise ValueError with a message that says what is wrong, "
                  "but nothing was raised"),
    (lambda x: 1 / 0, "a negative x should raise ValueError, but it raised ZeroDivisionError"),
    (lambda x: (_ for _ in ()).throw(ValueError()), "it raised ValueError without a message"),
])
def test_check_raises_explains_what_went_wrong(fn, says):
    assert says in message_of(check_raises, "f", fn, -1, why="a negative x")


def test_check_inputs_unchanged_catches_an_in_place_update():
    def step_in_place(w, grad):
        w -= 0.1 * grad
        return w

    message = message_of(check_inputs_unchanged, "sgd_step", step_in_place, np.ones(3), np.ones(3))
    assert "it modified its argument number 1 in place" in message
    assert re.search(r"w = w - \.\.\.", message)


def test_check_inputs_unchanged_returns_the_result():
    w = np.ones(3)
    result = check_inputs_unchanged("sgd_step", lambda w, g: w - g, w, np.ones(3))
    np.testing.assert_array_equal(result, np.zeros(3))
    np.testing.assert_array_equal(w, np.ones(3))


def test_inputs_unchanged_looks_inside_a_dict_of_arrays():
    params = {"W_z": np.ones((2, 2)), "note": "not an array"}

    def decays_in_place(x, params):
        params["W_z"] *= 0.5
        return x

    with pytest.raises(CheckFailure) as failure:
        check_inputs_unchanged("step", decays_in_place, np.zeros(2), params)
    assert "it modified its 'W_z' of argument number 2 in place" in str(failure.value)
