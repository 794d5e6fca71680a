"""File an LMS's "download all submissions" archive into the course.

    python -m autograde.collect DOWNLOAD.zip --assignment ID [--roster roster.csv]
                                [--convention auto|canvas|moodle|plain]
    (make collect ZIP=... ASSIGNMENT=... [ROSTER=...])

Every notebook becomes autograde/submitted/<student>/<assignment>/<assignment>.ipynb
(with nbgrader's timestamp.txt where the download carries one). Nothing is lost: a file
that names no known student, an older submission of a student who handed in several
times, a second notebook, a file that is not a notebook, and a submission that replaces
one already graded are all kept under autograde/collected/<assignment>/<run>/ and listed
in its report.txt, which is also printed. The LMS's names and ids of each student are
written to autograde/collected/<assignment>/lms.csv, so that ``make export`` can name the
grade rows and feedback files the way the LMS expects.
"""

import argparse
import csv
import filecmp
import shutil
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path

from nbgrader.plugins import ExtractorPlugin

from autograde import lms
from tools.course import ROOT

LMS_COLUMNS = ("student", "convention", "name", "lms_id", "submission_id", "file")


class CollectError(SystemExit):
    """The download cannot be collected; the message says why."""


def extract(download, folder):
    """Unpack the download (and any archive inside it) with nbgrader's extractor."""
    download = Path(download)
    if not download.is_file():
        raise CollectError(f"collect: no file at {download}")
    if not zipfile.is_zipfile(download):
        raise CollectError(f"collect: {download} is not a zip archive")
    archive = Path(folder) / "archive"
    archive.mkdir(parents=True)
    shutil.copy(download, archive / download.name)
    extracted = Path(folder) / "extracted"
    extractor = ExtractorPlugin()
    extractor.log.setLevel("WARNING")
    extractor.extract(str(archive), str(extracted))
    root = extracted / download.stem  # nbgrader extracts each archive into its own folder
    return root if root.is_dir() else extracted


def uploads(root, convention="auto"):
    """(every Upload found, paths that fit no convention) under ``root``."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and not _junk(p))
    relatives = [p.relative_to(root).as_posix() for p in files]
    if convention == "auto":
        convention = lms.detect(relatives)
    found, strangers = [], []
    for path, relative in zip(files, relatives, strict=True):
        upload = lms.parse(relative, convention, path)
        (found.append(upload) if upload else strangers.append(relative))
    return found, strangers, convention


def _junk(path):
    return any(part in ("__MACOSX", ".DS_Store", ".ipynb_checkpoints") for part in path.parts)


def submitted_at(upload):
    """When the download says the file was handed in: a timestamp.txt beside it (plain
    layout), else None."""
    stamp = upload.path.parent / "timestamp.txt"
    if upload.convention == "plain" and stamp.is_file():
        return stamp.read_text().strip()
    return None


def order(upload, expected):
    """Sort key, the latest last: the timestamp, else the LMS's submission id; within one
    submission the notebook with the assignment's name, then the newest file."""
    stamp = submitted_at(upload) or ""
    return (stamp, int(upload.submission_id or 0), upload.file_id == expected,
            upload.path.stat().st_mtime)


def _which(upload):
    """A file as the instructor can find it in the download: its name and when or as
    which submission it was handed in."""
    when = submitted_at(upload)
    if when:
        return f"{upload.file_id} of {when}"
    if upload.submission_id:
        return f"{upload.file_id} of submission {upload.submission_id}"
    return upload.file_id


class Report:
    def __init__(self, assignment):
        self.assignment, self.lines, self.counts = assignment, [], defaultdict(int)

    def add(self, kind, line):
        self.counts[kind] += 1
        self.lines.append(f"{kind}: {line}")

    def text(self):
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()))
        return "\n".join([f"collect {self.assignment}: {summary or 'nothing found'}",
                          *("  " + line for line in self.lines)])


def collect(download, assignment, roster=None, convention="auto", root=ROOT):
    """File the download's notebooks; returns the Report."""
    root = Path(root)
    if not (root / "solutions" / assignment).is_dir():
        raise CollectError(f"collect: {assignment} is not an assignment of this course "
                           f"(solutions/{assignment}/ does not exist)")
    try:
        people = lms.Roster(lms.read_roster(roster) if roster else None)
    except lms.RosterError as error:
        raise CollectError(f"collect: {error}") from None
    run = time.strftime("%Y%m%d-%H%M%S")
    kept = root / "autograde" / "collected" / assignment / run
    report = Report(assignment)
    with tempfile.TemporaryDirectory(prefix="collect-") as scratch:
        top = extract(download, scratch)
        found, strangers, convention = uploads(top, convention)
        for relative in strangers:
            _keep(top / relative, kept / "unmatched" / relative)
            report.add("unmatched", f"{relative} fits no {convention} file name (kept in "
                                    f"{_short(kept / 'unmatched', root)})")
        by_student = defaultdict(list)
        for upload in found:
            student, why = people.match(upload)
            if student is None:
                relative = upload.path.relative_to(top).as_posix()
                _keep(upload.path, kept / "unmatched" / relative)
                report.add("unmatched", f"{relative}: {why}")
            else:
                by_student[student].append(upload)
        ids = []
        for student, theirs in sorted(by_student.items()):
            chosen = _file_student(student, theirs, assignment, top, kept, root, report)
            if chosen:
                ids.append((student, chosen))
        _write_lms_ids(root, assignment, ids)
    if report.lines or report.counts:
        kept.mkdir(parents=True, exist_ok=True)
        (kept / "report.txt").write_text(report.text() + "\n")
    return report


def _file_student(student, theirs, assignment, top, kept, root, report):
    """File one student's notebook; keep the rest aside. Returns the Upload filed."""
    expected = f"{assignment}.ipynb"
    notebooks = [u for u in theirs if u.file_id.lower().endswith(".ipynb")]
    for other in [u for u in theirs if u not in notebooks]:
        if other.file_id == "timestamp.txt" and other.convention == "plain":
            continue
        _keep(other.path, kept / "other" / student / other.file_id)
        report.add("not a notebook", f"{student}: {other.file_id} (kept in "
                                     f"{_short(kept / 'other' / student, root)})")
    if not notebooks:
        report.add("no notebook", f"{student} handed in no notebook")
        return None
    latest = max(notebooks, key=lambda u: order(u, expected))
    for older in notebooks:
        if older is not latest:
            _keep(older.path, kept / "older" / student / f"{older.submission_id or 'file'}_"
                                                         f"{older.file_id}")
            report.add("several submissions", f"{student}: {_which(older)} kept aside, "
                                              f"{_which(latest)} filed (the latest)")
    if latest.file_id != expected:
        report.add("renamed", f"{student}: {latest.file_id} filed as {expected}")
    if latest.late:
        report.add("late", f"{student}: the LMS marks the submission late")
    target = root / "autograde" / "submitted" / student / assignment
    if (target / expected).exists():
        if filecmp.cmp(target / expected, latest.path, shallow=False):
            report.add("unchanged", f"{student}: the same notebook as already collected")
            return latest
        graded = (root / "autograde" / "autograded" / student / assignment).is_dir()
        _keep(target / expected, kept / "replaced" / student / expected)
        report.add("replaced", f"{student}: a {'graded ' if graded else ''}submission was "
                               f"replaced (the old one is kept in "
                               f"{_short(kept / 'replaced' / student, root)})"
                   + ("; its grades stand until `make grade` runs again" if graded else ""))
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(latest.path, target / expected)
    stamp = submitted_at(latest)
    (target / "timestamp.txt").unlink(missing_ok=True)
    if stamp:
        (target / "timestamp.txt").write_text(stamp + "\n")
    report.add("filed", f"{student}/{assignment}/{expected}" + (f" ({stamp})" if stamp else ""))
    return latest


def _keep(source, destination):
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination)


def _short(path, root):
    return Path(path).relative_to(root).as_posix()


def _write_lms_ids(root, assignment, ids):
    """autograde/collected/<assignment>/lms.csv: each student's LMS names, updated."""
    path = root / "autograde" / "collected" / assignment / "lms.csv"
    rows = {}
    if path.exists():
        with path.open(newline="") as file:
            rows = {row["student"]: row for row in csv.DictReader(file)}
    for student, upload in ids:
        rows[student] = {"student": student, "convention": upload.convention,
                         "name": upload.name, "lms_id": upload.lms_id,
                         "submission_id": upload.submission_id, "file": upload.file_id}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, LMS_COLUMNS)
        writer.writeheader()
        writer.writerows(rows[s] for s in sorted(rows))


def read_lms_ids(root, assignment):
    """student -> the LMS names and ids that ``collect`` saw (empty if never collected)."""
    path = Path(root) / "autograde" / "collected" / assignment / "lms.csv"
    if not path.exists():
        return {}
    with path.open(newline="") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("download", type=Path, help="the LMS's zip of all submissions")
    parser.add_argument("--assignment", "-a", required=True)
    parser.add_argument("--roster", type=Path, help="CSV: student, name, email, lms_id, ...")
    parser.add_argument("--convention", choices=["auto", *lms.CONVENTIONS], default="auto")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    report = collect(args.download, args.assignment, args.roster, args.convention,
                     args.root.resolve())
    print(report.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

