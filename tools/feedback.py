"""Feedback for students: failure messages without the hidden tests that raised them,
rendered at the cost of one pass over the page."""

import copy
import re

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.exporters.html import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
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


IMAGE = re.compile(r"<img\b", re.IGNORECASE)  # what HTMLExporter's parse looks for


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept for the life of the process (Jinja checks each
    against its source's checksum before using it)."""

    def __init__(self):
        self._code = {}

    def load_bytecode(self, bucket):
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


class FeedbackExporter(HTMLExporter):
    """HTMLExporter that compiles its templates once a process, and skips its second
    pass over a page that has no image.

    nbgrader builds a new exporter for every generate_feedback call, so make grade,
    which calls it once a submission, recompiled the whole template tree each time.
    After rendering, HTMLExporter parses the page again with BeautifulSoup to give
    images without alt text a placeholder and JupyterLab-template cells a tabindex.
    nbgrader's feedback template is built on the classic template, which has no such
    cells, so only a page with an image changes; for every other page the parse is
    pure cost, 40 to 55 % of a feedback page's time on the course's notebooks. A page
    with an image is rendered again by HTMLExporter itself. The page without the parse
    is the same HTML, serialised as rendered rather than as BeautifulSoup re-serialises it.
    """

    compiled = CompiledTemplates()

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = self.compiled
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        html, rendered = self._render(nb, copy.deepcopy(resources or {}), **kw)
        if IMAGE.search(html):  # rare: under grading, figures are not drawn
            return super().from_notebook_node(nb, resources, **kw)
        return html, rendered

    def _render(self, nb, resources, **kw):
        """HTMLExporter.from_notebook_node (nbconvert 7.17) up to its BeautifulSoup pass."""
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        highlight_code = self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)
