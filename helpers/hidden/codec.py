"""What a probe saw, as JSON: the only thing that crosses from the student's kernel to the
grader.

The grader decodes data written by code it does not trust, so the format holds data
only: numbers, strings, lists, tuples, dicts, NumPy arrays and torch tensors of numeric
dtypes, and ``Opaque`` descriptions of anything else. Nothing is unpickled, imported or
called while decoding; malformed input raises ``CodecError``.
"""

import base64
import json
import math

import numpy as np
import torch

MAX_BYTES = 64 * 2**20  # a record larger than this is not decoded
NUMERIC_KINDS = "biufc"  # bool, int, unsigned, float, complex
TORCH_DTYPES = {str(t): t for t in (torch.float16, torch.bfloat16, torch.float32,
                                     torch.float64, torch.int8, torch.int16, torch.int32,
                                     torch.int64, torch.uint8, torch.bool, torch.complex64,
                                     torch.complex128)}


class CodecError(ValueError):
    """The data is not a record this module wrote."""


class Opaque:
    """An object that is not data (a module, a generator, ...), by its type and repr."""

    def __init__(self, type_name, text):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return self.text

    def __eq__(self, other):
        return isinstance(other, Opaque) and (self.type_name, self.text) == (
            other.type_name, other.text)


def describe_type(value):
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _array(value):
    array = np.asarray(value)  # (np.ascontiguousarray would make a 0-d array 1-d)
    return {"dtype": array.dtype.str, "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes(order="C")).decode("ascii")}


def to_data(value, depth=0):
    """``value`` as JSON-able data (see the module's docstring for what is kept)."""
    if depth > 50:
        raise CodecError("nested more than 50 levels deep")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in NUMERIC_KINDS:
        return {"scalar": _array(np.asarray(value))}
    if isinstance(value, int):
        return value if abs(value) < 2**63 else {"float": str(float(value))}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, np.ndarray) and value.dtype.kind in NUMERIC_KINDS:
        return {"array": _array(value)}
    if isinstance(value, torch.Tensor) and str(value.dtype) in TORCH_DTYPES:
        tensor = value.detach().cpu()
        as_numpy = tensor.to(torch.float64) if tensor.dtype == torch.bfloat16 else tensor
        return {"tensor": _array(as_numpy.resolve_conj().numpy()), "dtype": str(value.dtype)}
    if isinstance(value, list):
        return [to_data(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [to_data(v, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[to_data(k, depth + 1), to_data(v, depth + 1)]
                         for k, v in value.items()]}
    if hasattr(value, "__seen__"):
        return {"seen": to_data(value.__seen__(), depth + 1)}
    try:
        text = repr(value)[:300]
    except Exception:  # noqa: BLE001 - a student's __repr__ may raise anything
        text = f"<a {describe_type(value)} object>"
    return {"opaque": [describe_type(value), text]}


def _from_array(data):
    if not (isinstance(data, dict) and set(data) == {"dtype", "shape", "data"}):
        raise CodecError("an array needs dtype, shape and data")
    dtype = np.dtype(data["dtype"])
    if dtype.kind not in NUMERIC_KINDS:
        raise CodecError(f"dtype {dtype} is not numeric")
    shape = data["shape"]
    if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise CodecError("a shape is a list of sizes")
    raw = base64.b64decode(data["data"].encode("ascii"), validate=True)
    if len(raw) != dtype.itemsize * math.prod(shape):
        raise CodecError("the data does not fill the shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def from_data(data, seen_class=None):
    """The values ``to_data`` encoded; ``seen_class`` rebuilds observations of a call."""
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [from_data(v, seen_class) for v in data]
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise CodecError(f"unexpected {type(data).__name__}")
    (tag, body), *rest = data.items()
    if tag == "float":
        return float(body)
    if tag == "scalar":
        return _from_array(body)[()]
    if tag == "array":
        return _from_array(body)
    if tag == "tensor":
        dtype = dict(rest).get("dtype")
        if dtype not in TORCH_DTYPES:
            raise CodecError(f"unknown torch dtype {dtype!r}")
        return torch.from_numpy(_from_array(body)).to(TORCH_DTYPES[dtype])
    if tag == "tuple":
        return tuple(from_data(body, seen_class))
    if tag == "dict":
        return {_key(from_data(k, seen_class)): from_data(v, seen_class) for k, v in body}
    if tag == "opaque":
        return Opaque(*map(str, body))
    if tag == "seen" and seen_class is not None:
        return seen_class.from_record(from_data(body, seen_class))
    raise CodecError(f"unknown tag {tag!r}")


def _key(key):
    if isinstance(key, list | dict | np.ndarray | torch.Tensor):
        raise CodecError("a dict key must be a plain value")
    return key


def dumps(value):
    return json.dumps(to_data(value), allow_nan=False, separators=(",", ":"))


def loads(text, seen_class=None):
    if len(text) > MAX_BYTES:
        raise CodecError(f"a record of {len(text)} bytes is larger than {MAX_BYTES}")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise CodecError(f"not JSON: {error}") from None
    try:
        return from_data(data, seen_class)
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
        if isinstance(error, CodecError):
            raise
        raise CodecError(f"malformed: {error}") from None
