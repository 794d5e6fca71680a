"""Feedback for students: failure messages without the hidden tests that raised them."""

from nbconvert.preprocessors import Preprocessor


class ShortenTracebacks(Preprocessor):
    """Replace each error's traceback by its last line, ``Error: message``.

    nbgrader's ClearHiddenTests removes hidden tests from cell sources, but a
    traceback quotes the lines around the failure, hidden asserts included. The
    course's checks put everything a student needs into the message itself.
    """

    enabled = True  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output['ename']}: {output['evalue']}"]
        return cell, resources
