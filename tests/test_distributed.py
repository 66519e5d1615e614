import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dropout_lib.distributed import (
    MODEL_PARALLEL_SEED_OFFSET,
    RNGStatesTracker,
    correlation_tolerance,
    counter_mask,
    mask_correlation,
    rank_seed,
    run_distributed_checks,
    shard_range,
)

DEVICES = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def test_rank_seed_is_seedsequence_spawn():
    kids = np.random.SeedSequence(7).spawn(4)
    assert [rank_seed(7, r) for r in range(4)] == [
        int(k.generate_state(1)[0]) for k in kids
    ]
    assert len({rank_seed(b, r) for b in range(8) for r in range(8)}) == 64
    with pytest.raises(ValueError):
        rank_seed(-1, 0)


def test_mask_correlation():
    a = torch.tensor([True, False, True, False])
    assert mask_correlation(a, a) == pytest.approx(1.0)
    assert mask_correlation(a, ~a) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        mask_correlation(a, torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError):
        mask_correlation(a, a[:3])


def test_correlation_tolerance_covers_independent_masks():
    n = 1 << 14
    tol = correlation_tolerance(n)
    assert tol == pytest.approx(5.5 / 128)
    for s in range(5):
        a = torch.rand(n, generator=torch.Generator().manual_seed(s)) < 0.5
        b = torch.rand(n, generator=torch.Generator().manual_seed(100 + s)) < 0.5
        assert abs(mask_correlation(a, b)) < tol


def test_shard_range():
    assert [shard_range(12, r, 3) for r in range(3)] == [(0, 4), (4, 8), (8, 12)]
    with pytest.raises(ValueError):
        shard_range(10, 0, 3)
    with pytest.raises(ValueError):
        shard_range(12, 3, 3)


@pytest.mark.parametrize("world", [1, 2, 3, 4, 8])
def test_counter_mask_is_world_size_invariant(world):
    n = 24 * 7
    whole = counter_mask(11, 0, n, 0.3)
    parts = [counter_mask(11, *_start_count(n, r, world), 0.3) for r in range(world)]
    assert torch.equal(torch.cat(parts), whole)


def _start_count(n, r, world):
    lo, hi = shard_range(n, r, world)
    return lo, hi - lo


def test_counter_mask_law_and_edges():
    n, p = 1 << 16, 0.3
    keep = float(counter_mask(0, 0, n, p).double().mean())
    assert abs(keep - (1 - p)) < 5.5 * (p * (1 - p) / n) ** 0.5
    assert not counter_mask(0, 5, 100, 1.0).any()
    assert counter_mask(0, 5, 100, 0.0).all()
    assert not torch.equal(counter_mask(0, 0, 64, 0.5), counter_mask(1, 0, 64, 0.5))
    with pytest.raises(ValueError):
        counter_mask(0, 0, 8, 1.5)


@pytest.mark.parametrize("device", DEVICES)
def test_counter_mask_device(device):
    m = counter_mask(3, 0, 16, 0.5, device)
    assert m.device.type == device and m.dtype == torch.bool


@pytest.mark.parametrize("device", DEVICES)
def test_tracker_fork_swaps_and_restores(device):
    dev = torch.device(device)
    gen = (
        torch.default_generator if device == "cpu" else torch.cuda.default_generators[0]
    )
    gen.manual_seed(5)
    tracker = RNGStatesTracker(dev)
    tracker.add("model-parallel", 5 + MODEL_PARALLEL_SEED_OFFSET)
    ones = torch.ones(1000, device=dev)
    with tracker.fork("model-parallel"):
        a = F.dropout(ones, 0.5, training=True)
    b = F.dropout(ones, 0.5, training=True)  # default state untouched by fork
    gen.manual_seed(5 + MODEL_PARALLEL_SEED_OFFSET)
    a_ref = F.dropout(ones, 0.5, training=True)
    a2_ref = F.dropout(ones, 0.5, training=True)
    gen.manual_seed(5)
    assert torch.equal(a, a_ref) and torch.equal(b, F.dropout(ones, 0.5, training=True))
    with tracker.fork("model-parallel"):  # the tracked state advanced
        assert torch.equal(F.dropout(ones, 0.5, training=True), a2_ref)
    with pytest.raises(ValueError):
        tracker.add("model-parallel", 1)
    with pytest.raises(KeyError), tracker.fork("nope"):
        pass


def test_run_distributed_checks_two_processes():
    if not torch.distributed.is_available():
        pytest.skip("torch without torch.distributed")
    res = run_distributed_checks(world_size=2, timeout_s=120)
    assert res["dp_same_equal"] and res["dp_same_corr"] == 1.0
    assert abs(res["dp_rank_corr"]) < res["dp_tol"]
    assert abs(res["tp_shard_corr"]) < res["dp_tol"] and res["tp_repl_equal"]
    assert res["tp_right_w3_equal"] and res["tp_right_repl_equal"]
    assert not res["tp_wrong_w3_equal"] and res["tp_wrong_w3_maxdiff"] > 0
    assert not res["tp_wrong_repl_equal"]
    assert res["counter_invariant"] and not res["stream_invariant"]


def test_run_distributed_checks_rejects_bad_arguments():
    with pytest.raises(ValueError):
        run_distributed_checks(world_size=1)
    with pytest.raises(ValueError):
        run_distributed_checks(device="tpu")
