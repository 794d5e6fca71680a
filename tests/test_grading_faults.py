"""make grade when grading itself goes wrong: a merge that fails, a feedback page that
cannot be written, a second run at the same time, a container's CPU quota. None of them
costs another submission its grade, none leaves a stale reason, page or score."""

import csv

import pytest
from nbgrader.api import Gradebook

from autograde import grade, gradebook, host, publish, samples, worker
from autograde.grade import grade_class
from tests.test_grading import TINY_MISTAKES, cell_scores, options_for, tiny_course

pytestmark = pytest.mark.slow


def tiny_class(folder, kinds):
    course = tiny_course(folder)
    release, solution = samples.load(course, "tiny")
    every = samples.samples(release, solution, "tiny", TINY_MISTAKES)
    for student, kind in kinds.items():
        samples.write(course / "autograde" / "submitted", student, "tiny", every[kind])
    return course


def table(course):
    with (course / "autograde" / "grades.csv").open() as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def test_a_failed_merge_costs_only_that_submission_and_keeps_its_last_scores(
        tmp_path, monkeypatch):
    course = tiny_class(tmp_path, {"ann": "correct", "bob": "mistake_double", "cem": "blank"})
    grade_class(options_for(course), jobs=2, progress=False)
    before = cell_scores(course, "tiny", "ann")
    merge = gradebook.merge

    def flaky_merge(root, result):
        if result.student == "ann":
            raise RuntimeError("database is locked")
        merge(root, result)

    monkeypatch.setattr(gradebook, "merge", flaky_merge)
    (course / "autograde" / "submitted" / "ann" / "tiny" / "tiny.ipynb").write_text(
        (course / "autograde" / "submitted" / "cem" / "tiny" / "tiny.ipynb").read_text())
    results, _ = grade_class(options_for(course), jobs=2, progress=False)
    status = {r.student: r for r in results}
    assert status["ann"].status == "error"
    assert "could not be written into the gradebook (RuntimeError: database is locked)" in (
        status["ann"].reason)
    assert "the scores of the previous run are kept" in status["ann"].reason
    assert cell_scores(course, "tiny", "ann") == before  # not the blank notebook's zeros
    assert {s: r.status for s, r in status.items()} == {
        "ann": "error", "bob": "graded", "cem": "graded"}
    rows = table(course)
    assert rows["ann"]["status"] == "error" and rows["ann"]["score"] == "3"


def test_a_stopped_submission_leaves_no_reason_to_the_next(tmp_path):
    course = tiny_class(tmp_path, {"a_stops": "swallow_interrupt", "b_fine": "correct"})
    results, _ = grade_class(options_for(course), jobs=1, progress=False)
    status = {r.student: (r.status, r.reason) for r in results}
    assert status["a_stops"][0] == "stopped"
    assert status["b_fine"] == ("graded", "")


def test_a_feedback_page_that_cannot_be_written_is_an_error_with_a_page_that_says_so(
        tmp_path, monkeypatch):
    course = tiny_class(tmp_path, {"ann": "correct"})
    gradebook.ensure_assignments(course, {"tiny"})
    stale = publish.destination(course, "feedback", "ann", "tiny") / "tiny.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("last run's page, with last run's score")
    snapshot = tmp_path / "snapshot.db"
    gradebook.snapshot(course, snapshot)
    grader = worker.Worker(options_for(course), tmp_path / "scratch", snapshot)
    monkeypatch.setattr(grader.api, "generate_feedback",
                        lambda *args, **kwargs: {"success": False, "error": "boom\ntemplate"})
    result = grader.grade(course / "autograde" / "submitted" / "ann" / "tiny", "ann", "tiny")
    assert result.status == "error"
    assert "its feedback page could not be written: template" in result.reason
    grade.record(course, result)
    assert sum(cell_scores(course, "tiny", "ann").values()) == 3  # the scores are merged
    page = stale.read_text()
    assert "could not be graded" in page and "feedback page could not be written" in page


def test_a_second_run_is_refused_while_one_grades(tmp_path):
    course = tiny_class(tmp_path, {"ann": "correct"})
    with host.exclusive(course):
        with pytest.raises(host.Busy, match="being graded already"):
            grade_class(options_for(course), jobs=1, progress=False)
    with Gradebook(gradebook.db_url(course)) as gb:
        assert not gb.assignments or not gb.find_assignment("tiny").submissions


@pytest.mark.parametrize("files, cpus", [
    ({"cpu.max": "150000 100000\n"}, 2),
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({}, None),
])
def test_a_cgroup_quota_bounds_the_workers(tmp_path, files, cpus):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert host.cgroup_quota(tmp_path) == cpus
    assert 1 <= host.usable_cpus()
