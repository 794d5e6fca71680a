"""What crosses from the student's kernel to the grader, and how the grader judges it:
helpers.hidden.codec (data only, malformed input refused), helpers.hidden.observe (what a
call did), and autograde.judge (a test cell's records judged; missing or forged ones
fail)."""

import base64
import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from nbformat.v4 import new_code_cell, new_notebook

from autograde.judge import JudgeHiddenTests, read_records, verdict
from helpers.checks import CheckFailure
from helpers.hidden import RECORDS, codec, decode, hidden_test
from helpers.hidden.observe import Seen, call

# ---------------------------------------------------------------- codec


def roundtrip(value):
    return decode(codec.dumps(value))


scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**62, 2**62), st.floats(),
                    st.text(max_size=20))
arrays = hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.bool_]),
                    hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
values = st.recursive(scalars | arrays, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)), max_leaves=12)


def same(a, b):
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(values)
def test_data_comes_back_as_it_went(value):
    assert same(roundtrip(value), value)


def test_tensors_numpy_scalars_and_other_objects():
    tensor = torch.arange(6, dtype=torch.float32).reshape(2, 3).requires_grad_()
    back = roundtrip({"t": tensor * 2, "s": np.float64(1.5), "module": torch.nn.Linear(2, 1)})
    assert back["t"].dtype == torch.float32 and torch.equal(back["t"], (tensor * 2).detach())
    assert isinstance(back["s"], np.float64) and back["s"] == 1.5
    assert isinstance(back["module"], codec.Opaque)
    assert back["module"].type_name == "torch.nn.modules.linear.Linear"


def array_record(dtype="<f8", shape=(2,), data=None):
    data = data or base64.b64encode(np.zeros(2).tobytes()).decode()
    return json.dumps({"array": {"dtype": dtype, "shape": list(shape), "data": data}})


@pytest.mark.parametrize("text, problem", [
    ("not json", "not JSON"),
    (json.dumps({"pickle": "gASV"}), "unknown tag"),
    (array_record(dtype="|O"), "not numeric"),
    (array_record(shape=(3,)), "does not fill"),
    (array_record(data="!!!"), "malformed"),
    (json.dumps({"tensor": json.loads(array_record())["array"], "dtype": "object"}),
     "unknown torch dtype"),
    (json.dumps({"dict": [[[1], 2]]}), "plain value"),
    ("[" * 100000 + "]" * 100000, "not JSON"),
])
def test_malformed_records_are_refused(text, problem):
    with pytest.raises(codec.CodecError, match=problem):
        decode(text)


def test_a_seen_comes_back_as_a_seen():
    seen = call(lambda x: x / 0, 1.0)
    back = roundtrip({"call": seen})["call"]
    assert isinstance(back, Seen) and back.raised[0] == "ZeroDivisionError"
    with pytest.raises(codec.CodecError):
        decode(json.dumps({"seen": {"dict": [["result", 1]]}}))


# ---------------------------------------------------------------- observe.call


def test_call_records_what_the_students_code_did():
    def sloppy(params, array, tensor):
        params["w"] = 0.0
        array[0] = 5.0
        tensor.add_(1)
        return np.exp(np.array([1000.0]))

    seen = call(sloppy, {"w": 1.0}, np.zeros(3), torch.zeros(2))
    assert seen.changed == ["'w' of argument number 1", "argument number 2",
                            "argument number 3"]
    assert seen.warned == [("RuntimeWarning", "overflow encountered in exp")]
    with pytest.raises(CheckFailure, match="it changed 'w' of argument number 1"):
        seen.value("sloppy")


def test_call_records_an_exception_and_the_students_line():
    def broken(x):
        y = x[5]  # the student's line
        return y

    seen = call(broken, [1, 2])
    assert seen.raised == ("IndexError", "list index out of range",
                           "y = x[5]  # the student's line")
    with pytest.raises(CheckFailure, match="it raised IndexError: list index out of range"):
        seen.value("broken")
    seen.raises("broken", "IndexError")
    with pytest.raises(CheckFailure, match="should raise ValueError"):
        seen.raises("broken", "ValueError", why="a bad index")


def test_call_records_a_forbidden_call():
    seen = call(lambda x: torch.nn.functional.scaled_dot_product_attention(x, x, x),
                torch.ones(1, 2, 3))
    assert seen.forbidden == ["torch's own attention (torch.scaled_dot_product_attention)"]
    with pytest.raises(CheckFailure, match="from scratch"):
        seen.value("attention")
    allowed = call(lambda: torch.nn.GRUCell(2, 2)(torch.ones(1, 2)), forbid=("attention",))
    assert allowed.forbidden == [] and allowed.ok


# ---------------------------------------------------------------- judging records


def judge_double(seen):
    if seen["value"].value("double") != 4:
        raise CheckFailure("double is wrong.\n  double(2) should be 4.")


check_double = hidden_test("double", "test_double", lambda double: {"value": call(double, 2)},
                           judge_double)


def write_record(path, double):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(RECORDS, str(path))
        check_double(double)


def test_records_are_judged_in_the_grader(tmp_path):
    path = tmp_path / "records.jsonl"
    write_record(path, lambda x: 2 * x)
    write_record(path, lambda x: x + 3)
    seen = read_records(path)["test_double"]
    assert len(seen) == 2
    assert verdict(check_double, seen[:1]) is None
    assert "double(2) should be 4" in verdict(check_double, seen)  # every record must pass


def test_missing_forged_and_unreadable_records_fail(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join([
        "garbage",
        json.dumps({"cell": "test_double", "seen": {"passed": True}}),  # not the codec's
        codec.dumps({"cell": "test_double", "seen": {"no": "value"}}),  # the codec's, wrong
    ]) + "\n")
    records = read_records(path)
    assert len(records["test_double"]) == 1
    assert "could not read what your code returned" in verdict(check_double, records["test_double"])
    assert "did not record" in verdict(check_double, [])


def test_the_judge_fails_a_passing_cell_whose_record_fails(tmp_path):
    path = tmp_path / "records.jsonl"
    write_record(path, lambda x: x + 3)
    nb = new_notebook(cells=[new_code_cell("check_double(double)"), new_code_cell("pass")])
    nb.cells[0].metadata["nbgrader"] = {"grade": True, "grade_id": "test_double",
                                        "points": 1, "solution": False}
    judge = JudgeHiddenTests()
    judge._tests = lambda resources: [check_double]
    nb, resources = judge.preprocess(nb, {"hidden_records": str(path)})
    [error] = nb.cells[0].outputs
    assert error.ename == "CheckFailure" and "double(2) should be 4" in error.evalue
    assert not path.exists() and "hidden_records" not in resources
