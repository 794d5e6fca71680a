"""Hidden tests of 06_attention: the masked softmax, scaled dot-product attention, Bahdanau's
additive attention, and the decoder step that uses it.

Each probe runs the student's code on seeded float64 cases and keeps what came back; each
judge compares with the reference and with what each known mistake gives on the same case,
so that a failure names the mistake. The decoder is probed with ``KnownAttention``, an
attention written here, in place of the student's ``AdditiveAttention``: a wrong
``AdditiveAttention`` cannot make a right decoder fail, and the judge computes the expected
step with the same known attention.
"""

import contextlib
import math

import torch
from torch import nn

from helpers.checks import check_close, check_shape, check_type, fail
from helpers.hidden import hidden_test
from helpers.hidden import reference as ref
from helpers.hidden.observe import call

FORBID = ("reference", "attention")  # nn.GRUCell is allowed: the decoder's contract uses it


def randn(seed, *shape, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=generator, dtype=torch.float64)


def random_mask(seed, *shape):
    """A boolean mask with about 60 % of the keys allowed and at least one per row."""
    generator = torch.Generator().manual_seed(seed)
    mask = torch.rand(*shape, generator=generator) < 0.6
    first = torch.randint(shape[-1], shape[:-1], generator=generator)
    mask.scatter_(-1, first[..., None], True)
    return mask


def padding_mask(lengths, size):
    return torch.arange(size)[None, :] < torch.tensor(lengths)[:, None]


def their(answer, name):
    """The function ``name`` as the student's ``answer`` sees it (their own masked_softmax),
    or None."""
    function = getattr(answer, "forward", answer)
    found = getattr(function, "__globals__", {}).get(name)
    return found if callable(found) else None


def as_float64(name, value, shape):
    check_type(name, value, torch.Tensor)
    check_shape(name, value, shape)
    if value.dtype != torch.float64:
        fail(name, f"expected dtype torch.float64 (the dtype of the inputs), got {value.dtype}.",
             "Likely cause: a float32 tensor created inside (torch.zeros(...) without dtype=, "
             "torch.tensor(1.0)); create it like the inputs (torch.zeros_like, x.new_zeros).")
    return value


def distinct(expected, causes):
    """The causes whose output differs from the expected one (a mistake that gives the right
    answer on a case says nothing about it)."""
    return {cause: wrong for cause, wrong in (causes or {}).items()
            if not (wrong.shape == expected.shape and torch.allclose(
                wrong.detach().nan_to_num(), expected.detach(), rtol=1e-5, atol=1e-7))}


def allowed(mask, shape):
    return torch.ones(shape, dtype=torch.bool) if mask is None else torch.broadcast_to(mask, shape)


# ---------------------------------------------------------------- masked_softmax

MULTIPLIED = ("the weights are multiplied by the mask after the softmax, so a row no longer sums "
              "to 1")
IGNORED = "the mask is ignored"
WRONG_AXIS = "the softmax runs over the wrong axis (it runs over the keys, the last axis)"
INVERTED = "the mask is read the wrong way round (True means: may be attended to)"
FILL_1E4 = ("the masked scores are filled with a finite number (-1e4) that allowed scores can "
            "reach, so the masked key still gets weight (fill with -inf)")
FILL_1E9 = ("the masked scores are filled with a large finite number (-1e9): a row with every "
            "key masked gets equal weights instead of 0")
OVERFLOW = ("scores of size 1e4 give NaN: exp(1e4) overflows to inf and inf / inf is NaN. "
            "Subtract each row's largest score before exp.")
GLOBAL_SHIFT_CAUSE = ("the shift is the largest score of the whole tensor, not of each row, so "
                      "exp underflows to 0 on every key of a row far below it")
GLOBAL_SHIFT = (f"rows whose scores lie far below the largest score of the whole tensor give NaN: "
                f"{GLOBAL_SHIFT_CAUSE}. Shift each row by its own largest allowed score.")
MASKED_SHIFT_CAUSE = ("the row's largest score is taken over the masked keys too, so exp "
                      "underflows to 0 for every allowed key")
MASKED_SHIFT = (f"rows whose allowed scores are far below 0 and masked ones near 0 give NaN: "
                f"{MASKED_SHIFT_CAUSE}. Take the largest of the allowed scores (after filling "
                "the masked ones with -inf).")
MASKED_AFTER_EXP = ("rows whose masked scores lie more than 710 above the allowed ones give NaN: "
                    "masked after exp: exp(score) overflows to inf before the mask zeroes it, "
                    "and inf * 0 is NaN. Fill the masked scores with -inf before exp.")
EMPTY_NAN = ("a row with every key masked gives NaN: filled with -inf, its largest score is -inf "
             "and (-inf) - (-inf) is NaN. Shift such a row by 0 and return zeros.")
NAN_GRADIENT = ("the gradient is NaN on a row with every key masked, although the weights are "
                "right: a NaN computed anywhere (even in a branch that torch.where discards) "
                "can come back in the backward pass. Never compute it.")
SUM_DETACHED = ("the row's sum is detached (only the shift may be: the sum depends on the "
                "scores)")
DISCARDED_OVERFLOW = ("the gradient is NaN on a row where exp of a masked score overflows, "
                      "although the weights are right: exp(score) is inf in a branch that "
                      "torch.where discards, and the backward pass multiplies its zero gradient "
                      "by inf, which is NaN. Fill the masked scores with -inf before exp.")
DETACHED = ("its result does not require grad: is it detached (.detach(), torch.no_grad(), "
            "NumPy)? Attention must be differentiable.")


def softmax_cases():
    """name -> (scores, mask, what the case is)."""
    large_mask = random_mask(11, 3, 6)
    uniform = torch.rand(6, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    high = torch.where(large_mask[0], 1e4 * (0.9 + uniform / 10), 5e3 * uniform)  # masked lower
    large = torch.stack([high, -1e4 + randn(6, 6), randn(7, 6, scale=3.0)])
    # Rows: allowed scores near -1e4 (twice), every score near -900, allowed near -800 (the
    # largest allowed score of the tensor); the masked scores of all but the third near 0. A
    # softmax shifted by the tensor's largest allowed score is right on the last two rows, one
    # shifted by every score of the row only on the third, one multiplied by the mask on none.
    near_mask = random_mask(9, 4, 5)
    level = torch.tensor([-1e4, -1e4, -900.0, -800.0], dtype=torch.float64)[:, None]
    masked = torch.cat([randn(10, 2, 5, scale=3.0), randn(19, 1, 5) - 900, randn(21, 1, 5)])
    near = torch.where(near_mask, randn(8, 4, 5) + level, masked)
    # On the first two rows, masked scores 712 to 715 above the row's largest allowed one: exp
    # of them overflows, while a softmax shifted by every score of the row still has its
    # allowed weights (tiny, subnormal, but exact to 1e-11). The last row is ordinary.
    above_mask = random_mask(32, 3, 6)
    above_mask[:, 0], above_mask[:, -1] = True, False
    base = randn(33, 3, 6)
    gap = 712 + 3 * torch.rand(3, 6, generator=torch.Generator().manual_seed(34),
                               dtype=torch.float64)
    gap[2] = 0.0
    above = torch.where(above_mask, base, base.masked_fill(~above_mask, float("-inf")).amax(
        dim=-1, keepdim=True) + gap)
    empty_mask = random_mask(12, 2, 4, 5)
    empty_mask[0, 1] = False
    empty_mask[1, 3] = False
    general = random_mask(2, 3, 4, 6)
    general[0], general[:, 0] = True, True  # no axis but the last is ever fully masked
    return {
        "general": (randn(1, 3, 4, 6, scale=3.0), general,
                    "scores (3, 4, 6) with a random mask"),
        "matrix": (randn(3, 5, 7, scale=3.0), random_mask(4, 5, 7),
                   "scores (5, 7), a matrix, with a random mask"),
        "padding": (randn(13, 2, 3, 5, scale=2.0), padding_mask([5, 3], 5)[:, None, :],
                    "scores (2, 3, 5) with a padding mask of shape (2, 1, 5)"),
        "no mask": (randn(14, 3, 2, 5, scale=3.0), None, "scores (3, 2, 5) and no mask"),
        "large": (large, large_mask,
                  "rows of scores near +1e4, near -1e4 and near 0, in one tensor"),
        "masked above": (above, above_mask,
                         "rows whose masked scores lie 712 to 715 above the allowed ones, and an "
                         "ordinary row"),
        "near -1e4": (near, near_mask,
                      "rows whose allowed scores are far below 0 (-1e4, -900, -800), most "
                      "masked ones near 0"),
        "empty rows": (randn(15, 2, 4, 5, scale=3.0), empty_mask,
                       "scores (2, 4, 5) where two rows have every key masked"),
    }


def gradient_cases():
    """name -> (scores, mask, upstream gradient, what the case is)."""
    scores = randn(16, 2, 3, 5, scale=2.0)
    mask = random_mask(17, 2, 3, 5)
    mask[1, 2] = False
    # Rows: allowed near +1e4 with masked scores 800 above them; allowed near -1e4 with masked
    # ones near 0; every key masked, scores near 1e4; every key masked, scores near 0.
    large_mask = random_mask(35, 4, 5)
    large_mask[:2, 0], large_mask[:2, -1], large_mask[2:] = True, False, False
    level = torch.tensor([1e4, -1e4, 1e4, 0.0], dtype=torch.float64)[:, None]
    allowed_scores = level + randn(36, 4, 5)
    masked_scores = torch.tensor([1e4 + 800, 0.0, 1e4, 0.0], dtype=torch.float64)[:, None]
    large = torch.where(large_mask, allowed_scores, masked_scores + randn(37, 4, 5))
    return {
        "empty row": (scores, mask, randn(18, 2, 3, 5),
                      "scores (2, 3, 5) with a row whose keys are all masked"),
        "large": (large, large_mask, randn(38, 4, 5),
                  "rows of scores near +-1e4, masked scores far above the allowed ones, "
                  "rows with every key masked"),
    }


def weights_and_gradient(masked_softmax, scores, mask, upstream):
    """The weights of ``masked_softmax`` and the gradient of (weights * upstream).sum() with
    respect to the scores (None when the weights are not differentiable)."""
    scores = scores.clone().requires_grad_()
    weights = masked_softmax(scores, mask)
    if not isinstance(weights, torch.Tensor) or not weights.requires_grad:
        return weights, None
    (gradient,) = torch.autograd.grad((weights * upstream).sum(), scores)
    return weights, gradient


def probe_masked_softmax(masked_softmax):
    seen = {}
    for case, (scores, mask, _) in softmax_cases().items():
        args = (scores,) if mask is None else (scores, mask)
        seen[case] = call(masked_softmax, *args, forbid=FORBID)
    for case, (scores, mask, upstream, _) in gradient_cases().items():
        seen[f"gradient: {case}"] = call(weights_and_gradient, masked_softmax, scores, mask,
                                         upstream, forbid=FORBID)
    return seen


def fill_softmax(scores, mask, value, dim=-1):
    return torch.softmax(scores.masked_fill(~mask, value), dim=dim)


def softmax_mistakes(scores, mask):
    """What each known mistake of masked_softmax gives on this case."""
    if mask is None:
        return {WRONG_AXIS + " (over the queries, dim=-2)": torch.softmax(scores, dim=-2)}
    mask = torch.broadcast_to(mask, scores.shape)
    fill_1e4, fill_1e9 = (fill_softmax(scores, mask, value) for value in (-1e4, -1e9))
    causes = {
        MULTIPLIED: torch.softmax(scores, dim=-1) * mask,
        IGNORED: torch.softmax(scores, dim=-1),
        **wrong_axes(scores, mask),
        INVERTED: ref.masked_softmax(scores, ~mask),
        FILL_1E9: fill_1e9,
        GLOBAL_SHIFT_CAUSE: shifted_softmax(scores, mask, scores.masked_fill(
            ~mask, float("-inf")).amax()),
        MASKED_SHIFT_CAUSE: shifted_softmax(scores, mask, scores.amax(dim=-1, keepdim=True)),
    }
    if not torch.allclose(fill_1e4, fill_1e9):  # they differ only where allowed scores are low
        causes[FILL_1E4] = fill_1e4
    return causes


def wrong_axes(scores, mask):
    """A softmax over another axis than the keys', masked by -inf or by multiplying after,
    each output listed once."""
    found = {}
    for dim in sorted({0, scores.dim() - 2}):
        for how, wrong in (("", fill_softmax(scores, mask, float("-inf"), dim).nan_to_num()),
                           (", then multiplied by the mask", torch.softmax(scores, dim) * mask)):
            if not any(torch.allclose(wrong, other) for other in found.values()):
                found[f"{WRONG_AXIS} (over dim={dim}{how})"] = wrong
    return found


def shifted_softmax(scores, mask, shift):
    """The masked softmax computed with another shift, guarded against 0 / 0: what a softmax
    shifted by the wrong maximum gives."""
    shift = torch.where(torch.isinf(shift), torch.zeros_like(shift), shift)
    weights = torch.exp(scores - shift) * mask
    total = weights.sum(dim=-1, keepdim=True)
    return weights / torch.where(total > 0, total, torch.ones_like(total))


def nan_message(case, got, scores, mask):
    """The mistake that NaN on this case points to, or None."""
    nan_rows = torch.isnan(got).any(dim=-1)
    mask = allowed(mask, scores.shape)
    top = scores.masked_fill(~mask, float("-inf")).amax(dim=-1)
    if case == "large":
        return OVERFLOW if bool(nan_rows[top > 700].any()) else GLOBAL_SHIFT
    if case == "masked above":
        return MASKED_AFTER_EXP
    if case == "near -1e4":
        return MASKED_SHIFT
    if case == "empty rows" and bool(torch.all(nan_rows <= ~mask.any(dim=-1))):
        return EMPTY_NAN
    return None


def judge_masked_softmax(seen):
    name = "masked_softmax"
    for case, (scores, mask, what) in softmax_cases().items():
        label = f"{name} on {what}"
        got = as_float64(label, seen[case].value(label), scores.shape)
        if torch.isnan(got).any() and nan_message(case, got, scores, mask):
            fail(label, nan_message(case, got, scores, mask))
        expected = ref.masked_softmax(scores, mask)
        check_close(label, got, expected, causes=distinct(expected, softmax_mistakes(scores, mask)))
        leaked = got[~allowed(mask, scores.shape)]
        if leaked.numel() and bool(torch.any(leaked != 0)):
            fail(label, f"a masked weight is {leaked.abs().max().item():.3g}, not exactly 0: fill "
                        "the masked scores with -inf (exp(-inf) = 0), not with a finite number.")
    for case, (scores, mask, upstream, what) in gradient_cases().items():
        judge_gradient(f"{name} (its gradient, on {what})", seen[f"gradient: {case}"], scores,
                       mask, upstream)


def overflowing_rows(scores, mask):
    """Rows where exp of a masked score, shifted by the largest allowed one (0 on a row with
    none), overflows."""
    top = scores.masked_fill(~mask, float("-inf")).amax(dim=-1, keepdim=True)
    top = torch.where(torch.isinf(top), torch.zeros_like(top), top)
    return ((scores - top).masked_fill(mask, float("-inf")) > 709).any(dim=-1)


def judge_gradient(label, seen, scores, mask, upstream):
    result = seen.value(label)
    if not (isinstance(result, tuple) and len(result) == 2):
        fail(label, "the hidden test could not run a backward pass through your function.")
    weights, gradient = result
    as_float64(label, weights, scores.shape)
    if gradient is None:
        fail(label, DETACHED)
    nan_rows = torch.isnan(gradient).any(dim=-1)
    empty = ~mask.any(dim=-1)
    if bool(nan_rows[~empty & overflowing_rows(scores, mask)].any()):
        fail(label, DISCARDED_OVERFLOW)
    if bool(nan_rows[empty].any()):
        fail(label, NAN_GRADIENT)
    if bool(nan_rows.any()):
        fail(label, "the gradient is NaN, although the weights are right: a NaN or inf "
                    "computed anywhere (even in a branch that torch.where discards) can come "
                    "back in the backward pass. Never compute it.")
    scores = scores.clone().requires_grad_()
    weights = ref.masked_softmax(scores, mask)
    (expected,) = torch.autograd.grad((weights * upstream).sum(), scores)
    check_close(label, gradient, expected, causes=distinct(expected, {
        SUM_DETACHED: weights.detach() * upstream}))  # no d(sum) term: w * upstream


check_masked_softmax = hidden_test("masked_softmax", "test_masked_softmax", probe_masked_softmax,
                                   judge_masked_softmax)


# ---------------------------------------------------------------- scaled_dot_product_attention

NOT_SCALED = "the scores are not divided by sqrt(d)"
BY_D = "the scores are divided by d instead of sqrt(d)"
WRONG_SIZE = ("the scores are divided by the square root of the wrong size: sqrt of {}, not of "
              "d (the size of the queries and keys)")
SIZES = {"Tk": "Tk (the number of keys)", "Tq": "Tq (the number of queries)",
         "dv": "d_v (the size of the values)"}
SWAPPED = "keys and queries swapped"
OVER_QUERIES = "the softmax runs over the queries (dim=1), not over the keys (the last axis)"
NOT_MASKED = "the mask is not used"
THEIR_SOFTMAX = ("your masked_softmax is wrong ({} uses it correctly): fix masked_softmax "
                 "first")
FROM_KEYS = "it is weights @ K; the context is weights @ V"
NO_GRADIENT = "no gradient reaches"


def attention_cases():
    """name -> (Q, K, V, mask, what the case is)."""
    # B, Tq, d, Tk and dv all differ, so that a square root of the wrong size is named.
    Q, K, V = randn(20, 2, 3, 4), randn(21, 2, 5, 4), randn(22, 2, 5, 6)
    square = randn(23, 2, 4, 4), randn(24, 2, 4, 4), randn(25, 2, 4, 4)
    wide = randn(26, 2, 3, 64), randn(27, 2, 6, 64), randn(28, 2, 6, 7)
    return {
        "general": (Q, K, V, None, "Q (2, 3, 4), K (2, 5, 4), V (2, 5, 6)"),
        "square": (*square, None, "Q, K and V all (2, 4, 4)"),
        "padding": (Q, K, V, padding_mask([5, 3], 5)[:, None, :],
                    "Q (2, 3, 4), K (2, 5, 4), V (2, 5, 6), a padding mask (2, 1, 5)"),
        "full mask": (Q, K, V, random_mask(29, 2, 3, 5),
                      "Q (2, 3, 4), K (2, 5, 4), V (2, 5, 6), a mask (2, 3, 5)"),
        "wide": (*wide, padding_mask([6, 4], 6)[:, None, :],
                 "d = 64: Q (2, 3, 64), K (2, 6, 64), V (2, 6, 7), a padding mask"),
    }


def context_and_gradients(attention, Q, K, V, mask, upstream):
    """What ``attention`` returns, and the gradients of (context * upstream).sum() with respect
    to Q, K and V (None where no gradient flows)."""
    Q, K, V = (x.clone().requires_grad_() for x in (Q, K, V))
    out = attention(Q, K, V, mask)
    if not (isinstance(out, tuple | list) and len(out) == 2 and isinstance(out[0], torch.Tensor)
            and out[0].requires_grad):
        return out, None
    return out, list(torch.autograd.grad((out[0] * upstream).sum(), (Q, K, V),
                                         allow_unused=True))


def probe_scaled_dot_product_attention(scaled_dot_product_attention):
    seen, softmax = {}, their(scaled_dot_product_attention, "masked_softmax")
    for case, (Q, K, V, mask, _) in attention_cases().items():
        args = (Q, K, V) if mask is None else (Q, K, V, mask)
        seen[case] = call(scaled_dot_product_attention, *args, forbid=FORBID)
        if softmax is not None:
            scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
            seen[f"{case}: their masked_softmax"] = call(softmax, scores, mask, forbid=FORBID)
    Q, K, V, mask, _ = attention_cases()["padding"]
    seen["gradient"] = call(context_and_gradients, scaled_dot_product_attention, Q, K, V, mask,
                            randn(30, 2, 3, 6), forbid=FORBID)
    return seen


def attention_mistakes(Q, K, V, mask, their_weights=None, exercise="scaled_dot_product_attention"):
    """What each known mistake of the scaled dot product gives for the weights."""
    d = Q.shape[-1]
    sizes = {"Tq": Q.shape[-2], "Tk": K.shape[-2], "dv": V.shape[-1]}
    raw = Q @ K.transpose(-2, -1)
    causes = {NOT_SCALED: ref.masked_softmax(raw, mask),
              BY_D: ref.masked_softmax(raw / d, mask),
              **{WRONG_SIZE.format(SIZES[key]): ref.masked_softmax(raw / math.sqrt(size), mask)
                 for key, size in sizes.items()},
              OVER_QUERIES: ref.masked_softmax((raw / math.sqrt(d)).transpose(-2, -1),
                                               None if mask is None else torch.broadcast_to(
                                                   mask, raw.shape).transpose(-2, -1)
                                               ).transpose(-2, -1)}
    if sizes["Tq"] == sizes["Tk"]:
        causes["the scores are K Q^T: " + SWAPPED] = ref.masked_softmax(
            raw.transpose(-2, -1) / math.sqrt(d), mask)
    if mask is not None:
        causes[NOT_MASKED] = ref.masked_softmax(raw / math.sqrt(d))
    if isinstance(their_weights, torch.Tensor):
        causes[THEIR_SOFTMAX.format(exercise)] = their_weights
    return causes


def their_result(seen, key):
    """What the student's own masked_softmax gave, if it ran."""
    one = seen.get(key)
    return one.result if one is not None and one.ok and not one.forbidden else None


def judge_scaled_dot_product_attention(seen):
    name = "scaled_dot_product_attention"
    for case, (Q, K, V, mask, what) in attention_cases().items():
        label = f"{name} on {what}"
        out = seen[case].value(label)
        check_type(label, out, tuple)
        if len(out) != 2:
            fail(label, f"expected (context, weights), got {len(out)} values.")
        context, weights = out
        B, Tq, d = Q.shape
        Tk, dv = K.shape[1], V.shape[2]
        if isinstance(weights, torch.Tensor) and tuple(weights.shape) == (B, Tk, Tq) != (B, Tq, Tk):
            fail(label, f"the weights have shape (B, Tk, Tq) = {(B, Tk, Tq)}: the scores were "
                        f"computed as K Q^T ({SWAPPED}). They are Q K^T, one row per query.")
        as_float64(f"{label}: weights", weights, (B, Tq, Tk))
        expected, weights_expected = ref.scaled_dot_product_attention(Q, K, V, mask)
        check_close(f"{label}: weights", weights, weights_expected, causes=distinct(
            weights_expected, attention_mistakes(Q, K, V, mask, their_result(
                seen, f"{case}: their masked_softmax"))))
        if isinstance(context, torch.Tensor) and context.shape[-1] == d != dv:
            fail(label, f"the context has the size of the keys (d = {d}), not of the values "
                        f"(dv = {dv}): {FROM_KEYS}.")
        as_float64(f"{label}: context", context, (B, Tq, dv))
        check_close(f"{label}: context", context, expected,
                    causes={f"the context is the weighted mean of the keys: {FROM_KEYS}":
                            weights_expected @ K} if d == dv else None)
    Q, K, V, mask, _ = attention_cases()["padding"]
    label = f"{name} (its gradients with respect to Q, K and V)"
    _, gradients = seen["gradient"].value(label)
    inputs = [x.clone().requires_grad_() for x in (Q, K, V)]
    expected = torch.autograd.grad((ref.scaled_dot_product_attention(*inputs, mask)[0]
                                    * randn(30, 2, 3, 6)).sum(), inputs)
    if gradients is None:
        fail(label, f"{NO_GRADIENT} Q, K or V: the context does not require grad (detached?).")
    for which, got, want in zip("QKV", gradients, expected, strict=True):
        if got is None or not torch.any(got != 0):
            fail(label, f"{NO_GRADIENT} {which}: is something detached (.detach(), .data, "
                        "torch.no_grad())?")
        check_close(f"{label}: d context / d {which}", got, want)


check_scaled_dot_product_attention = hidden_test(
    "scaled_dot_product_attention", "test_scaled_dot_product_attention",
    probe_scaled_dot_product_attention, judge_scaled_dot_product_attention)


ERROR_CASES = {  # what is mismatched -> (Q, K, V)
    "queries of size 4 and keys of size 3": ((2, 3, 4), (2, 5, 3), (2, 5, 2)),
    "5 keys and 4 values": ((2, 3, 4), (2, 5, 4), (2, 4, 2)),
}


def probe_scaled_dot_product_attention_errors(scaled_dot_product_attention):
    return {why: call(scaled_dot_product_attention, *(torch.zeros(s, dtype=torch.float64)
                                                       for s in shapes), forbid=FORBID)
            for why, shapes in ERROR_CASES.items()}


def judge_scaled_dot_product_attention_errors(seen):
    for why in ERROR_CASES:
        seen[why].raises("scaled_dot_product_attention", "ValueError", why=why)


check_scaled_dot_product_attention_errors = hidden_test(
    "scaled_dot_product_attention", "test_scaled_dot_product_attention_errors",
    probe_scaled_dot_product_attention_errors, judge_scaled_dot_product_attention_errors)


# ---------------------------------------------------------------- AdditiveAttention

W_SWAPPED = "W_q and W_k are swapped (the query goes through W_k)"
NO_TANH = "the tanh is missing (the score is v^T (W_q q + W_k k_j))"
OVER_BATCH = "the softmax runs over the batch (dim=0), not over the keys"
KEYS_AS_VALUES = "the context is the weighted mean of the keys, not of the values"
LINEAR = ("Likely cause: nn.Linear layers, which add biases and name their weights W_q.weight: "
          "create each as nn.Parameter(...).")
PARAMETER_NAMES = ("W_q", "W_k", "v")
INIT_SIZES = (3, 5, 49)


def additive_cases():
    """name -> (sizes (query, key, hidden), B, Tk, dv, mask or None, what the case is)."""
    return {
        "equal sizes": ((3, 3, 5), 3, 6, 3, random_mask(40, 3, 6).index_fill(0, torch.tensor(
            [0]), True),
                        "query and keys of size 3, hidden 5, values of size 3, a mask (3, 6)"),
        "other sizes": ((2, 4, 6), 3, 5, 3, padding_mask([5, 2, 4], 5),
                        "query of size 2, keys of size 4, hidden 6, a padding mask (3, 5)"),
        "no mask": ((3, 3, 5), 2, 4, 2, None, "query and keys of size 3, hidden 5, no mask"),
    }


def additive_weights(seed, sizes):
    query_size, key_size, hidden = sizes
    return {"W_q": randn(seed, hidden, query_size, scale=0.8),
            "W_k": randn(seed + 1, hidden, key_size, scale=0.8),
            "v": randn(seed + 2, hidden)}


def additive_inputs(seed, sizes, B, Tk, dv):
    query_size, key_size, _ = sizes
    return randn(seed + 3, B, query_size), randn(seed + 4, B, Tk, key_size), randn(
        seed + 5, B, Tk, dv)


def parameters_of(module):
    """{name: shape} of the registered parameters, or an Opaque-free description."""
    if not isinstance(module, nn.Module):
        return None
    return {name: tuple(p.shape) for name, p in module.named_parameters()}


def load_weights(module, weights):
    module.double()
    with torch.no_grad():
        for name, value in weights.items():
            module.get_parameter(name).copy_(value)
    return module


def forward_and_gradients(module, query, keys, values, mask, upstream):
    """(context, weights) and the gradients of (context * upstream).sum() with respect to
    query, keys, values and each parameter (None when nothing flows)."""
    wrt = [x.clone().requires_grad_() for x in (query, keys, values)]
    out = module(*wrt, mask)
    if not (isinstance(out, tuple | list) and len(out) == 2 and isinstance(out[0], torch.Tensor)
            and out[0].requires_grad):
        return out, None
    params = [module.get_parameter(name) for name in PARAMETER_NAMES]
    return out, list(torch.autograd.grad((out[0] * upstream).sum(), wrt + params,
                                         allow_unused=True))


def probe_AdditiveAttention(AdditiveAttention):
    seen = {}
    with torch.random.fork_rng():
        torch.manual_seed(0)
        built = call(AdditiveAttention, *INIT_SIZES, forbid=FORBID)
        seen["init"] = built
        module = built.result if built.ok else None
        built.result = None  # a module is not data: keep its parameters instead
        seen["is a module"] = isinstance(module, nn.Module)
        seen["parameters"] = parameters_of(module)
        seen["values"] = ({name: p.detach().clone() for name, p in module.named_parameters()}
                          if seen["parameters"] else None)
        if seen["parameters"] is None or set(seen["parameters"]) != set(PARAMETER_NAMES):
            return seen
        softmax = their(AdditiveAttention, "masked_softmax")
        for seed, (case, (sizes, B, Tk, dv, mask, _)) in enumerate(additive_cases().items()):
            made = call(AdditiveAttention, *sizes, forbid=FORBID)
            if not made.ok or parameters_of(made.result) is None:
                seen[case] = made
                continue
            try:
                module = load_weights(made.result, additive_weights(50 + 10 * seed, sizes))
            except (AttributeError, RuntimeError) as error:
                seen[case] = f"{type(error).__name__}: {error}"
                continue
            query, keys, values = additive_inputs(50 + 10 * seed, sizes, B, Tk, dv)
            seen[case] = call(forward_and_gradients, module, query, keys, values, mask,
                              randn(90 + seed, B, dv), forbid=FORBID)
            if softmax is not None:
                w = additive_weights(50 + 10 * seed, sizes)
                scores = torch.tanh((query @ w["W_q"].T)[:, None] + keys @ w["W_k"].T) @ w["v"]
                seen[f"{case}: their masked_softmax"] = call(softmax, scores, mask, forbid=FORBID)
    return seen


def check_init(name, values, hidden):
    bound = 1 / math.sqrt(hidden)
    every = torch.cat([v.double().flatten() for v in values.values()])
    for key, value in values.items():
        if value.numel() > 1 and torch.all(value == value.flatten()[0]):
            fail(name, f"parameter {key} holds one value everywhere ({value.flatten()[0]:g}): "
                       "initialise every entry at random, uniform(-1/sqrt(h), 1/sqrt(h)).")
    spread = every.std().item() / (bound / math.sqrt(3))
    if not (every.abs().max() <= bound * (1 + 1e-6) and every.max() > 0.95 * bound
            and every.min() < -0.95 * bound and 0.8 < spread < 1.2):
        fail(name, f"with hidden_size = {hidden} the initial entries span "
                   f"[{every.min().item():.3g}, {every.max().item():.3g}] with standard deviation "
                   f"{every.std().item():.3g}; uniform(-1/sqrt({hidden}), 1/sqrt({hidden})) fills "
                   f"[-{bound:.3g}, {bound:.3g}] with standard deviation "
                   f"{bound / math.sqrt(3):.3g}.")


def additive_mistakes(weights, query, keys, values, mask, their_weights):
    W_q, W_k, v = (weights[name] for name in PARAMETER_NAMES)
    scores = torch.tanh((query @ W_q.T)[:, None] + keys @ W_k.T) @ v
    causes = {NO_TANH: ref.masked_softmax(((query @ W_q.T)[:, None] + keys @ W_k.T) @ v, mask),
              OVER_BATCH: ref.masked_softmax(scores.T, None if mask is None else mask.T).T}
    if W_q.shape == W_k.shape:
        causes[W_SWAPPED] = ref.masked_softmax(
            torch.tanh((query @ W_k.T)[:, None] + keys @ W_q.T) @ v, mask)
    if mask is not None:
        causes[NOT_MASKED] = ref.masked_softmax(scores)
    if isinstance(their_weights, torch.Tensor):
        causes[THEIR_SOFTMAX.format("AdditiveAttention")] = their_weights
    return causes


def judge_AdditiveAttention(seen):
    name = "AdditiveAttention"
    built = seen["init"]
    built.value(f"{name}{INIT_SIZES}")
    if not seen["is a module"]:
        fail(name, "AdditiveAttention(...) is not an nn.Module: subclass nn.Module and call "
                   "super().__init__().")
    params = seen["parameters"]
    if set(params) != set(PARAMETER_NAMES):
        biased = any(key.endswith("bias") for key in params)
        fail(name, f"expected exactly the nn.Parameters W_q, W_k and v, got {sorted(params)}.",
             LINEAR if biased else "")
    query_size, key_size, hidden = INIT_SIZES
    shapes = {"W_q": (hidden, query_size), "W_k": (hidden, key_size), "v": (hidden,)}
    for key, shape in shapes.items():
        check_shape(f"{name}{INIT_SIZES}: parameter {key}", torch.zeros(params[key]), shape)
    check_init(name, seen["values"], hidden)
    for seed, (case, (sizes, B, Tk, dv, mask, what)) in enumerate(additive_cases().items()):
        label = f"{name} on {what}"
        one = seen[case]
        if isinstance(one, str):
            fail(label, f"the hidden test could not load weights into W_q, W_k and v ({one}).")
        result = one.value(label)
        out, gradients = result if isinstance(result, tuple) and len(result) == 2 else (
            result, None)
        check_type(f"{name}.forward(...)", out, tuple)
        if len(out) != 2:
            fail(label, f"forward should return (context, weights), got {len(out)} values.")
        context, weights = out
        weights_now = additive_weights(50 + 10 * seed, sizes)
        query, keys, values = additive_inputs(50 + 10 * seed, sizes, B, Tk, dv)
        with torch.random.fork_rng():
            reference = load_weights(ref.AdditiveAttention(*sizes), weights_now)
        expected_context, expected_weights = reference(query, keys, values, mask)
        as_float64(f"{label}: weights", weights, (B, Tk))
        their_weights = their_result(seen, f"{case}: their masked_softmax")
        check_close(f"{label}: weights", weights, expected_weights, causes=distinct(
            expected_weights, additive_mistakes(weights_now, query, keys, values, mask,
                                                their_weights)))
        as_float64(f"{label}: context", context, (B, dv))
        check_close(f"{label}: context", context, expected_context,
                    causes={KEYS_AS_VALUES: (expected_weights[:, None] @ keys)[:, 0]}
                    if keys.shape[-1] == dv else None)
        if gradients is None:
            fail(label, f"{NO_GRADIENT} the inputs: the context does not require grad.")
        wrt = [x.clone().requires_grad_() for x in (query, keys, values)]
        want = torch.autograd.grad((reference(*wrt, mask)[0] * randn(90 + seed, B, dv)).sum(),
                                   wrt + [reference.get_parameter(n) for n in PARAMETER_NAMES])
        for which, got, expected in zip(("query", "keys", "values", *PARAMETER_NAMES),
                                        gradients, want, strict=True):
            if got is None or (not torch.any(got != 0) and torch.any(expected != 0)):
                fail(label, f"{NO_GRADIENT} {which}: is it detached (.detach(), .data, "
                            "torch.no_grad())?")
            check_close(f"{label}: the gradient of {which}", got, expected)


check_AdditiveAttention = hidden_test("AdditiveAttention", "test_AdditiveAttention",
                                      probe_AdditiveAttention, judge_AdditiveAttention)


# ---------------------------------------------------------------- AttentionDecoder

class KnownAttention(nn.Module):
    """Dot-product attention written with torch.softmax, which records its calls: the hidden
    tests' stand-in for the student's AdditiveAttention inside AttentionDecoder."""

    def __init__(self, query_size, key_size, hidden_size):
        super().__init__()
        self.sizes, self.calls = (query_size, key_size, hidden_size), []

    def forward(self, query, keys, values, mask=None):
        self.calls.append((query.detach().clone(), keys.detach().clone(),
                           values.detach().clone(), None if mask is None else mask.clone()))
        problem = attention_call_problem(query, keys, values, mask)
        if problem:
            raise ValueError(problem)
        scores = (keys @ query[:, :, None])[:, :, 0]
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return (weights[:, None, :] @ values)[:, 0], weights


def shape(x):
    return tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__


def attention_call_problem(query, keys, values, mask):
    """What is wrong with the arguments a decoder gave its attention, or None: the known
    attention names it instead of failing somewhere inside itself."""
    called = (f"self.attention was called with query {shape(query)}, keys {shape(keys)}, "
              f"values {shape(values)}, mask {None if mask is None else shape(mask)}")
    if not all(isinstance(x, torch.Tensor) for x in (query, keys, values)):
        return f"{called}: query, keys and values must be tensors."
    if query.dim() == 3 and keys.dim() == 2:
        return (f"{called}: the query and the keys are swapped. The query is h_prev (B, H), the "
                "keys and values are enc_outputs (B, Tk, H): attention(h_prev, enc_outputs, "
                "enc_outputs, mask).")
    if query.dim() != 2 or keys.dim() != 3 or keys.shape != values.shape or (
            query.shape[0], query.shape[-1]) != (keys.shape[0], keys.shape[-1]):
        return (f"{called}: it takes the query h_prev (B, H) and the keys and values "
                "enc_outputs (B, Tk, H).")
    if mask is not None and (not isinstance(mask, torch.Tensor)
                             or tuple(mask.shape) != tuple(keys.shape[:2])):
        return (f"{called}: AdditiveAttention takes the padding mask as (B, Tk) = "
                f"{tuple(keys.shape[:2])}, as the decoder is given it (mask[:, None, :] is the "
                "scaled dot product's form).")
    return None


@contextlib.contextmanager
def known_attention_for(decoder_class):
    """While active, the name AdditiveAttention means KnownAttention where ``decoder_class``'s
    __init__ looks it up."""
    names = getattr(getattr(decoder_class, "__init__", None), "__globals__", None)
    if not isinstance(names, dict):
        yield
        return
    missing = object()
    theirs = names.get("AdditiveAttention", missing)
    names["AdditiveAttention"] = KnownAttention
    try:
        yield
    finally:
        if theirs is missing:
            names.pop("AdditiveAttention", None)
        else:
            names["AdditiveAttention"] = theirs


VOCAB, EMBED, HIDDEN = 9, 3, 5
SUBMODULES = {"embedding": nn.Embedding, "attention": nn.Module, "cell": nn.GRUCell,
              "out": nn.Linear}
QUERY_IS_H = ("the attention is computed from the new state h instead of h_prev: the context "
              "must be ready before the cell runs, so the query is h_prev.")
CONTEXT_FIRST = "the cell's input is [context, e]; it is [e, context]"
OUT_SWAPPED = "the output layer reads [context, h]; it reads [h, context]"
OUT_FROM_PREVIOUS = "the output layer reads h_prev instead of the new state h"
MASK_DROPPED = "the mask is not passed on to the attention: padding gets weight."
BACK_TO = "no gradient flows back to"


def decoder_weights(seed=60):
    shapes = {"embedding.weight": (VOCAB, EMBED), "cell.weight_ih": (3 * HIDDEN, EMBED + HIDDEN),
              "cell.weight_hh": (3 * HIDDEN, HIDDEN), "cell.bias_ih": (3 * HIDDEN,),
              "cell.bias_hh": (3 * HIDDEN,), "out.weight": (VOCAB, 2 * HIDDEN),
              "out.bias": (VOCAB,)}
    return {key: randn(seed + k, *shape, scale=0.6)
            for k, (key, shape) in enumerate(shapes.items())}


DECODER_CASES = {  # name -> (B, Tk, padded lengths or None, what the case is)
    "mask": (3, 6, [6, 4, 2], "a batch of 3 with a padding mask (3, 6)"),
    "no mask": (2, 4, None, "a batch of 2 and no mask"),
}


def decoder_inputs(case):
    B, Tk, lengths, _ = DECODER_CASES[case]
    seed = 70 if case == "mask" else 80
    y_prev = torch.randint(VOCAB, (B,), generator=torch.Generator().manual_seed(seed))
    mask = None if lengths is None else padding_mask(lengths, Tk)
    return y_prev, randn(seed + 1, B, HIDDEN), randn(seed + 2, B, Tk, HIDDEN), mask


def structure(decoder):
    """What the decoder's submodules are, as data."""
    parts = {}
    for key, kind in SUBMODULES.items():
        module = getattr(decoder, key, None)
        parts[key] = {"type": type(module).__name__, "right type": isinstance(module, kind)}
    if parts["embedding"]["right type"]:
        parts["embedding"]["sizes"] = tuple(decoder.embedding.weight.shape)
    if isinstance(getattr(decoder, "attention", None), KnownAttention):
        parts["attention"]["sizes"] = decoder.attention.sizes  # built as AdditiveAttention(...)
    if parts["cell"]["right type"]:
        parts["cell"]["sizes"] = (decoder.cell.input_size, decoder.cell.hidden_size)
    if parts["out"]["right type"]:
        parts["out"]["sizes"] = tuple(decoder.out.weight.shape)
    return parts


def step_and_gradients(decoder, y_prev, h_prev, enc_outputs, mask, upstream):
    """The step's outputs and the gradients of (logits * upstream).sum() with respect to h_prev
    and enc_outputs (None where nothing flows)."""
    wrt = [h_prev.clone().requires_grad_(), enc_outputs.clone().requires_grad_()]
    out = decoder(y_prev, wrt[0], wrt[1], mask)
    if not (isinstance(out, tuple | list) and len(out) == 3 and isinstance(out[0], torch.Tensor)
            and out[0].requires_grad):
        return out, None
    return out, list(torch.autograd.grad((out[0] * upstream).sum(), wrt, allow_unused=True))


def probe_AttentionDecoder(AttentionDecoder):
    seen = {}
    with torch.random.fork_rng(), known_attention_for(AttentionDecoder):
        built = call(AttentionDecoder, VOCAB, EMBED, HIDDEN, forbid=FORBID)
    decoder = built.result if built.ok else None
    built.result = None
    seen["built"], seen["is a module"] = built, isinstance(decoder, nn.Module)
    if not seen["is a module"]:
        return seen
    seen["structure"] = structure(decoder)
    if not all(part["right type"] for part in seen["structure"].values()):
        return seen
    decoder.double()
    try:
        with torch.no_grad():
            for key, value in decoder_weights().items():
                decoder.get_parameter(key).copy_(value)
    except (AttributeError, RuntimeError) as error:
        seen["loading"] = f"{type(error).__name__}: {error}"
        return seen
    for case in DECODER_CASES:
        decoder.attention = KnownAttention(HIDDEN, HIDDEN, HIDDEN)
        B = DECODER_CASES[case][0]
        seen[case] = call(step_and_gradients, decoder, *decoder_inputs(case),
                          randn(99, B, VOCAB), forbid=FORBID)
        seen[f"{case}: calls"] = decoder.attention.calls
    return seen


def expected_decoder():
    with torch.random.fork_rng():
        decoder = ref.AttentionDecoder(VOCAB, EMBED, HIDDEN).double()
    decoder.attention = KnownAttention(HIDDEN, HIDDEN, HIDDEN)
    with torch.no_grad():
        for key, value in decoder_weights().items():
            decoder.get_parameter(key).copy_(value)
    return decoder


def judge_structure(name, parts):
    written = {"embedding": "nn.Embedding", "attention": "AdditiveAttention",
               "cell": "nn.GRUCell", "out": "nn.Linear"}
    for key, part in parts.items():
        if not part["right type"]:
            fail(name, f"self.{key} should be {written[key]}(...), got {part['type']}.")
    if parts["attention"].get("sizes", (HIDDEN,) * 3) != (HIDDEN,) * 3:
        fail(name, f"the attention is built as AdditiveAttention{parts['attention']['sizes']}; "
                   f"with hidden_size = {HIDDEN} it is AdditiveAttention{(HIDDEN,) * 3}.")
    if parts["embedding"]["sizes"] != (VOCAB, EMBED):
        fail(name, f"the embedding's weight has shape {parts['embedding']['sizes']}; it is "
                   f"nn.Embedding(vocab_size, embed_size) = {(VOCAB, EMBED)}.")
    if parts["cell"]["sizes"] != (EMBED + HIDDEN, HIDDEN):
        fail(name, f"the cell is nn.GRUCell{parts['cell']['sizes']}; its input is [e, context]: "
                   f"nn.GRUCell({EMBED} + {HIDDEN}, {HIDDEN}).")
    if parts["out"]["sizes"] != (VOCAB, 2 * HIDDEN):
        fail(name, f"out.weight has shape {parts['out']['sizes']}; the output layer reads [h, "
                   f"context]: nn.Linear(2 * {HIDDEN}, {VOCAB}).")


def judge_calls(label, calls, h_prev, enc_outputs, mask, h):
    if not calls:
        fail(label, "forward never calls self.attention.")
    query, keys, values, given_mask = calls[0]
    if isinstance(h, torch.Tensor) and h.shape == query.shape and torch.allclose(
            query, h.detach()) and not torch.allclose(query, h_prev):
        fail(label, QUERY_IS_H)
    if not torch.equal(query, h_prev):
        fail(label, "the attention's query should be h_prev.")
    if not (torch.equal(keys, enc_outputs) and torch.equal(values, enc_outputs)):
        fail(label, "the attention's keys and values should both be enc_outputs.")
    if mask is not None and (given_mask is None or not torch.equal(given_mask, mask)):
        fail(label, MASK_DROPPED)


def judge_AttentionDecoder(seen):
    name = "AttentionDecoder"
    seen["built"].value(f"{name}({VOCAB}, {EMBED}, {HIDDEN})")
    if not seen["is a module"]:
        fail(name, "AttentionDecoder(...) is not an nn.Module: subclass nn.Module and call "
                   "super().__init__().")
    judge_structure(name, seen["structure"])
    if "loading" in seen:
        fail(name, f"the hidden test could not load weights into the submodules "
                   f"({seen['loading']}).")
    reference = expected_decoder()
    for case, (B, Tk, _, what) in DECODER_CASES.items():
        label = f"{name} on {what}"
        calls = seen[f"{case}: calls"]
        if calls and attention_call_problem(*calls[0]):  # what the known attention raised
            fail(label, attention_call_problem(*calls[0]))
        result = seen[case].value(label)
        out, gradients = result if isinstance(result, tuple) and len(result) == 2 else (
            result, None)
        check_type(f"{name}.forward(...)", out, tuple)
        if len(out) != 3:
            fail(label, f"forward should return (logits, h, weights), got {len(out)} values.")
        logits, h, weights = out
        y_prev, h_prev, enc_outputs, mask = decoder_inputs(case)
        as_float64(f"{label}: h", h, (B, HIDDEN))
        judge_calls(label, seen[f"{case}: calls"], h_prev, enc_outputs, mask, h)
        context, expected_weights = reference.attention(h_prev, enc_outputs, enc_outputs, mask)
        e = reference.embedding(y_prev)
        expected_h = reference.cell(torch.cat([e, context], dim=-1), h_prev)
        check_close(f"{label}: h", h, expected_h, causes={
            CONTEXT_FIRST: reference.cell(torch.cat([context, e], dim=-1), h_prev).detach()})
        as_float64(f"{label}: logits", logits, (B, VOCAB))
        check_close(f"{label}: logits", logits, reference.out(torch.cat([expected_h, context], -1)),
                    causes={OUT_SWAPPED: reference.out(torch.cat([context, expected_h], -1)),
                            OUT_FROM_PREVIOUS: reference.out(torch.cat([h_prev, context], -1))})
        as_float64(f"{label}: weights", weights, (B, Tk))
        check_close(f"{label}: weights (the attention's)", weights, expected_weights)
        wrt = [h_prev.clone().requires_grad_(), enc_outputs.clone().requires_grad_()]
        want = torch.autograd.grad((reference(y_prev, *wrt, mask)[0] * randn(99, B, VOCAB)).sum(),
                                   wrt)
        if gradients is None:
            fail(label, f"{BACK_TO} h_prev or enc_outputs: the logits do not require grad.")
        for which, got, expected in zip(("h_prev", "enc_outputs"), gradients, want, strict=True):
            if got is None or not torch.any(got != 0):
                fail(label, f"{BACK_TO} {which}: is it detached (.detach(), .data)? Training "
                            "needs the gradient of every step to reach the encoder and the "
                            "earlier steps.")
            check_close(f"{label}: the gradient of {which}", got, expected)


check_AttentionDecoder = hidden_test("AttentionDecoder", "test_AttentionDecoder",
                                     probe_AttentionDecoder, judge_AttentionDecoder)
