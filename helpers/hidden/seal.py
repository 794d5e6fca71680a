"""Watch a student's code for calls that a from-scratch exercise forbids.

While ``watching(forbid)`` is active, a profiler hook sees every call; a call into
``helpers.reference``, into PyTorch's own GRU (``nn.GRU``, ``nn.GRUCell``, the fused GRU
kernels) or into its own attention (``F.scaled_dot_product_attention``,
``nn.MultiheadAttention``) is recorded by name. Watching calls, not patching names, also
catches a function that the student's cell imported before the watch began. The hidden
tests' judges turn what was recorded into a failure (``helpers.hidden.observe``).
"""

import contextlib
import os
import sys

import torch.nn.functional as F
from torch import nn

REFERENCE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "reference")
KERNELS = {  # what may be forbidden -> names of torch's compiled functions and ops
    "gru": {"gru", "gru_cell", "_thnn_fused_gru_cell", "_thnn_fused_gru_cell_backward"},
    "attention": {"scaled_dot_product_attention", "_scaled_dot_product_attention_math",
                  "_scaled_dot_product_flash_attention_for_cpu", "_fused_sdp_choice",
                  "_native_multi_head_attention"},
}
MODULES = {  # what may be forbidden -> Python code objects, by the name a message gives
    "gru": {nn.GRU.forward.__code__: "torch.nn.GRU", nn.GRUCell.forward.__code__:
            "torch.nn.GRUCell"},
    "attention": {nn.MultiheadAttention.forward.__code__: "torch.nn.MultiheadAttention",
                  F.multi_head_attention_forward.__code__:
                      "torch.nn.functional.multi_head_attention_forward"},
}
KERNEL_LABEL = {"gru": "torch's fused GRU kernel", "attention": "torch's own attention"}
EVERYTHING = ("reference", "gru", "attention")


def _op_name(frame):
    packet = frame.f_locals.get("self")
    return (getattr(packet, "_qualified_op_name", None) or getattr(packet, "_name", "")
            or "")


def _forbidden(frame, event, arg, forbid):
    """What this profiler event calls that ``forbid`` rules out, or None."""
    if event == "call":
        code = frame.f_code
        for kind in forbid:
            if code in MODULES.get(kind, ()):
                return MODULES[kind][code]
        if "reference" in forbid and code.co_filename.startswith(REFERENCE_DIR):
            return f"helpers.reference ({code.co_name})"
        if code.co_name == "__call__" and "torch/_ops.py" in code.co_filename:
            op = _op_name(frame)
            for kind in forbid:
                if op.split("::")[-1].split(".")[0] in KERNELS.get(kind, ()):
                    return f"{KERNEL_LABEL[kind]} ({op})"
    elif event == "c_call":
        name = getattr(arg, "__name__", None)
        for kind in forbid:
            if name in KERNELS.get(kind, ()):
                module = getattr(arg, "__module__", None) or getattr(arg, "__self__", None)
                if "torch" in repr(module) or "_VariableFunctions" in repr(module):
                    return f"{KERNEL_LABEL[kind]} (torch.{name})"
    return None


@contextlib.contextmanager
def watching(forbid=EVERYTHING):
    """Yield a list that collects, in order, each forbidden call the block makes."""
    calls = []

    def profiler(frame, event, arg):
        what = _forbidden(frame, event, arg, forbid)
        if what is not None and what not in calls:
            calls.append(what)

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        yield calls
    finally:
        sys.setprofile(previous)


def delegation_message(calls):
    return ("this exercise asks you to write it from scratch, but your code calls "
            + ", ".join(calls) + ".")


DELEGATION_HINT = "Write the computation yourself with the operations the notebook introduces."


@contextlib.contextmanager
def sealed(name, forbid=EVERYTHING):
    """Fail ``name``'s check if the block makes a forbidden call (for checks that run in
    one process; the hidden tests record calls with ``watching`` instead)."""
    from helpers.checks import fail

    with watching(forbid) as calls:
        try:
            yield
        except Exception as error:
            if calls:  # the delegation is the news, not what it led to
                try:
                    fail(name, delegation_message(calls), DELEGATION_HINT)
                except AssertionError as failure:
                    raise failure from error
            raise
    if calls:
        fail(name, delegation_message(calls), DELEGATION_HINT)


def run_sealed(name, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` inside ``sealed(name)``."""
    with sealed(name):
        return fn(*args, **kwargs)
