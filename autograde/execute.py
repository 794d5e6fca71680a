"""nbgrader's Execute preprocessor, bounded: no submission can hang or crash grading.

nbgrader's own Execute gives up on a whole notebook when the kernel dies, and after
a timeout it interrupts the kernel and moves on, so code that swallows
KeyboardInterrupt makes every later cell wait a full timeout. ``GuardedExecute``
instead stops the notebook when the kernel dies, ignores an interrupt, or the whole
notebook runs past its deadline; it then marks the cell that was running and every
test cell that never ran as failed, with the reason, and lets nbgrader score the rest.
A test cell without an error output would otherwise earn its points.
"""

import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from queue import Empty

from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float

from helpers.hidden import RECORDS

STOPPED = "GradingStopped"  # the ename of the error outputs this module writes
# Why a notebook stopped early, by (assignment, student): the worker pops its own entry,
# so a reason can never be read for another submission.
stop_reasons = {}
HELPERS = Path(__file__).resolve().parent.parent / "helpers"


class KernelStopped(Exception):
    """The kernel was stopped on purpose; the message says why."""


def error_output(reason):
    return NotebookNode(output_type="error", ename=STOPPED, evalue=reason,
                        traceback=[f"{STOPPED}: {reason}"])


class GuardedExecute(Execute):
    interrupt_grace = Float(
        5.0, help="Seconds a timed-out cell has to stop after an interrupt.").tag(config=True)
    deadline = Float(
        600.0, help="Seconds a notebook may run before its kernel is killed.").tag(config=True)
    without_reference = Bool(
        True, help="Give the kernel a copy of helpers/ that holds no reference answers "
                   "(the hidden tests' probes need none; their judges run in the grader)."
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._stop_reason = None
        self._running_index = 0
        key = submission(resources)
        stop_reasons.pop(key, None)
        watchdog = threading.Timer(self.deadline, self._kill_kernel,
                                   [f"the notebook ran longer than {self.deadline:.0f} s"])
        watchdog.daemon = True
        watchdog.start()
        try:
            with kernel_environment(resources, self.without_reference):
                return super().preprocess(nb, resources, km)
        except (DeadKernelError, KernelStopped) as error:
            reason = self._stop_reason or f"the kernel died ({error})"
            stop_reasons[key] = f"{reason}, in {self._cell_name(nb)}; later cells did not run"
            self._fail_unrun_cells(nb, reason)
            return nb, resources
        finally:
            watchdog.cancel()

    def preprocess_cell(self, cell, resources, index):
        self._running_index = index
        return super().preprocess_cell(cell, resources, index)

    def _cell_name(self, nb):
        cell = nb.cells[self._running_index]
        name = cell.metadata.get("nbgrader", {}).get("grade_id")
        return f"cell {name!r}" if name else f"cell #{self._running_index + 1}"

    def _fail_unrun_cells(self, nb, reason):
        stopped_cell = nb.cells[self._running_index]
        if stopped_cell.cell_type == "code":
            stopped_cell.outputs.append(error_output(f"stopped here: {reason}"))
        for cell in nb.cells[self._running_index + 1:]:
            if cell.cell_type == "code":
                cell.outputs = [error_output(f"not run: {reason}")]

    def _kill_kernel(self, reason):
        self._stop_reason = self._stop_reason or reason
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)

    async def _async_handle_timeout(self, timeout, cell=None):
        reply = await super()._async_handle_timeout(timeout, cell)
        # One request is outstanding, so the next shell message is its reply: it comes
        # at once unless the cell swallows KeyboardInterrupt.
        try:
            await ensure_async(self.kc.shell_channel.get_msg(timeout=self.interrupt_grace))
        except Empty:
            reason = (f"a cell ran longer than {timeout} s and ignored the interrupt "
                      "(it catches KeyboardInterrupt)")
            self._kill_kernel(reason)
            raise KernelStopped(reason) from None
        return reply


def submission(resources):
    info = (resources or {}).get("nbgrader", {})
    return info.get("assignment"), info.get("student")


_scratch = None


def scratch():
    """A folder of this process's own, removed when it exits."""
    global _scratch
    if _scratch is None:
        _scratch = tempfile.TemporaryDirectory(prefix="grading-kernel-")
    return Path(_scratch.name)


def kernel_library():
    """A copy of helpers/ without helpers/reference/, made once a process, in which
    ``import helpers.reference`` fails with a message that says why."""
    library = scratch() / "library"
    if not library.exists():
        shutil.copytree(HELPERS, library / "helpers",
                        ignore=shutil.ignore_patterns("reference", "__pycache__"))
        stub = library / "helpers" / "reference"
        stub.mkdir()
        (stub / "__init__.py").write_text(
            'raise ImportError("the grading kernel holds no reference answers: the hidden '
            'tests are judged by the grader")\n')
    return library


class kernel_environment:
    """While the kernel starts: the records file for its hidden tests in $COURSE_HIDDEN_
    RECORDS (and in ``resources["hidden_records"]`` for the judge), and, with
    ``without_reference``, the reference-free helpers first on its PYTHONPATH."""

    def __init__(self, resources, without_reference):
        self.resources, self.without_reference = resources, without_reference

    def __enter__(self):
        handle, path = tempfile.mkstemp(prefix="records-", suffix=".jsonl", dir=scratch())
        os.close(handle)
        self.resources["hidden_records"] = path
        self.saved = {key: os.environ.get(key) for key in (RECORDS, "PYTHONPATH")}
        os.environ[RECORDS] = path
        if self.without_reference:
            os.environ["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(kernel_library()), self.saved["PYTHONPATH"]) if p)
        return self

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        return False
