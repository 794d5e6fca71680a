"""How the course names a GRU's weights, and how ``torch.nn.GRU`` stacks them.

The course keeps nine arrays, ``W_*`` ``(H, D)``, ``U_*`` ``(H, H)`` and ``b_*`` ``(H,)`` for
the gates z, r and the candidate h. ``nn.GRU`` keeps four tensors whose rows stack three
blocks of H in the order **r, z, n** (its n is the course's candidate h)::

    weight_ih_l0 = [W_r; W_z; W_h]    weight_hh_l0 = [U_r; U_z; U_h]

The reference answers, the hidden tests' probes (which run in a student's kernel, where
the reference is not available) and the diagrams all read these names from here.
"""

import torch

GRU_KEYS = ("W_z", "U_z", "b_z", "W_r", "U_r", "b_r", "W_h", "U_h", "b_h")
COURSE_GATE_ORDER = ("z", "r", "h")  # the order of the equations and of GRU_KEYS
TORCH_GATE_ORDER = ("r", "z", "h")   # nn.GRU's blocks (r, z, n), n being the course's h
TORCH_GATE_NAMES = {"r": "r", "z": "z", "h": "n"}


def gru_shapes(input_size, hidden_size):
    """The shape of each GRU parameter, by key."""
    by_kind = {"W": (hidden_size, input_size), "U": (hidden_size, hidden_size),
               "b": (hidden_size,)}
    return {key: by_kind[key[0]] for key in GRU_KEYS}


def stack_gates(params, kind, order=TORCH_GATE_ORDER):
    """The ``kind`` ("W", "U" or "b") arrays of the three gates, stacked along rows in
    ``order``: ``stack_gates(params, "W")`` is nn.GRU's ``weight_ih_l0``."""
    return torch.cat([torch.as_tensor(params[f"{kind}_{gate}"]) for gate in order])
