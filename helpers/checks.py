"""Assertions that explain a failure in a student's words.

Every check raises ``CheckFailure`` (an AssertionError) whose message says which
output is wrong, what was expected and what came (type, shape, dtype, values),
where the largest difference is and, when the caller lists the outputs that
known mistakes produce, which mistake fits the evidence:

    check_close("h", h, expected, causes={"z and 1 - z swapped": h_swapped})

A passing check prints nothing: nbgrader scores a test cell 0 if it writes to
stderr.
"""

import numpy as np

RTOL, ATOL = 1e-6, 1e-8


class CheckFailure(AssertionError):
    """A test failed; the message is written for the student."""


def fail(name, *lines):
    raise CheckFailure("\n".join([f"{name} is wrong."] + [f"  {line}" for line in lines if line]))


def as_array(value):
    """A NumPy view of an ndarray, a tensor (detached, on the CPU) or a number."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def describe(value):
    if hasattr(value, "detach"):
        return f"a torch.Tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"an ndarray of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:200]


def check_type(name, value, expected_type):
    if not isinstance(value, expected_type):
        names = getattr(expected_type, "__name__", None) or " or ".join(
            t.__name__ for t in expected_type
        )
        fail(name, f"expected {names}, got {describe(value)}.")


def check_shape(name, value, shape):
    got, shape = tuple(as_array(value).shape), tuple(shape)
    if got != shape:
        fail(name, f"expected shape {shape}, got {got}.", shape_cause(got, shape))


def shape_cause(got, expected):
    """What a wrong shape says about the mistake, when it says anything."""
    if sorted(got) == sorted(expected) and len(got) > 1:
        return ("Likely cause: the axes are in another order (batch first: x is (B, D), "
                "a sequence (B, T, D); weights are used as x @ W.T).")
    if len(got) == len(expected) + 1 and 1 in got:
        return "Likely cause: an extra axis of size 1 (squeeze it, or index it away)."
    if len(got) + 1 == len(expected) and 1 in expected:
        return "Likely cause: an axis of size 1 is missing (keep it with keepdims or [:, None])."
    return ""


def check_dtype(name, value, dtype):
    got = as_array(value).dtype
    if got != np.dtype(dtype):
        cause = {"f": "a float32 array or tensor somewhere in the computation (keep float64)",
                 "i": "an integer array somewhere (np.zeros(n, dtype=int), or integer inputs)",
                 "b": "a boolean array where numbers belong"}.get(got.kind) if np.dtype(
            dtype) == np.float64 else None
        fail(name, f"expected dtype {np.dtype(dtype)}, got {got}.",
             f"Likely cause: {cause}." if cause else "")


def matching_causes(got, causes, rtol=RTOL, atol=ATOL):
    """The names of the known mistakes whose output equals what came."""
    got = as_array(got)
    found = []
    for cause, wrong in (causes or {}).items():
        wrong = as_array(wrong)
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=rtol, atol=atol):
            found.append(cause)
    return found


def largest_difference(got, expected):
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    index = np.unravel_index(np.argmax(diff), diff.shape) if diff.ndim else ()
    return index, float(diff[index])


def check_close(name, got, expected, *, rtol=RTOL, atol=ATOL, causes=None, hint=None,
                dtype=None):
    """``got`` equals ``expected`` within tolerance, or a message that explains why not.

    ``causes`` maps a mistake ("z and 1 - z swapped") to the output it produces on
    the same input; ``hint`` is said when no listed mistake fits. ``dtype``, when
    given, is checked too.
    """
    expected_arr = as_array(expected)
    if got is None:
        fail(name, "got None: does the function end with a return statement?")
    if isinstance(expected, np.ndarray) and not isinstance(got, np.ndarray):
        if not np.isscalar(got) or expected.ndim:
            fail(name, f"expected a NumPy array, got {describe(got)}.")
    got_arr = as_array(got)
    if got_arr.dtype == object or not np.issubdtype(got_arr.dtype, np.number):
        fail(name, f"expected numbers, got {describe(got)}.")
    check_shape(name, got_arr, expected_arr.shape)
    if dtype is not None:
        check_dtype(name, got_arr, dtype)
    if np.allclose(got_arr, expected_arr, rtol=rtol, atol=atol, equal_nan=False):
        return
    lines = []
    if np.isnan(got_arr).any() and not np.isnan(expected_arr).any():
        lines.append(f"it holds NaN at {int(np.isnan(got_arr).sum())} place(s): "
                     "an overflow, a log or a division by zero?")
    index, diff = largest_difference(got_arr, expected_arr)
    where = f" at index {tuple(int(i) for i in index)}" if index else ""
    lines.append(f"largest difference {diff:.3g}{where}: expected {expected_arr[index]:.6g}, "
                 f"got {got_arr[index]:.6g} (tolerance rtol={rtol:g}, atol={atol:g}).")
    found = matching_causes(got_arr, causes, rtol=max(rtol, 1e-5), atol=max(atol, 1e-7))
    if found:
        lines.append("Likely cause: " + "; or ".join(found) + ".")
    elif hint:
        lines.append(f"Hint: {hint}")
    fail(name, *lines)


def check_raises(name, fn, *args, exception=ValueError, why="", **kwargs):
    """Calling ``fn`` with these (bad) arguments raises ``exception`` with a message."""
    try:
        fn(*args, **kwargs)
    except exception as error:
        if not str(error).strip():
            fail(name, f"it raised {exception.__name__} without a message: say what is wrong.")
        return
    except Exception as error:  # noqa: BLE001 - any other exception is the student's mistake
        fail(name, f"{why} should raise {exception.__name__}, "
                   f"but it raised {type(error).__name__}: {error}")
    fail(name, f"{why} should raise {exception.__name__} with a message that says what is wrong, "
               "but nothing was raised.")


def arrays_in(args):
    """``(label, array)`` for each array argument and each array in a dict argument."""
    for position, arg in enumerate(args, start=1):
        if isinstance(arg, np.ndarray):
            yield f"argument number {position}", arg
        elif isinstance(arg, dict):
            for key, value in arg.items():
                if isinstance(value, np.ndarray):
                    yield f"{key!r} of argument number {position}", value


def check_inputs_unchanged(name, fn, *args, **kwargs):
    """Calling ``fn`` leaves its arrays as they were (no in-place update): the array
    arguments, and the arrays of a dict argument (a GRU's parameters)."""
    before = [(label, array, array.copy()) for label, array in arrays_in(args)]
    result = fn(*args, **kwargs)
    for label, array, copy in before:
        if not np.array_equal(array, copy, equal_nan=True):
            fail(name, f"it modified its {label} in place.",
                 "Compute a new array (w = w - ...) instead of updating one (w -= ...).")
    return result
