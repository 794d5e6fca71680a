"""06_attention: attention on top of the GRU, in torch, batch first.

Queries Q (B, Tq, d), keys K (B, Tk, d), values V (B, Tk, dv); a mask is boolean, True
where a key may be attended to, broadcast to the scores (B, Tq, Tk).
"""

import math

import torch
from torch import nn


def masked_softmax(scores, mask=None):
    """Softmax over the last axis; exactly 0 where ``mask`` is False, all zeros on a row
    with no key allowed, and no inf or NaN for scores up to +-1e4."""
    if mask is None:
        mask = torch.ones_like(scores, dtype=torch.bool)
    mask = torch.broadcast_to(mask.to(torch.bool), scores.shape)
    scores = scores.masked_fill(~mask, float("-inf"))
    # Softmax does not change when every score of a row moves by the same amount, in value
    # or gradient: subtract the row's largest allowed score (0 on a row with none).
    top = scores.amax(dim=-1, keepdim=True).detach()
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    weights = torch.exp(scores - top)  # exp(-inf) = 0 where masked
    total = weights.sum(dim=-1, keepdim=True)
    return weights / torch.where(total > 0, total, torch.ones_like(total))


def scaled_dot_product_attention(Q, K, V, mask=None):
    """(context (B, Tq, dv), weights (B, Tq, Tk)), weights = softmax(Q K^T / sqrt(d))."""
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"queries and keys need the same size d, got {Q.shape[-1]} and "
                         f"{K.shape[-1]}")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(f"keys and values need the same length Tk, got {K.shape[-2]} and "
                         f"{V.shape[-2]}")
    weights = masked_softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1]), mask)
    return weights @ V, weights


class AdditiveAttention(nn.Module):
    """Bahdanau's scoring for one decoder step: score_j = v^T tanh(W_q q + W_k k_j)."""

    def __init__(self, query_size, key_size, hidden_size):
        super().__init__()
        bound = 1.0 / math.sqrt(hidden_size)
        shapes = {"W_q": (hidden_size, query_size), "W_k": (hidden_size, key_size),
                  "v": (hidden_size,)}
        for name, shape in shapes.items():
            self.register_parameter(name, nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))

    def forward(self, query, keys, values, mask=None):
        """query (B, q), keys (B, Tk, k), values (B, Tk, dv), mask (B, Tk):
        (context (B, dv), weights (B, Tk))."""
        features = torch.tanh((query @ self.W_q.T)[:, None, :] + keys @ self.W_k.T)
        weights = masked_softmax(features @ self.v, mask)
        return (weights[:, None, :] @ values)[:, 0], weights


class AttentionDecoder(nn.Module):
    """One step of a GRU decoder that attends to the encoder's states."""

    def __init__(self, vocab_size, embed_size, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.attention = AdditiveAttention(hidden_size, hidden_size, hidden_size)
        self.cell = nn.GRUCell(embed_size + hidden_size, hidden_size)
        self.out = nn.Linear(2 * hidden_size, vocab_size)

    def forward(self, y_prev, h_prev, enc_outputs, mask=None):
        """y_prev (B,) token ids, h_prev (B, H), enc_outputs (B, Tk, H), mask (B, Tk):
        (logits (B, vocab_size), h (B, H), weights (B, Tk))."""
        context, weights = self.attention(h_prev, enc_outputs, enc_outputs, mask)
        h = self.cell(torch.cat([self.embedding(y_prev), context], dim=-1), h_prev)
        return self.out(torch.cat([h, context], dim=-1)), h, weights
