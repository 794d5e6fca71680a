"""tools.feedback.FeedbackExporter gives the page nbgrader's HTMLExporter gives, one pass
cheaper: the oracle is HTMLExporter itself, configured as nbgrader's generate_feedback
configures it."""

from pathlib import Path
from unittest import mock

import jinja2
import nbformat
import nbgrader
import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from tools.course import load_config
from tools.feedback import FeedbackExporter

FORMGRADER = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
         "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def grades():
    """What nbgrader's GetGrades puts into the resources."""
    return {"nbgrader": {"notebook": "doubling", "score": 0.0, "max_score": 2.0,
                         "late_penalty": 0.0}}


def feedback_page(exporter_class, nb, resources=None):
    config = Config()
    config.HTMLExporter.template_name = "feedback"  # as nbgrader's GenerateFeedback sets it
    config.HTMLExporter.extra_template_basedirs = [str(FORMGRADER / "templates")]
    config.HTMLExporter.extra_template_paths = [
        str(FORMGRADER / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    html, _ = exporter_class(config=config).from_notebook_node(nb, resources or grades())
    return html


def graded_notebook(*extra_outputs):
    """A notebook as feedback sees it (GetGrades's scores in the metadata): markdown with
    math, an answer, a failed test."""
    answer = new_code_cell("def double(x):\n    return 3 * x", execution_count=1, metadata={
        "nbgrader": {"solution": True, "grade": False, "grade_id": "double", "comment": None}})
    test = new_code_cell("assert double(2) == 4", execution_count=2, metadata={
        "nbgrader": {"solution": False, "grade": True, "grade_id": "test_double", "points": 2,
                     "score": 0.0}}, outputs=[
        new_output("error", ename="CheckFailure", evalue="double(2) is wrong: 6, not 4",
                   traceback=["CheckFailure: double(2) is wrong: 6, not 4"]),
        *extra_outputs])
    nb = new_notebook(cells=[new_markdown_cell("# Doubling\nWe want $f(x) = 2x$ <b>exactly</b>."),
                             answer, test])
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return nb


def test_a_page_without_images_is_htmlexporters_page():
    nb = graded_notebook(new_output("stream", name="stdout", text="6 < 4 & done\n"))
    ours, theirs = feedback_page(FeedbackExporter, nb), feedback_page(HTMLExporter, nb)
    assert "CheckFailure: double(2) is wrong: 6, not 4" in ours
    # HTMLExporter re-serialises through BeautifulSoup; the same parse of ours is identical
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs


def test_a_page_without_images_is_parsed_once():
    nb = graded_notebook(new_output("stream", name="stdout", text="6 < 4 & done\n"))
    with mock.patch("nbconvert.exporters.html.BeautifulSoup", side_effect=AssertionError(
            "the page was parsed again")):
        feedback_page(FeedbackExporter, nb)


@pytest.mark.parametrize("image", [
    new_output("display_data", data={"image/png": PIXEL}),
    new_output("display_data", data={"text/html": f'<IMG src="data:image/png;base64,{PIXEL}">'}),
], ids=["png", "html-uppercase"])
def test_a_page_with_an_image_still_gets_its_alt_text(image):
    nb = graded_notebook(image)
    ours = feedback_page(FeedbackExporter, nb)
    assert ours == feedback_page(HTMLExporter, nb)
    assert 'alt="No description has been provided for this image"' in ours


@pytest.mark.parametrize("case", ["plain", "image"])
def test_the_notebook_and_resources_given_are_left_as_they_were(case):
    extra = [new_output("display_data", data={"image/png": PIXEL})] if case == "image" else []
    nb, resources = graded_notebook(*extra), grades()
    before = nbformat.writes(nb)
    feedback_page(FeedbackExporter, nb, resources)
    assert nbformat.writes(nb) == before
    assert resources == grades()


def test_a_second_exporter_compiles_no_template():
    nb = graded_notebook()
    first = feedback_page(FeedbackExporter, nb)
    with mock.patch.object(jinja2.Environment, "compile", side_effect=AssertionError(
            "a template was compiled again")):
        assert feedback_page(FeedbackExporter, nb) == first


def test_nbgrader_renders_feedback_with_it():
    assert load_config().GenerateFeedback.exporter_class is FeedbackExporter
