"""Checkers for chapter 8 (dropout in modern networks).

* `check_drop_path`: DropPath, one keep/drop coin per sample, scaled by 1/q;
* `check_gated_attention`: SDPA with its `dropout_p` gated by the mode;
* `check_expected_depth`: the expected depth under timm's linear rule;
* `check_symmetric_kl`: R-Drop's symmetric KL term;
* `check_dropout_schedule`: early (linear) and late dropout, epoch by epoch.

Each returns `True` or raises `dropout_lib.exercises._checking.CheckFailed`
naming the property that failed; no `assert` statements, so the checks hold
under `python -O`. Statistical checks allow `Z` standard deviations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ..rdrop import symmetric_kl
from ..schedules import dropout_schedule
from ..transformer import plain_attention
from ._checking import call_learner, fail, require, require_callable, within_z

__all__ = [
    "check_drop_path",
    "check_dropout_schedule",
    "check_expected_depth",
    "check_gated_attention",
    "check_symmetric_kl",
]


def _tensor(value: Any, what: str, hint: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        fail(f"{what}: expected a torch.Tensor, got {type(value).__name__}", hint)
    return value


def check_drop_path(fn: Callable[[torch.Tensor, float, bool], Any]) -> bool:
    """Check `fn(x, p, training) -> tensor`: DropPath with inverted scaling.

    With q = 1 − p and b_n ~ Bernoulli(q), one per sample n (axis 0):
    out_n = b_n·x_n/q when training; `x` unchanged when not training or
    p = 0; zeros without NaN at p = 1. Checks the identity cases, that every
    sample is kept or dropped as a whole, that kept samples are scaled by
    exactly 1/q, that the fraction of kept samples is q (within Z standard
    deviations), that two calls draw different masks, on 2-D and 4-D inputs,
    and that `x` is not modified.
    """
    require_callable(fn, "fn", "fn(x, p, training) -> tensor")
    hint = (
        "draw ONE Bernoulli(1 - p) per sample, shaped (B, 1, ..., 1), multiply x "
        "by it and divide by 1 - p; return x unchanged when not training or p == 0"
    )
    torch.manual_seed(0)
    x = torch.randn(6, 3, 4)
    for what, p, training in (("eval mode, p = 0.5", 0.5, False), ("p = 0", 0.0, True)):
        out = _tensor(call_learner(fn, x.clone(), p, training, what=what), what, hint)
        require(
            out.shape == x.shape and torch.equal(out, x),
            f"{what}: the output must equal the input",
            hint,
        )
    out = _tensor(call_learner(fn, x.clone(), 1.0, True, what="p = 1"), "p = 1", hint)
    require(
        out.shape == x.shape and bool(torch.isfinite(out).all()),
        "p = 1: the output has NaN or inf (0/0 from dividing by 1 - p = 0)",
        "return zeros when p == 1",
    )
    require(bool((out == 0).all()), "p = 1: every sample must be dropped", hint)
    p, n = 0.3, 4000
    q = 1.0 - p
    for shape in ((n, 5), (n, 2, 3, 3)):
        what = f"p = 0.3 on an input of shape {shape}"
        ones = torch.ones(shape)
        before = ones.clone()
        outs = []
        for _ in range(2):
            got = _tensor(call_learner(fn, ones, p, True, what=what), what, hint)
            require(
                got.shape == ones.shape,
                f"{what}: expected shape {tuple(ones.shape)}, got {tuple(got.shape)}",
                hint,
            )
            outs.append(got.detach().float().cpu())
        require(
            torch.equal(ones, before),
            f"{what}: your function modified its input",
            "multiply into a new tensor; never write into x",
        )
        flat = outs[0].reshape(n, -1)
        require(
            bool((flat == flat[:, :1]).all()),
            f"{what}: entries of one sample were kept and dropped independently",
            "DropPath drops the WHOLE sample: mask shape (B, 1, ..., 1), "
            "not x.shape (that is element dropout)",
        )
        kept = flat[:, 0] != 0
        if kept.any():
            scale = float(flat[kept, 0].mean())
            require(
                bool(
                    torch.allclose(flat[kept, 0], torch.full_like(flat[kept, 0], 1 / q))
                ),
                f"{what}: kept samples are multiplied by {scale:.4f}, expected "
                f"1/(1 - p) = {1 / q:.4f}",
                "inverted scaling divides kept samples by the keep probability 1 - p",
            )
        within_z(
            float(kept.float().mean()),
            q,
            math.sqrt(p * q / n),
            f"{what}: fraction of kept samples",
            "p is the DROP probability: keep each sample with probability 1 - p",
        )
        require(
            not torch.equal(outs[0], outs[1]),
            f"{what}: two calls dropped exactly the same samples",
            "draw a fresh mask on every call (do not re-seed inside the function)",
        )
    return True


def check_gated_attention(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float, bool], Any],
) -> bool:
    """Check `fn(q, k, v, p, training) -> tensor`: SDPA with gated dropout.

    In eval mode (training False) the output must be the deterministic
    softmax(QKᵀ/√d)·V (to 1e-5) for any p; in training mode with p > 0 the
    attention probabilities must be dropped with probability p (read back
    with V = I: the fraction of zero outputs is p within Z standard
    deviations) and two calls must differ.
    """
    require_callable(fn, "fn", "fn(q, k, v, p, training) -> tensor")
    hint = (
        "call F.scaled_dot_product_attention(q, k, v, "
        "dropout_p=p if training else 0.0): SDPA drops whenever dropout_p > 0"
    )
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 2, 5, 8, generator=g) for _ in range(3))
    expected = plain_attention(q, k, v)
    for p in (0.5, 0.0):
        what = f"eval mode (training=False), p = {p}"
        a, b = (
            _tensor(call_learner(fn, q, k, v, p, False, what=what), what, hint)
            for _ in range(2)
        )
        require(
            a.shape == expected.shape,
            f"{what}: expected shape {tuple(expected.shape)}, got {tuple(a.shape)}",
            hint,
        )
        require(
            torch.equal(a, b),
            f"{what}: two calls gave different outputs: dropout is still on",
            hint,
        )
        require(
            bool(torch.allclose(a.float(), expected.float(), atol=1e-5, rtol=1e-5)),
            f"{what}: the output is not softmax(QK^T/sqrt(d)) V",
            hint,
        )
    p, t, batch = 0.25, 8, 200
    qq = torch.randn(batch, 1, t, t, generator=g)
    kk = torch.randn(batch, 1, t, t, generator=g)
    eye = torch.eye(t).expand(batch, 1, t, t).contiguous()
    what = "training mode, p = 0.25, V = identity"
    a, b = (
        _tensor(call_learner(fn, qq, kk, eye, p, True, what=what), what, hint)
        for _ in range(2)
    )
    n = a.numel()
    within_z(
        float((a == 0).float().mean()),
        p,
        math.sqrt(p * (1 - p) / n),
        f"{what}: fraction of attention probabilities dropped",
        "in training mode pass dropout_p=p (the DROP probability) to SDPA",
    )
    require(not torch.equal(a, b), f"{what}: two calls gave the same output", hint)
    ones = torch.ones(batch, 1, t, 2)
    what = "training mode, p = 0.25, V = all ones"
    c = _tensor(call_learner(fn, qq, kk, ones, p, True, what=what), what, hint)
    require(
        float((c == 0).float().mean()) < 0.05,
        f"{what}: whole outputs are zero: dropout was applied to the attention "
        "OUTPUT, not to the attention probabilities",
        "an output is a sum over t weighted values; it is 0 only if all t "
        "probabilities are dropped. Use SDPA's dropout_p",
    )
    return True


def check_expected_depth(fn: Callable[[float, int], Any]) -> bool:
    """Check `fn(rate, depth) -> float`: the expected number of residual
    branches kept under timm's rule d_i = rate·i/(D − 1), i = 0..D−1.

    The answer is Σ_i (1 − d_i) = D(1 − rate/2); checked to 1e-6·D for depths
    D ≥ 2 and several rates.
    """
    require_callable(fn, "fn", "fn(rate, depth) -> float")
    hint = (
        "timm's drop rates are torch.linspace(0, rate, depth): the first block "
        "drops 0, the last drops rate; add up the SURVIVAL probabilities 1 - d_i"
    )
    for rate, depth in ((0.1, 12), (0.5, 4), (0.2, 24), (0.0, 7), (1.0, 2)):
        what = f"rate = {rate}, depth = {depth}"
        got = call_learner(fn, rate, depth, what=what, hint=hint)
        try:
            value = float(got)
        except (TypeError, ValueError):
            fail(f"{what}: expected a number, got {type(got).__name__}", hint)
        expected = depth * (1.0 - rate / 2.0)
        require(
            math.isfinite(value) and abs(value - expected) <= 1e-6 * depth,
            f"{what}: got {value:.6g}, expected {expected:.6g}",
            hint,
        )
    return True


def check_symmetric_kl(fn: Callable[[torch.Tensor, torch.Tensor], Any]) -> bool:
    """Check `fn(logits_a, logits_b) -> scalar`: ½[KL(P_a‖P_b) + KL(P_b‖P_a)],
    P = softmax over the last axis, averaged over rows.

    Compared to 1e-6 with `dropout_lib.rdrop.symmetric_kl` on random and on
    very unequal logits; must be symmetric, 0 for equal inputs, finite for
    logits of size 100, and leave its inputs unchanged.
    """
    require_callable(fn, "fn", "fn(logits_a, logits_b) -> scalar tensor")
    hint = (
        "work with log_softmax; KL(P||Q) = sum_c P_c (log P_c - log Q_c); take the "
        "average of both directions, then the mean over rows"
    )
    g = torch.Generator().manual_seed(5)
    cases = [
        (
            "random logits (8 x 5)",
            torch.randn(8, 5, generator=g),
            torch.randn(8, 5, generator=g),
        ),
        (
            "one confident, one flat (4 x 3)",
            torch.tensor([[6.0, 0.0, -6.0]]).repeat(4, 1),
            torch.zeros(4, 3),
        ),
        (
            "large logits (3 x 4)",
            100 * torch.randn(3, 4, generator=g),
            100 * torch.randn(3, 4, generator=g),
        ),
    ]
    for what, a, b in cases:
        a0, b0 = a.clone(), b.clone()
        got = call_learner(fn, a, b, what=what, hint=hint)
        try:
            value = float(got)
        except (TypeError, ValueError, RuntimeError):
            fail(f"{what}: expected a scalar, got {type(got).__name__}", hint)
        require(
            torch.equal(a, a0) and torch.equal(b, b0),
            f"{what}: your function modified its input",
            "never write into the logits",
        )
        expected = float(symmetric_kl(a0, b0))
        require(
            math.isfinite(value) and abs(value - expected) <= 1e-6 * max(1.0, expected),
            f"{what}: got {value:.6g}, expected {expected:.6g}",
            hint,
        )
    a, b = cases[1][1], cases[1][2]
    ab = float(call_learner(fn, a, b, what="(a, b)", hint=hint))
    ba = float(call_learner(fn, b, a, what="(b, a)", hint=hint))
    require(abs(ab - ba) <= 1e-6 * max(1.0, ab), "the result is not symmetric", hint)
    same = float(call_learner(fn, a, a.clone(), what="equal inputs", hint=hint))
    require(abs(same) <= 1e-6, f"equal inputs: got {same:.3g}, expected 0", hint)
    return True


def check_dropout_schedule(fn: Callable[[str, int, int, float, int], Any]) -> bool:
    """Check `fn(kind, epoch, epochs, p, cutoff) -> float` for two schedules.

    For kind "early_linear" the drop probability of epoch e (0-based) is
    p·(1 − e/(c − 1)) for e < c (p when c = 1) and 0 from the cutoff c on
    (the per-epoch form of `np.linspace(p, 0, c)` followed by zeros); for
    kind "late" it is 0 for e < c and p from c on. Compares every epoch of
    every cutoff 0 ≤ c ≤ E for E in 1..7 and p in {0.1, 0.3} with
    `dropout_lib.schedules.dropout_schedule` (to 1e-9), and names the first
    mismatch with a hint for the usual mistakes: an off-by-one at the
    cutoff, an early schedule that never turns off, a ramp that does not
    reach 0 on the last early epoch, the keep probability instead of the
    drop probability.
    """
    require_callable(fn, "fn", "fn(kind, epoch, epochs, p, cutoff) -> float")
    probes = (  # the usual mistakes first, each with its own hint
        (
            ("early_linear", 9, 10, 0.3, 3),
            "early dropout never turns off",
            "return 0 for every epoch >= cutoff",
        ),
        (
            ("late", 0, 10, 0.3, 3),
            "late dropout is on at the start",
            "late dropout is 0 before the cutoff (are early and late swapped?)",
        ),
    )
    for args, what, hint in probes:
        got = _schedule_value(fn, args)
        want = dropout_schedule(*args)
        if abs(got - (1.0 - want)) <= 1e-9:
            what, hint = "keep probability", _KEEP_HINT
        require(
            math.isfinite(got) and abs(got - want) <= 1e-9,
            f"{what}: fn{args} returned {got!r}, expected {want:.6g}",
            hint,
        )
    for kind in ("early_linear", "late"):
        for p in (0.3, 0.1):
            for epochs in range(1, 8):
                for cutoff in range(epochs + 1):
                    for epoch in range(epochs):
                        _check_schedule_point(fn, kind, epoch, epochs, p, cutoff)
    return True


_KEEP_HINT = "return the DROP probability p, not the keep probability 1 − p"


def _schedule_value(
    fn: Callable[[str, int, int, float, int], Any],
    args: tuple[str, int, int, float, int],
) -> float:
    """The learner's fn(*args) as a float (a 1-element tensor is accepted)."""
    what = "kind={!r}, epoch={}, epochs={}, p={}, cutoff={}".format(*args)
    got = call_learner(fn, *args, what=what)
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        fail(
            f"{what}: expected a float, got {type(got).__name__}",
            "return the drop probability as a Python float",
        )
    return float(got)


def _check_schedule_point(
    fn: Callable[[str, int, int, float, int], Any],
    kind: str,
    epoch: int,
    epochs: int,
    p: float,
    cutoff: int,
) -> None:
    what = f"kind={kind!r}, epoch={epoch}, epochs={epochs}, p={p}, cutoff={cutoff}"
    got = _schedule_value(fn, (kind, epoch, epochs, p, cutoff))
    want = dropout_schedule(kind, epoch, epochs, p, cutoff)
    if math.isfinite(got) and abs(got - want) <= 1e-9:
        return
    hint = "compare the epoch with the cutoff: dropout is on for epoch < cutoff"
    if kind == "late":
        hint = "late dropout is 0 for epoch < cutoff and p from the cutoff epoch on"
    if abs(got - (1.0 - want)) <= 1e-9 and p != 0.5:
        hint = _KEEP_HINT
    elif kind == "early_linear" and epoch == cutoff:
        hint = (
            "off by one at the cutoff: early dropout is already off in epoch "
            "`cutoff` (use epoch < cutoff, not epoch <= cutoff)"
        )
    elif kind == "early_linear" and epoch > cutoff:
        hint = "early dropout must turn off after the cutoff and stay off"
    elif kind == "early_linear" and epoch == cutoff - 1 and cutoff > 1:
        hint = (
            "the linear ramp is np.linspace(p, 0, cutoff): it reaches 0 on the "
            "last early epoch cutoff − 1, so divide epoch by cutoff − 1"
        )
    elif kind == "late" and epoch == cutoff:
        hint = "off by one at the cutoff: late dropout is on from epoch `cutoff` on"
    fail(f"{what}: got {got!r}, expected {want:.6g}", hint)
