"""Diagrams of 03_gru_numpy: one GRU step as a computational graph, with the four paths by
which the gradient comes back to h_prev, and back-propagation through time with its carried
gradient."""

from helpers.diagrams import COLORS, INK, arrow, box, canvas, label, op

# One colour per path from h_prev, the same on the graph's edges and in its legend of terms.
PATHS = {"direct": "#2ca02c", "z": "#d62728", "r": "#9467bd", "u": "#1f77b4"}
BACKWARD = "#d62728"
GREY = "#777777"


class Node:
    """A box's centre and size, so that arrows start and end on its border."""

    def __init__(self, ax, x, y, text, width=1.2, height=0.6, **kwargs):
        box(ax, x, y, text, width=width, height=height, **kwargs)
        self.x, self.y, self.w, self.h = x, y, width, height

    def edge(self, toward):
        """The point of the border on the way to ``toward`` (a point or a Node)."""
        tx, ty = (toward.x, toward.y) if isinstance(toward, Node) else toward
        dx, dy = tx - self.x, ty - self.y
        scale = min(self.w / 2 / abs(dx) if dx else float("inf"),
                    self.h / 2 / abs(dy) if dy else float("inf"))
        return self.x + dx * scale, self.y + dy * scale


def left(ax, x, y, text, color=INK, fontsize=10):
    """Text that starts at (x, y)."""
    ax.text(x, y, text, ha="left", va="center", fontsize=fontsize, color=color)


def link(ax, start, end, **kwargs):
    """An arrow from the border of ``start`` to the border of ``end`` (Nodes or points)."""
    a = start.edge(end) if isinstance(start, Node) else start
    b = end.edge(start) if isinstance(end, Node) else end
    arrow(ax, a, b, shrink=kwargs.pop("shrink", 3), **kwargs)


def step_graph():
    """The forward graph of one step; the four edges that leave h_prev are coloured, and the
    legend gives the term of dL/dh_prev that comes back along each."""
    fig, ax = canvas(11.0, 6.6, scale=0.9)
    h_prev = Node(ax, 1.0, 4.3, r"$h_{\mathrm{prev}}$")
    z = Node(ax, 4.1, 5.7, r"$z = \sigma(x W_z^T + h_{\mathrm{prev}} U_z^T + b_z)$", width=3.6,
             kind="gate", fontsize=10)
    r = Node(ax, 4.1, 4.3, r"$r = \sigma(x W_r^T + h_{\mathrm{prev}} U_r^T + b_r)$", width=3.6,
             kind="gate", fontsize=10)
    u = Node(ax, 4.1, 2.9, r"$u = h_{\mathrm{prev}} U_h^T$", width=2.0, kind="weight")
    gate = op(ax, 6.6, 2.9, r"$\odot$")
    candidate = Node(ax, 8.75, 2.9, r"$\tilde h = \tanh(x W_h^T + r \odot u + b_h)$", width=2.9,
                     fontsize=10)
    h = Node(ax, 9.3, 4.9, r"$h = z \odot h_{\mathrm{prev}} + (1 - z) \odot \tilde h$",
             width=3.0, fontsize=10)

    link(ax, h_prev, z, color=PATHS["z"])
    link(ax, h_prev, r, color=PATHS["r"])
    link(ax, h_prev, u, color=PATHS["u"])
    arrow(ax, (h_prev.x, h_prev.y + h_prev.h / 2), (h.x - 0.6, h.y + h.h / 2), curve=-0.32,
          color=PATHS["direct"], shrink=3)
    link(ax, r, (gate[0] - 0.1, gate[1] + 0.2), color=GREY)
    link(ax, u, (gate[0] - 0.22, gate[1]), color=GREY)
    link(ax, (gate[0] + 0.22, gate[1]), candidate, color=GREY)
    link(ax, candidate, h, color=GREY)
    link(ax, z, h, color=GREY)
    label(ax, 6.9, 6.45, r"$\times z$: the copy", color=PATHS["direct"], fontsize=10)

    rows = [("direct", r"directly: $\delta h \odot z$"),
            ("z", r"through $z$: $\delta a_z U_z$, with $\delta a_z = \delta h \odot "
                  r"(h_{\mathrm{prev}} - \tilde h) \odot z (1 - z)$"),
            ("r", r"through $r$: $\delta a_r U_r$, with $\delta a_r = \delta a_h \odot u \odot "
                  r"r (1 - r)$"),
            ("u", r"through $u$: $\delta u\, U_h$, with $\delta u = \delta a_h \odot r$")]
    left(ax, 0.2, 1.85, r"$\partial L / \partial h_{\mathrm{prev}}$ is the sum of what comes "
         r"back along the four coloured edges ($\delta a_h = \delta h \odot (1 - z) \odot "
         r"(1 - \tilde h^2)$):")
    for k, (path, text) in enumerate(rows):
        y = 1.4 - 0.42 * k
        ax.plot([0.35, 0.85], [y, y], color=PATHS[path], lw=2.5)
        left(ax, 1.0, y, text, color=PATHS[path])
    ax.set_title(r"One GRU step: four paths from $h_{prev}$ to $h$, so four terms in "
                 r"$\partial L/\partial h_{prev}$", fontsize=12)
    return fig


def bptt(steps=3):
    """Steps unrolled in time: each step's backward receives its own dH_all[:, t] plus the
    gradient carried back from the step after it, and every step adds to the same
    parameter gradients."""
    fig, ax = canvas(11.0, 5.0, scale=0.9)
    names = ["t-1", "t", "t+1"][:steps]
    previous = Node(ax, 0.6, 2.6, r"$h_{t-2}$", width=0.8, kind="state")
    grads = Node(ax, 5.5, 0.45, r"grads $= \sum_t$ (what step $t$ returns)", width=4.0,
                 kind="weight", fontsize=10)
    for k, name in enumerate(names):
        x0 = 1.9 + 3.2 * k
        cell = Node(ax, x0 + 0.25, 2.6, f"step {name}", width=1.3, height=0.8, kind="gate")
        state = Node(ax, x0 + 2.05, 2.6, rf"$h_{{{name}}}$", width=0.8, kind="state")
        x = Node(ax, x0 + 0.25, 1.3, rf"$x_{{{name}}}$", width=0.7, kind="input")
        link(ax, previous, cell)
        link(ax, cell, state)
        link(ax, x, cell, color=GREY)
        # backward, dashed: the loss's own gradient of this state, then back into the step
        label(ax, state.x, 4.45, f"dH_all[:, {name}]", color=BACKWARD, fontsize=9.5)
        arrow(ax, (state.x, 4.25), (state.x, state.y + state.h / 2), color=BACKWARD,
              linestyle="--", shrink=2)
        arrow(ax, (state.x - 0.2, state.y + state.h / 2), (cell.x + 0.3, cell.y + cell.h / 2),
              color=BACKWARD, linestyle="--", curve=0.5, shrink=2)
        arrow(ax, (cell.x - 0.3, cell.y + cell.h / 2),
              (previous.x + 0.2, previous.y + previous.h / 2), color=BACKWARD, linestyle="--",
              curve=0.5, shrink=2)
        arrow(ax, (cell.x + 0.45, cell.y - cell.h / 2), (grads.x + (k - 1) * 1.3 + 0.3,
              grads.y + grads.h / 2), color=COLORS["gru"], linestyle=":", shrink=2)
        previous = state
    label(ax, 5.5, 4.85, r"step $t$ receives $\delta h_t$ = dH_all[:, t] + the $\delta "
          r"h_{\mathrm{prev}}$ that step $t + 1$ returns (dashed, right to left)",
          fontsize=10.5, color=BACKWARD)
    ax.set_title("Back-propagation through time: one carried gradient, one sum of parameter "
                 "gradients", fontsize=12, pad=22)
    return fig
