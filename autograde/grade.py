"""Grade a class: every submission, on every core, into one gradebook.

    python -m autograde.grade [--assignment ID] [--student ID] [--jobs N]

Submissions live in autograde/submitted/<student>/<assignment>/<assignment>.ipynb.
Each is autograded by nbgrader in a worker process against the worker's own copy of
the gradebook (autograde.worker); this process alone writes the course's gradebook,
merging each result as it arrives. Then it writes autograde/grades.csv and prints a
summary. Exit status 0 when every submission was graded or recorded with a reason.
"""

import argparse
import csv
import multiprocessing
import os
import sys
import tempfile
import warnings
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from autograde import gradebook, worker
from tools.course import ROOT

COLUMNS = ("student", "assignment", "score", "max_score", "needs_manual_grading", "status",
           "reason")


def find_submissions(root, assignment=None, student=None):
    """(folder, student, assignment) for each submission, sorted."""
    submitted = Path(root) / "autograde" / "submitted"
    return [(folder, folder.parent.name, folder.name)
            for folder in sorted(submitted.glob("*/*"))
            if folder.is_dir()
            and (assignment is None or folder.name == assignment)
            and (student is None or folder.parent.name == student)]


def known_assignments(root):
    return {p.name for p in (Path(root) / "solutions").iterdir() if p.is_dir()}


def unknown_result(student, assignment):
    return worker.Result(student, assignment, "unknown",
                         f"{assignment} is not an assignment of this course")


def grade_all(submissions, options, jobs):
    """Grade ``submissions`` on ``jobs`` processes; yield each result as it is merged."""
    root = options.root
    gradebook.ensure_assignments(root, {a for _, _, a in submissions})
    with tempfile.TemporaryDirectory(prefix="grading-") as scratch:
        snapshot = Path(scratch) / "snapshot.db"
        gradebook.snapshot(root, snapshot)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=worker.start,
                                 initargs=(options, scratch, snapshot)) as pool:
            futures = {pool.submit(worker.grade, str(folder), student, assignment):
                       (student, assignment) for folder, student, assignment in submissions}
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as error:  # the worker process itself died
                    result = worker.Result(*futures[future], "error",
                                           f"grading process failed: {error}")
                gradebook.merge(root, result)
                yield result


def write_table(root, results):
    """autograde/grades.csv: every submission in the gradebook, and every folder that
    could not be one; status and reason from this run, or kept from the last run for
    submissions not graded now."""
    path = Path(root) / "autograde" / "grades.csv"
    rows = {}
    if path.exists():
        with path.open() as file:
            rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(file)}
    rows = {key: row for key, row in rows.items()
            if (Path(root) / "autograde" / "submitted" / key[0] / key[1]).is_dir()}
    rows.update({(r.student, r.assignment): dict(zip(COLUMNS, (
        r.student, r.assignment, "", "", "", r.status, r.reason), strict=True))
        for r in results})
    for student, assignment, score, max_score, manual in gradebook.submission_rows(root):
        row = rows.setdefault((student, assignment), {"status": "", "reason": ""})
        row.update(student=student, assignment=assignment, score=f"{score:g}",
                   max_score=f"{max_score:g}", needs_manual_grading=manual)
    with path.open("w", newline="") as file:
        table = csv.DictWriter(file, COLUMNS)
        table.writeheader()
        table.writerows(row for _, row in sorted(rows.items()))
    return path


def summary(root, results, worst=5):
    """Lines for the instructor: counts, mean per assignment, the most failed tests."""
    failed = [r for r in results if r.status not in ("graded",)]
    lines = [f"graded {len(results) - len(failed)} submissions normally, "
             f"{len(failed)} with a problem (see status and reason in grades.csv)"]
    lines += [f"  {r.student}/{r.assignment}: {r.status}: {r.reason}" for r in failed]
    graded = {(r.student, r.assignment) for r in results}
    scores = defaultdict(list)
    for student, assignment, score, max_score, _ in gradebook.submission_rows(root):
        if (student, assignment) in graded:
            scores[assignment].append((score, max_score))
    for assignment, pairs in sorted(scores.items()):
        mean = sum(s for s, _ in pairs) / len(pairs)
        lines.append(f"mean {assignment}: {mean:.2f} / {pairs[0][1]:g} "
                     f"over {len(pairs)} submissions")
    counts = gradebook.failed_tests(root, graded).most_common(worst)
    if counts:
        lines.append("most failed tests: " + ", ".join(
            f"{assignment}/{test} ({n}/{len(scores[assignment])})"
            for (assignment, test), n in counts))
    return lines


def grade_class(options, assignment=None, student=None, jobs=None, progress=True):
    """Grade, write the table, return (results, summary lines)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader 0.9.6 with SQLAlchemy 2: harmless
        return _grade_class(options, assignment, student, jobs, progress)


def _grade_class(options, assignment, student, jobs, progress):
    submissions = find_submissions(options.root, assignment, student)
    known = known_assignments(options.root)
    results = [unknown_result(s, a) for _, s, a in submissions if a not in known]
    gradable = [item for item in submissions if item[2] in known]
    jobs = max(1, min(jobs or os.cpu_count(), len(gradable)))
    if gradable:
        bar = tqdm(total=len(gradable), unit="submission", disable=not progress,
                   file=sys.stderr)
        for result in grade_all(gradable, options, jobs):
            results.append(result)
            bar.update()
            bar.set_postfix_str(f"{result.student}/{result.assignment}: {result.status}")
        bar.close()
    write_table(options.root, results)
    return results, summary(options.root, results)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", "-a", help="grade only this assignment")
    parser.add_argument("--student", "-s", help="grade only this student")
    parser.add_argument("--jobs", "-j", type=int, help="worker processes (default: every core)")
    parser.add_argument("--timeout", type=int, help="seconds per cell (default: the config's)")
    parser.add_argument("--deadline", type=float, default=600.0,
                        help="seconds per notebook before its kernel is killed")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course folder")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    options = worker.Options(root=args.root.resolve(), timeout=args.timeout,
                             deadline=args.deadline)
    results, lines = grade_class(options, args.assignment or None, args.student or None,
                                 args.jobs)
    if not results:
        print("no submissions under autograde/submitted/<student>/<assignment>/")
    print("\n".join(lines))
    print(f"grades: {Path(options.root) / 'autograde' / 'grades.csv'}; "
          f"feedback: {Path(options.root) / 'autograde' / 'feedback'}/<student>/<assignment>/")


if __name__ == "__main__":
    main()
