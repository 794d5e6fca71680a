"""Sample submissions, built from the current release so they never go stale.

    python -m autograde.samples [ASSIGNMENT ...] [--root ROOT] [--students N]

Each sample is the student notebook (notebooks/<id>/<id>.ipynb) with its answer cells
filled in from the solution: all correct, blank, wrong, or one of the faults the
grader must survive. They are written to autograde/submitted/sample-<kind>/<id>/.
With --students N it writes a class of N generated students instead (a mix of
correct, blank and wrong), as benchmarks/grading.py uses.
"""

import argparse
import copy
import re
import shutil
from pathlib import Path

import nbformat

from tools.course import ROOT, existing_assignments, notebook_path, run_nbgrader, topic

DEFINITION = re.compile(r"^(?:def|class) (\w+)", re.M)
MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
LOOP = "while True:\n    pass\n"
SWALLOW = ("import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
           "    except KeyboardInterrupt:\n        pass\n")
EXIT = "import os\nos._exit(1)\n"
SIGKILL = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
KILL_GRADER = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)  # the grading process\n"
# Switch the checks off in the kernel: every helpers.hidden and helpers.checks module
# becomes one whose every attribute is a no-op, the notebook's check names too, and
# records are forged for every test cell, malformed and well-formed.
TAMPER = """import json, os, sys, types


class _NoOp(types.ModuleType):
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


_loaded = [n for n in list(sys.modules) if n.startswith(("helpers.hidden", "helpers.checks"))]
for _name in ["helpers.checks", "helpers.hidden", *TOPIC_MODULES, *_loaded]:
    sys.modules[_name] = _NoOp(_name)
import helpers
helpers.checks = sys.modules["helpers.checks"]
helpers.hidden = sys.modules["helpers.hidden"]
check_close = check_type = check_shape = check_raises = fail = lambda *args, **kwargs: None
if os.environ.get("COURSE_HIDDEN_RECORDS"):
    with open(os.environ["COURSE_HIDDEN_RECORDS"], "a") as _records:
        for _cell in TEST_CELLS:
            _records.write(json.dumps({"cell": _cell, "seen": {"passed": True}}) + "\\n")
            _records.write(json.dumps({"dict": [["cell", _cell], ["seen", {"dict": []}]]}) + "\\n")
"""
# A folder that would shadow the course's helpers if the submission's files were copied
# next to the notebook: checks that always pass.
STRAY_CHECKS = "def __getattr__(name):\n    return lambda *args, **kwargs: None\n"


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def is_answer(cell):
    return cell.cell_type == "code" and meta(cell).get("solution") and not meta(cell).get("grade")


def is_test(cell):
    return cell.cell_type == "code" and meta(cell).get("grade") and not meta(cell).get("solution")


def answers(solution):
    """grade_id -> the solution's source of each answer cell, without the markers."""
    return {meta(c)["grade_id"]: MARKERS.sub("", c.source)
            for c in solution.cells if meta(c).get("solution")}


def exercises(release):
    """[(answer grade_id, [test grade_ids that follow it])] in notebook order."""
    result = []
    for cell in release.cells:
        if is_answer(cell):
            result.append((meta(cell)["grade_id"], []))
        elif is_test(cell) and result:
            result[-1][1].append(meta(cell)["grade_id"])
    return result


def filled(release, solution, replace=None):
    """The release with every answer from the solution; ``replace`` maps grade_id to
    other source (a wrong answer, a fault)."""
    nb = copy.deepcopy(release)
    sources = answers(solution) | (replace or {})
    for cell in nb.cells:
        if meta(cell).get("solution") and meta(cell).get("grade_id") in sources:
            cell.source = sources[meta(cell)["grade_id"]]
    return nb


def wrong(release, solution, exercise):
    """The answer of ``exercise`` left as the stub, every other answer correct."""
    stub = {meta(c)["grade_id"]: c.source for c in release.cells if is_answer(c)}
    return filled(release, solution, {exercise: stub[exercise]})


def tampering(release, assignment):
    """TAMPER for this assignment: the names of its test cells and hidden-test module."""
    tests = [meta(c)["grade_id"] for c in release.cells if is_test(c)]
    return (f"TEST_CELLS = {tests!r}\n"
            f"TOPIC_MODULES = {['helpers.hidden.' + topic(assignment)]!r}\n" + TAMPER)


def faults(release, solution, assignment, mistakes=None):
    """kind -> (notebook or raw text, file name[, other files]) for every fault the
    grader must survive."""
    exercise_ids = [answer for answer, _ in exercises(release)]
    first, last = exercise_ids[0], exercise_ids[-1]
    good = answers(solution)
    stub = {meta(c)["grade_id"]: c.source for c in release.cells if is_answer(c)}
    first_mistake = (mistakes or {}).get(first, stub[first])
    stray = {"helpers/__init__.py": "", "helpers/checks.py": STRAY_CHECKS,
             "helpers/hidden/__init__.py": STRAY_CHECKS,
             f"helpers/hidden/{topic(assignment)}.py": STRAY_CHECKS}
    deleted = filled(release, solution)
    dropped = {last, *dict(exercises(release))[last]}
    deleted.cells = [c for c in deleted.cells if meta(c).get("grade_id") not in dropped]
    stripped = wrong(release, solution, first)
    test = next(c for c in stripped.cells if meta(c).get("grade_id") == dict(
        exercises(release))[first][0])
    test.metadata.pop("nbgrader")
    test.source = "pass  # the test is gone"
    return {
        "loop": filled(release, solution, {first: LOOP + good[first]}),
        "swallow_interrupt": filled(release, solution, {last: SWALLOW + good[last]}),
        "os_exit": filled(release, solution, {last: EXIT + good[last]}),
        "sigkill": filled(release, solution, {last: SIGKILL + good[last]}),
        "kill_grader": filled(release, solution, {last: KILL_GRADER + good[last]}),
        "disable_checks": filled(release, solution, {
            first: tampering(release, assignment) + first_mistake}),
        "stray_helpers": (filled(release, solution, {first: first_mistake}),
                          f"{assignment}.ipynb", stray),
        "not_json": nbformat.writes(filled(release, solution))[:400],
        "deleted_cells": deleted,
        "stripped_test": stripped,
        "wrong_name": (filled(release, solution), "my_submission.ipynb"),
    }


def answer_cells(release):
    """graded name -> grade_id of the answer cell that defines it."""
    found = {}
    for cell in release.cells:
        if is_answer(cell):
            for match in DEFINITION.finditer(cell.source):
                found.setdefault(match.group(1), meta(cell)["grade_id"])
    return found


def known_mistakes(release, assignment):
    """answer grade_id -> source that defines the graded name as the first mistake declared
    for it in tests/wrong_answers/<topic>.py (with the helpers it uses)."""
    from tests.variants import standalone_source, variants

    try:
        declared = variants(topic(assignment))
    except ModuleNotFoundError:
        return {}
    cells, found = answer_cells(release), {}
    for variant in declared:
        if variant.kind == "mistake" and variant.exercise in cells:
            found.setdefault(cells[variant.exercise], standalone_source(variant))
    return found


def samples(release, solution, assignment, mistakes=None):
    """kind -> notebook (or raw text, or (notebook, file name[, other files])) of every
    sample: correct, blank, the first exercise left undone, each of ``mistakes`` (answer
    grade_id -> wrong source), and every fault."""
    first = exercises(release)[0][0]
    wrongs = {f"mistake_{cell}": filled(release, solution, {cell: source})
              for cell, source in (mistakes or {}).items()}
    return ({"correct": filled(release, solution), "blank": release,
             "wrong": wrong(release, solution, first)} | wrongs
            | faults(release, solution, assignment, mistakes))


def write(submitted, student, assignment, sample):
    """Write one sample to submitted/<student>/<assignment>/."""
    folder = Path(submitted) / student / assignment
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sample, name, others = (*sample, {})[:3] if isinstance(sample, tuple) else (
        sample, f"{assignment}.ipynb", {})
    text = sample if isinstance(sample, str) else nbformat.writes(sample)
    (folder / name).write_text(text)
    for relative, content in others.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(content)


def scratch_course(folder, assignment, source):
    """A course in ``folder`` with one assignment from the notebook ``source``: the
    course's config, the source in solutions/, its release and a new gradebook."""
    (Path(folder) / "solutions" / assignment).mkdir(parents=True)
    (Path(folder) / "autograde").mkdir(exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    shutil.copy(source, notebook_path("solutions", assignment, folder))
    run_nbgrader("generate_assignment", assignment, "--force", root=folder, capture_output=True)
    return Path(folder)


def load(root, assignment):
    read = lambda folder: nbformat.read(notebook_path(folder, assignment, root), as_version=4)  # noqa: E731
    return read("notebooks"), read("solutions")


def write_samples(root, assignment):
    release, solution = load(root, assignment)
    mistakes = known_mistakes(release, assignment)
    for kind, sample in samples(release, solution, assignment, mistakes).items():
        write(Path(root) / "autograde" / "submitted", f"sample-{kind}", assignment, sample)


def write_class(root, assignment, students):
    """``students`` generated students: a third correct, a third blank, a third with one
    exercise left undone (a different one each)."""
    release, solution = load(root, assignment)
    exercise_ids = [answer for answer, _ in exercises(release)]
    for n in range(students):
        if n % 3 == 0:
            sample = filled(release, solution)
        elif n % 3 == 1:
            sample = release
        else:
            sample = wrong(release, solution, exercise_ids[n % len(exercise_ids)])
        write(Path(root) / "autograde" / "submitted", f"student{n:03d}", assignment, sample)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every released assignment")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--students", type=int, help="write a generated class of N students")
    args = parser.parse_args(argv)
    for assignment in args.assignments or existing_assignments("notebooks", args.root):
        if args.students:
            write_class(args.root, assignment, args.students)
        else:
            write_samples(args.root, assignment)
        print(f"wrote samples of {assignment} under {args.root / 'autograde' / 'submitted'}")


if __name__ == "__main__":
    main()
