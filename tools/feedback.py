"""Feedback for students: failure messages without the hidden tests that raised them."""

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade


class ShortenTracebacks(NbGraderPreprocessor):
    """Cut a test cell's error to its last line, ``CheckFailure: <the message>``.

    nbgrader's ClearHiddenTests removes hidden tests from cell sources, but a
    traceback quotes the lines around the failure, hidden asserts included. The
    course's checks put everything a student needs into the message itself. Errors in
    the student's own answer cells keep their traceback: it shows only their code.
    """

    enabled = True  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
