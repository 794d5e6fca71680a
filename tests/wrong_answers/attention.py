"""Answers students give to 06_attention: mistakes, each a complete function or class, and
correct answers written differently from the reference, each declared with what it is
(``tests.variants``). Names read ``<graded name>__<what is different>``.

The undecorated ``masked_softmax`` and ``AdditiveAttention`` below are correct answers that
the other variants build on, so that each variant is wrong in one place only.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from tests.variants import correct, delegates, mistake

NEG_INF = float("-inf")


def masked_softmax(scores, mask=None):
    """A correct masked softmax, for the variants of the other exercises."""
    if mask is None:
        return torch.softmax(scores, dim=-1)
    mask = torch.broadcast_to(mask, scores.shape)
    some = mask.any(dim=-1, keepdim=True)
    return torch.softmax(scores.masked_fill(~mask, NEG_INF).masked_fill(~some, 0.0), -1) * some


def full(mask, scores):
    return torch.ones_like(scores, dtype=torch.bool) if mask is None else torch.broadcast_to(
        mask, scores.shape)


def shifted(scores, shift, mask):
    """exp(scores - shift) on the allowed keys, normalised; rows with nothing left stay 0."""
    shift = torch.where(torch.isinf(shift), torch.zeros_like(shift), shift)
    weights = torch.exp(scores.masked_fill(~mask, NEG_INF) - shift)
    total = weights.sum(dim=-1, keepdim=True)
    return weights / torch.where(total > 0, total, torch.ones_like(total))


# ---------------------------------------------------------------- masked_softmax

@correct("masked_softmax")
def masked_softmax__zero_empty_rows(scores, mask=None):
    """F.softmax of the filled scores; a row with no allowed key is given scores 0 (uniform,
    finite), then zeroed."""
    if mask is None:
        return F.softmax(scores, dim=-1)
    mask = torch.broadcast_to(mask, scores.shape)
    some = mask.any(dim=-1, keepdim=True)
    filled = scores.masked_fill(~mask, NEG_INF).masked_fill(~some, 0.0)
    return F.softmax(filled, dim=-1) * some


@correct("masked_softmax")
def masked_softmax__log_mask(scores, mask=None):
    """log(mask) (0 or -inf) added to the scores, and torch.where for the shift and the sum."""
    if mask is not None:
        scores = scores + torch.log(torch.broadcast_to(mask, scores.shape).to(scores.dtype))
    top = scores.amax(dim=-1, keepdim=True)
    top = torch.where(top > NEG_INF, top, 0.0).detach()
    weights = torch.exp(scores - top)
    total = weights.sum(dim=-1, keepdim=True)
    return weights / torch.where(total > 0, total, 1.0)


@correct("masked_softmax")
def masked_softmax__logsumexp(scores, mask=None):
    """Log-weights through torch.logsumexp, on a copy of the scores where an empty row is 0."""
    mask = full(mask, scores)
    some = mask.any(dim=-1, keepdim=True)
    safe = torch.where(some, torch.where(mask, scores, NEG_INF), 0.0)
    weights = torch.exp(safe - torch.logsumexp(safe, dim=-1, keepdim=True))
    return torch.where(mask, weights, 0.0)


@mistake("masked_softmax", "multiplied by the mask after the softmax")
def masked_softmax__multiplied_after(scores, mask=None):
    weights = torch.softmax(scores, dim=-1)
    return weights if mask is None else weights * mask


@mistake("masked_softmax", "the mask is ignored")
def masked_softmax__mask_ignored(scores, mask=None):
    return torch.softmax(scores, dim=-1)


@mistake("masked_softmax", "runs over the wrong axis")
def masked_softmax__over_queries(scores, mask=None):
    return torch.softmax(scores.masked_fill(~full(mask, scores), NEG_INF), dim=-2)


@mistake("masked_softmax", "runs over the wrong axis")
def masked_softmax__over_batch(scores, mask=None):
    return torch.softmax(scores, dim=0) * full(mask, scores)


@mistake("masked_softmax", "wrong way round")
def masked_softmax__inverted(scores, mask=None):
    return masked_softmax(scores, None if mask is None else ~mask)


@mistake("masked_softmax", "filled with a finite number (-1e4)")
def masked_softmax__fill_1e4(scores, mask=None):
    return torch.softmax(scores.masked_fill(~full(mask, scores), -1e4), dim=-1)


@mistake("masked_softmax", "large finite number (-1e9)")
def masked_softmax__fill_1e9(scores, mask=None):
    return torch.softmax(scores.masked_fill(~full(mask, scores), -1e9), dim=-1)


@mistake("masked_softmax", "every key masked gives NaN")
def masked_softmax__fill_inf(scores, mask=None):
    return torch.softmax(scores.masked_fill(~full(mask, scores), NEG_INF), dim=-1)


@mistake("masked_softmax", "exp(1e4) overflows")
def masked_softmax__no_shift(scores, mask=None):
    weights = torch.exp(scores.masked_fill(~full(mask, scores), NEG_INF))
    total = weights.sum(dim=-1, keepdim=True)
    return weights / torch.where(total > 0, total, torch.ones_like(total))


@mistake("masked_softmax", "the gradient is NaN")
def masked_softmax__where_after_nan(scores, mask=None):
    """Right forward: log(mask) adds -inf to the masked scores and the NaN rows are replaced by
    0, but the NaN is still in the graph."""
    mask = full(mask, scores)
    weights = torch.softmax(scores + torch.log(mask.to(scores.dtype)), dim=-1)
    return torch.where(mask.any(dim=-1, keepdim=True), weights, 0.0)


@correct("masked_softmax")
def masked_softmax__where_fill(scores, mask=None):
    """torch.where(mask, scores, -inf) then torch.softmax, and the empty rows' NaN replaced by
    0: right, gradient too, since the backward of torch.where gives the discarded -inf branch
    a zero gradient and nothing below it overflowed."""
    mask = full(mask, scores)
    weights = torch.softmax(torch.where(mask, scores, NEG_INF), dim=-1)
    return torch.where(mask.any(dim=-1, keepdim=True), weights, 0.0)


@mistake("masked_softmax", "masked after exp")
def masked_softmax__mask_after_exp(scores, mask=None):
    """The right shift (the largest allowed score), but the mask multiplies exp(...) after:
    exp of a masked score far above the allowed ones is inf, and inf * 0 is NaN."""
    mask = full(mask, scores)
    top = scores.masked_fill(~mask, NEG_INF).amax(dim=-1, keepdim=True).detach()
    weights = torch.exp(scores - torch.where(torch.isinf(top), 0.0, top)) * mask
    total = weights.sum(dim=-1, keepdim=True)
    return weights / torch.where(total > 0, total, 1.0)


@mistake("masked_softmax", "is inf in a branch that torch.where discards")
def masked_softmax__where_after_exp(scores, mask=None):
    """The right shift, and torch.where keeps the masked weights out: right forward, but
    exp of a masked score far above the allowed ones is inf, and the backward pass gives it
    0 * inf = NaN."""
    mask = full(mask, scores)
    top = scores.masked_fill(~mask, NEG_INF).amax(dim=-1, keepdim=True).detach()
    weights = torch.where(mask, torch.exp(scores - torch.where(torch.isinf(top), 0.0, top)), 0.0)
    total = weights.sum(dim=-1, keepdim=True)
    return weights / torch.where(total > 0, total, 1.0)


@mistake("masked_softmax", "the row's sum is detached")
def masked_softmax__detached_sum(scores, mask=None):
    """The shift may be detached, and so, it is thought, may the sum: right weights, wrong
    gradient."""
    mask = full(mask, scores)
    filled = scores.masked_fill(~mask, NEG_INF)
    top = filled.amax(dim=-1, keepdim=True).detach()
    weights = torch.exp(filled - torch.where(torch.isinf(top), 0.0, top))
    total = weights.sum(dim=-1, keepdim=True).detach()
    return weights / torch.where(total > 0, total, 1.0)


@mistake("masked_softmax", "does not require grad")
def masked_softmax__detached(scores, mask=None):
    return masked_softmax(scores.detach(), mask)


@mistake("masked_softmax", "in place")
def masked_softmax__in_place(scores, mask=None):
    if mask is not None:
        scores.masked_fill_(~torch.broadcast_to(mask, scores.shape), NEG_INF)
    return shifted(scores, scores.amax(dim=-1, keepdim=True).detach(), full(None, scores))


@mistake("masked_softmax", "not exactly 0")
def masked_softmax__fill_minus_30(scores, mask=None):
    """"Large enough" negative: the masked keys get about 1e-13."""
    return torch.softmax(scores.masked_fill(~full(mask, scores), -30.0), dim=-1)


@mistake("masked_softmax", "taken over the masked keys too")
def masked_softmax__shift_by_every_score(scores, mask=None):
    mask = full(mask, scores)
    weights = torch.exp(scores - scores.amax(dim=-1, keepdim=True).detach()) * mask
    return weights / weights.sum(dim=-1, keepdim=True)


@mistake("masked_softmax", "largest score of the whole tensor", seen_by="hidden")
def masked_softmax__shift_by_global_max(scores, mask=None):
    mask = full(mask, scores)
    return shifted(scores, scores.masked_fill(~mask, NEG_INF).amax().detach(), mask)


@delegates("masked_softmax")
def masked_softmax__reference(scores, mask=None):
    from helpers.reference import masked_softmax

    return masked_softmax(scores, mask)


# ---------------------------------------------------------------- scaled_dot_product_attention

def check_sizes(Q, K, V):
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"queries of size {Q.shape[-1]} and keys of size {K.shape[-1]}")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(f"{K.shape[-2]} keys and {V.shape[-2]} values")


@correct("scaled_dot_product_attention")
def scaled_dot_product_attention__einsum(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    scores = torch.einsum("bqd,bkd->bqk", Q, K) * Q.shape[-1] ** -0.5
    weights = masked_softmax(scores, mask)
    return torch.einsum("bqk,bkd->bqd", weights, V), weights


@correct("scaled_dot_product_attention")
def scaled_dot_product_attention__scaled_queries(Q, K, V, mask=None):
    """The queries are scaled first, and torch.bmm does the products."""
    if Q.size(-1) != K.size(-1) or K.size(1) != V.size(1):
        raise ValueError(f"mismatched sizes: Q {tuple(Q.shape)}, K {tuple(K.shape)}, "
                         f"V {tuple(V.shape)}")
    weights = masked_softmax(torch.bmm(Q / math.sqrt(Q.size(-1)), K.transpose(1, 2)), mask)
    return torch.bmm(weights, V), weights


@mistake("scaled_dot_product_attention", "not divided by sqrt(d)")
def scaled_dot_product_attention__unscaled(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    weights = masked_softmax(Q @ K.transpose(-2, -1), mask)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "divided by d instead of sqrt(d)")
def scaled_dot_product_attention__by_d(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    weights = masked_softmax(Q @ K.transpose(-2, -1) / Q.shape[-1], mask)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "sqrt of Tk")
def scaled_dot_product_attention__sqrt_of_keys(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    weights = masked_softmax(Q @ K.transpose(-2, -1) / math.sqrt(K.shape[1]), mask)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "sqrt of Tq")
def scaled_dot_product_attention__sqrt_of_queries(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    weights = masked_softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-2]), mask)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "sqrt of d_v")
def scaled_dot_product_attention__sqrt_of_values(Q, K, V, mask=None):
    """d read from the values: Q.shape[-1] and V.shape[-1] confused."""
    check_sizes(Q, K, V)
    weights = masked_softmax(Q @ K.transpose(-2, -1) / math.sqrt(V.shape[-1]), mask)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "keys and queries swapped")
def scaled_dot_product_attention__keys_queries_swapped(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    weights = masked_softmax(K @ Q.transpose(-2, -1) / math.sqrt(Q.shape[-1]))
    return weights.transpose(-2, -1) @ V, weights


@mistake("scaled_dot_product_attention", "it is weights @ K")
def scaled_dot_product_attention__context_from_keys(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    weights = masked_softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1]), mask)
    return weights @ K, weights


@mistake("scaled_dot_product_attention", "the softmax runs over the queries")
def scaled_dot_product_attention__over_queries(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, NEG_INF)
    weights = torch.softmax(scores, dim=1)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "the mask is not used")
def scaled_dot_product_attention__mask_ignored(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    weights = masked_softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1]))
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "no gradient reaches Q", seen_by="hidden")
def scaled_dot_product_attention__detached_weights(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    weights = masked_softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1]), mask).detach()
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "should raise ValueError")
def scaled_dot_product_attention__no_checks(Q, K, V, mask=None):
    weights = masked_softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1]), mask)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "but it raised AssertionError")
def scaled_dot_product_attention__asserts(Q, K, V, mask=None):
    assert Q.shape[-1] == K.shape[-1], "queries and keys of different sizes"
    assert K.shape[-2] == V.shape[-2], "not one value per key"
    weights = masked_softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1]), mask)
    return weights @ V, weights


@delegates("scaled_dot_product_attention", calls="torch's own attention")
def scaled_dot_product_attention__torch(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    weights = masked_softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1]), mask)
    return F.scaled_dot_product_attention(Q, K, V, attn_mask=mask), weights


@delegates("scaled_dot_product_attention", calls="torch.nn.MultiheadAttention")
def scaled_dot_product_attention__multihead(Q, K, V, mask=None):
    check_sizes(Q, K, V)
    layer = nn.MultiheadAttention(Q.shape[-1], 1, bias=False, batch_first=True, kdim=K.shape[-1],
                                  vdim=V.shape[-1], dtype=Q.dtype)
    context, weights = layer(Q, K, V, attn_mask=None if mask is None else ~torch.broadcast_to(
        mask, (Q.shape[0], Q.shape[1], K.shape[1])))
    return context, weights


@delegates("scaled_dot_product_attention")
def scaled_dot_product_attention__reference(Q, K, V, mask=None):
    from helpers.reference import scaled_dot_product_attention

    return scaled_dot_product_attention(Q, K, V, mask)


# ---------------------------------------------------------------- AdditiveAttention

def uniform(*shape, hidden):
    bound = 1 / math.sqrt(hidden)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound))


class AdditiveAttention(nn.Module):
    """A correct additive attention, for the decoder's variants."""

    def __init__(self, query_size, key_size, hidden_size):
        super().__init__()
        self.W_q = uniform(hidden_size, query_size, hidden=hidden_size)
        self.W_k = uniform(hidden_size, key_size, hidden=hidden_size)
        self.v = uniform(hidden_size, hidden=hidden_size)

    def scores(self, query, keys):
        return torch.tanh((query @ self.W_q.T)[:, None] + keys @ self.W_k.T) @ self.v

    def forward(self, query, keys, values, mask=None):
        weights = masked_softmax(self.scores(query, keys), mask)
        return (weights[:, None] @ values)[:, 0], weights


@correct("AdditiveAttention")
class AdditiveAttention__loop(nn.Module):
    """register_parameter and nn.init.uniform_; the scores key by key, the context as a sum."""

    def __init__(self, query_size, key_size, hidden_size):
        super().__init__()
        bound = hidden_size ** -0.5
        for name, shape in (("W_q", (hidden_size, query_size)), ("W_k", (hidden_size, key_size)),
                            ("v", (hidden_size,))):
            self.register_parameter(name, nn.Parameter(nn.init.uniform_(torch.empty(shape),
                                                                        -bound, bound)))

    def forward(self, query, keys, values, mask=None):
        scores = torch.stack([torch.tanh(query @ self.W_q.T + keys[:, j] @ self.W_k.T) @ self.v
                              for j in range(keys.shape[1])], dim=1)
        weights = masked_softmax(scores, mask)
        return (weights[:, :, None] * values).sum(dim=1), weights


@correct("AdditiveAttention")
class AdditiveAttention__bmm(nn.Module):
    """torch.matmul with unsqueeze, torch.bmm for the context, torch.rand for the init."""

    def __init__(self, query_size, key_size, hidden_size):
        super().__init__()
        scale = 2 / math.sqrt(hidden_size)
        self.W_q = nn.Parameter((torch.rand(hidden_size, query_size) - 0.5) * scale)
        self.W_k = nn.Parameter((torch.rand(hidden_size, key_size) - 0.5) * scale)
        self.v = nn.Parameter((torch.rand(hidden_size) - 0.5) * scale)

    def forward(self, query, keys, values, mask=None):
        hidden = torch.tanh(torch.matmul(query, self.W_q.T).unsqueeze(1)
                            + torch.matmul(keys, self.W_k.T))
        weights = masked_softmax(torch.matmul(hidden, self.v), mask)
        return torch.bmm(weights.unsqueeze(1), values).squeeze(1), weights


@mistake("AdditiveAttention", "W_q and W_k are swapped")
class AdditiveAttention__swapped_projections(AdditiveAttention):
    def scores(self, query, keys):
        return torch.tanh((query @ self.W_k.T)[:, None] + keys @ self.W_q.T) @ self.v


@mistake("AdditiveAttention", "the tanh is missing")
class AdditiveAttention__no_tanh(AdditiveAttention):
    def scores(self, query, keys):
        return ((query @ self.W_q.T)[:, None] + keys @ self.W_k.T) @ self.v


@mistake("AdditiveAttention", "the mask is not used")
class AdditiveAttention__mask_ignored(AdditiveAttention):
    def forward(self, query, keys, values, mask=None):
        weights = masked_softmax(self.scores(query, keys))
        return (weights[:, None] @ values)[:, 0], weights


@mistake("AdditiveAttention", "runs over the batch")
class AdditiveAttention__over_batch(AdditiveAttention):
    def forward(self, query, keys, values, mask=None):
        scores = self.scores(query, keys)
        if mask is not None:
            scores = scores.masked_fill(~mask, NEG_INF)
        weights = torch.softmax(scores, dim=0)
        return (weights[:, None] @ values)[:, 0], weights


@mistake("AdditiveAttention", "mean of the keys")
class AdditiveAttention__keys_as_values(AdditiveAttention):
    def forward(self, query, keys, values, mask=None):
        return super().forward(query, keys, keys, mask)


@mistake("AdditiveAttention", "nn.Linear layers")
class AdditiveAttention__linear_layers(nn.Module):
    def __init__(self, query_size, key_size, hidden_size):
        super().__init__()
        self.W_q = nn.Linear(query_size, hidden_size)
        self.W_k = nn.Linear(key_size, hidden_size)
        self.v = nn.Linear(hidden_size, 1)

    def forward(self, query, keys, values, mask=None):
        scores = self.v(torch.tanh(self.W_q(query)[:, None] + self.W_k(keys)))[..., 0]
        weights = masked_softmax(scores, mask)
        return (weights[:, None] @ values)[:, 0], weights


@mistake("AdditiveAttention", "initial entries span")
class AdditiveAttention__randn(AdditiveAttention):
    def __init__(self, query_size, key_size, hidden_size):
        nn.Module.__init__(self)
        self.W_q = nn.Parameter(torch.randn(hidden_size, query_size))
        self.W_k = nn.Parameter(torch.randn(hidden_size, key_size))
        self.v = nn.Parameter(torch.randn(hidden_size))


@mistake("AdditiveAttention", "axes are in another order")
class AdditiveAttention__transposed(nn.Module):
    """W_q (query_size, hidden) used as query @ W_q: not PyTorch's (out, in) layout."""

    def __init__(self, query_size, key_size, hidden_size):
        super().__init__()
        self.W_q = uniform(query_size, hidden_size, hidden=hidden_size)
        self.W_k = uniform(key_size, hidden_size, hidden=hidden_size)
        self.v = uniform(hidden_size, hidden=hidden_size)

    def forward(self, query, keys, values, mask=None):
        weights = masked_softmax(torch.tanh((query @ self.W_q)[:, None] + keys @ self.W_k)
                                 @ self.v, mask)
        return (weights[:, None] @ values)[:, 0], weights


@mistake("AdditiveAttention", "expected tuple")
class AdditiveAttention__context_only(AdditiveAttention):
    def forward(self, query, keys, values, mask=None):
        return super().forward(query, keys, values, mask)[0]


@mistake("AdditiveAttention", "no gradient reaches W_q", seen_by="hidden")
class AdditiveAttention__data(AdditiveAttention):
    """Reads the parameters through .data, which autograd does not see."""

    def scores(self, query, keys):
        return torch.tanh((query @ self.W_q.data.T)[:, None] + keys @ self.W_k.data.T) @ self.v.data


@delegates("AdditiveAttention")
class AdditiveAttention__reference(nn.Module):
    def __init__(self, query_size, key_size, hidden_size):
        super().__init__()
        from helpers import reference

        self.inner = reference.AdditiveAttention(query_size, key_size, hidden_size)
        self.W_q, self.W_k, self.v = self.inner.W_q, self.inner.W_k, self.inner.v

    def forward(self, query, keys, values, mask=None):
        return self.inner(query, keys, values, mask)


# ---------------------------------------------------------------- AttentionDecoder

class Decoder(nn.Module):
    """A correct decoder step whose parts the mistakes below change one at a time."""

    def __init__(self, vocab_size, embed_size, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.attention = AdditiveAttention(hidden_size, hidden_size, hidden_size)
        self.cell = nn.GRUCell(embed_size + hidden_size, hidden_size)
        self.out = nn.Linear(2 * hidden_size, vocab_size)

    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        e = self.embedding(y_prev)
        context, weights = self.attention(h_prev, enc_outputs, enc_outputs, mask)
        h = self.cell(torch.cat([e, context], dim=-1), h_prev)
        return self.out(torch.cat([h, context], dim=-1)), h, weights


@correct("AttentionDecoder")
class AttentionDecoder__keywords(nn.Module):
    """Keyword arguments, torch.concat, and the submodules created in another order."""

    def __init__(self, vocab_size, embed_size, hidden_size):
        super().__init__()
        self.out = nn.Linear(hidden_size * 2, vocab_size)
        self.cell = nn.GRUCell(input_size=embed_size + hidden_size, hidden_size=hidden_size)
        self.attention = AdditiveAttention(query_size=hidden_size, key_size=hidden_size,
                                           hidden_size=hidden_size)
        self.embedding = nn.Embedding(vocab_size, embed_size)

    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        context, weights = self.attention(query=h_prev, keys=enc_outputs, values=enc_outputs,
                                          mask=mask)
        h = self.cell(torch.concat((self.embedding(y_prev), context), dim=1), hx=h_prev)
        return self.out(torch.concat((h, context), dim=1)), h, weights


@correct("AttentionDecoder")
class AttentionDecoder__hstack(Decoder):
    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        context, weights = self.attention(h_prev, enc_outputs, enc_outputs, mask)
        h = self.cell(torch.hstack([self.embedding(y_prev), context]), h_prev)
        logits = self.out(torch.hstack([h, context]))
        return logits, h, weights


@mistake("AttentionDecoder", "computed from the new state h")
class AttentionDecoder__attends_with_new_state(Decoder):
    """Luong's order in Bahdanau's interface: h_prev stands in for the context in the cell."""

    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        h = self.cell(torch.cat([self.embedding(y_prev), h_prev], dim=-1), h_prev)
        context, weights = self.attention(h, enc_outputs, enc_outputs, mask)
        return self.out(torch.cat([h, context], dim=-1)), h, weights


@mistake("AttentionDecoder", "[context, e]")
class AttentionDecoder__context_first(Decoder):
    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        context, weights = self.attention(h_prev, enc_outputs, enc_outputs, mask)
        h = self.cell(torch.cat([context, self.embedding(y_prev)], dim=-1), h_prev)
        return self.out(torch.cat([h, context], dim=-1)), h, weights


@mistake("AttentionDecoder", "[context, h]")
class AttentionDecoder__output_order(Decoder):
    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        context, weights = self.attention(h_prev, enc_outputs, enc_outputs, mask)
        h = self.cell(torch.cat([self.embedding(y_prev), context], dim=-1), h_prev)
        return self.out(torch.cat([context, h], dim=-1)), h, weights


@mistake("AttentionDecoder", "h_prev instead of the new state h")
class AttentionDecoder__output_from_h_prev(Decoder):
    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        context, weights = self.attention(h_prev, enc_outputs, enc_outputs, mask)
        h = self.cell(torch.cat([self.embedding(y_prev), context], dim=-1), h_prev)
        return self.out(torch.cat([h_prev, context], dim=-1)), h, weights


@mistake("AttentionDecoder", "the query and the keys are swapped")
class AttentionDecoder__query_keys_swapped(Decoder):
    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        context, weights = self.attention(enc_outputs, h_prev, enc_outputs, mask)
        h = self.cell(torch.cat([self.embedding(y_prev), context], dim=-1), h_prev)
        return self.out(torch.cat([h, context], dim=-1)), h, weights


@mistake("AttentionDecoder", "takes the padding mask as (B, Tk)")
class AttentionDecoder__mask_3d(Decoder):
    """The scaled dot product's mask[:, None, :] given to the additive attention."""

    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        return super().forward(y_prev, h_prev, enc_outputs,
                               None if mask is None else mask[:, None, :])


@mistake("AttentionDecoder", "mask is not passed")
class AttentionDecoder__mask_dropped(Decoder):
    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        return super().forward(y_prev, h_prev, enc_outputs)


@mistake("AttentionDecoder", "the attention is built as")
class AttentionDecoder__attention_sizes(Decoder):
    def __init__(self, vocab_size, embed_size, hidden_size):
        super().__init__(vocab_size, embed_size, hidden_size)
        self.attention = AdditiveAttention(embed_size, hidden_size, hidden_size)


@mistake("AttentionDecoder", "its input is [e, context]")
class AttentionDecoder__cell_without_context(Decoder):
    def __init__(self, vocab_size, embed_size, hidden_size):
        super().__init__(vocab_size, embed_size, hidden_size)
        self.cell = nn.GRUCell(embed_size, hidden_size)

    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        context, weights = self.attention(h_prev, enc_outputs, enc_outputs, mask)
        h = self.cell(self.embedding(y_prev), h_prev)
        return self.out(torch.cat([h, context], dim=-1)), h, weights


class ScratchGRUCell(nn.Module):
    """Notebook 04's GRU cell, from scratch."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.W = nn.Parameter(torch.randn(3 * hidden_size, input_size) * 0.1)
        self.U = nn.Parameter(torch.randn(3 * hidden_size, hidden_size) * 0.1)

    def forward(self, x, h_prev):
        (a_z, a_r, a_h), (u_z, u_r, u_h) = (x @ self.W.T).chunk(3, -1), (
            h_prev @ self.U.T).chunk(3, -1)
        z, r = torch.sigmoid(a_z + u_z), torch.sigmoid(a_r + u_r)
        return z * h_prev + (1 - z) * torch.tanh(a_h + r * u_h)


@mistake("AttentionDecoder", "self.cell should be nn.GRUCell")
class AttentionDecoder__own_cell(Decoder):
    def __init__(self, vocab_size, embed_size, hidden_size):
        super().__init__(vocab_size, embed_size, hidden_size)
        self.cell = ScratchGRUCell(embed_size + hidden_size, hidden_size)


@mistake("AttentionDecoder", "no gradient flows back to h_prev", seen_by="hidden")
class AttentionDecoder__detached_state(Decoder):
    """Cuts back-propagation through the decoder's steps."""

    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        return super().forward(y_prev, h_prev.detach(), enc_outputs, mask)


@mistake("AttentionDecoder", "no gradient flows back to enc_outputs", seen_by="hidden")
class AttentionDecoder__detached_encoder(Decoder):
    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        return super().forward(y_prev, h_prev, enc_outputs.detach(), mask)


@delegates("AttentionDecoder")
class AttentionDecoder__reference(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size):
        super().__init__()
        from helpers import reference

        inner = reference.AttentionDecoder(vocab_size, embed_size, hidden_size)
        self.embedding, self.attention = inner.embedding, inner.attention
        self.cell, self.out = inner.cell, inner.out
        self.step = inner.forward

    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        return self.step(y_prev, h_prev, enc_outputs, mask)
