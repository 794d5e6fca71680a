"""Diagrams of 05_overfitting_regularization: a dropout mask on a layer."""

import numpy as np

from helpers.diagrams import INK, arrow, box, canvas, label, op

EDGE, DROPPED, DROPPED_INK = "#9ecae1", "#e0e0e0", "#cb181d"


def _column(x, count, top, bottom):
    """The centres of ``count`` units stacked in a column at ``x``."""
    return [(x, float(y)) for y in np.linspace(top, bottom, count)]


def _layer(ax, left, mask, caption):
    """Three inputs, a hidden layer of six units, two outputs. With a ``mask`` each hidden
    unit's output passes through its mask entry m_j: a 0 (red) cuts the unit off this step,
    the others are scaled; connections are drawn only from the units that pass."""
    inputs = _column(left + 0.45, 3, 3.0, 1.4)
    hidden = _column(left + 1.85, 6, 3.7, 0.7)
    gates = [(x + 0.85, y) for x, y in hidden]
    outputs = _column(left + 4.05, 2, 2.6, 1.8)
    kept = [True] * 6 if mask is None else [m > 0 for m in mask]
    for unit, gate, keep in zip(hidden, gates, kept, strict=True):
        for start in inputs:
            arrow(ax, start, unit, style="-", color=EDGE, shrink=9)
        if mask is not None:
            arrow(ax, unit, gate, style="-|>", shrink=9)
        if keep:
            for end in outputs:
                arrow(ax, gate if mask is not None else unit, end, style="-", color=EDGE,
                      shrink=9)
    for i, (x, y) in enumerate(inputs, start=1):
        op(ax, x, y, f"$x_{i}$", radius=0.23, fontsize=10)
    for j, (x, y) in enumerate(hidden, start=1):
        op(ax, x, y, f"$h_{j}$", radius=0.23, fontsize=10)
    if mask is not None:
        for (x, y), value, keep in zip(gates, mask, kept, strict=True):
            box(ax, x, y, "", width=0.55, height=0.36, kind="input" if keep else DROPPED)
            label(ax, x, y, f"$\\times {value:g}$", color=INK if keep else DROPPED_INK)
            if not keep:
                ax.plot([x + 0.32, x + 0.62], [y + 0.12, y - 0.12], color=DROPPED_INK, lw=1.5)
                ax.plot([x + 0.32, x + 0.62], [y - 0.12, y + 0.12], color=DROPPED_INK, lw=1.5)
    for k, (x, y) in enumerate(outputs, start=1):
        op(ax, x, y, f"$o_{k}$", radius=0.23, fontsize=10)
    label(ax, left + 2.3, 0.15, caption, fontsize=10)


def dropout_layer(p=0.5, seed=4):
    """One hidden layer of six units between three inputs and two outputs.

    Left, one training step: the mask m holds, per unit, 0 with probability ``p`` (the
    unit is cut off for this step: nothing it computed reaches the next layer) or
    1 / (1 - p) (the unit passes, scaled up so that its expected output is unchanged).
    Right, evaluation: the full layer, no mask, no scaling. Returns the figure.
    """
    keep = np.random.default_rng(seed).random(6) >= p
    mask = np.where(keep, 1.0 / (1.0 - p), 0.0)
    fig, ax = canvas(width=10.6, height=4.6, scale=0.95)
    _layer(ax, 0.1, mask, rf"$m_j = 0$ with probability $p = {p:g}$, else "
                          rf"$1/(1-p) = {1 / (1 - p):g}$")
    _layer(ax, 6.0, None, "no mask, no scaling")
    label(ax, 2.4, 4.3, r"training: out $= h \odot m$, a new mask $m$ every step", fontsize=11)
    label(ax, 8.1, 4.3, "evaluation (model.eval()): every unit", fontsize=11)
    ax.plot([5.65, 5.65], [0.4, 4.1], color="#bdbdbd", lw=1, ls=":")
    return fig
