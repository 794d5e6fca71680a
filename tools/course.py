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


# The graded names of each assignment, as ../shared/EXERCISES.md defines them
# (tests/test_contract.py checks this table against it and against the notebooks).
GRADED_NAMES = {
    "01_vanishing_exploding_gradients": (
        "sigmoid", "sigmoid_derivative", "rnn_jacobian_norms", "clip_grad_norm", "make_mlp",
        "layer_grad_norms"),
    "02_gru_equations": ("gru_step_scalar", "gru_dh_dhprev_scalar"),
    "03_gru_numpy": (
        "init_gru_params", "gru_cell_forward", "gru_cell_backward", "gru_forward",
        "gru_backward"),
    "04_gru_pytorch": ("GRUCell", "GRU", "gru_params_to_torch", "train_epoch"),
    "05_overfitting_regularization": (
        "standardize", "dropout_forward", "l1_penalty", "l2_penalty", "elastic_net_penalty",
        "sgd_step_weight_decay", "EarlyStopping", "ensemble_predict"),
    "06_attention": (
        "masked_softmax", "scaled_dot_product_attention", "AdditiveAttention",
        "AttentionDecoder"),
}
