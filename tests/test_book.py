"""The reading edition: a stand-in course of two notebooks goes through `tools.book` and
comes out as pages a reader can use offline; the real course's first notebook too (slow)."""

import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests.answered import PREFERRED
from tests.chromium import ARTIFACTS, launch, require_chromium
from tools import book
from tools.course import existing_assignments, notebook_path

STAND_IN = ("01_first_steps", "02_second_steps")
HIDDEN_CHECK = "assert twice(-3) == -6  # hidden"
# MathJax 2 has loaded, emptied its queue, and typeset the page's inline and display math.
MATH_TYPESET = ("window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0"
                " && document.querySelectorAll('.MathJax').length >= 2")


def graded(cell, **meta):
    cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "task": False, **meta}
    return cell


def stand_in_notebook(number, assignment):
    """A small nbgrader source notebook: a title, an equation, an answer, its tests, a figure,
    a written answer, and links to the next notebook and to the README."""
    other = STAND_IN[1 - number]
    return new_notebook(cells=[
        new_markdown_cell(f"# Steps, part {number + 1}\n\nThis part doubles numbers and draws a "
                          f"line. It builds on [the other part](../{other}/{other}.ipynb).\n\n"
                          "Setting up is in [the README](../../README.md)."),
        new_markdown_cell(r"The derivative of $\sigma$ is "
                          r"$$\sigma'(x) = \sigma(x)\,(1 - \sigma(x)).$$"),
        graded(new_code_cell("def twice(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                             "    ### END SOLUTION"),
               solution=True, grade=False, grade_id=f"twice_{number}"),
        graded(new_code_cell(f"assert twice(2) == 4\n### BEGIN HIDDEN TESTS\n{HIDDEN_CHECK}\n"
                             "### END HIDDEN TESTS"),
               solution=False, grade=True, locked=True, points=1, grade_id=f"test_twice_{number}"),
        new_code_cell("from tqdm.auto import tqdm\nfor step in tqdm(range(3), desc='steps'):\n"
                      "    pass"),
        new_code_cell("import matplotlib.pyplot as plt\n"
                      "fig, ax = plt.subplots(figsize=(3, 2))\nax.plot([0, 1], [0, twice(1)])\n"
                      "plt.show()"),
        graded(new_markdown_cell("=== BEGIN MARK SCHEME ===\nBecause 2 times 1 is 2.\n"
                                 "=== END MARK SCHEME ==="),
               solution=True, grade=True, points=1, grade_id=f"written_{number}"),
    ])


@pytest.fixture(scope="module")
def stand_in_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    (root / "README.md").write_text("# A stand-in course\n")
    for number, assignment in enumerate(STAND_IN):
        path = notebook_path("solutions", assignment, root)
        path.parent.mkdir(parents=True)
        nbformat.write(stand_in_notebook(number, assignment), path)
    out = root / "build" / "book"
    pages = book.build(STAND_IN, root=root, out=out)
    return out, pages


def page_html(out, assignment):
    return (out / f"{assignment}.html").read_text()


def test_reading_source_drops_hidden_tests_and_markers():
    source = ("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
              "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 2\n### END HIDDEN TESTS\n")
    assert book.reading_source(source) == "def f(x):\n    return x\nassert f(1) == 1"


def test_links_point_at_the_book():
    markdown = ("[next](../03_gru_numpy/03_gru_numpy.ipynb#Backward) and "
                "[home](../../README.md) and [web](https://example.org/a.ipynb)")
    assert book.book_links(markdown) == (
        "[next](03_gru_numpy.html#Backward) and [home](index.html) and "
        "[web](https://example.org/a.ipynb)")


def test_the_notebooks_own_navigation_lines_are_dropped():
    nav = ("[Course index](../../README.md) · Previous: [01 Gradients](../01_a/01_a.ipynb)"
           " · Next: [Course index](../../README.md) (the end of the course)")
    prose = "As [notebook 01](../01_a/01_a.ipynb) showed, gradients vanish."
    assert book.without_navigation(f"{nav}\n\n# Title\n\n{prose}") == f"# Title\n\n{prose}"
    assert book.without_navigation(nav) == ""


@pytest.mark.slow  # starts kernels
def test_a_failing_notebook_stops_the_book(tmp_path):
    path = notebook_path("solutions", "01_broken", tmp_path)
    path.parent.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[new_code_cell("1 / 0")]), path)
    with pytest.raises(book.BookError, match="01_broken"):
        book.build(["01_broken"], root=tmp_path, out=tmp_path / "book")
    assert not (tmp_path / "book" / "index.html").exists()


def test_summary_is_the_first_sentence_of_prose():
    nb = stand_in_notebook(0, STAND_IN[0])
    assert book.title_and_summary(nb, STAND_IN[0]) == (
        "Steps, part 1", "This part doubles numbers and draws a line.")


@pytest.mark.slow  # starts kernels
def test_every_page_and_the_index_are_written(stand_in_book):
    out, pages = stand_in_book
    assert [p["id"] for p in pages] == list(STAND_IN)
    index = (out / "index.html").read_text()
    positions = [index.index(f'href="{a}.html"') for a in STAND_IN]
    assert positions == sorted(positions), "the index is not in teaching order"
    assert "This part doubles numbers and draws a line." in index
    assert "A stand-in course" in index


@pytest.mark.slow  # starts kernels
def test_pages_link_to_their_neighbours(stand_in_book):
    out, _ = stand_in_book
    first, second = (page_html(out, a) for a in STAND_IN)
    assert f'href="{STAND_IN[1]}.html" rel="next"' in first
    assert 'rel="prev"' not in first
    assert f'href="{STAND_IN[0]}.html" rel="prev"' in second
    assert 'rel="next"' not in second
    assert first.count('href="index.html"') >= 3  # top nav, bottom nav, the README link


@pytest.mark.slow  # starts kernels
def test_pages_carry_outputs_and_figures_but_no_grading_text(stand_in_book):
    out, _ = stand_in_book
    html = page_html(out, STAND_IN[0])
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html), "the figure is missing"
    assert "return" in html and "twice" in html
    for grading_text in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "MARK SCHEME",
                         "twice(-3)", ".ipynb"):
        assert grading_text not in html, grading_text
    assert "Because 2 times 1 is 2." in html


@pytest.mark.slow  # starts kernels
def test_nothing_is_fetched_from_the_network(stand_in_book):
    out, _ = stand_in_book
    for page in out.glob("*.html"):
        html = page.read_text()
        remote = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//[^"]*"', html)
        remote += re.findall(r"@import[^;]*https?://", html)
        for script in re.findall(r"<script[^>]*>(.*?)</script>", html, re.S):
            remote += re.findall(r"https?://[^\s'\"]+", script)
        assert not remote, f"{page.name} loads {remote}"
        for local in re.findall(r'<script[^>]+src="([^"?]+)', html):
            assert (out / local).is_file(), f"{page.name} loads {local}, which is not in the book"


@pytest.mark.slow
def test_real_notebook_builds(tmp_path):
    """A solution notebook of the course (the quickest) executes and renders with its figures."""
    assignments = existing_assignments()
    if not assignments:
        pytest.skip("no solution notebook in solutions/ yet")
    quickest = PREFERRED if PREFERRED in assignments else assignments[0]
    pages = book.build([quickest], out=tmp_path)
    html = (tmp_path / pages[0]["href"]).read_text()
    assert "data:image/png;base64," in html, "the notebook's figures are not in its page"
    assert "BEGIN SOLUTION" not in html and "HIDDEN TESTS" not in html
    assert pages[0]["summary"], "no one-line summary found for the index"


@pytest.mark.slow
@pytest.mark.browser
def test_pages_typeset_their_equations_offline(stand_in_book):
    """In Chromium with every non-file request refused, MathJax typesets the page's math."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    out, _ = stand_in_book
    refused = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.route(re.compile(r"^(https?|wss?)://"),
                       lambda route: refused.append(route.request.url) or route.abort())
            page.goto((out / f"{STAND_IN[0]}.html").as_uri())
            page.wait_for_function(MATH_TYPESET)
            text = page.locator("main").inner_text()
            page.screenshot(path=str(ARTIFACTS / "book_page.png"), full_page=True)
        finally:
            browser.close()
    assert not refused, f"the page asked the network for {refused}"
    assert "$" not in text and "\\sigma" not in text, "some TeX was left untypeset"
