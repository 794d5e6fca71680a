"""The course for nbgrader. nbgrader reads this file from the current folder only:
run its commands from the repository root (the Makefile does)."""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from tools.feedback import FeedbackExporter, ShortenTracebacks

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

ROOT = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(ROOT, "autograde"), exist_ok=True)  # where the gradebook lives

c.CourseDirectory.course_id = "gru-course"
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"          # what instructors write
c.CourseDirectory.release_directory = "notebooks"         # what students get (generated)
c.CourseDirectory.submitted_directory = "autograde/submitted"
c.CourseDirectory.autograded_directory = "autograde/autograded"
c.CourseDirectory.feedback_directory = "autograde/feedback"
c.CourseDirectory.db_url = f"sqlite:///{os.path.join(ROOT, 'autograde', 'gradebook.db')}"
c.CourseDirectory.assignment_id = ""

# No shared exchange folder: instructors hand out notebooks/ (or the student
# bundle) and collect submissions into autograde/submitted/ themselves.
c.Exchange.root = os.path.join(ROOT, "autograde", "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)  # the formgrader warns when it is missing

# The stub students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A cell that runs longer than this is stopped and scores 0 (solutions take < 10 s a cell
# under NBGRADER_EXECUTION).
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# Deleted test cells come back from the gradebook, so a deletion cannot lower the maximum.
c.OverwriteCells.add_missing_cells = True

# Grading runs each notebook bounded (a cell that hangs, ignores an interrupt or kills its
# kernel stops only that notebook), in a kernel whose hidden tests only record what the
# student's code did; the grader then judges the records, where the student's code cannot
# reach (autograde/execute.py, autograde/judge.py). Named as strings: nbgrader imports them
# only when it autogrades.
c.Autograde.autograde_preprocessors = [
    "autograde.execute.GuardedExecute", "autograde.judge.JudgeHiddenTests",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata"]

# Feedback shows each test's failure message, never the hidden tests' source.
# Tracebacks quote the hidden lines around a failure: keep only the message.
c.GenerateFeedback.preprocessors = [
    GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests, ShortenTracebacks]
c.GenerateFeedback.exporter_class = FeedbackExporter  # equivalent pages, rendered faster
