"""Worker processes that survive their own deaths: one dead worker costs at most the
submission it was grading.

``ProcessPoolExecutor`` fails every pending task once one of its processes dies (a
submission's kernel that kills its parent, the OOM killer), so the course runs its own
small pool: one pipe per worker, one task at a time per worker. When a worker dies, its
task is tried once more in a fresh worker; if that one dies too, the task comes back as
``died``, and every other task goes on.
"""

import multiprocessing
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait

ATTEMPTS = 2  # a task whose worker died is tried once more, in a fresh worker


class StartFailed(RuntimeError):
    """A worker process died before it could take its first task: grading cannot run."""


@dataclass
class Died:
    """A task whose worker process died ``attempts`` times while running it."""
    task: tuple
    attempts: int
    exitcode: int | None


READY = "ready"


def _serve(connection, start, start_args):
    """A worker process: build the worker, say so, then answer tasks until told to stop."""
    handle = start(*start_args)
    connection.send(READY)
    while True:
        task = connection.recv()
        if task is None:
            return
        connection.send(handle(*task))


class _Slot:
    """One worker process and the task it is running."""

    def __init__(self, context, start, start_args):
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, start, start_args),
                                       daemon=True)
        self.process.start()
        child.close()
        self.task = None

    def wait_ready(self):
        try:
            ready = self.connection.recv()
        except (EOFError, OSError):
            ready = None
        if ready != READY:
            self.stop()
            raise StartFailed(f"a grading process died while starting (exit code "
                              f"{self.process.exitcode})")
        return self

    def give(self, task):
        self.task = task
        self.connection.send(task)

    def stop(self):
        try:
            self.connection.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
        self.connection.close()


def run(tasks, jobs, start, start_args=()):
    """Yield ``(task, result)`` for every task, in the order they finish; ``result`` is
    what ``start(*start_args)(*task)`` returned in a worker, or a ``Died``.

    ``start`` builds a worker in each process and returns the function that handles a
    task; both must be importable (processes are spawned, not forked). A process that
    dies before it is ready raises ``StartFailed``: that is grading failing, not a
    submission."""
    context = multiprocessing.get_context("spawn")
    pending = deque((task, 1) for task in tasks)
    attempts = {}
    slots = []
    try:
        slots += [_Slot(context, start, start_args) for _ in range(min(jobs, len(pending)))]
        for slot in slots:  # started together, then waited for
            slot.wait_ready()
            _assign(slot, pending, attempts)
        while any(slot.task is not None for slot in slots):
            busy = [slot for slot in slots if slot.task is not None]
            ready = wait([s.connection for s in busy] + [s.process.sentinel for s in busy])
            for slot in busy:
                if slot.connection in ready or slot.process.sentinel in ready:
                    yield from _collect(slot, slots, pending, attempts, context, start,
                                        start_args)
    finally:
        for slot in slots:
            slot.stop()


def _assign(slot, pending, attempts):
    if pending:
        task, attempt = pending.popleft()
        attempts[task] = attempt
        slot.give(task)
    else:
        slot.task = None


def _collect(slot, slots, pending, attempts, context, start, start_args):
    task = slot.task
    try:
        if slot.connection.poll():
            result = slot.connection.recv()
            yield task, result
            _assign(slot, pending, attempts)
            return
    except (EOFError, OSError):
        pass
    if slot.process.is_alive():  # woken by the pipe closing as the process exits
        slot.process.join(timeout=10)
    exitcode = slot.process.exitcode
    if attempts[task] < ATTEMPTS:
        pending.appendleft((task, attempts[task] + 1))
    else:
        yield task, Died(task, attempts[task], exitcode)
    slot.stop()
    index = slots.index(slot)
    if pending:
        slots[index] = _Slot(context, start, start_args).wait_ready()
        _assign(slots[index], pending, attempts)
    else:
        slot.task = None
