"""Chapter 8's study: the SDPA trap, SDPA dropout in law, checkpointing, DropPath
runs and the character-level language model (small, fast versions)."""

import pytest
import torch

from dropout_lib.studies.modern import (
    CHARS,
    LMRegime,
    ResidualMLP,
    UngatedAttention,
    checkpoint_grads,
    droppath_runs,
    encode,
    eval_call_spread,
    lm_grid,
    lm_run,
    moment_check,
    sdpa_mask_readback,
    stdlib_text,
)
from dropout_lib.transformer import MultiHeadSelfAttention


def test_ungated_sdpa_still_drops_in_eval_mode():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 8)
    bad = UngatedAttention(8, 2, attn_p=0.3)
    good = MultiHeadSelfAttention(8, 2, attn_p=0.3)
    assert eval_call_spread(bad, x) > 1e-3
    assert eval_call_spread(good, x) == 0.0
    assert eval_call_spread(UngatedAttention(8, 2, attn_p=0.0), x) == 0.0
    with pytest.raises(ValueError, match="calls"):
        eval_call_spread(good, x, calls=1)


@pytest.mark.parametrize("use_sdpa", [True, False])
def test_moments_match_the_law(use_sdpa):
    m = moment_check(0.3, n_draws=5000, use_sdpa=use_sdpa, device=torch.device("cpu"))
    assert m.z_mean < 5.5 and m.z_var < 5.5 and m.n == 5000


def test_moment_check_detects_a_wrong_p():
    # samples drawn with p = 0.3 against the law of p = 0.5: the variance is off
    import dropout_lib.studies.modern as mod

    real = mod.attention_dropout_moments
    try:
        mod.attention_dropout_moments = lambda q, k, v, p: real(q, k, v, 0.5)
        m = moment_check(0.3, n_draws=5000, device=torch.device("cpu"))
    finally:
        mod.attention_dropout_moments = real
    assert m.z_var > 10


def test_mask_readback():
    kept, rel = sdpa_mask_readback(0.25, batch=64, device=torch.device("cpu"))
    assert abs(kept - 0.75) < 0.02 and rel < 1e-5
    with pytest.raises(ValueError, match="p must be < 1"):
        sdpa_mask_readback(1.0)


def test_checkpoint_replays_the_mask_unless_told_not_to():
    out_p, g_p = checkpoint_grads("plain")
    out_c, g_c = checkpoint_grads("checkpoint")
    out_n, g_n = checkpoint_grads("no_rng")
    assert torch.equal(out_p, out_c) and torch.equal(out_p, out_n)
    assert torch.equal(g_p, g_c)
    assert (g_p - g_n).abs().max() > 1e-3
    with pytest.raises(ValueError, match="mode"):
        checkpoint_grads("other")


def test_residual_mlp_and_runs():
    torch.manual_seed(0)
    m = ResidualMLP(6, width=8, n_blocks=3, n_out=3, element_p=0.1, drop_path_rate=0.2)
    assert m(torch.randn(5, 6)).shape == (5, 3)
    assert [round(pth.p, 3) for pth in m.paths] == [0.0, 0.1, 0.2]
    x, y = torch.randn(40, 6), torch.randint(0, 10, (40,))
    res = droppath_runs(
        {"none": (0.0, 0.0), "dp": (0.0, 0.5)},
        [0, 1],
        (x, y, x, y),
        epochs=2,
        batch_size=20,
        device=torch.device("cpu"),
    )
    assert set(res) == {"none", "dp"}
    assert res["dp"]["test_loss"].shape == (2,)


def test_text_and_lm():
    text = stdlib_text(5000)
    assert len(text) == 5000
    tok = encode(text)
    assert tok.dtype == torch.long and int(tok.max()) < len(CHARS)
    assert encode("\u00e9a").tolist() == [0, CHARS.index("a")]
    r = LMRegime("tiny", 600, steps=3, batch=4, context=8)
    assert r.epochs == pytest.approx(3 * 4 * 8 / 600)
    loss = lm_run(tok[:600], tok[600:800], r, 0.1, 0, device=torch.device("cpu"))
    assert 0 < loss < 10
    with pytest.raises(ValueError, match="train_chars"):
        lm_run(tok[:5], tok[600:800], r, 0.1, 0, device=torch.device("cpu"))
    grid = lm_grid([r], [0.0, 0.1], [0], n_val=200, device=torch.device("cpu"))
    assert set(grid) == {("tiny", 0.0), ("tiny", 0.1)}
