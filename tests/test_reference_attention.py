"""06_attention: the reference against PyTorch's own attention
(``F.scaled_dot_product_attention``), softmax over the allowed keys only, finite
differences (``torch.autograd.gradcheck``) and a decoder step composed here from
PyTorch's functional pieces. Each oracle test also runs on a wrong twin, which must fail."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from oracles import ORACLE, reference_and_twin, verdict

from helpers import reference
from helpers.checks import check_close

sizes = st.integers(1, 4)
seeds = st.integers(0, 2**32 - 1)


def randn(generator, *shape):
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def random_mask(generator, *shape, some_rows_empty=True):
    """A boolean mask; with ``some_rows_empty`` a row may allow no key at all."""
    mask = torch.rand(*shape, generator=generator) < 0.6
    if not some_rows_empty:
        mask[..., 0] = True
    return mask


# ---------------------------------------------------------------- wrong twins


def softmax_multiplied_by_mask(scores, mask=None):
    weights = torch.softmax(scores, dim=-1)
    return weights if mask is None else weights * mask


def unscaled_attention(Q, K, V, mask=None):
    weights = reference.masked_softmax(Q @ K.transpose(-2, -1), mask)
    return weights @ V, weights


class KeysForValues(reference.AdditiveAttention):
    def forward(self, query, keys, values, mask=None):
        return super().forward(query, keys, keys, mask)


class AttendsWithNewState(reference.AttentionDecoder):
    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        e = self.embedding(y_prev)
        h = self.cell(torch.cat([e, torch.zeros_like(h_prev)], dim=-1), h_prev)
        context, weights = self.attention(h, enc_outputs, enc_outputs, mask)
        return self.out(torch.cat([h, context], dim=-1)), h, weights


# ---------------------------------------------------------------- masked_softmax


def softmax_over_allowed(scores, mask):
    """Row by row: torch.softmax of the allowed scores alone, 0 elsewhere."""
    mask = torch.broadcast_to(mask, scores.shape)
    out = torch.zeros_like(scores)
    for index in itertools.product(*map(range, scores.shape[:-1])):
        allowed = mask[index]
        if allowed.any():
            out[index][allowed] = torch.softmax(scores[index][allowed], dim=0)
    return out


def assert_masked_softmax_matches(softmax):
    @ORACLE
    @given(B=sizes, Tq=sizes, Tk=sizes, seed=seeds)
    def run(B, Tq, Tk, seed):
        generator = torch.Generator().manual_seed(seed)
        scores = 3 * randn(generator, B, Tq, Tk)
        mask = random_mask(generator, B, Tq, Tk)
        check_close("masked_softmax", softmax(scores, mask), softmax_over_allowed(scores, mask))
        check_close("masked_softmax without a mask", softmax(scores),
                    torch.softmax(scores, dim=-1))

    run()


@reference_and_twin(reference.masked_softmax, softmax_multiplied_by_mask)
def test_masked_softmax_is_the_softmax_of_the_allowed_scores(impl, is_right):
    verdict(is_right, assert_masked_softmax_matches, impl)


def test_masked_softmax_is_stable_and_exact():
    scores = torch.tensor([[1e4, -1e4, 0.0, 5e3], [-1e4, -1e4, -1e4, -1e4],
                           [1e4, 1e4, 1e4, 1e4]], dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True, True, False, True], [True, True, True, True],
                         [False, False, False, False]])
    weights = reference.masked_softmax(scores, mask)
    assert torch.isfinite(weights).all()
    assert weights[0, 2] == 0 and torch.equal(weights[2], torch.zeros(4, dtype=torch.float64))
    check_close("masked_softmax of scores up to 1e4", weights[:2],
                torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]]))
    (weights * torch.arange(4.0)).sum().backward()
    assert torch.isfinite(scores.grad).all()
    assert torch.equal(scores.grad[2], torch.zeros(4, dtype=torch.float64))


def test_masked_softmax_gradient_matches_finite_differences():
    generator = torch.Generator().manual_seed(0)
    scores = randn(generator, 2, 3, 5).requires_grad_()
    mask = random_mask(generator, 2, 1, 5)  # broadcast over the queries
    assert torch.autograd.gradcheck(lambda s: reference.masked_softmax(s, mask), (scores,))


def softmax_where_after_exp(scores, mask):
    """Right forward, NaN gradient where exp of a masked score overflows: the wrong twin."""
    top = scores.masked_fill(~mask, float("-inf")).amax(dim=-1, keepdim=True).detach()
    top = torch.where(torch.isinf(top), 0.0, top)
    weights = torch.where(mask, torch.exp(scores - top), 0.0)
    total = weights.sum(dim=-1, keepdim=True)
    return weights / torch.where(total > 0, total, 1.0)


def assert_gradient_matches_allowed_softmax(softmax):
    """On the hidden tests' gradient cases (scores near +-1e4, masked scores far above the
    allowed ones, empty rows), the gradient is torch.softmax's over the allowed keys alone."""
    from helpers.hidden.attention import gradient_cases

    for scores, mask, upstream, what in gradient_cases().values():
        got = scores.clone().requires_grad_()
        (gradient,) = torch.autograd.grad((softmax(got, mask) * upstream).sum(), got)
        oracle = scores.clone().requires_grad_()
        (expected,) = torch.autograd.grad((softmax_over_allowed(oracle, mask) * upstream).sum(),
                                          oracle)
        check_close(f"the gradient of masked_softmax on {what}", gradient, expected)


@reference_and_twin(reference.masked_softmax, softmax_where_after_exp)
def test_masked_softmax_gradient_on_large_and_masked_scores(impl, is_right):
    verdict(is_right, assert_gradient_matches_allowed_softmax, impl)


# ---------------------------------------------------------------- scaled dot product


def assert_attention_matches_torch(attention):
    @ORACLE
    @given(B=sizes, Tq=sizes, Tk=sizes, d=sizes, dv=sizes, seed=seeds,
           padding=st.booleans())
    def run(B, Tq, Tk, d, dv, seed, padding):
        generator = torch.Generator().manual_seed(seed)
        Q, K, V = randn(generator, B, Tq, d), randn(generator, B, Tk, d), randn(
            generator, B, Tk, dv)
        mask = (random_mask(generator, B, Tk)[:, None, :] if padding
                else random_mask(generator, B, Tq, Tk))
        for m in (None, mask):
            context, weights = attention(Q, K, V, m)
            check_close("context vs F.scaled_dot_product_attention", context,
                        F.scaled_dot_product_attention(Q, K, V, attn_mask=m))
            scores = Q @ K.transpose(-2, -1) / math.sqrt(d)
            check_close("weights", weights, torch.softmax(scores, -1) if m is None
                        else softmax_over_allowed(scores, m))

    run()


@reference_and_twin(reference.scaled_dot_product_attention, unscaled_attention)
def test_scaled_dot_product_attention_matches_torch(impl, is_right):
    verdict(is_right, assert_attention_matches_torch, impl)


def test_attention_gradients_match_torch():
    generator = torch.Generator().manual_seed(1)
    inputs = [randn(generator, 2, 3, 4).requires_grad_(), randn(generator, 2, 5, 4)
              .requires_grad_(), randn(generator, 2, 5, 2).requires_grad_()]
    mask = random_mask(generator, 2, 5, some_rows_empty=False)[:, None, :]
    upstream = randn(generator, 2, 3, 2)
    ours = torch.autograd.grad(
        (reference.scaled_dot_product_attention(*inputs, mask)[0] * upstream).sum(), inputs)
    theirs = torch.autograd.grad(
        (F.scaled_dot_product_attention(*inputs, attn_mask=mask) * upstream).sum(), inputs)
    for name, got, want in zip("QKV", ours, theirs, strict=True):
        check_close(f"d context / d {name}", got, want)


def test_attention_rejects_mismatched_sizes():
    Q, K, V = torch.zeros(1, 2, 3), torch.zeros(1, 4, 5), torch.zeros(1, 4, 2)
    with pytest.raises(ValueError, match="same size d"):
        reference.scaled_dot_product_attention(Q, K, V)
    with pytest.raises(ValueError, match="same length Tk"):
        reference.scaled_dot_product_attention(Q, torch.zeros(1, 4, 3), V[:, :3])


# ---------------------------------------------------------------- additive attention


def bahdanau(attention, query, keys, values, mask):
    """Additive attention from nn.Linear layers (no bias) loaded with the module's weights,
    a loop over the keys, and torch.softmax over the allowed keys."""
    W_q = torch.nn.Linear(*attention.W_q.shape[::-1], bias=False, dtype=torch.float64)
    W_k = torch.nn.Linear(*attention.W_k.shape[::-1], bias=False, dtype=torch.float64)
    with torch.no_grad():
        W_q.weight.copy_(attention.W_q)
        W_k.weight.copy_(attention.W_k)
    scores = torch.stack([torch.tanh(W_q(query) + W_k(keys[:, j])) @ attention.v.detach()
                          for j in range(keys.shape[1])], dim=1)
    weights = softmax_over_allowed(scores, mask)
    return torch.einsum("bj,bjd->bd", weights, values), weights


def seeded_additive(module_class, seed, sizes):
    torch.manual_seed(seed)
    return module_class(*sizes).double()


def assert_additive_matches(module_class):
    @ORACLE
    @given(B=sizes, Tk=sizes, q=sizes, k=sizes, hidden=sizes, dv=sizes, seed=seeds)
    def run(B, Tk, q, k, hidden, dv, seed):
        generator = torch.Generator().manual_seed(seed)
        attention = seeded_additive(module_class, seed % 1000, (q, k, hidden))
        query, keys = randn(generator, B, q), randn(generator, B, Tk, k)
        values, mask = randn(generator, B, Tk, dv), random_mask(generator, B, Tk)
        context, weights = attention(query, keys, values, mask)
        expected_context, expected_weights = bahdanau(attention, query, keys, values, mask)
        check_close("additive attention: weights", weights, expected_weights)
        check_close("additive attention: context", context, expected_context)

    run()


@reference_and_twin(reference.AdditiveAttention, KeysForValues)
def test_additive_attention_matches_a_loop_over_keys(impl, is_right):
    verdict(is_right, assert_additive_matches, impl)


def test_additive_attention_parameters_and_init():
    attention = reference.AdditiveAttention(3, 5, 49)
    assert {n: tuple(p.shape) for n, p in attention.named_parameters()} == {
        "W_q": (49, 3), "W_k": (49, 5), "v": (49,)}
    values = torch.cat([p.detach().flatten() for p in attention.parameters()])
    bound = 1 / math.sqrt(49)
    # 441 uniform draws: both ends of the interval come within 5 % of the bound
    # but for a probability below 1e-9
    assert values.abs().max() <= bound
    assert values.max() > 0.95 * bound and values.min() < -0.95 * bound


def test_additive_attention_gradient_matches_finite_differences():
    generator = torch.Generator().manual_seed(2)
    attention = seeded_additive(reference.AdditiveAttention, 0, (3, 4, 5))
    query, keys, values = (randn(generator, *s).requires_grad_()
                           for s in ((2, 3), (2, 6, 4), (2, 6, 2)))
    mask = random_mask(generator, 2, 6, some_rows_empty=False)

    def context(query, keys, values, W_q, W_k, v):
        with torch.no_grad():
            for p, value in zip(attention.parameters(), (W_q, W_k, v), strict=True):
                p.copy_(value)
        features = torch.tanh((query @ W_q.T)[:, None] + keys @ W_k.T)
        weights = reference.masked_softmax(features @ v, mask)
        return torch.einsum("bj,bjd->bd", weights, values)

    params = [p.detach().clone().requires_grad_() for p in attention.parameters()]
    assert torch.autograd.gradcheck(context, (query, keys, values, *params))
    # and the module's own graph gives autograd the same gradients
    out = attention(query, keys, values, mask)[0].sum()
    got = torch.autograd.grad(out, [query, keys, values, *attention.parameters()])
    want = torch.autograd.grad(context(query, keys, values, *params).sum(),
                               [query, keys, values, *params])
    for g, w in zip(got, want, strict=True):
        check_close("additive attention gradient", g, w)


# ---------------------------------------------------------------- the decoder step


def decoder_step(decoder, y_prev, h_prev, enc_outputs, mask):
    """The step composed from F.embedding, the loop-over-keys attention above, the GRU
    equations written with nn.GRUCell's weights (gates stacked r, z, n), and F.linear."""
    e = F.embedding(y_prev, decoder.embedding.weight)
    context, weights = bahdanau(decoder.attention, h_prev, enc_outputs, enc_outputs, mask)
    x = torch.cat([e, context], dim=-1)
    cell = decoder.cell
    gi = x @ cell.weight_ih.T + cell.bias_ih
    gh = h_prev @ cell.weight_hh.T + cell.bias_hh
    (i_r, i_z, i_n), (h_r, h_z, h_n) = gi.chunk(3, -1), gh.chunk(3, -1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    h = z * h_prev + (1 - z) * torch.tanh(i_n + r * h_n)
    logits = F.linear(torch.cat([h, context], -1), decoder.out.weight, decoder.out.bias)
    return logits, h, weights


def assert_decoder_matches(decoder_class):
    @ORACLE
    @given(B=sizes, Tk=sizes, vocab=st.integers(2, 6), embed=sizes, hidden=sizes, seed=seeds)
    def run(B, Tk, vocab, embed, hidden, seed):
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed % 1000)
        decoder = decoder_class(vocab, embed, hidden).double()
        y_prev = torch.randint(0, vocab, (B,), generator=generator)
        h_prev, enc = randn(generator, B, hidden), randn(generator, B, Tk, hidden)
        mask = random_mask(generator, B, Tk, some_rows_empty=False)
        got = decoder(y_prev, h_prev, enc, mask)
        want = decoder_step(decoder, y_prev, h_prev, enc, mask)
        for part, g, w in zip(("logits", "h", "weights"), got, want, strict=True):
            check_close(f"decoder step: {part}", g, w)

    run()


@reference_and_twin(reference.AttentionDecoder, AttendsWithNewState)
def test_attention_decoder_matches_a_composed_step(impl, is_right):
    verdict(is_right, assert_decoder_matches, impl)


def test_attention_decoder_submodules():
    decoder = reference.AttentionDecoder(11, 4, 6)
    assert isinstance(decoder.embedding, torch.nn.Embedding)
    assert decoder.embedding.weight.shape == (11, 4)
    assert isinstance(decoder.attention, reference.AdditiveAttention)
    assert decoder.attention.W_q.shape == (6, 6) and decoder.attention.W_k.shape == (6, 6)
    assert isinstance(decoder.cell, torch.nn.GRUCell)
    assert (decoder.cell.input_size, decoder.cell.hidden_size) == (10, 6)
    assert isinstance(decoder.out, torch.nn.Linear)
    assert decoder.out.weight.shape == (11, 12)
