"""The small Transformer: dropout sites, SDPA gating, attention-dropout moments."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dropout_lib.transformer import (
    MultiHeadSelfAttention,
    TinyTransformer,
    TransformerBlock,
    attention_dropout_moments,
    dropout_sites,
    plain_attention,
)


def test_sites_are_set_separately():
    m = TinyTransformer(
        11, 8, n_layers=3, embd_p=0.1, attn_p=0.2, resid_p=0.3, drop_path_rate=0.4
    )
    s = dropout_sites(m)
    assert s["embd_drop"] == 0.1
    assert s["blocks.1.attn.attn_p"] == 0.2
    assert s["blocks.2.resid_drop2"] == 0.3
    assert s["blocks.0.drop_path"] == 0.0
    assert s["blocks.2.drop_path"] == pytest.approx(0.4)


def test_torch_encoder_layer_sites():
    s = dropout_sites(nn.TransformerEncoderLayer(8, 2))
    assert s == {
        "self_attn.dropout": 0.1,
        "dropout": 0.1,
        "dropout1": 0.1,
        "dropout2": 0.1,
    }


@pytest.mark.parametrize("use_sdpa", [True, False])
def test_eval_is_deterministic_and_train_is_not(use_sdpa):
    torch.manual_seed(0)
    m = TinyTransformer(7, 6, attn_p=0.5, use_sdpa=use_sdpa)
    x = torch.randint(0, 7, (3, 6))
    m.eval()
    assert torch.equal(m(x), m(x))
    m.train()
    assert not torch.equal(m(x), m(x))


def test_sdpa_and_plain_agree_without_dropout():
    torch.manual_seed(1)
    for causal in (False, True):
        a = MultiHeadSelfAttention(8, 2, 0.3, causal=causal, use_sdpa=True).eval()
        b = MultiHeadSelfAttention(8, 2, 0.3, causal=causal, use_sdpa=False).eval()
        b.load_state_dict(a.state_dict())
        x = torch.randn(2, 5, 8)
        assert torch.allclose(a(x), b(x), atol=1e-6)


def test_causal_model_does_not_see_the_future():
    torch.manual_seed(2)
    m = TinyTransformer(5, 6, causal=True).eval()
    x = torch.randint(0, 5, (1, 6))
    y = x.clone()
    y[0, -1] = (x[0, -1] + 1) % 5
    assert torch.allclose(m(x)[:, :-1], m(y)[:, :-1])


def test_plain_attention_matches_sdpa_and_moments_formula():
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(1, 4, 3, generator=g, dtype=torch.float64) for _ in range(3))
    assert torch.allclose(
        plain_attention(q, k, v), F.scaled_dot_product_attention(q, k, v)
    )
    mean, var = attention_dropout_moments(q, k, v, 0.0)
    assert torch.allclose(mean, plain_attention(q, k, v)) and (var == 0).all()
    torch.manual_seed(4)
    n = 40000
    s = plain_attention(*(a.expand(n, 4, 3) for a in (q, k, v)), p=0.3, training=True)
    mean, var = attention_dropout_moments(q, k, v, 0.3)
    assert ((s.mean(0) - mean).abs() < 5.5 * (var / n).sqrt()).all()
    assert ((s.var(0) / var - 1).abs() < 0.05).all()
    with pytest.raises(ValueError, match="p must be < 1"):
        attention_dropout_moments(q, k, v, 1.0)


def test_validation():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadSelfAttention(6, 4)
    with pytest.raises(ValueError, match="max_len"):
        TinyTransformer(5, 4)(torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="resid_p"):
        TransformerBlock(8, 2, 16, resid_p=2.0)
    with pytest.raises(TypeError, match="model"):
        dropout_sites("x")  # type: ignore[arg-type]
