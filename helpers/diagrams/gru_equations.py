"""Diagrams of 02_gru_equations: one GRU step, and where its two gates act."""

import math

from helpers.diagrams import COLORS, INK, arrow, box, canvas, label, op

HIGHWAY = COLORS["gru"]   # the path that z = 1 keeps open: the state, and its gradient, copied
GATE = "#b35806"          # what the gates send
QUIET = "#555555"
RADIUS = 0.22             # of an operation's circle (helpers.diagrams.op)


def rim(centre, towards, radius=RADIUS):
    """The point of the circle around ``centre`` that faces ``towards``: arrows end there."""
    dx, dy = towards[0] - centre[0], towards[1] - centre[1]
    length = math.hypot(dx, dy)
    return centre[0] + radius * dx / length, centre[1] + radius * dy / length


def link(ax, start, end, **kwargs):
    """An arrow from ``start`` to ``end``; an end that is a circle's centre stops at its rim."""
    arrow(ax, start, end, shrink=0, **kwargs)


def gru_cell():
    """One step of the course's GRU (reset after U_h, as in PyTorch): the state runs along
    the top, where z keeps it; the candidate is built below, where r scales h_prev U_h^T."""
    fig, ax = canvas(10.4, 5.0, scale=0.95)
    top, gates, bottom = 4.4, 3.0, 1.6

    # the state: h_prev -> (z *) -> (+) -> h
    label(ax, 0.3, top, r"$h_{\mathrm{prev}}$", fontsize=13)
    keep, add = op(ax, 6.5, top, r"$\odot$"), op(ax, 9.0, top, "+")
    label(ax, 10.1, top, "$h$", fontsize=13)
    link(ax, (0.65, top), rim(keep, (0, top)), color=HIGHWAY)
    link(ax, rim(keep, add), rim(add, keep), color=HIGHWAY)
    link(ax, rim(add, (10, top)), (9.85, top), color=HIGHWAY)
    label(ax, 3.3, top + 0.3, r"$z = 1$: the state is copied, and so is its gradient",
          fontsize=9, color=HIGHWAY)

    # the gates, both computed from x and h_prev
    reset = box(ax, 2.7, gates, r"$r = \sigma(x W_r^T + h_{\mathrm{prev}} U_r^T + b_r)$",
                width=3.3, height=0.55, kind="gate", fontsize=9.5)
    update = box(ax, 6.5, gates, r"$z = \sigma(x W_z^T + h_{\mathrm{prev}} U_z^T + b_z)$",
                 width=3.3, height=0.55, kind="gate", fontsize=9.5)
    label(ax, 4.6, gates + 0.55, r"both gates read $x$ and $h_{\mathrm{prev}}$", fontsize=9,
          color=QUIET)
    link(ax, (update[0], gates + 0.28), rim(keep, update), text="$z$", color=GATE,
         text_offset=(0.18, -0.15))

    # the candidate: h_prev U_h^T -> (r *) -> (+ x W_h^T + b_h) -> tanh -> ((1 - z) *) -> (+)
    ax.plot([0.75, 0.75], [top, bottom], color=INK, lw=1.3)
    recurrent = box(ax, 1.65, bottom, r"$h_{\mathrm{prev}} U_h^T$", width=1.2, height=0.55,
                    kind="weight", fontsize=10)
    scaled, summed = op(ax, reset[0], bottom, r"$\odot$"), op(ax, 3.8, bottom, "+")
    squash = box(ax, 4.9, bottom, r"$\tanh$", width=0.8, height=0.5)
    write = op(ax, 7.9, bottom, r"$\odot$")
    link(ax, (0.75, bottom), (recurrent[0] - 0.6, bottom))
    link(ax, (recurrent[0] + 0.6, bottom), rim(scaled, recurrent))
    link(ax, (reset[0], gates - 0.28), rim(scaled, reset), text="$r$", color=GATE,
         text_offset=(0.18, -0.15))
    link(ax, rim(scaled, summed), rim(summed, scaled))
    inputs = box(ax, summed[0], 0.5, r"$x W_h^T + b_h$", width=1.4, height=0.45, kind="input",
                 fontsize=10)
    link(ax, (inputs[0], 0.73), rim(summed, inputs))
    link(ax, rim(summed, squash), (squash[0] - 0.4, bottom))
    link(ax, (squash[0] + 0.4, bottom), rim(write, squash), text=r"$\tilde h$",
         text_offset=(0, 0.05))
    complement = op(ax, write[0], 2.3, r"$1-$", radius=0.24, fontsize=9)
    link(ax, (write[0], gates - 0.28), rim(complement, (write[0], gates), 0.24), color=GATE)
    link(ax, rim(complement, write, 0.24), rim(write, complement), color=GATE)
    label(ax, write[0] + 0.45, 1.95, r"$1 - z$", fontsize=10, color=GATE)
    ax.plot([write[0] + RADIUS, add[0]], [bottom, bottom], color=INK, lw=1.3)
    link(ax, (add[0], bottom), rim(add, (add[0], bottom)))

    label(ax, 1.55, 0.85, r"$r$ scales $h_{\mathrm{prev}} U_h^T$, after the matrix",
          fontsize=9, color=GATE)
    label(ax, 1.55, 0.55, r"(Cho et al.: $(r \odot h_{\mathrm{prev}})\, U_h^T$, before it)",
          fontsize=8, color=QUIET)
    label(ax, 7.3, 0.85, r"$1 - z$ writes the candidate $\tilde h$", fontsize=9, color=GATE)
    ax.set_title(r"One GRU step: $h = z \odot h_{\mathrm{prev}} + (1 - z) \odot \tilde h$",
                 fontsize=12)
    return fig
