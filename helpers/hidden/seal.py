"""Run a student's code with the reference and PyTorch's own GRU sealed off.

A from-scratch exercise must not delegate its work. While ``sealed()`` is
active, a profiler hook watches every call; a call into ``helpers.reference``,
into ``nn.GRU`` / ``nn.GRUCell`` or into one of torch's fused GRU kernels is
recorded, and on leaving the block the check fails with a message that names
what was called. Watching calls (not patching names) also catches a function
that the student's cell imported before the seal.
"""

import contextlib
import os
import sys

from torch import nn

from helpers.checks import fail

REFERENCE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "reference")
GRU_KERNEL_NAMES = {"gru", "gru_cell", "_thnn_fused_gru_cell", "_thnn_fused_gru_cell_backward"}
SEALED_CODE = {
    nn.GRU.forward.__code__: "torch.nn.GRU",
    nn.GRUCell.forward.__code__: "torch.nn.GRUCell",
}


def _forbidden(frame, event, arg):
    """What this profiler event calls that the exercise forbids, or None."""
    if event == "call":
        code = frame.f_code
        if code in SEALED_CODE:
            return SEALED_CODE[code]
        if code.co_filename.startswith(REFERENCE_DIR):
            return f"helpers.reference ({code.co_name})"
        if code.co_name == "__call__" and "torch/_ops.py" in code.co_filename:
            packet = frame.f_locals.get("self")
            op = (getattr(packet, "_qualified_op_name", None) or getattr(packet, "_name", "")
                  or "")
            if op.split("::")[-1].split(".")[0] in GRU_KERNEL_NAMES:
                return f"torch's fused GRU kernel ({op})"
    elif event == "c_call" and getattr(arg, "__name__", None) in GRU_KERNEL_NAMES:
        module = getattr(arg, "__module__", None) or getattr(arg, "__self__", None)
        if "torch" in repr(module) or "_VariableFunctions" in repr(module):
            return f"torch's fused GRU kernel (torch.{arg.__name__})"
    return None


@contextlib.contextmanager
def sealed(name):
    """Fail ``name``'s check if the block calls the reference or PyTorch's GRU."""
    calls = []

    def profiler(frame, event, arg):
        what = _forbidden(frame, event, arg)
        if what is not None and what not in calls:
            calls.append(what)

    def report():
        fail(name, "this exercise asks you to write it from scratch, but your code calls "
                   + ", ".join(calls) + ".",
             "Write the computation yourself with the operations the notebook introduces.")

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        yield
    except Exception as error:
        if calls:  # the delegation is the news, not what it led to
            sys.setprofile(previous)
            try:
                report()
            except AssertionError as failure:
                raise failure from error
        raise
    finally:
        sys.setprofile(previous)
    if calls:
        report()


def run_sealed(name, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` inside ``sealed(name)``."""
    with sealed(name):
        return fn(*args, **kwargs)

