"""Grade a class: every submission, on every usable CPU, into one gradebook.

    python -m autograde.grade [--assignment ID] [--student ID] [--jobs N]

Submissions live in autograde/submitted/<student>/<assignment>/<assignment>.ipynb.
Each is autograded by nbgrader in a worker process against the worker's own copy of
the gradebook (autograde.worker, in autograde.pool's processes); this process alone
writes the course's gradebook, merging each result as it arrives, and only then
publishes its feedback page. Then it writes autograde/grades.csv and prints a summary.
Exit status 0 when every submission was graded or recorded with a reason.
"""

import argparse
import csv
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from autograde import gradebook, host, pool, publish, worker
from tools.course import ROOT

KILLED = "the grading process was killed while running this submission (in both of two attempts)"

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


def unknown_result(student, assignment):
    return worker.Result(student, assignment, "unknown",
                         f"{assignment} is not an assignment of this course")


def grade_all(submissions, options, jobs):
    """Grade ``submissions`` on ``jobs`` processes; yield each result once it is merged
    into the gradebook (or could not be) and its pages are published."""
    root = options.root
    gradebook.ensure_assignments(root, {a for _, _, a in submissions})
    logs = Path(root) / "autograde" / "logs" / time.strftime("%Y%m%d-%H%M%S")
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="grading-") as scratch:
        snapshot = Path(scratch) / "snapshot.db"
        gradebook.snapshot(root, snapshot)
        tasks = [(str(folder), student, assignment) for folder, student, assignment in submissions]
        for (_, student, assignment), outcome in pool.run(
                tasks, jobs, worker.start, (options, scratch, snapshot, logs)):
            if isinstance(outcome, pool.Died):
                outcome = worker.Result(student, assignment, "error", KILLED)
            yield record(root, outcome)


def record(root, result):
    """Merge ``result`` into the gradebook and publish its pages; a result with no scores
    (its grading failed) leaves the last run's scores and pages as they were."""
    if not (result.grades or result.status in ("missing", "invalid")):
        publish.discard(result)
        result.reason = f"{result.reason}; {kept(root, result)}"
        return result
    try:
        gradebook.merge(root, result)
    except Exception as error:  # noqa: BLE001 - one failed merge must not stop the class
        publish.discard(result)
        result.status = "error"
        result.reason = (f"its grades could not be written into the gradebook "
                         f"({type(error).__name__}: {error}); {kept(root, result)}")
        return result
    publish.publish(root, result, score(root, result))
    return result


def kept(root, result):
    """What the gradebook still holds for a submission that this run could not grade."""
    return ("the scores of the previous run are kept" if score(root, result) is not None
            else "no score is recorded")


def score(root, result):
    with Gradebook(gradebook.db_url(root)) as gb:
        try:
            return gb.find_submission(result.assignment, result.student).score
        except MissingEntry:
            return None


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
    maxima = gradebook.max_scores(root)
    rows.update({(r.student, r.assignment): dict(zip(COLUMNS, (
        r.student, r.assignment, "", f"{maxima[r.assignment]:g}" if r.assignment in maxima
        else "", "", r.status, r.reason), strict=True)) for r in results})
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
    """Grade, write the table, return (results, summary lines). Refuses to run while
    another run grades the same course (``autograde.host.exclusive``)."""
    with host.exclusive(options.root), warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader 0.9.6 with SQLAlchemy 2: harmless
        return _grade_class(options, assignment, student, jobs, progress)


def _grade_class(options, assignment, student, jobs, progress):
    submissions = find_submissions(options.root, assignment, student)
    known = set(worker.known_assignments(options.root))
    results = [unknown_result(s, a) for _, s, a in submissions if a not in known]
    gradable = [item for item in submissions if item[2] in known]
    jobs = max(1, min(jobs or host.usable_cpus(), len(gradable) or 1))
    try:
        if gradable:
            bar = tqdm(total=len(gradable), unit="submission", disable=not progress,
                       file=sys.stderr)
            for result in grade_all(gradable, options, jobs):
                results.append(result)
                bar.update()
                bar.set_postfix_str(f"{result.student}/{result.assignment}: {result.status}")
            bar.close()
    finally:  # whatever happened, the table says what was graded
        write_table(options.root, results)
    return results, summary(options.root, results)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", "-a", help="grade only this assignment")
    parser.add_argument("--student", "-s", help="grade only this student")
    parser.add_argument("--jobs", "-j", type=int,
                        help="worker processes (default: the CPUs this process may use)")
    parser.add_argument("--timeout", type=int, help="seconds per cell (default: the config's)")
    parser.add_argument("--deadline", type=float, default=600.0,
                        help="seconds per notebook before its kernel is killed")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course folder")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        raise SystemExit(f"--jobs must be at least 1, got {args.jobs}")
    options = worker.Options(root=args.root.resolve(), timeout=args.timeout,
                             deadline=args.deadline)
    try:
        results, lines = grade_class(options, args.assignment or None, args.student or None,
                                     args.jobs)
    except pool.StartFailed as error:
        raise SystemExit(f"make grade: grading could not start: {error}; its log is in "
                         f"{Path(options.root) / 'autograde' / 'logs'}/ (newest folder)") from None
    if not results:
        print("no submissions under autograde/submitted/<student>/<assignment>/")
    print("\n".join(lines))
    print(f"grades: {Path(options.root) / 'autograde' / 'grades.csv'}; "
          f"feedback: {Path(options.root) / 'autograde' / 'feedback'}/<student>/<assignment>/")


if __name__ == "__main__":
    main()
