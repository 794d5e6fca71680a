"""Diagrams of 01_vanishing_exploding_gradients."""

from itertools import pairwise

from helpers.diagrams import COLORS, arrow, box, canvas, label

BACKWARD = COLORS["sigmoid"]


def unrolled_rnn():
    """The tanh RNN unrolled over T steps: the forward pass left to right, and below it the
    backward pass, which crosses one Jacobian J_t = diag(1 - h_t^2) W_hh per step."""
    fig, ax = canvas(10.4, 3.9, scale=0.95)
    steps = [("0", None), ("1", "1"), ("2", "2"), (None, None), ("T-1", "T-1"), ("T", "T")]
    xs = [0.8 + 1.75 * i for i in range(len(steps))]
    y_state, y_input, y_loss = 2.0, 0.75, 3.35
    for x, (t, x_t) in zip(xs, steps, strict=True):
        if t is None:
            label(ax, x, y_state, r"$\cdots$", fontsize=16)
            continue
        box(ax, x, y_state, rf"$h_{{{t}}}$", width=0.95)
        if x_t is not None:
            box(ax, x, y_input, rf"$x_{{{x_t}}}$", width=0.8, kind="input")
            arrow(ax, (x, y_input), (x, y_state), shrink=16)
    box(ax, xs[-1], y_loss, r"$\mathcal{L}$", width=0.7, height=0.45, kind="loss")
    arrow(ax, (xs[-1], y_state), (xs[-1], y_loss), shrink=14)
    for (left, _), (right, (t, _)) in pairwise(zip(xs, steps, strict=True)):
        step = t is not None  # no label on the arrows that go into or out of the dots
        arrow(ax, (left, y_state + 0.1), (right, y_state + 0.1),  # forward: W_hh every step
              text=r"$W_{hh}$" if step else None, text_offset=(0, 0.08), shrink=24)
        arrow(ax, (right, y_state - 0.2), (left, y_state - 0.2),  # backward: one Jacobian
              color=BACKWARD, curve=-0.35, linestyle="--", shrink=22,
              text=rf"$J_{{{t}}}$" if step else None, text_offset=(0, -0.62))
    arrow(ax, (xs[-1] + 0.35, y_loss - 0.15), (xs[-1] + 0.35, y_state + 0.3), color=BACKWARD,
          linestyle="--", shrink=2)
    label(ax, xs[-1] + 0.95, (y_loss + y_state) / 2 + 0.1,
          r"$\partial\mathcal{L}/\partial h_T$", color=BACKWARD)
    label(ax, (xs[0] + xs[-1]) / 2, 0.05,
          r"back-propagation through time: $\partial h_T / \partial h_{T-k-1} = "
          r"J_T\, J_{T-1} \cdots J_{T-k}$, with $J_t = \mathrm{diag}(1 - h_t^2)\, W_{hh}$",
          color=BACKWARD, fontsize=11)
    return fig
