"""A small pre-norm Transformer whose dropout sites can be set separately.

Where dropout sits in a Transformer (Vaswani et al. 2017, section 5.4, and the
reference implementations that followed):

* embedding dropout (`embd_p`): on the sum of token and position embeddings;
* attention dropout (`attn_p`): on the attention probabilities
  A = softmax(QKᵀ/√d_h), before they weight the values;
* residual dropout (`resid_p`): on each sub-layer's output, before it is
  added to the residual stream;
* and, optionally, DropPath (`drop_path_rate`, rising linearly over the
  blocks as in timm), which drops a whole sub-layer per sample.

Attention runs either through `torch.nn.functional.scaled_dot_product_attention`
(SDPA), gated as `dropout_p = attn_p if self.training else 0.0` because SDPA
applies its `dropout_p` whatever the module's mode, or through a plain
implementation whose dropout is an ordinary inverted dropout.

Moments of attention dropout. With inverted dropout on the probabilities,
out_ij = Σ_k (m_ik/q) A_ik V_kj with m_ik ~ Bernoulli(q), q = 1 − p,
independent. Since E[m/q] = 1 and Var[m/q] = p/q,

    E[out_ij] = Σ_k A_ik V_kj,   Var[out_ij] = (p/q) Σ_k A_ik² V_kj².

`attention_dropout_moments` returns both; the chapter checks SDPA and the plain
implementation against them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .droppath import DropPath, linear_drop_rates
from .validation import check_int, check_probability, check_tensor

__all__ = [
    "MultiHeadSelfAttention",
    "TinyTransformer",
    "TransformerBlock",
    "attention_dropout_moments",
    "dropout_sites",
    "plain_attention",
]


def _causal_bias(t: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """A (t, t) additive mask: 0 on and below the diagonal, −inf above."""
    upper = torch.ones(t, t, device=device, dtype=torch.bool).triu(1)
    return torch.zeros(t, t, device=device, dtype=dtype).masked_fill(
        upper, float("-inf")
    )


def plain_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    p: float = 0.0,
    training: bool = False,
    causal: bool = False,
) -> torch.Tensor:
    """Scaled dot-product attention with inverted dropout on the probabilities.

    out = D(softmax(QKᵀ/√d + M))·V, where M is the causal mask (0 or −inf)
    when `causal`, and D is inverted dropout with drop probability `p`,
    applied only when `training` (it uses torch's global generator). `q`, `k`
    and `v` have shape (..., T, d); the result has the shape of `q`.
    """
    check_tensor(q, "q")
    check_tensor(k, "k")
    check_tensor(v, "v")
    p = check_probability(p, "p")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        scores = scores + _causal_bias(q.shape[-2], q.device, q.dtype)
    probs = scores.softmax(dim=-1)
    probs = F.dropout(probs, p, training=training)
    return probs @ v


def attention_dropout_moments(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of attention outputs under inverted attention dropout.

    With A = softmax(QKᵀ/√d) (no causal mask), q = 1 − p and independent
    keep indicators m_ik ~ Bernoulli(q):

        E[out_ij] = Σ_k A_ik V_kj,   Var[out_ij] = (p/q) Σ_k A_ik² V_kj².

    Requires p < 1. Returns (mean, var), each shaped like `q @` `v`'s output.
    """
    p = check_probability(p, "p")
    if p == 1.0:
        raise ValueError("p must be < 1: at p = 1 inverted dropout divides by 0")
    check_tensor(q, "q")
    check_tensor(k, "k")
    check_tensor(v, "v")
    probs = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(dim=-1)
    mean = probs @ v
    var = (p / (1.0 - p)) * (probs**2 @ v**2)
    return mean, var


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention with attention dropout `attn_p`.

    x (B, T, d_model) → Q, K, V of H heads of size d_model/H → attention →
    concatenated heads → output projection. With `use_sdpa` the attention is
    `F.scaled_dot_product_attention(..., dropout_p=attn_p if self.training
    else 0.0)`; otherwise `plain_attention`. The output projection has no
    dropout here: residual dropout belongs to the block.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        attn_p: float = 0.0,
        causal: bool = False,
        use_sdpa: bool = True,
    ) -> None:
        super().__init__()
        d_model = check_int(d_model, "d_model", 1)
        n_heads = check_int(n_heads, "n_heads", 1)
        if d_model % n_heads:
            raise ValueError(
                f"d_model must be divisible by n_heads; got {d_model} and {n_heads}"
            )
        self.n_heads = n_heads
        self.attn_p = check_probability(attn_p, "attn_p")
        self.causal = bool(causal)
        self.use_sdpa = bool(use_sdpa)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Q, K, V of shape (B, H, T, d_model/H) for x of shape (B, T, d_model)."""
        b, t, d = x.shape
        qkv = self.qkv(x).view(b, t, 3, self.n_heads, d // self.n_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        return q, k, v

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.heads(x)
        if self.use_sdpa:
            out = F.scaled_dot_product_attention(
                q,
                k,
                v,
                dropout_p=self.attn_p if self.training else 0.0,
                is_causal=self.causal,
            )
        else:
            out = plain_attention(q, k, v, self.attn_p, self.training, self.causal)
        out_: torch.Tensor = self.proj(out.transpose(1, 2).reshape(b, t, d))
        return out_


class TransformerBlock(nn.Module):
    """A pre-norm block: x ← x + DP(RD(Attn(LN(x)))); x ← x + DP(RD(MLP(LN(x)))).

    RD is residual dropout (`resid_p`, element-wise, on each sub-layer's
    output before the add), DP is DropPath (`drop_path_p`, per sample), and
    the attention has its own attention dropout (`attn_p`). The MLP is
    Linear(d, d_ff) → GELU → Linear(d_ff, d) with no dropout inside.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        attn_p: float = 0.0,
        resid_p: float = 0.0,
        drop_path_p: float = 0.0,
        causal: bool = False,
        use_sdpa: bool = True,
    ) -> None:
        super().__init__()
        d_ff = check_int(d_ff, "d_ff", 1)
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = MultiHeadSelfAttention(d_model, n_heads, attn_p, causal, use_sdpa)
        self.resid_drop1 = nn.Dropout(check_probability(resid_p, "resid_p"))
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model)
        )
        self.resid_drop2 = nn.Dropout(resid_p)
        self.drop_path = DropPath(drop_path_p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.resid_drop1(self.attn(self.ln1(x))))
        out_: torch.Tensor = x + self.drop_path(self.resid_drop2(self.mlp(self.ln2(x))))
        return out_


class TinyTransformer(nn.Module):
    """Token + position embeddings → embedding dropout → blocks → LayerNorm → head.

    Input: integer tokens (B, T) with T ≤ `max_len`; output: logits
    (B, T, n_out), `n_out` defaulting to `vocab_size` (a language model when
    `causal`). The three dropout sites are set separately (`embd_p`,
    `attn_p`, `resid_p`); DropPath rates rise linearly from 0 in the first
    block to `drop_path_rate` in the last (`linear_drop_rates`).
    """

    def __init__(
        self,
        vocab_size: int,
        max_len: int,
        d_model: int = 32,
        n_heads: int = 2,
        n_layers: int = 2,
        d_ff: int | None = None,
        n_out: int | None = None,
        embd_p: float = 0.0,
        attn_p: float = 0.0,
        resid_p: float = 0.0,
        drop_path_rate: float = 0.0,
        causal: bool = True,
        use_sdpa: bool = True,
    ) -> None:
        super().__init__()
        vocab_size = check_int(vocab_size, "vocab_size", 1)
        self.max_len = check_int(max_len, "max_len", 1)
        n_layers = check_int(n_layers, "n_layers", 1)
        d_ff = 4 * d_model if d_ff is None else d_ff
        n_out = vocab_size if n_out is None else check_int(n_out, "n_out", 1)
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(self.max_len, d_model)
        self.embd_drop = nn.Dropout(check_probability(embd_p, "embd_p"))
        rates = linear_drop_rates(drop_path_rate, n_layers)
        self.blocks = nn.ModuleList(
            TransformerBlock(
                d_model, n_heads, d_ff, attn_p, resid_p, r, causal, use_sdpa
            )
            for r in rates
        )
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_out)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        check_tensor(tokens, "tokens", 2)
        t = tokens.shape[1]
        if t > self.max_len:
            raise ValueError(f"sequence length {t} exceeds max_len={self.max_len}")
        pos = torch.arange(t, device=tokens.device)
        x = self.embd_drop(self.tok(tokens) + self.pos(pos))
        for block in self.blocks:
            x = block(x)
        out_: torch.Tensor = self.head(self.ln(x))
        return out_


def dropout_sites(model: nn.Module) -> dict[str, float]:
    """Every dropout site of `model` with its drop probability.

    Finds `nn.Dropout` modules, `DropPath` modules, this module's
    `MultiHeadSelfAttention` (its `attn_p`) and `nn.MultiheadAttention` (its
    `dropout` attribute, the attention-probability dropout). Keys are module
    names (`"blocks.0.attn.attn_p"` for attention dropout).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    sites: dict[str, float] = {}
    for name, m in model.named_modules():
        if isinstance(m, (nn.Dropout, DropPath)):
            sites[name] = float(m.p)
        elif isinstance(m, MultiHeadSelfAttention):
            sites[f"{name}.attn_p"] = m.attn_p
        elif isinstance(m, nn.MultiheadAttention):
            sites[f"{name}.dropout"] = float(m.dropout)
    return sites
