"""Write the gradebook out for a learning-management system, and the feedback pages with it.

    python -m autograde.export --format csv|canvas|moodle [--assignment ID]
                               [--roster roster.csv] [--canvas-column ID="Name (123)"]
    (make export FORMAT=... [ASSIGNMENT=...] [ROSTER=...])

Writes into autograde/export/:

- ``csv``: ``grades.csv``, one row per student and assignment: the score so far, the
  automatic and manual parts, and ``pending``, the written answers still to be graded;
- ``canvas``: ``canvas-grades.csv``, the columns Canvas's gradebook import reads (Student,
  ID, SIS User ID, SIS Login ID, Section, one column per assignment, and a Points Possible
  row);
- ``moodle``: ``moodle-<assignment>.csv`` per assignment, Moodle's offline grading
  worksheet (Identifier "Participant <n>", Full name, Email address, Status, Grade,
  Maximum Grade, ..., Feedback comments);

and ``feedback-<assignment>.zip`` per assignment, each student's feedback page named as
the LMS's bulk feedback upload matches files to people. A grade whose written answers
still wait for the formgrader is never written as a number in an LMS file: its cell is
left empty (the LMS keeps what it had) and the run lists it, as it lists every submission
the last ``make grade`` could not grade (from autograde/grades.csv). Manual grades and
comments given in the formgrader are included.
"""

import argparse
import csv
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook

from autograde import gradebook, lms
from autograde.collect import read_lms_ids
from tools.course import ROOT

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("Identifier", "Full name", "Email address", "Status", "Grade",
                  "Maximum Grade", "Grade can be changed", "Last modified (submission)",
                  "Last modified (grade)", "Feedback comments")


class ExportError(SystemExit):
    """The export cannot be written; the message says why."""


@dataclass
class Row:
    """One student's result on one assignment, as the gradebook has it."""
    student: str
    assignment: str
    max_score: float
    submitted: bool = False
    auto: float = 0.0
    manual: float = 0.0
    pending: list = field(default_factory=list)   # written answers not graded yet
    comments: list = field(default_factory=list)  # (cell, the grader's comment)
    timestamp: str = ""

    @property
    def score(self):
        return self.auto + self.manual

    @property
    def complete(self):
        return self.submitted and not self.pending


def rows(root, assignment=None):
    """A Row for every student and assignment of the gradebook (unsubmitted ones too)."""
    found = []
    with Gradebook(gradebook.db_url(root)) as gb:
        students = sorted(s.id for s in gb.students)
        for item in sorted(gb.assignments, key=lambda a: a.name):
            if assignment and item.name != assignment:
                continue
            for student in students:
                row = Row(student, item.name, item.max_score)
                try:
                    submission = gb.find_submission(item.name, student)
                except Exception:  # noqa: BLE001 - nbgrader's MissingEntry: not submitted
                    found.append(row)
                    continue
                row.submitted = True
                row.timestamp = submission.timestamp.isoformat(" ") if submission.timestamp else ""
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        if grade.manual_score is not None:
                            row.manual += grade.manual_score
                        elif grade.needs_manual_grade or grade.auto_score is None:
                            row.pending.append(grade.name)
                        else:
                            row.auto += grade.auto_score
                    row.comments += [(c.name, c.manual_comment) for c in notebook.comments
                                     if c.manual_comment]
                found.append(row)
    if assignment and not any(r.assignment == assignment for r in found):
        raise ExportError(f"export: the gradebook has no assignment {assignment!r}")
    return found


def write_csv(path, header, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(lines)
    return path


def plain(results, out, failures):
    header = ("student", "assignment", "score", "max_score", "autograded", "manual",
              "pending", "status")
    lines = [(r.student, r.assignment, f"{r.score:g}", f"{r.max_score:g}", f"{r.auto:g}",
              f"{r.manual:g}", " ".join(r.pending), status(r, failures))
             for r in results]
    return [write_csv(out / "grades.csv", header, lines)]


def status(row, failures):
    failure = failures.get((row.student, row.assignment))
    if failure:
        return f"grading failed: {failure}"
    if not row.submitted:
        return "not submitted"
    if row.pending:
        return f"waiting for manual grading ({len(row.pending)} answer(s))"
    return "complete"


def canvas(results, people, out, columns):
    """Canvas's gradebook import: one row per person, one column per assignment."""
    assignments = sorted({r.assignment for r in results})
    by_key = {(r.student, r.assignment): r for r in results}
    header = (*CANVAS_COLUMNS, *(columns.get(a, a) for a in assignments))
    points = ("Points Possible", "", "", "", "",
              *(f"{next(r for r in results if r.assignment == a).max_score:g}"
                for a in assignments))
    lines = [points]
    for person in people:
        cells = [_grade(by_key.get((person.student, a))) for a in assignments]
        lines.append((_sortable(person.name or person.student), person.lms_id, person.sis_id,
                      person.email, person.section, *cells))
    return [write_csv(out / "canvas-grades.csv", header, lines)]


def moodle(results, people, out):
    """Moodle's offline grading worksheet, one file per assignment."""
    paths = []
    for assignment in sorted({r.assignment for r in results}):
        by_student = {r.student: r for r in results if r.assignment == assignment}
        lines = []
        for person in people:
            row = by_student.get(person.student)
            comment = "; ".join(text for _, text in row.comments) if row else ""
            lines.append((f"Participant {person.lms_id}", person.name or person.student,
                          person.email, _moodle_status(row), _grade(row),
                          f"{row.max_score:g}" if row else "", "Yes",
                          row.timestamp if row else "", "", comment))
        paths.append(write_csv(out / f"moodle-{assignment}.csv", MOODLE_COLUMNS, lines))
    return paths


def _grade(row):
    """The number an LMS may import, or "" where the grade is not complete."""
    return f"{row.score:g}" if row is not None and row.complete else ""


def _moodle_status(row):
    if row is None or not row.submitted:
        return "No submission"
    return "Submitted for grading" + (" - Graded" if row.complete else "")


def _sortable(name):
    parts = name.split()
    return f"{parts[-1]}, {' '.join(parts[:-1])}" if len(parts) > 1 else name


def feedback_name(student, assignment, seen, convention):
    """The file name under which an LMS's bulk feedback upload finds this student."""
    if convention == "canvas" and seen.get("lms_id"):
        return (f"{seen['name']}_{seen['lms_id']}_{seen.get('submission_id') or 0}_"
                f"{assignment}_feedback.html")
    if convention == "moodle" and seen.get("lms_id"):
        return f"{seen['name']}_{seen['lms_id']}_assignsubmission_file_{assignment}_feedback.html"
    return f"{student}/{assignment}_feedback.html"


def feedback_zips(root, results, out, convention):
    paths = []
    for assignment in sorted({r.assignment for r in results}):
        seen = read_lms_ids(root, assignment)
        path = out / f"feedback-{assignment}.zip"
        count = 0
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for row in (r for r in results if r.assignment == assignment and r.submitted):
                page = (Path(root) / "autograde" / "feedback" / row.student / assignment
                        / f"{assignment}.html")
                if page.is_file():
                    archive.write(page, feedback_name(row.student, assignment,
                                                      seen.get(row.student, {}), convention))
                    count += 1
        paths.append(path)
    return paths


def people_for(root, results, roster):
    """The roster's people, with LMS ids filled from what ``collect`` saw; without a roster,
    one person per student of the gradebook."""
    people = lms.read_roster(roster) if roster else [
        lms.Person(student) for student in sorted({r.student for r in results})]
    seen = {}
    for assignment in sorted({r.assignment for r in results}):
        for student, ids in read_lms_ids(root, assignment).items():
            seen.setdefault(student, ids)
    for person in people:
        ids = seen.get(person.student, {})
        person.lms_id = person.lms_id or ids.get("lms_id", "")
        person.name = person.name or ids.get("name", "")
    return people


def export(root, fmt, assignment=None, roster=None, columns=None):
    """Write the export files; returns (paths, lines for the instructor)."""
    root = Path(root)
    results = rows(root, assignment)
    failed = grading_failures(root, assignment)
    maxima = {r.assignment: r.max_score for r in results}
    known = {(r.student, r.assignment) for r in results}
    results += [Row(student, item, maxima.get(item, 0.0)) for student, item in failed
                if (student, item) not in known]  # handed in, but no grading reached the gradebook
    out = root / "autograde" / "export"
    try:
        people = people_for(root, results, roster)
    except lms.RosterError as error:
        raise ExportError(f"export: {error}") from None
    if fmt == "csv":
        paths = plain(results, out, failed)
    elif fmt == "canvas":
        paths = canvas(results, people, out, columns or {})
    else:
        paths = moodle(results, people, out)
    paths += feedback_zips(root, results, out, fmt)
    lines = [f"wrote {p.relative_to(root)}" for p in paths]
    waiting = [r for r in results if r.submitted and r.pending]
    if waiting:
        lines.append(f"{len(waiting)} grade(s) wait for manual grading in the formgrader"
                     + (" (left empty in the LMS file)" if fmt != "csv" else "") + ": "
                     + ", ".join(f"{r.student}/{r.assignment}" for r in waiting))
    if failed:
        lines.append(f"{len(failed)} submission(s) could not be graded by the last `make grade` "
                     "(see autograde/grades.csv; an earlier score, if any, is what is exported): "
                     + "; ".join(f"{student}/{item}: {reason}"
                                 for (student, item), reason in failed.items()))
    if fmt != "csv":
        unknown = [p.student for p in people if not p.lms_id and not p.sis_id]
        if unknown:
            lines.append(f"no LMS id for {', '.join(unknown)}: give them an lms_id in the "
                         "roster, or collect their submissions from the LMS's download")
    return paths, lines


def grading_failures(root, assignment=None):
    """{(student, assignment): reason} of each submission whose last grading failed."""
    path = Path(root) / "autograde" / "grades.csv"
    if not path.exists():
        return {}
    with path.open() as file:
        return {(r["student"], r["assignment"]): r["reason"] for r in csv.DictReader(file)
                if r["status"] == "error" and assignment in (None, r["assignment"])}


def parse_columns(values):
    columns = {}
    for value in values or []:
        assignment, sep, header = value.partition("=")
        if not sep or not header:
            raise ExportError(f"export: --canvas-column takes ID=HEADER, got {value!r}")
        columns[assignment] = header
    return columns


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", "-f", choices=("csv", "canvas", "moodle"), default="csv")
    parser.add_argument("--assignment", "-a")
    parser.add_argument("--roster", type=Path)
    parser.add_argument("--canvas-column", action="append", metavar="ID=HEADER",
                        help='the Canvas column of an assignment, e.g. 03_gru_numpy="GRU in '
                             'NumPy (123456)" (default: the assignment id)')
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    _, lines = export(args.root.resolve(), args.format, args.assignment, args.roster,
                      parse_columns(args.canvas_column))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
