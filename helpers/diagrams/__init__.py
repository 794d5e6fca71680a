"""Pictures of the machinery, drawn with matplotlib so that they work offline, in JupyterLab
and in the reading edition alike.

This module holds the drawing primitives; each notebook's diagrams live in
``helpers/diagrams/<topic>.py`` (``helpers.diagrams.gru_equations.gru_cell()``, ...) and
return the figure they drew.
"""

from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from helpers.plotting import COLORS, plt

INK = "#222222"
FILL = {"gate": "#fde0c5", "state": "#dbe9f6", "input": "#e5f5e0", "op": "#ffffff",
        "weight": "#f2f2f2", "loss": "#f6d5d5"}


def canvas(width=8.0, height=3.0, scale=1.0):
    """A blank figure whose data coordinates are ``(0..width, 0..height)``, one unit an
    inch at ``scale`` 1."""
    fig, ax = plt.subplots(figsize=(width * scale, height * scale))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def box(ax, x, y, text, width=1.2, height=0.6, kind="state", fontsize=11):
    """A rounded box centred at (x, y) holding ``text`` (LaTeX allowed); returns (x, y)."""
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=FILL.get(kind, kind), edgecolor=INK, linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color=INK)
    return x, y


def op(ax, x, y, symbol, radius=0.22, fontsize=12):
    """A small circle for an element-wise operation (``"+"``, ``r"$\\odot$"``, ...)."""
    ax.add_patch(Circle((x, y), radius, facecolor=FILL["op"], edgecolor=INK, linewidth=1.2))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=fontsize, color=INK)
    return x, y


def arrow(ax, start, end, text=None, color=INK, curve=0.0, style="-|>", text_offset=(0, 0.15),
          linestyle="-", fontsize=10, shrink=14):
    """An arrow from ``start`` to ``end`` (points), bent by ``curve``, with a label at its
    middle."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=14, color=color,
                                 linewidth=1.3, linestyle=linestyle,
                                 connectionstyle=f"arc3,rad={curve}", shrinkA=shrink,
                                 shrinkB=shrink))
    if text:
        mx = (start[0] + end[0]) / 2 + text_offset[0]
        my = (start[1] + end[1]) / 2 + text_offset[1]
        ax.text(mx, my, text, ha="center", va="bottom", fontsize=fontsize, color=color)


def label(ax, x, y, text, fontsize=10, color=INK, **kwargs):
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color=color, **kwargs)


__all__ = ["COLORS", "FILL", "INK", "arrow", "box", "canvas", "label", "op"]
