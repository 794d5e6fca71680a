"""What learning-management systems call things: the file names of their "download all
submissions" archives, the roster that maps their people to the course's student ids, and
the columns of their grade imports.

Downloads are parsed with nbgrader's own ``FileNameCollectorPlugin`` (the regex machinery
of ``nbgrader zip_collect``), one named regular expression per convention:

- Canvas: ``smithjane_12345_678901_03_gru_numpy.ipynb`` (sortable name without separators,
  ``_LATE`` when late, the Canvas user id, the submission id, the uploaded file's name);
- Moodle: ``Jane Smith_4321_assignsubmission_file_03_gru_numpy.ipynb``, or the same prefix
  as a folder (``Jane Smith_4321_assignsubmission_file_/03_gru_numpy.ipynb``), with the
  participant number;
- plain: ``<student>/<file>``, a folder per student (with nbgrader's ``timestamp.txt``).
"""

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin

CONVENTIONS = {
    "canvas": r"^(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<lms_id>\d+)_(?P<submission_id>\d+)_"
              r"(?P<file_id>[^/]+)$",
    "moodle": r"^(?P<name>[^/]+?)_(?P<lms_id>\d+)_assignsubmission_(?:file|onlinetext)_"
              r"(?:/|(?=[^/]+$))(?P<file_id>[^/]+)$",
    "plain": r"^(?P<student_id>[^/]+)/(?P<file_id>[^/]+)$",
}
ROSTER_COLUMNS = ("student", "name", "email", "lms_id", "sis_id", "section")


@dataclass(frozen=True)
class Upload:
    """One file of a download, as its LMS named it."""
    path: Path            # where it was extracted
    convention: str       # canvas, moodle or plain
    name: str = ""        # the person's name as the LMS wrote it
    lms_id: str = ""      # Canvas user id, Moodle participant number
    submission_id: str = ""
    file_id: str = ""     # the file's own name
    late: bool = False
    student_id: str = ""  # plain layout: the folder's name


def plugin(convention):
    return FileNameCollectorPlugin(named_regexp=CONVENTIONS[convention], valid_ext=[])


def parse(relative, convention, path):
    """The Upload that ``relative`` (a path inside the download) names, or None."""
    collector = plugin(convention)
    collector.valid_ext = [Path(relative).suffix]  # every kind of file is reported
    found = collector.collect(relative)
    if not found:
        return None
    return Upload(path=path, convention=convention, name=found.get("name") or "",
                  lms_id=found.get("lms_id") or "",
                  submission_id=found.get("submission_id") or "",
                  file_id=found["file_id"], late=bool(found.get("late")),
                  student_id=found.get("student_id") or "")


def detect(relatives):
    """The convention that names most of these paths (canvas, moodle or plain)."""
    counts = {c: sum(bool(re.match(r, p)) for p in relatives) for c, r in CONVENTIONS.items()
              if c != "plain"}
    best = max(counts, key=counts.get)
    return best if counts[best] else "plain"


def name_key(name):
    """A person's name reduced for matching: no accents, case, spaces or punctuation
    (Canvas writes "Jane Smith" as ``smithjane``; both sides are reduced alike)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


@dataclass
class Person:
    student: str
    name: str = ""
    email: str = ""
    lms_id: str = ""
    sis_id: str = ""
    section: str = ""


class RosterError(ValueError):
    """The roster file cannot be used; the message says why."""


def read_roster(path):
    """The people of a roster CSV (``student`` required; ``name``, ``email``, ``lms_id``,
    ``sis_id``, ``section`` optional)."""
    path = Path(path)
    if not path.is_file():
        raise RosterError(f"no roster at {path}")
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        if not reader.fieldnames or "student" not in reader.fieldnames:
            raise RosterError(f"{path}: the first line must name the columns, with 'student' "
                              f"among them (found {reader.fieldnames}); optional: "
                              f"{', '.join(ROSTER_COLUMNS[1:])}")
        people = [Person(**{k: (row.get(k) or "").strip() for k in ROSTER_COLUMNS})
                  for row in reader]
    missing = [n for n, p in enumerate(people, start=2) if not p.student]
    if missing:
        raise RosterError(f"{path}: no student id on line(s) {missing}")
    seen = {}
    for person in people:
        if person.student in seen:
            raise RosterError(f"{path}: student {person.student!r} is listed twice")
        seen[person.student] = person
    return people


class Roster:
    """Who an upload belongs to: by LMS id first, then by name, then by the folder name
    (plain layout); without a roster file, the LMS's own ids become student ids."""

    def __init__(self, people=None):
        self.people = list(people or [])
        self.by_lms_id = {p.lms_id: p for p in self.people if p.lms_id}
        self.by_name = {}
        for p in self.people:
            for key in {name_key(p.name), name_key(_sortable(p.name))} - {""}:
                self.by_name.setdefault(key, []).append(p)
        self.by_student = {p.student: p for p in self.people}
        self.by_email = {p.email.lower(): p for p in self.people if p.email}

    def match(self, upload):
        """The student id of ``upload``, or None with a reason."""
        if not self.people:
            ident = upload.student_id or "-".join(
                part for part in (name_key(upload.name), upload.lms_id) if part)
            return (ident, "") if ident else (None, "it names no student")
        if upload.lms_id and upload.lms_id in self.by_lms_id:
            return self.by_lms_id[upload.lms_id].student, ""
        if upload.student_id:
            person = self.by_student.get(upload.student_id) or self.by_email.get(
                upload.student_id.lower())
            if person:
                return person.student, ""
        people = self.by_name.get(name_key(upload.name or upload.student_id), [])
        if len(people) == 1:
            return people[0].student, ""
        if len(people) > 1:
            return None, (f"the name {upload.name!r} fits several students of the roster "
                          f"({', '.join(p.student for p in people)}) and its LMS id "
                          f"{upload.lms_id or '(none)'} none")
        who = upload.name or upload.student_id
        return None, (f"no student of the roster has the LMS id {upload.lms_id or '(none)'} "
                      f"or the name {who!r}")


def _sortable(name):
    """"Jane Smith" -> "Smith Jane": how Canvas orders a name in its file names."""
    parts = name.split()
    return " ".join(parts[-1:] + parts[:-1]) if len(parts) > 1 else name
