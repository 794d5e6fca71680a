"""Where the course lives, its assignments, and how to run nbgrader on it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = (
    "01_vanishing_exploding_gradients",
    "02_gru_equations",
    "03_gru_numpy",
    "04_gru_pytorch",
    "05_overfitting_regularization",
    "06_attention",
)


def topic(assignment):
    """The module name of an assignment's reference, hidden tests and wrong answers: its id
    without the number (``03_gru_numpy`` -> ``gru_numpy``)."""
    return assignment.split("_", 1)[-1]


def notebook_path(folder, assignment, root=ROOT):
    """``<root>/<folder>/<assignment>/<assignment>.ipynb``."""
    return Path(root) / folder / assignment / f"{assignment}.ipynb"


def existing_assignments(folder="solutions", root=ROOT):
    """The assignments, in teaching order, whose notebook exists in ``folder``."""
    return [a for a in ASSIGNMENTS if notebook_path(folder, a, root).exists()]


def nbgrader_env():
    """The environment for nbgrader: this Python's bin/ first on PATH, because a new
    gradebook runs ``alembic`` from PATH."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def run_nbgrader(*args, root=ROOT, check=True, **kwargs):
    """``nbgrader ARGS`` in ``root`` (nbgrader reads nbgrader_config.py from the cwd only)."""
    command = [str(Path(sys.executable).parent / "nbgrader"), *map(str, args)]
    return subprocess.run(command, cwd=root, env=nbgrader_env(), check=check, **kwargs)


def load_config(root=ROOT):
    """The course's nbgrader configuration, for nbgrader's Python API."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def graded_names():
    """``{assignment: its graded names, in order}``, read from the hidden tests' declarations
    (``helpers.hidden.<topic>``): the one place a graded name is declared. The contract test
    checks it against ../shared/EXERCISES.md."""
    from helpers.hidden import hidden_tests

    return {a: tuple(dict.fromkeys(t.exercise for t in hidden_tests(a))) for a in ASSIGNMENTS}
