"""Build the reading edition: every solution notebook executed and rendered as a web page.

    python -m tools.book [--out build/book] [ASSIGNMENT ...]

One page per notebook (``<assignment>.html``, answers and figures included, hidden tests
and nbgrader's markers left out), an ``index.html`` in teaching order, previous/next links
on every page, and equations typeset by a local copy of MathJax: nothing is fetched when
the pages are read.
"""

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path

import jinja2
import jupyter_server_mathjax
import nbformat
from markupsafe import Markup, escape
from nbclient import NotebookClient
from nbclient.exceptions import CellControlSignal, DeadKernelError
from nbconvert import HTMLExporter

from tools.course import ASSIGNMENTS, ROOT, existing_assignments, notebook_path

TEMPLATES = Path(__file__).resolve().parent / "book"
MATHJAX = Path(jupyter_server_mathjax.__file__).parent / "static"
MATHJAX_URL = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
DEFAULT_OUT = ROOT / "build" / "book"
CELL_TIMEOUT = 600
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*(\n|$)",
                          re.S | re.M)
MARKER_LINE = re.compile(
    r"^[ \t]*(### (BEGIN|END) SOLUTION|=== (BEGIN|END) MARK SCHEME ===)[ \t]*(\n|$)", re.M)
NOTEBOOK_LINK = re.compile(r"\.\./(?P<id>[\w-]+)/(?P=id)\.ipynb")
README_LINK = re.compile(r"(\.\./)+README\.md")
MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
NAVIGATION_WORDS = {"previous", "prev", "next", "back", "to", "the", "course", "index", "contents",
                    "home", "up", "end", "start", "of", "this", "is", "first", "last", "notebook"}


class BookError(Exception):
    """A notebook could not be executed."""


def reading_source(source):
    """A cell's source as a reader sees it: no hidden tests, no nbgrader marker lines."""
    return MARKER_LINE.sub("", HIDDEN_TESTS.sub("", source)).rstrip()


def book_links(markdown):
    """Links between notebooks point at the book's pages; the README at its contents."""
    return README_LINK.sub("index.html", NOTEBOOK_LINK.sub(r"\g<id>.html", markdown))


def is_navigation(paragraph):
    """A notebook's own previous/next line: links to the course and little else (the book
    draws its own)."""
    if not (NOTEBOOK_LINK.search(paragraph) or README_LINK.search(paragraph)):
        return False
    words = re.findall(r"[A-Za-z]+", MARKDOWN_LINK.sub("", paragraph))
    return all(w.lower() in NAVIGATION_WORDS for w in words)


def without_navigation(markdown):
    paragraphs = re.split(r"\n\s*\n", markdown)
    if not any(is_navigation(p) for p in paragraphs):
        return markdown
    return "\n\n".join(p for p in paragraphs if not is_navigation(p))


def without_widgets(outputs):
    """Outputs with live widgets (tqdm's bars) reduced to their text: a widget would need a
    renderer from the network."""
    kept = []
    for output in outputs:
        output.get("data", {}).pop(WIDGET_VIEW, None)
        if output.get("data") != {}:
            kept.append(output)
    return kept


def for_reading(nb):
    """Strip what only graders need, drop the notebook's own navigation lines and widgets,
    and point the links at the book."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.source = reading_source(cell.source)
        if cell.cell_type == "markdown":
            cell.source = book_links(without_navigation(cell.source))
        if cell.cell_type == "code":
            cell.outputs = without_widgets(cell.outputs)
    nb.cells = [cell for cell in nb.cells if cell.source.strip() or cell.get("outputs")]
    return nb


def execute(path):
    """Run a notebook top to bottom in its own folder, as a reader does (full sizes)."""
    nb = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    client.execute(env=env)
    return nb


def title_and_summary(nb, assignment):
    """The notebook's ``# `` heading and the first sentence of its first paragraph of prose."""
    title, summary = assignment, ""
    for cell in (c for c in nb.cells if c.cell_type == "markdown"):
        for block in re.split(r"\n\s*\n", cell.source):
            block = block.strip()
            heading = re.match(r"#\s+(.+)", block)
            if heading and title == assignment:
                title = heading.group(1).strip()
                block = block[heading.end():].strip()
            if not summary and re.match(r"[A-Za-z]", block):
                prose = " ".join(MARKDOWN_LINK.sub(r"\1", block).split())
                summary = re.split(r"(?<=[.!?])\s", prose, maxsplit=1)[0]
        if title != assignment and summary:
            break
    return title, summary


def readme_summaries(root):
    """``{assignment: what you build}`` from the README's table of notebooks, where it has one."""
    readme = Path(root) / "README.md"
    summaries = {}
    for line in readme.read_text().splitlines() if readme.exists() else []:
        row = re.match(r"\|.*\(notebooks/(?P<id>[\w-]+)/(?P=id)\.ipynb\).*\|\s*$", line)
        if row:
            last_column = line.strip().strip("|").split("|")[-1].strip()
            summaries[row.group("id")] = last_column[:1].upper() + last_column[1:]
    return summaries


def inline_markdown(text):
    """Escaped text with `code` spans as <code> (math is left to MathJax)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def templates():
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)


def navigation(pages, index):
    """The prev/contents/next line of page ``index``."""
    prev_page = pages[index - 1] if index > 0 else None
    next_page = pages[index + 1] if index + 1 < len(pages) else None
    return templates().get_template("nav.html.j2").render(prev=prev_page, next=next_page)


def render_page(nb, page, nav):
    exporter = HTMLExporter(template_name="lab", extra_template_paths=[str(TEMPLATES)],
                            template_file="page.html.j2", exclude_anchor_links=True)
    resources = {"metadata": {"name": page["title"]},
                 "book": {"css": (TEMPLATES / "book.css").read_text(), "nav": nav,
                          "mathjax_url": MATHJAX_URL}}
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    return html


def render_index(pages, course_title):
    count = f"{len(pages)} notebook{'s' if len(pages) > 1 else ''}"
    lead = f"{count}, executed, with their answers and every figure. Read them in this order."
    return templates().get_template("index.html.j2").render(
        title=course_title, lead=lead, pages=pages,
        css=(TEMPLATES / "book.css").read_text(),
        resources={"book": {"mathjax_url": MATHJAX_URL}})


def course_title(root):
    readme = Path(root) / "README.md"
    heading = readme.exists() and re.search(r"^#\s+(.+)$", readme.read_text(), re.M)
    return heading.group(1).strip() if heading else "The course"


def execute_all(assignments, root):
    """Execute each notebook, with a progress line; returns the executed notebooks."""
    notebooks = []
    for number, assignment in enumerate(assignments, start=1):
        print(f"[{number}/{len(assignments)}] executing {assignment} ...", end=" ", flush=True)
        start = time.perf_counter()
        try:
            notebooks.append(execute(notebook_path("solutions", assignment, root)))
        except (CellControlSignal, DeadKernelError) as error:
            raise BookError(f"{assignment} failed, the book was not built:\n{error}") from None
        print(f"{time.perf_counter() - start:.1f} s", flush=True)
    return notebooks


def build(assignments, root=ROOT, out=DEFAULT_OUT):
    """Execute and render ``assignments`` (teaching order) into ``out``; returns the pages."""
    notebooks = [for_reading(nb) for nb in execute_all(assignments, root)]
    summaries = readme_summaries(root)
    pages = []
    for assignment, nb in zip(assignments, notebooks, strict=True):
        title, first_sentence = title_and_summary(nb, assignment)
        pages.append({"id": assignment, "href": f"{assignment}.html", "title": title,
                      "summary": inline_markdown(summaries.get(assignment, first_sentence))})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(MATHJAX, out / "mathjax", dirs_exist_ok=True)
    for index, (page, nb) in enumerate(zip(pages, notebooks, strict=True)):
        (out / page["href"]).write_text(render_page(nb, page, navigation(pages, index)))
    (out / "index.html").write_text(render_index(pages, course_title(root)))
    return pages


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*",
                        help="default: every assignment in solutions/, in order")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    unknown = set(args.assignments) - set(ASSIGNMENTS)
    if unknown:
        raise SystemExit(f"book: unknown assignment(s) {', '.join(sorted(unknown))}")
    chosen = ([a for a in ASSIGNMENTS if a in args.assignments] if args.assignments
              else existing_assignments())
    missing = [a for a in chosen if not notebook_path("solutions", a).exists()]
    if missing:
        raise SystemExit(f"book: no solution notebook for {', '.join(missing)}")
    start = time.perf_counter()
    try:
        build(chosen, out=args.out)
    except BookError as error:
        sys.stderr.write(f"\nbook: {error}\n")
        raise SystemExit(1) from None
    print(f"book: {len(chosen)} page(s) and index.html in {args.out} "
          f"({time.perf_counter() - start:.0f} s); open {args.out / 'index.html'}")


if __name__ == "__main__":
    main()
