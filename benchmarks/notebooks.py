"""Time each solution notebook top to bottom, as a reader runs it and as nbgrader grades it.

    python benchmarks/notebooks.py [ASSIGNMENT ...] [--figures DIR] [--mode full|grading|both]

Prints one line per notebook and mode, in seconds of wall time (kernel start
included). With --figures, every PNG the full run draws is saved as
DIR/<assignment>_<n>.png, so figures can be looked at.
"""

import argparse
import base64
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.course import existing_assignments, notebook_path  # noqa: E402


def execute(path, grading):
    nb = nbformat.read(path, as_version=4)
    env_backup = os.environ.pop("NBGRADER_EXECUTION", None)
    if grading:
        os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        return time.perf_counter() - start, nb
    finally:
        os.environ.pop("NBGRADER_EXECUTION", None)
        if env_backup is not None:
            os.environ["NBGRADER_EXECUTION"] = env_backup


def save_figures(nb, assignment, folder):
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                count += 1
                (folder / f"{assignment}_{count}.png").write_bytes(base64.b64decode(png))
    return count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--figures", type=Path)
    parser.add_argument("--mode", choices=["full", "grading", "both"], default="both")
    args = parser.parse_args(argv)
    modes = {"full": [False], "grading": [True], "both": [False, True]}[args.mode]
    for assignment in args.assignments or existing_assignments():
        for grading in modes:
            seconds, nb = execute(notebook_path("solutions", assignment), grading)
            label = "grading" if grading else "full"
            print(f"{assignment:36s} {label:8s} {seconds:6.1f} s", flush=True)
            if args.figures and not grading:
                n = save_figures(nb, assignment, args.figures)
                print(f"  {n} figure(s) in {args.figures}", flush=True)


if __name__ == "__main__":
    main()
