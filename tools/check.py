"""Check one notebook as nbgrader's validate does, but fail when a test fails.

    python -m tools.check NOTEBOOK        (make check NB=NOTEBOOK)

Runs the notebook top to bottom and prints each failing test with its message.
Exits 1 when a test fails, an error stops a test, or a test cell was changed;
``nbgrader validate`` exits 0 in every case (nbgrader issue #1908).
"""

import argparse
import html
import re
import sys
from pathlib import Path

import nbformat
from nbgrader.validator import Validator

from tools.course import ROOT, load_config

TAG = re.compile(r"<[^>]+>")
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*: ", re.M)


def message(error_html):
    """The error's message: the text from its last ``SomeError: ...`` line on."""
    text = html.unescape(TAG.sub("", error_html))
    starts = [m.start() for m in ERROR_LINE.finditer(text)]
    return (text[starts[-1]:] if starts else text).strip()


def graded_cells(path):
    """(source, grade_id) of every autograded or manually graded cell, in notebook order."""
    nb = nbformat.read(path, as_version=4)
    return [(cell.source.strip(), cell.metadata["nbgrader"]["grade_id"]) for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("grade")]


def names(cells, graded):
    """The grade_id of each of ``cells`` (validate's results, which give only a source, in
    notebook order). Sources repeat (every unanswered written answer reads "YOUR ANSWER
    HERE"), so each is matched with the next graded cell that has it."""
    found, rest = [], list(graded)
    for cell in cells:
        at = next((i for i, (source, _) in enumerate(rest) if source == cell["source"]), None)
        found.append(None if at is None else rest[at][1])
        rest = rest if at is None else rest[at + 1:]
    return found


def report(results, graded):
    """Lines that say what failed; empty when everything passed."""
    lines = []
    failed = results.get("failed", [])
    for cell, name in zip(failed, names(failed, graded), strict=True):
        lines += [f"FAILED {name or 'a test'}:",
                  *("    " + line for line in message(cell["error"]).splitlines())]
    changed = results.get("changed", [])
    for name in names(changed, graded):
        lines.append(f"CHANGED {name or 'a test cell'}: a test cell was "
                     "edited; restore it from the released notebook")
    for cell in results.get("type_changed", []):
        lines.append(f"CHANGED TYPE: a cell became {cell['new_type']}: {cell['source'][:60]}")
    return lines


def check(path):
    """Exit status for ``path``: 0 when every test passes, 1 otherwise."""
    results = Validator(config=load_config(ROOT)).validate(str(path))
    lines = report(results, graded_cells(path))
    if lines:
        print("\n".join(lines))
        problems = sum(len(results.get(kind, [])) for kind in ("failed", "changed", "type_changed"))
        print(f"{path}: {problems} problem(s)")
        return 1
    print(f"{path}: every test passed")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    args = parser.parse_args(argv)
    if not args.notebook.exists():
        parser.error(f"{args.notebook} does not exist")
    sys.exit(check(args.notebook))


if __name__ == "__main__":
    main()
