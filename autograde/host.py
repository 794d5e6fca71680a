"""What this machine lets one grading run use: its CPUs, and the course to itself."""

import fcntl
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path


def usable_cpus():
    """The CPUs this process may run on: its affinity, bounded by a cgroup CPU quota
    (a container limited to 2 CPUs reports the host's count in os.cpu_count())."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    quota = cgroup_quota()
    return max(1, min(count, quota) if quota else count)


def cgroup_quota(root=Path("/sys/fs/cgroup")):
    """CPUs allowed by the cgroup's quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``), or
    None when there is none."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return math.ceil(int(quota) / int(period))
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return math.ceil(quota / period) if quota > 0 else None
    except (OSError, ValueError, ZeroDivisionError):
        return None


class Busy(SystemExit):
    """Another grading run holds the course."""


@contextmanager
def exclusive(root):
    """Hold autograde/.grading.lock for the run; refuse with a clear message if another
    run holds it. The lock dies with its process, so a crashed run never blocks the next."""
    path = Path(root) / "autograde" / ".grading.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise Busy(f"make grade: the course is being graded already ({holder}); "
                       "wait for that run to finish, then grade again.") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
        lock.flush()
        try:
            yield
        finally:
            lock.seek(0)
            lock.truncate()
