"""The instructor's guide: per notebook, what a teaching assistant needs to grade alike and
to know what to re-teach.

    python -m tools.guide [--out build/guide]          (make guide)

Built from the solutions (learning goals, prerequisites, the exercises and their points,
each written question with its model answer and rubric) and from the mistakes the tests
name (``tests/wrong_answers/``), into one offline page, ``build/guide/index.html``,
rendered like the reading edition (MathJax from the local copy).
"""

import argparse
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook

from tools.course import ROOT, existing_assignments, notebook_path, topic

RUBRIC = re.compile(r"^\*\*Rubric \((\d+) points?\)\.\*\*\s*$", re.M)
CRITERION = re.compile(r"^- \((\d+)\) (.+)$", re.M)
MODEL = re.compile(r"\*Model answer\.\*")
GOALS = re.compile(r"^\*\*(?:Learning goals|After this notebook you can)[^*]*\*\*", re.M | re.I)
PREREQUISITES = re.compile(r"\*\*What you should know already\.?\*\*(.*?)(?:\n\s*\n|$)", re.S)
ITEM = r"^\s*(?:[-*]|\d+\.)\s+(.+(?:\n(?!\s*(?:[-*]|\d+\.)\s)(?!\s*\n).+)*)"  # a list item
DEFAULT_OUT = ROOT / "build" / "guide"
# How the estimate of a student's time is argued (printed in the guide with its inputs).
WORDS_PER_MINUTE, MINUTES_PER_EXERCISE, MINUTES_PER_QUESTION = 120, 20, 10


@dataclass
class WrittenAnswer:
    model: str           # the model answer, markdown
    points: int          # what the rubric's heading says the question is worth
    criteria: list       # (points, criterion) pairs


def parse_written_answer(source):
    """The model answer and the rubric of a written answer's solution cell."""
    rubric = RUBRIC.search(source)
    model_at = MODEL.search(source)
    end = rubric.start() if rubric else len(source)
    model = source[model_at.end():end].strip() if model_at else ""
    if not rubric:
        return WrittenAnswer(model, 0, [])
    criteria = [(int(points), text.strip())
                for points, text in CRITERION.findall(source[rubric.end():])]
    return WrittenAnswer(model, int(rubric.group(1)), criteria)


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def goals(nb):
    """The learning-goals list of the title cell."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and GOALS.search(cell.source):
            after = cell.source[GOALS.search(cell.source).end():]
            items = re.findall(ITEM, after, re.M)
            return [" ".join(item.split()) for item in items]
    return []


def prerequisites(nb):
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        found = PREREQUISITES.search(cell.source)
        if found:
            return " ".join(found.group(1).split())
        if meta(cell).get("grade_id") == "recap":
            return " ".join(re.sub(r"^#+ .*$", "", cell.source, flags=re.M).split())
    return ""


def written_questions(nb):
    """(question, WrittenAnswer, points) for each written answer, with the markdown cell
    before it as its question."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and meta(cell).get("solution") and meta(cell).get("grade"):
            question = next((c.source for c in reversed(nb.cells[:index])
                             if c.cell_type == "markdown"), "")
            found.append((question, parse_written_answer(cell.source), meta(cell)["points"]))
    return found


def exercises(nb):
    """(graded test cell id, points) in notebook order."""
    return [(meta(c)["grade_id"], meta(c)["points"]) for c in nb.cells
            if c.cell_type == "code" and meta(c).get("grade")]


def mistakes(assignment):
    """exercise -> [(phrase, seen_by)] the tests name, from tests/wrong_answers/."""
    from tests.variants import variants

    named = {}
    try:
        declared = variants(topic(assignment))
    except ModuleNotFoundError:
        return named
    for variant in declared:
        if variant.kind == "mistake":
            what = variant.id.split("__", 1)[-1].replace("_", " ")
            named.setdefault(variant.exercise, []).append(
                (f"{what}: named as “{variant.names}”", variant.seen_by))
    return named


def exercise_lines(nb, assignment):
    """A list item per graded name: its test cells and points, then the mistakes named."""
    from helpers.hidden import hidden_tests

    cells = dict(exercises(nb))
    by_exercise = {}
    for test in hidden_tests(assignment):
        by_exercise.setdefault(test.exercise, []).append(test.cell)
    lines = []
    for exercise, named in ((e, mistakes(assignment).get(e, [])) for e in by_exercise):
        tests = ", ".join(f"`{c}` ({cells.get(c, 0):g} pt)" for c in by_exercise[exercise])
        lines.append(f"- `{exercise}`: {tests}")
        lines += [f"    - {phrase}{' *(hidden)*' if seen_by == 'hidden' else ''}"
                  for phrase, seen_by in named]
    return lines


def student_minutes(nb):
    """An argued estimate: reading the prose at WORDS_PER_MINUTE, plus a fixed time per
    graded function and per written question. Returns (minutes, how)."""
    words = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown"
                and not meta(c).get("solution"))
    answers = sum(1 for c in nb.cells if c.cell_type == "code" and meta(c).get("solution"))
    questions = len(written_questions(nb))
    minutes = (words / WORDS_PER_MINUTE + answers * MINUTES_PER_EXERCISE
               + questions * MINUTES_PER_QUESTION)
    how = (f"{words} words of text at {WORDS_PER_MINUTE} words a minute, {answers} functions "
           f"to write at {MINUTES_PER_EXERCISE} min each, {questions} written questions at "
           f"{MINUTES_PER_QUESTION} min each")
    return 5 * round(minutes / 5), how


def title(nb, assignment):
    for cell in nb.cells:
        heading = cell.cell_type == "markdown" and re.search(r"^#\s+(.+)$", cell.source, re.M)
        if heading:
            return heading.group(1).strip()
    return assignment


def section(assignment, root=ROOT):
    """The guide's markdown for one notebook."""
    nb = nbformat.read(notebook_path("solutions", assignment, root), as_version=4)
    minutes, how = student_minutes(nb)
    lines = [f"## {title(nb, assignment)}", "", f"Assignment `{assignment}`.", ""]
    if goals(nb):
        lines += ["**Learning goals.**", "", *(f"- {goal}" for goal in goals(nb)), ""]
    if prerequisites(nb):
        lines += [f"**Prerequisites.** {prerequisites(nb)}", ""]
    lines += [f"**Estimated student time:** about {minutes} minutes ({how}).", ""]
    lines += ["**Autograded tests and the mistakes they name.** A mistake marked *(hidden)* "
              "is invisible to the student's own test and is named in the feedback page.", ""]
    lines += exercise_lines(nb, assignment) + [""]
    for number, (question, answer, points) in enumerate(written_questions(nb), start=1):
        lines += [f"### Written question {number} ({points:g} points)", "", question.strip(), "",
                  f"*Model answer.* {answer.model}", "", f"**Rubric ({answer.points} points).**",
                  *(f"- ({p}) {text}" for p, text in answer.criteria), ""]
    return "\n".join(lines)


def guide_notebook(assignments, root=ROOT):
    intro = ("# The instructor's guide\n\nFor each notebook: what students learn, what they "
             "need first, how long it takes them (an estimate, argued), what each "
             "autograded test checks and which mistakes it names, and each written question "
             "with its model answer and the rubric that splits its points. Grade the written "
             "answers in the formgrader (Nbgrader menu, *Manage Assignments*), one question "
             "at a time across the class, with the rubric below beside you.")
    return new_notebook(cells=[new_markdown_cell(intro)] + [
        new_markdown_cell(section(a, root)) for a in assignments])


def build(out=DEFAULT_OUT, root=ROOT):
    from tools import book

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(book.MATHJAX, out / "mathjax", dirs_exist_ok=True)
    nb = guide_notebook(existing_assignments("solutions", root), root)
    page = {"title": "The instructor's guide", "href": "index.html"}
    (out / "index.html").write_text(book.render_page(nb, page, ""))
    return out / "index.html"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    path = build(args.out)
    print(f"guide: {path}")


if __name__ == "__main__":
    main()
