"""Diagrams of 04_gru_pytorch: how nn.GRU stores the course's nine GRU weights."""

from helpers.diagrams import INK, arrow, box, canvas, label
from helpers.gru_layout import TORCH_GATE_NAMES, TORCH_GATE_ORDER

GATE_FILL = {"r": "#fde0c5", "z": "#dbe9f6", "h": "#e5f5e0"}
ZERO_FILL = "#f6d5d5"


def nn_gru_weights():
    """nn.GRU's four tensors as three row blocks each (r, z, n), what each block holds in
    the course's notation, and which equation each block row feeds; b_hn, inside the reset
    product, is zero."""
    fig, ax = canvas(12.6, 4.6)
    columns = {  # tensor -> (x of its centre, width, its name in nn.GRU's equations, and
        # what its block of each gate holds in the course's notation)
        "weight_ih_l0\n(3H, D)": (1.9, 1.1, "W_{i%s}", {"r": "W_r", "z": "W_z", "h": "W_h"}),
        "weight_hh_l0\n(3H, H)": (3.55, 1.7, "W_{h%s}", {"r": "U_r", "z": "U_z", "h": "U_h"}),
        "bias_ih_l0\n(3H,)": (5.05, 0.9, "b_{i%s}", {"r": "b_r", "z": "b_z", "h": "b_h"}),
        "bias_hh_l0\n(3H,)": (6.2, 0.9, "b_{h%s}", {"r": "0", "z": "0", "h": "0"}),
    }
    rows = {gate: 3.1 - 1.0 * i for i, gate in enumerate(TORCH_GATE_ORDER)}
    for title, (x, width, torch_name, holds) in columns.items():
        label(ax, x, 4.15, title, fontsize=10)
        for gate, y in rows.items():
            zero = title.startswith("bias_hh") and gate == "h"
            text = f"${torch_name % TORCH_GATE_NAMES[gate]}$\n$= {holds[gate]}$"
            box(ax, x, y, text, width=width, height=0.9,
                kind=ZERO_FILL if zero else GATE_FILL[gate], fontsize=11)
    for (gate, y), span in zip(rows.items(), ("0:H", "H:2H", "2H:3H"), strict=True):
        ax.text(1.15, y, f"{TORCH_GATE_NAMES[gate]} block\nrows {span}", ha="right",
                va="center", fontsize=9, color=INK)
    equations = {
        "r": r"$r = \sigma(x W_{ir}^T + b_{ir} + h\, W_{hr}^T + b_{hr})$",
        "z": r"$z = \sigma(x W_{iz}^T + b_{iz} + h\, W_{hz}^T + b_{hz})$",
        "h": r"$n = \tanh(x W_{in}^T + b_{in} + r \odot (h\, W_{hn}^T + b_{hn}))$",
    }
    for gate, y in rows.items():
        arrow(ax, (6.7, y), (7.25, y), shrink=2)
        ax.text(7.3, y, equations[gate], ha="left", va="center", fontsize=11, color=INK)
    label(ax, 9.75, 0.45, "$b_{hn}$ is multiplied by $r$: the course's $b_h$ must go to\n"
          "$b_{in}$ (bias_ih_l0), and $b_{hn} = 0$. For r and z only the sum\n"
          "$b_{i\\cdot} + b_{h\\cdot}$ enters, so $b_r, b_z$ may sit in either bias.",
          fontsize=9.5, color=INK)
    return fig
