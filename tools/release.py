"""Generate the student notebooks in notebooks/ from the sources in solutions/.

    python -m tools.release [ASSIGNMENT ...]

The release is nbgrader's ``generate_assignment`` output, stored without outputs;
tests/test_release.py fails when notebooks/ differs from what this produces.
"""

import argparse
import sys

import nbformat

from tools.course import ROOT, existing_assignments, notebook_path, run_nbgrader


def strip_outputs(path):
    """Remove outputs and execution counts, so that git stores the notebook only."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, path)


def release(assignment, root=ROOT):
    strip_outputs(notebook_path("solutions", assignment, root))
    result = run_nbgrader("generate_assignment", assignment, "--force", root=root,
                          check=False, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"nbgrader generate_assignment {assignment} failed")
    strip_outputs(notebook_path("notebooks", assignment, root))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment in solutions/")
    args = parser.parse_args(argv)
    for assignment in args.assignments or existing_assignments():
        release(assignment)
        print(f"released {notebook_path('notebooks', assignment).relative_to(ROOT)}")


if __name__ == "__main__":
    main()

