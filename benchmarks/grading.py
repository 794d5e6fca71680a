"""Grade a generated class twice on this machine: plain sequential ``nbgrader autograde``,
then the course's parallel grader (make grade), and compare both with the floor.

    python benchmarks/grading.py [--students N] [--assignments ID ...] [--jobs J]

The class: N students for every released assignment (notebooks/), a third with
correct answers, a third blank, a third with one exercise left undone. Every run
starts from the same gradebook in a scratch copy of the course; the real autograde/
is never touched. A shared machine's speed drifts over minutes, so the two ways take
turns: one half of the class sequentially then in parallel, the other half in
parallel then sequentially, and each way's time is the sum over both halves (a drift
steady over the run cancels out). The halves are every other student, so each holds
a similar mix of answers; N must be even. The floor is what no grader can beat per
submission: a kernel start plus ``import torch``, measured twice before each turn
(the median of the eight). make grade writes feedback HTML for every submission and
plain autograde does not, so the table also times nbgrader's generate_feedback after
it: the same output.
"""

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograde import gradebook, host, samples, worker  # noqa: E402
from autograde.grade import grade_class  # noqa: E402
from tools.course import ROOT, existing_assignments, run_nbgrader  # noqa: E402

TARGET_SPEEDUP, TARGET_FLOOR_RATIO = 1.8, 1.5


def floor_samples(repeats):
    """Times of a kernel start plus ``import torch`` (one thread, as grading runs)."""
    os.environ.update(worker.THREAD_LIMITS)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        manager, client = start_new_kernel(kernel_name="python3")
        client.execute_interactive("import torch", timeout=120)
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        times.append(time.perf_counter() - start)
    return times


def notebook_seconds(folder, assignment):
    """One correct submission run top to bottom by nbclient as grading runs it (kernel
    start included, no nbgrader): what the notebook itself costs to grade."""
    release, solution = samples.load(folder, assignment)
    client = NotebookClient(samples.filled(release, solution), timeout=600,
                            kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start
    finally:
        del os.environ["NBGRADER_EXECUTION"]


def make_course(folder, assignments, students):
    """A scratch course with the released assignments, a gradebook and a class."""
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    for kind in ("solutions", "notebooks"):
        for assignment in assignments:
            shutil.copytree(ROOT / kind / assignment, folder / kind / assignment)
    (folder / "autograde").mkdir()
    gradebook.ensure_assignments(folder, assignments)
    for assignment in assignments:
        samples.write_class(folder, assignment, students)
    shutil.copy(gradebook.db_path(folder), folder / "fresh.db")


def keep_only(folder, students):
    """Leave only ``students``'s submissions in autograde/submitted/ (the others wait
    in a folder beside it)."""
    submitted, waiting = folder / "autograde" / "submitted", folder / "waiting"
    waiting.mkdir(exist_ok=True)
    for student in [*submitted.iterdir(), *waiting.iterdir()]:
        home = submitted if student.name in students else waiting
        if student.parent != home:
            student.rename(home / student.name)


def reset(folder):
    """Back to the fresh gradebook, nothing graded."""
    for kind in ("autograded", "feedback"):
        shutil.rmtree(folder / "autograde" / kind, ignore_errors=True)
    (folder / "autograde" / "grades.csv").unlink(missing_ok=True)
    shutil.copy(folder / "fresh.db", gradebook.db_path(folder))


def cpu_seconds():
    """CPU time of this process and of every finished descendant (kernels included:
    their parents wait for them)."""
    mine, children = (resource.getrusage(who) for who in (
        resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def time_sequential(folder, assignments, command):
    """Plain nbgrader: ``nbgrader COMMAND ID --force`` for each assignment in turn.
    Returns wall and CPU seconds."""
    start, cpu = time.perf_counter(), cpu_seconds()
    for assignment in assignments:
        run_nbgrader(command, assignment, "--force", root=folder, check=False,
                     capture_output=True)
    return time.perf_counter() - start, cpu_seconds() - cpu


def time_parallel(folder, jobs):
    start, cpu = time.perf_counter(), cpu_seconds()
    results, _ = grade_class(worker.Options(root=folder), jobs=jobs)
    return time.perf_counter() - start, cpu_seconds() - cpu, results


def grade_one_way(way, folder, assignments, jobs, totals):
    """Grade the submissions present, from a fresh gradebook, sequentially or in parallel;
    add the seconds to ``totals``. Returns (scores, make grade's results)."""
    reset(folder)
    if way == "sequential":
        wall, cpu = time_sequential(folder, assignments, "autograde")
        graded = []
        totals.update(sequential=wall, sequential_cpu=cpu)
        feedback, feedback_cpu = time_sequential(folder, assignments, "generate_feedback")
        totals.update(feedback=feedback, feedback_cpu=feedback_cpu)
    else:
        wall, cpu, graded = time_parallel(folder, jobs)
        totals.update(parallel=wall, parallel_cpu=cpu)
    print(f"  {way}: {wall:.1f} s", flush=True)
    return scores(folder), graded


def grade_both_ways(folder, assignments, jobs):
    """The halves of the class take turns (see the module's docstring). Returns the
    summed seconds of each way, the floor (median of samples taken before each turn),
    whether both ways gave the same scores, and make grade's results."""
    totals, scored, results = Counter(), {"sequential": [], "parallel": []}, []
    floors = []
    students = sorted(p.name for p in (folder / "autograde" / "submitted").iterdir())
    for half, ways in ((students[0::2], ("sequential", "parallel")),
                       (students[1::2], ("parallel", "sequential"))):
        keep_only(folder, set(half))
        print(f"{len(half)} students:", flush=True)
        for way in ways:
            floors += floor_samples(2)  # the floor drifts with the machine, too
            half_scores, graded = grade_one_way(way, folder, assignments, jobs, totals)
            scored[way] += half_scores
            results += graded
    keep_only(folder, set(students))
    same = sorted(scored["sequential"]) == sorted(scored["parallel"])
    return totals, statistics.median(floors), same, results


def scores(folder):
    return sorted((s, a, score) for s, a, score, _, _ in gradebook.submission_rows(folder))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--assignments", nargs="*", default=None)
    parser.add_argument("--jobs", type=int, default=host.usable_cpus())
    args = parser.parse_args(argv)
    if args.students < 2 or args.students % 2:
        parser.error("--students must be even: the class is graded in two equal halves")
    assignments = args.assignments or existing_assignments("notebooks")
    if not assignments:
        raise SystemExit("no released assignment in notebooks/: run make release first")
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        folder = Path(scratch)
        make_course(folder, assignments, args.students)
        n = args.students * len(assignments)
        print(f"class: {args.students} students x {len(assignments)} assignments = {n} "
              f"submissions ({', '.join(assignments)}); {os.cpu_count()} cores", flush=True)
        alone = {a: notebook_seconds(folder, a) for a in assignments}
        print("one correct notebook run alone, kernel start included: "
              + ", ".join(f"{a} {t:.2f} s" for a, t in alone.items()), flush=True)
        totals, floor, same, results = grade_both_ways(folder, assignments, args.jobs)
        sequential, sequential_cpu = totals["sequential"], totals["sequential_cpu"]
        feedback, feedback_cpu = totals["feedback"], totals["feedback_cpu"]
        parallel, parallel_cpu = totals["parallel"], totals["parallel_cpu"]
        busy = statistics.mean(r.seconds for r in results)
    speedup = sequential / parallel
    lines = [
        "",
        f"{'':34}{'wall s':>9}{'s/submission':>14}{'CPU s/submission':>18}",
        f"{'sequential nbgrader autograde':34}{sequential:9.1f}{sequential / n:14.2f}"
        f"{sequential_cpu / n:18.2f}",
        f"{'  + generate_feedback (same output)':34}{sequential + feedback:9.1f}"
        f"{(sequential + feedback) / n:14.2f}{(sequential_cpu + feedback_cpu) / n:18.2f}",
        f"{f'make grade ({args.jobs} processes)':34}{parallel:9.1f}{parallel / n:14.2f}"
        f"{parallel_cpu / n:18.2f}",
        f"speedup over plain autograde: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x): "
        + ("met" if speedup >= TARGET_SPEEDUP else "NOT met")
        + f"; over autograde + generate_feedback: {(sequential + feedback) / parallel:.2f}x",
        f"floor: {floor:.2f} s; make grade per submission: {parallel / n:.2f} s of wall "
        f"({parallel / n / floor:.2f}x floor; target <= {TARGET_FLOOR_RATIO}x): "
        + ("met" if parallel / n / floor <= TARGET_FLOOR_RATIO else "NOT met"),
        f"one worker spends {busy:.2f} s on a submission ({busy / floor:.2f}x floor);",
        f"  for comparison, one correct notebook run alone by nbclient (no nbgrader) took "
        f"{statistics.mean(alone.values()):.2f} s ({statistics.mean(alone.values()) / floor:.2f}x "
        "floor): most of a submission's cost is the notebook's own",
        f"CPU time is what load from other processes inflates least: on an idle machine "
        f"with {args.jobs} cores, make grade would take about "
        f"{sequential_cpu / parallel_cpu * min(args.jobs, os.cpu_count()):.2f}x less "
        "wall time than sequential autograde, "
        f"{(sequential_cpu + feedback_cpu) / parallel_cpu * min(args.jobs, os.cpu_count()):.2f}x"
        " less than autograde + generate_feedback (if sequential nbgrader keeps one core busy)",
        f"Same scores both ways: {same}",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
