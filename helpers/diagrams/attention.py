"""Diagrams of 06_attention: the encoder–decoder's bottleneck, attention as a soft lookup,
and one step of the GRU decoder that attends to the encoder's states."""

import numpy as np
from matplotlib.patches import Rectangle

from helpers.diagrams import COLORS, INK, arrow, box, canvas, label

QUERY = "#b35806"        # what asks: the query, the decoder's previous state
LOOKUP = COLORS["gru"]   # what attention reads: keys, values, weights, the context
QUIET = "#777777"
EXAMPLE_SCORES = np.array([0.3, 2.2, 1.1, -0.8])   # the soft lookup's example
EXAMPLE_WEIGHTS = np.exp(EXAMPLE_SCORES) / np.exp(EXAMPLE_SCORES).sum()


def bar(ax, x, y, value, width=1.2, height=0.32, color=LOOKUP):
    """A horizontal bar of length ``value * width`` (0 <= value <= 1) in a frame, and its
    value written beside it."""
    ax.add_patch(Rectangle((x, y - height / 2), width, height, facecolor="white",
                           edgecolor=QUIET, linewidth=0.8))
    ax.add_patch(Rectangle((x, y - height / 2), value * width, height, facecolor=color,
                           edgecolor="none", alpha=0.8))
    label(ax, x + width + 0.3, y, f"{value:.2f}", fontsize=9, color=color)


def bottleneck():
    """A GRU encoder–decoder without attention: the decoder sees the input only through the
    encoder's last state, and the gradient of the first output's loss reaches x_1 through
    every encoder step."""
    fig, ax = canvas(11.0, 3.9, scale=0.9)
    states_y, inputs_y = 2.2, 0.75
    xs = {"1": 0.9, "2": 2.1, "T": 4.3}
    for name, x in xs.items():
        box(ax, x, states_y, f"$s_{name}$", width=0.8, height=0.55)
        box(ax, x, inputs_y, f"$x_{name}$", width=0.7, height=0.45, kind="input")
        arrow(ax, (x, inputs_y + 0.23), (x, states_y - 0.28), shrink=0)
    arrow(ax, (xs["1"] + 0.4, states_y), (xs["2"] - 0.4, states_y), shrink=0)
    arrow(ax, (xs["2"] + 0.4, states_y), (2.9, states_y), shrink=0)
    label(ax, 3.2, states_y, r"$\cdots$", fontsize=13)
    arrow(ax, (3.45, states_y), (xs["T"] - 0.4, states_y), shrink=0)
    label(ax, 2.6, 3.05, "encoder GRU", fontsize=10)

    summary = box(ax, 5.9, states_y, r"$c = s_T$", width=0.95, height=0.6, kind="gate")
    arrow(ax, (xs["T"] + 0.4, states_y), (summary[0] - 0.48, states_y), shrink=0)
    label(ax, summary[0], 3.15, "the summary:\none vector of size H", fontsize=9, color=QUERY)

    ds = {"1": 7.5, "2": 8.7}
    previous = summary[0] + 0.48
    for name, x in ds.items():
        box(ax, x, states_y, f"$h_{name}$", width=0.8, height=0.55)
        box(ax, x, inputs_y, f"$y_{name}$", width=0.7, height=0.45, kind="loss")
        arrow(ax, (x, states_y - 0.28), (x, inputs_y + 0.23), shrink=0)
        arrow(ax, (previous, states_y), (x - 0.4, states_y), shrink=0)
        previous = x + 0.4
    arrow(ax, (previous, states_y), (9.6, states_y), shrink=0)
    label(ax, 9.85, states_y, r"$\cdots$", fontsize=13)
    # the same context at every step (Cho et al., 2014)
    ax.plot([summary[0], summary[0], ds["2"]], [states_y + 0.3, 2.78, 2.78], color=QUERY,
            lw=1.0)
    for x in ds.values():
        arrow(ax, (x, 2.78), (x, states_y + 0.28), shrink=0, color=QUERY)
    label(ax, 8.75, 3.05, "decoder GRU, given $c$ at every step", fontsize=10)

    ax.annotate("", xy=(xs["1"], inputs_y - 0.38), xytext=(ds["1"], inputs_y - 0.38),
                arrowprops=dict(arrowstyle="-|>", color=COLORS["rnn"], lw=1.4, ls="--"))
    label(ax, 4.2, 0.08, r"$y_1$ copies $x_1$: $\partial L_1 / \partial x_1$ crosses $T - 1$ "
          "encoder steps, a product of $T - 1$ Jacobians (notebook 01)", fontsize=9,
          color=COLORS["rnn"])
    return fig


def soft_lookup():
    """A query scores every key; the softmax of the scores weights the values; the context
    is their weighted mean. A dictionary would give weight 1 to one key and 0 to the rest."""
    fig, ax = canvas(11.0, 4.6, scale=0.9)
    rows = [3.7, 2.9, 2.1, 1.3]
    query = box(ax, 0.9, 2.5, "query $q$", width=1.2, height=0.6, kind="gate")
    label(ax, 3.6, 4.35, r"score $e_j = a(q, k_j)$", fontsize=10, color=QUERY)
    label(ax, 5.9, 4.35, r"weight $\alpha_j = \mathrm{softmax}(e)_j$", fontsize=10,
          color=LOOKUP)
    for j, (y, score, weight) in enumerate(zip(rows, EXAMPLE_SCORES, EXAMPLE_WEIGHTS,
                                               strict=True), start=1):
        key = box(ax, 2.9, y, f"key $k_{j}$", width=1.1, height=0.5, kind="state")
        arrow(ax, (query[0] + 0.6, query[1]), (key[0] - 0.55, y), shrink=2, color=QUERY)
        label(ax, 4.0, y, f"{score:+.1f}", fontsize=10, color=QUERY)
        bar(ax, 4.9, y, weight)
        label(ax, 7.15, y, r"$\times$", fontsize=12, color=LOOKUP)
        box(ax, 8.0, y, f"value $v_{j}$", width=1.2, height=0.5, kind="input")
        ax.plot([8.6, 9.05, 9.05], [y, y, 2.5], color=LOOKUP, lw=1.0)
    context = box(ax, 10.0, 2.5, "context\n" r"$c = \sum_j \alpha_j v_j$", width=1.55,
                  height=0.9, kind="gate", fontsize=10)
    arrow(ax, (9.05, 2.5), (context[0] - 0.78, 2.5), shrink=0, color=LOOKUP)
    ax.text(0.2, 0.45, "A dictionary returns the value of the one key that matches the query "
            "exactly.\nAttention returns a mix of every value, weighted by how well its key "
            "matches: the weights are positive and sum to 1.", fontsize=9, color=QUIET,
            ha="left", va="center")
    return fig


def attention_step(weights=(0.05, 0.1, 0.7, 0.15, 0.0)):
    """One step of the AttentionDecoder: the previous state h_prev queries the encoder's
    states (keys and values), the context joins the embedded previous token in the GRU
    cell, and the output layer reads the new state and the context. The last encoder
    position is padding: its weight is exactly 0."""
    fig, ax = canvas(11.0, 5.7, scale=0.9)
    top, middle, bottom = 4.6, 2.9, 0.95
    centre = 4.3   # of the attention box
    xs = [1.3, 2.5, 3.7, 4.9, 6.1]
    for j, (x, weight) in enumerate(zip(xs, weights, strict=True), start=1):
        padded = j == len(xs)
        box(ax, x, bottom, "PAD" if padded else f"$s_{j}$", width=0.8, height=0.5,
            kind="weight" if padded else "state", fontsize=10 if padded else 11)
        ax.plot([x, centre], [bottom + 0.25, middle - 0.3], color=QUIET if padded else LOOKUP,
                lw=0.8 if padded else 0.6 + 6 * weight, ls=":" if padded else "-",
                alpha=0.85, solid_capstyle="round")
        label(ax, x, bottom - 0.42, r"$\alpha = 0$, masked" if padded
              else rf"$\alpha_{j} = {weight:g}$", fontsize=8.5,
              color=QUIET if padded else LOOKUP)
    for left, right in zip(xs[:-2], xs[1:-1], strict=True):
        arrow(ax, (left + 0.4, bottom), (right - 0.4, bottom), shrink=0, color=QUIET)
    label(ax, 3.7, 0.1, "the encoder's states $s_j$ are the keys and the values", fontsize=9,
          color=LOOKUP)

    box(ax, centre, middle, "attention(query, keys, values, mask)", width=3.7,
        height=0.6, kind="weight", fontsize=10)
    previous = box(ax, 0.9, top, r"$h_{\mathrm{prev}}$", width=0.9, height=0.55)
    arrow(ax, (previous[0] + 0.1, top - 0.28), (centre - 1.4, middle + 0.3), color=QUERY,
          shrink=0)
    label(ax, 1.35, 3.65, "query", fontsize=10, color=QUERY)
    token = box(ax, 3.35, top, r"$e = \mathrm{embedding}(y_{\mathrm{prev}})$", width=2.7,
                height=0.55, kind="input", fontsize=10)
    cell = box(ax, 6.7, top, "GRU cell", width=1.5, height=0.6, kind="gate")
    arrow(ax, (token[0] + 1.35, top), (cell[0] - 0.75, top), shrink=0,
          text=r"$[e, c]$", text_offset=(0.05, 0.05))
    arrow(ax, (centre + 1.3, middle + 0.3), (cell[0] - 0.3, top - 0.3), color=LOOKUP, shrink=0)
    label(ax, 5.35, 3.78, "context $c$", fontsize=10, color=LOOKUP)
    ax.annotate("", xy=(cell[0], top + 0.32), xytext=(previous[0], top + 0.3),
                arrowprops=dict(arrowstyle="-|>", color=INK, lw=1.2,
                                connectionstyle="arc3,rad=-0.15"))
    label(ax, 3.8, 5.45, r"$h_{\mathrm{prev}}$ is also the state the cell updates", fontsize=9)
    new = box(ax, 8.7, top, "$h$", width=0.7, height=0.55)
    arrow(ax, (cell[0] + 0.75, top), (new[0] - 0.35, top), shrink=0)
    out = box(ax, 8.7, middle, r"out$([h, c])$", width=1.4, height=0.55, kind="loss",
              fontsize=10)
    arrow(ax, (new[0], top - 0.28), (out[0], middle + 0.28), shrink=0)
    arrow(ax, (centre + 1.85, middle), (out[0] - 0.7, middle), shrink=0, color=LOOKUP,
          text="$c$", text_offset=(0, 0.02))
    arrow(ax, (out[0] + 0.7, middle), (10.2, middle), shrink=0)
    label(ax, 10.55, middle, "logits", fontsize=10)
    label(ax, 8.9, 1.5, "the query is $h_{\\mathrm{prev}}$, the state\nbefore this step, "
          "not the new $h$", fontsize=9, color=QUERY)
    return fig


__all__ = ["attention_step", "bottleneck", "soft_lookup"]
