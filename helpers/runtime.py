"""Seeding, and experiment sizes that shrink while nbgrader grades or validates."""

import os
import random

import numpy as np
import torch

GRADING = "NBGRADER_EXECUTION" in os.environ


def sized(full, grading):
    """``full`` when a person runs the notebook, ``grading`` under nbgrader (cheap)."""
    return grading if GRADING else full


def seed_everything(seed):
    """Seed Python, NumPy's legacy global generator and PyTorch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
