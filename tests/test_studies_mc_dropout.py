"""Tests for dropout_lib.studies.mc_dropout (chapter 7's experiment code)."""

import numpy as np
import pytest
import torch

from dropout_lib.data import DataNotFoundError, fashion_mnist
from dropout_lib.inference import mc_samples
from dropout_lib.models import MLP
from dropout_lib.studies import mc_dropout as tt
from dropout_lib.uncertainty import mc_samples_batched


def fake_split(n=64, classes=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 28, 28, generator=g)
    y = torch.arange(n) % classes
    return tt.Split(x, y, x[: n // 2], y[: n // 2], x[n // 2 :], tuple(range(classes)))


def test_load_split_holds_out_two_classes():
    try:
        fashion_mnist("test", download=False)
    except DataNotFoundError:
        pytest.skip("Fashion-MNIST not available")
    s = tt.load_split(n_train_per_class=20, n_test_per_class=10)
    assert s.x_train.shape == (160, 28, 28) and s.x_test.shape == (80, 28, 28)
    assert s.x_ood.shape == (20, 28, 28)
    assert s.classes == (0, 1, 2, 3, 4, 6, 7, 9)
    assert sorted(s.y_train.unique().tolist()) == list(range(8))
    assert s.x_train.dtype == torch.float32 and float(s.x_train.max()) <= 1.0
    with pytest.raises(ValueError, match="held_out"):
        tt.load_split(held_out=(5, 5))
    with pytest.raises(ValueError, match="n_train_per_class"):
        tt.load_split(n_train_per_class=0)


def test_rotate():
    x = torch.rand(3, 28, 28)
    before = x.clone()
    assert torch.allclose(tt.rotate(x, 0), x, atol=1e-6)
    r90 = tt.rotate(x, 90)
    assert torch.allclose(r90, torch.rot90(x, 1, dims=(1, 2)), atol=1e-5)
    assert torch.equal(x, before)
    r = tt.rotate(x, 33.0)
    assert r.shape == x.shape and float(r.min()) >= 0 and float(r.max()) <= 1
    with pytest.raises(ValueError, match="x"):
        tt.rotate(x[0], 10)
    with pytest.raises(TypeError, match="angle"):
        tt.rotate(x, "10")


def test_one_softmax_regression_ensemble_in_the_library():
    # chapter 7 enumerates masks with dropout_lib.ensemble's function, as
    # chapter 3 does; the study module keeps no second implementation
    assert not hasattr(tt, "softmax_regression_ensemble")
    assert "softmax_regression_ensemble" not in tt.__all__


def test_gaussian_noise_is_seeded_clipped_and_pure():
    x = torch.rand(4, 28, 28, generator=torch.Generator().manual_seed(0))
    before = x.clone()
    a = tt.gaussian_noise(x, 0.3, seed=1)
    assert torch.equal(a, tt.gaussian_noise(x, 0.3, seed=1))  # deterministic
    assert not torch.equal(a, tt.gaussian_noise(x, 0.3, seed=2))
    assert torch.equal(x, before) and a.shape == x.shape and a.dtype == x.dtype
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(tt.gaussian_noise(x, 0.0, seed=1), x)
    # unclipped pixels move by sigma * z: their spread is sigma
    mid = torch.full((50, 28, 28), 0.5)
    d = tt.gaussian_noise(mid, 0.05, seed=3) - mid
    assert abs(float(d.std()) - 0.05) < 0.002 and abs(float(d.mean())) < 0.002
    with pytest.raises(ValueError, match="sigma"):
        tt.gaussian_noise(x, -0.1)
    with pytest.raises(TypeError, match="sigma"):
        tt.gaussian_noise(x, "0.1")
    with pytest.raises(ValueError, match="x"):
        tt.gaussian_noise(x[0], 0.1)


def test_gaussian_blur_matches_scipy_and_keeps_the_mean():
    from scipy import ndimage

    x = torch.rand(3, 28, 28, generator=torch.Generator().manual_seed(0))
    before = x.clone()
    for sigma in (0.5, 1.0, 3.0):
        ours = tt.gaussian_blur(x, sigma)
        ref = ndimage.gaussian_filter(
            x.double().numpy(), (0, sigma, sigma), mode="mirror", truncate=3.0
        )
        assert np.abs(ours.double().numpy() - ref).max() < 1e-5
    assert torch.equal(x, before)
    assert torch.equal(tt.gaussian_blur(x, 0.0), x)
    flat = torch.full((1, 28, 28), 0.3)
    assert torch.allclose(tt.gaussian_blur(flat, 2.0), flat, atol=1e-6)
    # blurring removes detail: the pixel variance falls with sigma
    v = [float(tt.gaussian_blur(x, s).var()) for s in (0.5, 1.0, 2.0)]
    assert v[0] > v[1] > v[2]
    with pytest.raises(ValueError, match="radius"):
        tt.gaussian_blur(x, 10.0)


def test_corrupt_levels():
    x = torch.rand(2, 28, 28, generator=torch.Generator().manual_seed(0))
    assert set(tt.SEVERITIES) == {"noise", "blur"}
    for kind, levels in tt.SEVERITIES.items():
        assert list(levels) == sorted(levels) and len(levels) == 5
        assert torch.equal(tt.corrupt(x, kind, 0), x)
    assert torch.equal(
        tt.corrupt(x, "noise", 3, seed=4),
        tt.gaussian_noise(x, tt.SEVERITIES["noise"][2], seed=4),
    )
    assert torch.equal(
        tt.corrupt(x, "blur", 5), tt.gaussian_blur(x, tt.SEVERITIES["blur"][4])
    )
    dist = [
        float((tt.corrupt(x, "noise", s, seed=0) - x).abs().mean()) for s in range(6)
    ]
    assert dist == sorted(dist)
    with pytest.raises(ValueError, match="kind"):
        tt.corrupt(x, "fog", 1)
    with pytest.raises(ValueError, match="severity"):
        tt.corrupt(x, "blur", 6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_corruptions_on_the_gpu_match_the_cpu():
    x = torch.rand(2, 28, 28, generator=torch.Generator().manual_seed(0))
    for kind in ("noise", "blur"):
        gpu = tt.corrupt(x.cuda(), kind, 4, seed=2)
        assert gpu.device.type == "cuda"
        assert torch.allclose(gpu.cpu(), tt.corrupt(x, kind, 4, seed=2), atol=1e-5)


def test_seeded_generators_make_batched_equal_looped():
    torch.manual_seed(0)
    model = MLP(28 * 28, (16, 16), 8, 0.5)
    x = torch.rand(6, 28, 28)
    a = mc_samples_batched(tt.seed_dropout_generators(model, 5), x, 4)
    b = mc_samples(tt.seed_dropout_generators(model, 5), x, 4)
    assert torch.allclose(a, b, atol=1e-6)
    with pytest.raises(TypeError, match="model"):
        tt.seed_dropout_generators("m", 0)


def test_train_predict_and_tables():
    split = fake_split()
    runs = tt.train_models(split, [0, 1, 2], hidden=(8,), epochs=1)
    assert len(runs) == 3 and all(r.model is not None for r in runs)
    members = [r.model for r in runs]
    p_in = [tt.predict(members, split.x_test, 4, seed=0) for _ in range(2)]
    p_out = [tt.predict(members, split.x_ood, 4, seed=1) for _ in range(2)]
    pr = p_in[0]
    assert pr.ws.shape == (32, 8) and pr.mc.shape == (4, 32, 8)
    assert pr.ens.shape == (3, 32, 8)
    assert torch.allclose(pr.probs("mc", 2), pr.mc[:2].mean(0))
    with pytest.raises(ValueError, match="method"):
        pr.probs("bayes")
    table = tt.score_table(p_in, split.y_test)
    assert set(table) == {"ws", "ts", "mc", "ens"}
    assert table["mc"]["nll"].shape == (2,)
    assert np.all((table["ws"]["acc"] >= 0) & (table["ws"]["acc"] <= 1))
    ood = tt.ood_table(p_in, p_out)
    assert set(ood) == {"ws entropy", "mc entropy", "mc MI", "ens entropy", "ens MI"}
    assert all(v.shape == (2,) for v in ood.values())
    with pytest.raises(ValueError, match="members"):
        tt.predict([], split.x_test, 2)


def test_shift_scores_is_predict_then_score_table():
    split = fake_split()
    models = [r.model for r in tt.train_models(split, [0, 1, 2], hidden=(8,), epochs=1)]
    members = [[models[0], models[2]], [models[1]]]
    temps = [0.9, 1.2]
    preds, table, table_ens = tt.shift_scores(
        members, temps, split.x_test, split.y_test, 3, seed=7, n_ensembles=1
    )
    assert len(preds) == 2 and preds[1].temp == 1.2 and preds[0].ens.shape[0] == 2
    same = tt.predict(members[1], split.x_test, 3, seed=8, temp=1.2)
    assert torch.equal(preds[1].mc, same.mc)  # seed k uses MC seed `seed + k`
    want = tt.score_table(preds, split.y_test, methods=("ws", "ts", "mc"))
    assert set(table) == {"ws", "ts", "mc"}
    assert np.array_equal(table["ts"]["nll"], want["ts"]["nll"])
    assert set(table_ens) == {"mc", "ens"} and table_ens["ens"]["ece"].shape == (1,)
    with pytest.raises(ValueError, match="temps"):
        tt.shift_scores(members, [1.0], split.x_test, split.y_test, 2)


def test_curve_and_claim():
    split = fake_split()
    runs = tt.train_models(split, [0, 1], hidden=(8,), epochs=1)
    preds = [tt.predict([r.model], split.x_test, 5, seed=k) for k, r in enumerate(runs)]
    c = tt.curve_over_passes(preds, split.y_test, [1, 5])
    assert c["acc"].shape == (2, 2) and c["nll"].shape == (2, 2)
    with pytest.raises(ValueError, match="passes"):
        tt.curve_over_passes(preds, split.y_test, [6])
    c = tt.compare("x", [1.0, 1.1, 1.2, 1.3, 1.4], [0.0, 0.1, 0.15, 0.3, 0.41])
    assert c.direction == ">" and c.holds and c.tier in ("supported", "replicates")
    c = tt.compare("x", [0.0, 0.1, 0.15, 0.3, 0.41], [1.0, 1.1, 1.2, 1.3, 1.4])
    assert c.direction == "<" and c.holds
    c = tt.compare("x", [0.1, -0.1, 0.2, -0.2, 0.0], [0.0] * 5)
    assert c.tier == "inconclusive" and "inconclusive" in str(c)


def test_temperature_scaling():
    g = torch.Generator().manual_seed(0)
    logits = 3.0 * torch.randn(4000, 5, generator=g)
    y = torch.distributions.Categorical(logits=logits).sample()
    # the data were drawn at temperature 1: a prediction tempered by 2 is refitted
    # back to about 1/2 of it, i.e. the fit finds T = 0.5
    soft = torch.softmax(logits / 2.0, dim=1)
    assert abs(tt.fit_temperature(soft, y) - 0.5) < 0.05
    pr = tt.Predictions(soft, soft[None], soft[None], temp=0.5)
    assert torch.allclose(pr.probs("ts"), torch.softmax(logits, 1).double(), atol=1e-6)
    assert torch.equal(pr.probs("ws"), soft)
    with pytest.raises(ValueError, match="same length"):
        tt.fit_temperature(soft, y[:10])


def test_subset_train_and_score_methods():
    split = fake_split(n=64)
    small = tt.subset_train(split, 2)
    assert len(small.x_train) == 16 and torch.equal(small.x_test, split.x_test)
    assert torch.equal(torch.bincount(small.y_train), torch.full((8,), 2))
    runs = tt.train_models(small, [0], hidden=(8,), epochs=1)
    pr = tt.predict([runs[0].model], split.x_test, 3, temp=2.0)
    table = tt.score_table([pr, pr], split.y_test, methods=("ws", "ts"))
    assert set(table) == {"ws", "ts"}


def test_gap_regression_small():
    r = tt.gap_regression(n_train=20, steps=30, passes=8, width=8)
    assert r["mean"].shape == r["sd"].shape == r["grid"].shape
    assert r["inv_tau"] >= 0 and set(r["coverage"]) == {"mc only", "mc + 1/tau"}
    assert r["coverage"]["mc + 1/tau"] >= r["coverage"]["mc only"]
    assert r["x"].abs().min() >= 1.0  # the gap (-1, 1) holds no training input


def test_ensemble_view_grid_small():
    split = fake_split(n=80)
    g = tt.ensemble_view_grid(
        split,
        depths=(1, 2),
        rates=(0.2,),
        seeds=(0, 1),
        width=8,
        n_train=40,
        epochs=1,
        passes=8,
        n_inputs=10,
    )
    assert g["tv"].shape == (2, 1, 2) and np.all(g["tv"] >= 0)
    assert np.all(g["floor"] >= 0)


def test_time_mc():
    torch.manual_seed(0)
    model = MLP(28 * 28, (8,), 8, 0.5)
    t = tt.time_mc(model, torch.rand(4, 28, 28), 3, repeats=2)
    assert set(t) == {"looped", "batched", "speedup"} and t["speedup"] > 0
    with pytest.raises(ValueError, match="repeats"):
        tt.time_mc(model, torch.rand(4, 28, 28), 3, repeats=0)


def test_models_come_back_on_the_cpu_and_predict_moves_inputs():
    from dropout_lib.reproducibility import get_device

    split = fake_split()
    runs = tt.train_models(split, [0], hidden=(8,), epochs=1, device=get_device())
    model = runs[0].model
    assert next(model.parameters()).device.type == "cpu"
    model.to(get_device())  # a model left on the accelerator still predicts CPU data
    pr = tt.predict([model], split.x_test, 3, seed=0)
    assert pr.ws.device.type == "cpu" and pr.mc.device.type == "cpu"
    assert torch.allclose(pr.ws.sum(1), torch.ones(len(split.x_test)), atol=1e-5)
