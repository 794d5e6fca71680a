"""The instructor's loop on the tiny assignment: an LMS's download (Canvas's and Moodle's
file names, a plain folder per student) is collected with a roster, graded, given a
manual grade as the formgrader does, and exported; the exported files are read back and
checked against the gradebook, and nothing the download held is lost."""

import csv
import io
import zipfile

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograde import collect, export, gradebook, samples
from autograde.grade import grade_class
from tests.test_grading import TINY_MISTAKES, options_for, tiny_course

pytestmark = pytest.mark.slow

ROSTER = """student,name,email,lms_id,sis_id,section
jane,Jane Smith,jane@example.edu,101,S-1,A
john,John Doe,john@example.edu,102,S-2,A
ann,Ann Lee,ann@example.edu,103,S-3,B
max,Max Mustermann,max@example.edu,104,S-4,B
"""


def notebooks(course):
    release, solution = samples.load(course, "tiny")
    every = samples.samples(release, solution, "tiny", TINY_MISTAKES)
    return {kind: nbformat.writes(every[kind]) for kind in ("correct", "mistake_double", "blank",
                                                              "kill_grader")}


def read_csv(path, dicts=False):
    with path.open(newline="") as file:
        return list(csv.DictReader(file) if dicts else csv.reader(file))


def download(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


@pytest.fixture
def course(tmp_path):
    course = tiny_course(tmp_path / "course")
    (tmp_path / "roster.csv").write_text(ROSTER)
    return course


def canvas_download(tmp_path, course):
    nb = notebooks(course)
    return download(tmp_path / "submissions.zip", {
        "smithjane_101_9001_tiny.ipynb": nb["correct"],
        "doejohn_102_8002_tiny.ipynb": nb["correct"],           # an older submission
        "doejohn_102_9002_tiny-1.ipynb": nb["mistake_double"],  # the latest, renamed by Canvas
        "leeann_LATE_103_9003_tiny.ipynb": nb["blank"],
        "leeann_LATE_103_9003_report.pdf": "%PDF-1.4 not a notebook",
        "nobodyknown_999_9999_tiny.ipynb": nb["correct"],
        "mustermannmax_104_9004_tiny.ipynb": nb["kill_grader"],
    })


def test_canvas_download_collected_graded_and_exported(tmp_path, course):
    report = collect.collect(canvas_download(tmp_path, course), "tiny", tmp_path / "roster.csv",
                             root=course)
    text = report.text()
    submitted = course / "autograde" / "submitted"
    assert sorted(p.parent.name for p in submitted.glob("*/tiny")) == ["ann", "jane", "john", "max"]
    assert "renamed: john: tiny-1.ipynb filed as tiny.ipynb" in text
    assert ("several submissions: john: tiny.ipynb of submission 8002 kept aside, "
            "tiny-1.ipynb of submission 9002 filed") in text
    assert "late: ann" in text
    assert "not a notebook: ann: report.pdf" in text
    assert "unmatched: nobodyknown_999_9999_tiny.ipynb" in text
    run = next((course / "autograde" / "collected" / "tiny").glob("2*"))
    kept = {p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()}
    assert kept == {"report.txt", "unmatched/nobodyknown_999_9999_tiny.ipynb",
                    "older/john/8002_tiny.ipynb", "other/ann/report.pdf"}

    grade_class(options_for(course), jobs=2, progress=False)
    with Gradebook(gradebook.db_url(course)) as gb:  # the formgrader's manual grade
        grade = gb.find_grade("written_square", "tiny", "tiny", "jane")
        grade.manual_score, grade.needs_manual_grade = 1, False
        gb.find_comment("written_square", "tiny", "tiny", "jane").manual_comment = "Well put."
        gb.db.commit()

    _, lines = export.export(course, "canvas", roster=tmp_path / "roster.csv",
                             columns={"tiny": "Tiny (555)"})
    assert any(line.startswith("1 submission(s) could not be graded") and
               "max/tiny: the grading process was killed" in line for line in lines), lines
    rows = read_csv(course / "autograde" / "export" / "canvas-grades.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Tiny (555)"]
    assert rows[1][0] == "Points Possible" and rows[1][5] == "4"
    grades = {row[1]: row[5] for row in rows[2:]}
    scores = submission_scores(course)
    assert grades["101"] == f"{scores['jane']:g}" == "4"  # 3 autograded + 1 by hand
    assert grades["102"] == ""   # john's written answer waits for the formgrader: no number
    assert grades["103"] == f"{scores['ann']:g}" == "0"  # blank: nothing to grade by hand
    assert grades["104"] == ""   # max's notebook killed its grader: no score
    assert rows[2][:5] == ["Smith, Jane", "101", "S-1", "jane@example.edu", "A"]

    with zipfile.ZipFile(course / "autograde" / "export" / "feedback-tiny.zip") as archive:
        names = sorted(archive.namelist())
        assert names == ["doejohn_102_9002_tiny_feedback.html",
                         "leeann_103_9003_tiny_feedback.html",
                         "smithjane_101_9001_tiny_feedback.html"]
        assert "double" in archive.read(names[0]).decode()

    export.export(course, "csv")
    table = {r["student"]: r for r in read_csv(course / "autograde" / "export" / "grades.csv",
                                                dicts=True)}
    assert table["max"]["status"].startswith("grading failed: the grading process was killed")


def submission_scores(course):
    with Gradebook(gradebook.db_url(course)) as gb:
        return {s.student.id: s.score for s in gb.find_assignment("tiny").submissions}


def test_moodle_download_and_worksheet(tmp_path, course):
    nb = notebooks(course)
    path = download(tmp_path / "moodle.zip", {
        "Jane Smith_101_assignsubmission_file_/tiny.ipynb": nb["correct"],
        "John Doe_102_assignsubmission_file_/Untitled.ipynb": nb["blank"],
    })
    report = collect.collect(path, "tiny", tmp_path / "roster.csv", root=course)
    assert "renamed: john: Untitled.ipynb filed as tiny.ipynb" in report.text()
    grade_class(options_for(course), jobs=2, progress=False)
    export.export(course, "moodle", roster=tmp_path / "roster.csv")
    sheet = course / "autograde" / "export" / "moodle-tiny.csv"
    rows = {row["Identifier"]: row for row in read_csv(sheet, dicts=True)}
    assert list(rows) == ["Participant 101", "Participant 102", "Participant 103",
                          "Participant 104"]
    assert rows["Participant 101"]["Grade"] == ""   # its written answer waits
    assert rows["Participant 102"]["Grade"] == "0"
    assert rows["Participant 102"]["Maximum Grade"] == "4"
    assert rows["Participant 103"]["Status"] == "No submission"
    with zipfile.ZipFile(course / "autograde" / "export" / "feedback-tiny.zip") as archive:
        assert sorted(archive.namelist()) == [
            "Jane Smith_101_assignsubmission_file_tiny_feedback.html",
            "John Doe_102_assignsubmission_file_tiny_feedback.html"]


def test_plain_folders_with_timestamps_and_a_graded_submission_replaced(tmp_path, course):
    nb = notebooks(course)
    first = download(tmp_path / "first.zip", {
        "jane/tiny.ipynb": nb["blank"], "jane/timestamp.txt": "2026-11-20 10:00:00 UTC",
        "someone@example.edu/tiny.ipynb": nb["blank"]})
    report = collect.collect(first, "tiny", tmp_path / "roster.csv", root=course)
    assert "unmatched: someone@example.edu/tiny.ipynb" in report.text()
    stamp = course / "autograde" / "submitted" / "jane" / "tiny" / "timestamp.txt"
    assert stamp.read_text().strip() == "2026-11-20 10:00:00 UTC"
    grade_class(options_for(course), jobs=1, progress=False)

    again = download(tmp_path / "again.zip", {
        "jane@example.edu/tiny.ipynb": nb["correct"],
        "jane@example.edu/timestamp.txt": "2026-11-21 09:00:00 UTC"})
    text = collect.collect(again, "tiny", tmp_path / "roster.csv", root=course).text()
    assert ("replaced: jane: a graded submission was replaced" in text
            and "its grades stand until `make grade` runs again" in text)
    kept = list((course / "autograde" / "collected" / "tiny").glob("*/replaced/jane/tiny.ipynb"))
    assert len(kept) == 1 and nbformat.reads(kept[0].read_text(), 4) == nbformat.reads(
        nb["blank"], 4)
    assert stamp.read_text().strip() == "2026-11-21 09:00:00 UTC"

    grade_class(options_for(course), jobs=1, progress=False)
    export.export(course, "csv")
    table = {(r["student"], r["assignment"]): r
             for r in read_csv(course / "autograde" / "export" / "grades.csv", dicts=True)}
    assert table["jane", "tiny"]["autograded"] == "3"
    assert table["jane", "tiny"]["pending"] == "written_square"
    assert table["jane", "tiny"]["status"].startswith("waiting for manual grading")


def test_a_bad_download_or_roster_says_what_is_wrong(tmp_path, course):
    (tmp_path / "not.zip").write_text("hello")
    with pytest.raises(SystemExit, match="not a zip archive"):
        collect.collect(tmp_path / "not.zip", "tiny", root=course)
    (tmp_path / "bad.csv").write_text("name,email\nJane,j@x\n")
    with pytest.raises(SystemExit, match="'student' among them"):
        collect.collect(canvas_download(tmp_path, course), "tiny", tmp_path / "bad.csv",
                        root=course)
    with pytest.raises(SystemExit, match="not an assignment of this course"):
        collect.collect(canvas_download(tmp_path, course), "nope", root=course)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["student"], ["a"], ["a"]])
    (tmp_path / "twice.csv").write_text(buffer.getvalue())
    with pytest.raises(SystemExit, match="listed twice"):
        collect.collect(canvas_download(tmp_path, course), "tiny", tmp_path / "twice.csv",
                        root=course)
