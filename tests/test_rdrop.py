"""R-Drop's symmetric KL term and loss."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dropout_lib.rdrop import rdrop_loss, symmetric_kl


def test_symmetric_kl_matches_definition():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    pa, pb = a.softmax(-1), b.softmax(-1)
    kl_ab = (pa * (pa.log() - pb.log())).sum(-1)
    kl_ba = (pb * (pb.log() - pa.log())).sum(-1)
    expected = 0.5 * (kl_ab + kl_ba).mean()
    assert torch.allclose(symmetric_kl(a, b), expected, atol=1e-6)
    # torch's kl_div(input=log Q, target=P) is KL(P||Q)
    ref = 0.5 * (
        F.kl_div(b.log_softmax(-1), pa, reduction="batchmean")
        + F.kl_div(a.log_softmax(-1), pb, reduction="batchmean")
    )
    assert torch.allclose(symmetric_kl(a, b), ref, atol=1e-6)


def test_symmetric_kl_properties():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    assert torch.allclose(symmetric_kl(a, b), symmetric_kl(b, a))
    assert symmetric_kl(a, a).abs() < 1e-7
    assert symmetric_kl(a, a + 3.0).abs() < 1e-6  # softmax is shift invariant
    assert symmetric_kl(a, b) > 0
    big = symmetric_kl(1000 * a, -1000 * a)
    assert torch.isfinite(big)


def test_symmetric_kl_rejects_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        symmetric_kl(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(TypeError, match="logits_a"):
        symmetric_kl([1.0], torch.zeros(1))  # type: ignore[arg-type]


def test_rdrop_loss_two_passes_and_gradient():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3)
    )
    x, y = torch.randn(10, 4), torch.randint(0, 3, (10,))
    model.train()
    loss = rdrop_loss(model, x, y, alpha=1.0)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        ce = F.cross_entropy(model(x), y)
        assert torch.allclose(rdrop_loss(model, x, y, alpha=5.0), ce)
    with pytest.raises(ValueError, match="alpha"):
        rdrop_loss(model, x, y, alpha=-1.0)
    with pytest.raises(TypeError, match="model"):
        rdrop_loss("net", x, y)  # type: ignore[arg-type]
