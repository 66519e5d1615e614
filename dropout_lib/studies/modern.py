"""Chapter 8's experiments: dropout in Transformers, DropPath, checkpointing.

* the SDPA trap: an attention module that passes `dropout_p` ungated
  (`UngatedAttention`), and how far two eval-mode calls of it differ;
* SDPA's attention dropout in law: the sample mean and variance of many
  SDPA outputs against `attention_dropout_moments`, and SDPA's mask read back
  with an identity value matrix;
* activation checkpointing replays the mask (`checkpoint_grads`);
* DropPath against element dropout on a small residual MLP trained on a
  Fashion-MNIST subset small enough to overfit (`ResidualMLP`,
  `droppath_runs`);
* early and late dropout (`dropout_lib.schedules`) and R-Drop on many small
  MLPs trained side by side (`BatchedMLP`, `ScheduleRegime`,
  `schedule_runs`), in a regime built to underfit and one built to overfit,
  and the smallest effect such an experiment finds (`detectable_effect`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..data import fashion_mnist
from ..droppath import DropPath, linear_drop_rates
from ..reproducibility import get_device
from ..training import run_seeds
from ..transformer import (
    MultiHeadSelfAttention,
    attention_dropout_moments,
    plain_attention,
)
from ..validation import check_int, check_probability, check_seed

__all__ = [
    "BatchedMLP",
    "CHARS",
    "LMRegime",
    "MomentCheck",
    "ResidualMLP",
    "ScheduleRegime",
    "UngatedAttention",
    "checkpoint_grads",
    "detectable_effect",
    "droppath_runs",
    "encode",
    "eval_call_spread",
    "lm_grid",
    "lm_run",
    "load_fashion_7x7",
    "load_small_fashion",
    "moment_check",
    "schedule_runs",
    "sdpa_mask_readback",
    "stdlib_text",
]


class UngatedAttention(MultiHeadSelfAttention):
    """The WRONG way: SDPA with `dropout_p=self.attn_p` whatever the mode.

    `F.scaled_dot_product_attention` applies dropout whenever dropout_p > 0;
    it does not know about `module.training`, so `model.eval()` does not turn
    this attention dropout off.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.heads(x)
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_p, is_causal=self.causal
        )
        out_: torch.Tensor = self.proj(out.transpose(1, 2).reshape(b, t, d))
        return out_


def eval_call_spread(module: nn.Module, x: torch.Tensor, calls: int = 5) -> float:
    """Largest |difference| between the first and each later eval-mode output.

    Puts `module` in eval mode, calls it `calls` times on `x` without
    gradients, and returns max over calls c and entries of |y_c − y_1|
    (0.0 for a module that is deterministic in eval mode).
    """
    calls = check_int(calls, "calls", 2)
    module.eval()
    with torch.no_grad():
        outs = [module(x) for _ in range(calls)]
    return float(max((o - outs[0]).abs().max() for o in outs[1:]))


@dataclass(frozen=True)
class MomentCheck:
    """Largest standardised deviations of sampled moments from the formula.

    `z_mean` = max |x̄ − μ|/√(σ²/n); `z_var` = max |s² − σ²|/SE(s²) with
    SE(s²) = √((m₄ − s⁴)/n) estimated from the sample's fourth central moment.
    """

    z_mean: float
    z_var: float
    n: int


def _moment_z(
    samples: torch.Tensor, mean: torch.Tensor, var: torch.Tensor
) -> MomentCheck:
    n = samples.shape[0]
    xbar = samples.mean(0)
    centred = samples - xbar
    s2 = (centred**2).sum(0) / (n - 1)
    m4 = (centred**4).mean(0)
    z_mean = ((xbar - mean).abs() / (var / n).sqrt()).max()
    se_var = ((m4 - s2**2).clamp_min(1e-30) / n).sqrt()
    z_var = ((s2 - var).abs() / se_var).max()
    return MomentCheck(float(z_mean), float(z_var), int(n))


def moment_check(
    p: float,
    n_draws: int = 20000,
    t: int = 6,
    d: int = 4,
    seed: int = 0,
    use_sdpa: bool = True,
    device: torch.device | None = None,
) -> MomentCheck:
    """Sample attention outputs with dropout and compare moments with the law.

    Fixed random Q, K, V of shape (1, t, d) (float64 on the CPU, float32 on a
    GPU); `n_draws` independent dropout draws (one per batch entry) through
    SDPA (`use_sdpa`) or `plain_attention`, compared entry-wise with
    E[out] = AV and Var[out] = (p/q)·(A∘A)(V∘V) (`attention_dropout_moments`).
    """
    p = check_probability(p, "p")
    n_draws = check_int(n_draws, "n_draws", 10)
    device = device or get_device()
    dtype = torch.float64 if device.type == "cpu" else torch.float32
    g = torch.Generator().manual_seed(check_seed(seed))
    q, k, v = (torch.randn(1, t, d, generator=g, dtype=dtype) for _ in range(3))
    q, k, v = q.to(device), k.to(device), v.to(device)
    mean, var = attention_dropout_moments(q, k, v, p)
    torch.manual_seed(seed)
    qq, kk, vv = (a.expand(n_draws, t, d).contiguous() for a in (q, k, v))
    if use_sdpa:
        samples = F.scaled_dot_product_attention(qq, kk, vv, dropout_p=p)
    else:
        samples = plain_attention(qq, kk, vv, p, training=True)
    return _moment_z(samples.double(), mean.double(), var.double())


def sdpa_mask_readback(
    p: float,
    t: int = 16,
    batch: int = 256,
    seed: int = 0,
    device: torch.device | None = None,
) -> tuple[float, float]:
    """Read SDPA's dropout mask back through an identity value matrix.

    With V = I (t × t), out = D(A)·I = D(A): each entry is either 0 (dropped)
    or A_ij/q (kept). Returns (fraction of entries kept, largest relative
    deviation of a kept entry from A_ij/q).
    """
    p = check_probability(p, "p")
    if p == 1.0:
        raise ValueError("p must be < 1")
    device = device or get_device()
    g = torch.Generator().manual_seed(check_seed(seed))
    q = torch.randn(batch, 1, t, t, generator=g).to(device)
    k = torch.randn(batch, 1, t, t, generator=g).to(device)
    eye = torch.eye(t, device=device).expand(batch, 1, t, t).contiguous()
    probs = (q @ k.transpose(-2, -1) / math.sqrt(t)).softmax(-1)
    torch.manual_seed(seed)
    out = F.scaled_dot_product_attention(q, k, eye, dropout_p=p)
    kept = out != 0
    expected = probs / (1.0 - p)
    rel = ((out - expected).abs() / expected)[kept]
    return float(kept.float().mean()), float(rel.max()) if rel.numel() else 0.0


def checkpoint_grads(
    mode: str, seed: int = 0, p: float = 0.5, width: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """Output and input-gradient of a dropout block, with or without checkpointing.

    The block is Linear → ReLU → Dropout(p) → Linear on a fixed input (8,
    `width`), loss = Σ output². `mode` is "plain" (no checkpoint),
    "checkpoint" (torch.utils.checkpoint, preserve_rng_state=True, the
    default) or "no_rng" (preserve_rng_state=False). torch's generator is
    seeded with `seed` before the forward pass. Returns (output, ∂loss/∂x).
    """
    if mode not in ("plain", "checkpoint", "no_rng"):
        raise ValueError(
            f"mode must be 'plain', 'checkpoint' or 'no_rng'; got {mode!r}"
        )
    g = torch.Generator().manual_seed(1234)
    block = nn.Sequential(
        nn.Linear(width, width), nn.ReLU(), nn.Dropout(p), nn.Linear(width, width)
    )
    with torch.no_grad():
        for prm in block.parameters():
            prm.copy_(torch.randn(prm.shape, generator=g) / math.sqrt(width))
    block.train()
    x = torch.randn(8, width, generator=g).requires_grad_(True)
    torch.manual_seed(check_seed(seed))
    if mode == "plain":
        out = block(x)
    else:
        out = checkpoint(
            block, x, use_reentrant=False, preserve_rng_state=(mode == "checkpoint")
        )
    (out**2).sum().backward()
    grad = x.grad
    if grad is None:  # pragma: no cover - backward always fills it
        raise RuntimeError("no gradient reached the input")
    return out.detach(), grad.detach()


# --------------------------------------------------------------------------
# DropPath against element dropout
# --------------------------------------------------------------------------


class ResidualMLP(nn.Module):
    """Linear(d_in, w) → n_blocks × [x + DP(Drop(MLP(LN(x))))] → LN → Linear(w, n_out).

    Each branch MLP is Linear(w, 2w) → ReLU → Linear(2w, w). `element_p` is
    element-wise (residual) dropout on the branch output; DropPath rates rise
    linearly from 0 to `drop_path_rate` over the blocks (`linear_drop_rates`).
    """

    def __init__(
        self,
        d_in: int,
        width: int = 64,
        n_blocks: int = 4,
        n_out: int = 10,
        element_p: float = 0.0,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        width = check_int(width, "width", 1)
        self.inp = nn.Linear(check_int(d_in, "d_in", 1), width)
        self.norms = nn.ModuleList(
            nn.LayerNorm(width) for _ in range(check_int(n_blocks, "n_blocks", 1))
        )
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Linear(width, 2 * width), nn.ReLU(), nn.Linear(2 * width, width)
            )
            for _ in range(n_blocks)
        )
        p = check_probability(element_p, "element_p")
        self.drops = nn.ModuleList(nn.Dropout(p) for _ in range(n_blocks))
        self.paths = nn.ModuleList(
            DropPath(r) for r in linear_drop_rates(drop_path_rate, n_blocks)
        )
        self.out_norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, check_int(n_out, "n_out", 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x.flatten(1))
        for ln, f, drop, path in zip(
            self.norms, self.branches, self.drops, self.paths, strict=True
        ):
            h = h + path(drop(f(ln(h))))
        out_: torch.Tensor = self.head(self.out_norm(h))
        return out_


def load_small_fashion(
    n_train: int = 512, n_test: int = 2000, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A small Fashion-MNIST task that a residual MLP overfits.

    `n_train` training and `n_test` test images drawn without replacement
    (NumPy generator seeded with `seed`), averaged over 2 × 2 pixels to
    14 × 14 = 196 features in [0, 1]. Returns float32 x and int64 y tensors:
    (x_train, y_train, x_test, y_test).
    """
    n_train = check_int(n_train, "n_train", 1)
    n_test = check_int(n_test, "n_test", 1)
    rng = np.random.default_rng(check_seed(seed))
    out = []
    splits: tuple[tuple[Literal["train", "test"], int], ...] = (
        ("train", n_train),
        ("test", n_test),
    )
    for split, n in splits:
        images, labels = fashion_mnist(split)
        idx = rng.choice(len(labels), size=n, replace=False)
        x = torch.from_numpy(images[idx]).float().div(255.0)
        x = F.avg_pool2d(x[:, None], 2).flatten(1)
        out += [x, torch.from_numpy(labels[idx]).long()]
    return out[0], out[1], out[2], out[3]


def droppath_runs(
    configs: dict[str, tuple[float, float]],
    seeds: Sequence[int],
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    epochs: int = 40,
    batch_size: int = 64,
    lr: float = 1e-3,
    device: torch.device | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Train `ResidualMLP`s per configuration and seed; final test loss/accuracy.

    `configs` maps a name to (element_p, drop_path_rate). Each seed gives the
    same initial weights and batch order to every configuration
    (`run_seeds`). Returns {name: {"test_loss": [...], "test_acc": [...],
    "train_eval_loss": [...]}}, one value per seed, measured after the last epoch
    in eval mode (dropout off).
    """
    x, y, xt, yt = data
    results: dict[str, dict[str, np.ndarray]] = {}
    for name, (ep, dpr) in configs.items():

        def build(
            seed: int, ep: float = ep, dpr: float = dpr
        ) -> tuple[nn.Module, torch.optim.Optimizer]:
            model = ResidualMLP(x.shape[1], element_p=ep, drop_path_rate=dpr)
            return model, torch.optim.Adam(model.parameters(), lr=lr)

        runs = run_seeds(
            build,
            seeds,
            x,
            y,
            config=name,
            keep_models=False,
            loss_fn=nn.CrossEntropyLoss(),
            epochs=epochs,
            batch_size=batch_size,
            eval_sets={"test": (xt, yt), "train_eval": (x, y)},
            device=device or get_device(),
        )
        results[name] = {
            m: np.array([r.history.final(m) for r in runs])
            for m in ("test_loss", "test_acc", "train_eval_loss")
        }
    return results


# --------------------------------------------------------------------------
# A character-level language model: one pass over a stream vs many epochs
# --------------------------------------------------------------------------

#: The characters the language model knows: printable ASCII plus newline;
#: every other character maps to index 0 (the space).
CHARS = " " + "".join(chr(c) for c in range(33, 127)) + "\n"


def stdlib_text(n_chars: int) -> str:
    """The first `n_chars` characters of the Python standard library's source.

    Reads the top-level `*.py` files of the running interpreter's standard
    library (`sysconfig`'s "stdlib" path) in sorted order and concatenates
    them. The text ships with every CPython installation, under the Python
    Software Foundation License. Raises `ValueError` if fewer characters exist.
    """
    import sysconfig
    from pathlib import Path

    n_chars = check_int(n_chars, "n_chars", 1)
    parts: list[str] = []
    total = 0
    for f in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        text = f.read_text(encoding="utf-8", errors="replace")
        parts.append(text)
        total += len(text)
        if total >= n_chars:
            return "".join(parts)[:n_chars]
    raise ValueError(f"the standard library holds only {total} characters")


def encode(text: str) -> torch.Tensor:
    """Character indices into `CHARS` (int64); unknown characters become 0."""
    table = {c: i for i, c in enumerate(CHARS)}
    return torch.tensor([table.get(c, 0) for c in text], dtype=torch.long)


@dataclass(frozen=True)
class LMRegime:
    """A training regime: `steps` updates of `batch` windows of `context`
    characters, drawn from the first `train_chars` characters of the training
    text (a large stream seen once, or a small slice seen many times)."""

    name: str
    train_chars: int
    steps: int = 150
    batch: int = 16
    context: int = 32

    @property
    def epochs(self) -> float:
        """Passes over the training characters: steps·batch·context/train_chars."""
        return self.steps * self.batch * self.context / self.train_chars


def lm_run(
    tokens: torch.Tensor,
    val: torch.Tensor,
    regime: LMRegime,
    p: float,
    seed: int,
    d_model: int = 32,
    lr: float = 3e-3,
    device: torch.device | None = None,
) -> float:
    """Train a causal `TinyTransformer` and return its validation loss (nats/char).

    All three dropout sites (embeddings, attention, residual) use `p`, as in
    GPT-2's configuration. Windows start at random offsets in
    tokens[:regime.train_chars] (torch generator seeded with `seed`, which
    also draws the initial weights). `val` is cut into non-overlapping
    windows of `regime.context + 1` characters; the loss is measured in eval
    mode (dropout off) on all of them.
    """
    from ..transformer import TinyTransformer

    p = check_probability(p, "p")
    device = device or get_device()
    torch.manual_seed(check_seed(seed))
    t = regime.context
    model = TinyTransformer(
        len(CHARS), t, d_model=d_model, embd_p=p, attn_p=p, resid_p=p
    ).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    src = tokens[: regime.train_chars]
    if len(src) <= t + 1:
        raise ValueError("train_chars must exceed context + 1")
    model.train()
    for _ in range(regime.steps):
        start = torch.randint(0, len(src) - t - 1, (regime.batch,), generator=gen)
        win = torch.stack([src[s : s + t + 1] for s in start.tolist()]).to(device)
        logits = model(win[:, :-1])
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), win[:, 1:].flatten()
        )
        opt.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        opt.step()
    n_win = len(val) // (t + 1)
    vw = val[: n_win * (t + 1)].view(n_win, t + 1).to(device)
    model.eval()
    with torch.no_grad():
        logits = model(vw[:, :-1])
        return float(
            F.cross_entropy(logits.reshape(-1, logits.shape[-1]), vw[:, 1:].flatten())
        )


def lm_grid(
    regimes: Sequence[LMRegime],
    ps: Sequence[float],
    seeds: Sequence[int],
    n_val: int = 8192,
    device: torch.device | None = None,
) -> dict[tuple[str, float], np.ndarray]:
    """Validation loss per (regime name, p), one value per seed.

    The training text is the start of `stdlib_text`; the validation text is
    the `n_val` characters after the largest `train_chars`, so no regime
    trains on it.
    """
    n_val = check_int(n_val, "n_val", 2)
    longest = max(r.train_chars for r in regimes)
    tokens = encode(stdlib_text(longest + n_val))
    train, val = tokens[:longest], tokens[longest:]
    return {
        (r.name, float(p)): np.array(
            [lm_run(train, val, r, p, s, device=device) for s in seeds]
        )
        for r in regimes
        for p in ps
    }


# --------------------------------------------------------------------------
# Early and late dropout, and R-Drop: many small MLPs trained side by side
# --------------------------------------------------------------------------


class BatchedMLP(nn.Module):
    """M independent MLPs d_in → h → h → n_out, evaluated as one batched product.

    Model m computes, for inputs x of shape (M, B, d_in) (or (B, d_in),
    shared by all models),

        h₁ = D_m(ReLU(x W₁ + b₁)),  h₂ = D_m(ReLU(h₁ W₂ + b₂)),  z = h₂ W₃ + b₃,

    with D_m inverted dropout of the model's own drop probability `p[m]`
    (a kept unit is divided by 1 − p[m]; nothing is dropped in eval mode).
    Model m's weights are drawn as `nn.Linear` draws them,
    U(−1/√fan_in, 1/√fan_in), from a generator seeded with `init_seeds[m]`,
    so two models with the same seed start from the same weights. Training
    them with one Adam optimiser on the sum of their losses is the same as
    training each alone: no parameter is shared and Adam works element-wise.
    """

    p: torch.Tensor

    def __init__(
        self, init_seeds: Sequence[int], d_in: int, hidden: int, n_out: int
    ) -> None:
        super().__init__()
        seeds = [check_seed(s, "init_seeds entries") for s in init_seeds]
        if not seeds:
            raise ValueError("init_seeds must hold at least one seed")
        dims = (
            check_int(d_in, "d_in", 1),
            check_int(hidden, "hidden", 1),
            check_int(hidden, "hidden", 1),
            check_int(n_out, "n_out", 1),
        )
        weights: list[list[torch.Tensor]] = [[] for _ in range(6)]
        for s in seeds:
            g = torch.Generator().manual_seed(s)
            for i, (fan_in, fan_out) in enumerate(
                zip(dims[:-1], dims[1:], strict=True)
            ):
                bound = 1.0 / math.sqrt(fan_in)
                w = (torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound
                b = (torch.rand(1, fan_out, generator=g) * 2 - 1) * bound
                weights[2 * i].append(w)
                weights[2 * i + 1].append(b)
        self.params = nn.ParameterList(nn.Parameter(torch.stack(w)) for w in weights)
        self.register_buffer("p", torch.zeros(len(seeds)))

    @property
    def n_models(self) -> int:
        """The number M of models."""
        return int(self.p.shape[0])

    def set_p(self, p: Sequence[float] | torch.Tensor) -> None:
        """Set the M drop probabilities, each in [0, 1)."""
        pt = torch.as_tensor(p, dtype=torch.float32).flatten()
        if pt.shape[0] != self.n_models:
            raise ValueError(f"p must hold {self.n_models} values; got {pt.shape[0]}")
        if not bool(((pt >= 0) & (pt < 1)).all()):
            raise ValueError(f"p must lie in [0, 1); got {pt.tolist()}")
        self.p.copy_(pt.to(self.p.device))

    def _drop(self, h: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return h
        q = (1.0 - self.p).view(-1, 1, 1)
        return h * (torch.rand_like(h) < q).to(h.dtype) / q

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w1, b1, w2, b2, w3, b3 = self.params
        h = self._drop(torch.relu(x @ w1 + b1))
        h = self._drop(torch.relu(h @ w2 + b2))
        out_: torch.Tensor = h @ w3 + b3
        return out_


def _per_model_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each model, (M,), for logits (M, B, C) and labels (B,)
    or (M, B)."""
    m, b, c = logits.shape
    yy = y.expand(m, b) if y.dim() == 1 else y
    return (
        F.cross_entropy(logits.reshape(m * b, c), yy.reshape(-1), reduction="none")
        .view(m, b)
        .mean(1)
    )


@dataclass(frozen=True)
class ScheduleRegime:
    """A training regime for `schedule_runs`: data sizes, width and schedule.

    `n_train` training images (the first ones of a shuffled Fashion-MNIST
    training set), `n_val` validation images (from the test split), an MLP
    of width `hidden`, `epochs` epochs of minibatches of `batch_size`, Adam
    at `lr`, target drop probability `p`, and the early/late `cutoff` epoch
    (`dropout_lib.schedules.dropout_schedule`). `n_train_eval` training
    images are used to measure the training loss; both losses are measured
    after every `eval_every`-th epoch and after the last (`eval_epochs`).
    """

    name: str
    n_train: int
    hidden: int
    epochs: int
    cutoff: int
    p: float = 0.25
    batch_size: int = 64
    lr: float = 1e-3
    n_val: int = 2000
    n_train_eval: int = 2000
    eval_every: int = 1

    @property
    def eval_epochs(self) -> list[int]:
        """The epochs (counted from 1) after which the losses are measured."""
        every = check_int(self.eval_every, "eval_every", 1)
        return [
            e for e in range(1, self.epochs + 1) if e % every == 0 or e == self.epochs
        ]


def load_fashion_7x7(
    n_train: int, n_val: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fashion-MNIST averaged over 4 × 4 pixels: 7 × 7 = 49 features in [0, 1].

    Draws `n_train` training and `n_val` test images without replacement
    (`load_small_fashion` with `seed`), then averages its 14 × 14 images over
    2 × 2 pixels. Returns (x_train, y_train, x_val, y_val).
    """
    x, y, xv, yv = load_small_fashion(n_train, n_val, seed)
    x = F.avg_pool2d(x.view(-1, 1, 14, 14), 2).flatten(1)
    xv = F.avg_pool2d(xv.view(-1, 1, 14, 14), 2).flatten(1)
    return x, y, xv, yv


def schedule_runs(
    regime: ScheduleRegime,
    kinds: Sequence[str],
    seeds: Sequence[int],
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    alpha: float = 0.0,
    device: torch.device | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Train one MLP per (schedule kind, seed); loss curves per epoch.

    All len(kinds)·len(seeds) models train side by side in one `BatchedMLP`.
    Seed s fixes a model's initial weights and its batch order (a generator
    seeded with s draws one permutation of the training set per epoch), so
    the kinds are paired by seed. At training iteration i (counted over the
    whole run, ⌈n_train / batch_size⌉ iterations per epoch) every model of
    kind k drops with probability `iteration_schedule(k, regime.epochs,
    steps, regime.p, regime.cutoff)[i]`, the authors' per-iteration rule
    (for early_linear a ramp over the iterations, not a step per epoch).
    With `alpha` > 0 every model is trained with R-Drop
    (two passes, loss ½(CE₁ + CE₂) + α·symmetric KL, `rdrop.symmetric_kl`);
    with `alpha` = 0, one pass and plain cross-entropy.

    Returns {kind: {"train": (S, T), "val": (S, T)}}: the cross-entropy in
    eval mode (dropout off) on the first `regime.n_train_eval` training
    images and on the validation images, after each of the T epochs of
    `regime.eval_epochs` (the last column is the final epoch).
    """
    from ..rdrop import symmetric_kl
    from ..schedules import dropout_schedule, iteration_schedule

    if not kinds:
        raise ValueError("kinds must name at least one schedule")
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or alpha < 0:
        raise ValueError(f"alpha must be a real number >= 0; got alpha={alpha!r}")
    seeds = [check_seed(s, "seeds entries") for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    for k in kinds:  # validates the kinds, the regime's epochs, cutoff and p
        dropout_schedule(k, 0, regime.epochs, regime.p, regime.cutoff)
    device = device or get_device()
    x, y, xv, yv = (t.to(device) for t in data)
    x, y = x[: regime.n_train], y[: regime.n_train]
    xe, ye = x[: regime.n_train_eval], y[: regime.n_train_eval]
    n_k, n_s = len(kinds), len(seeds)
    model = BatchedMLP(
        list(seeds) * n_k, x.shape[1], regime.hidden, int(max(y.max(), yv.max())) + 1
    ).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=regime.lr)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    eval_at = {e - 1: j for j, e in enumerate(regime.eval_epochs)}
    train_curve = torch.empty(n_k * n_s, len(eval_at))
    val_curve = torch.empty(n_k * n_s, len(eval_at))
    n = x.shape[0]
    steps = -(-n // regime.batch_size)  # iterations per epoch
    sched = torch.tensor(
        np.stack(
            [
                iteration_schedule(k, regime.epochs, steps, regime.p, regime.cutoff)
                for k in kinds
            ]
        ),
        dtype=torch.float32,
    ).repeat_interleave(n_s, dim=0)  # (M, epochs · steps)
    for epoch in range(regime.epochs):
        perms = torch.stack([torch.randperm(n, generator=g) for g in gens])
        perms = perms.to(device).repeat(n_k, 1)
        model.train()
        for i, start in enumerate(range(0, n, regime.batch_size)):
            model.set_p(sched[:, epoch * steps + i])
            idx = perms[:, start : start + regime.batch_size]
            xb, yb = x[idx], y[idx]
            logits = model(xb)
            if alpha > 0:
                other = model(xb)
                ce = 0.5 * (_per_model_ce(logits, yb) + _per_model_ce(other, yb))
                loss = ce.sum() + alpha * model.n_models * symmetric_kl(logits, other)
            else:
                loss = _per_model_ce(logits, yb).sum()
            opt.zero_grad(set_to_none=True)
            torch.autograd.backward(loss)
            opt.step()
        if epoch not in eval_at:
            continue
        model.eval()
        with torch.no_grad():
            train_curve[:, eval_at[epoch]] = _per_model_ce(model(xe), ye).cpu()
            val_curve[:, eval_at[epoch]] = _per_model_ce(model(xv), yv).cpu()
    tr = train_curve.view(n_k, n_s, -1).double().numpy()
    va = val_curve.view(n_k, n_s, -1).double().numpy()
    return {k: {"train": tr[i], "val": va[i]} for i, k in enumerate(kinds)}


def detectable_effect(sd: float, n: int, power: float = 0.8) -> float:
    """The smallest true mean difference δ that `paired_diff` finds with `power`.

    Solves `stats.power_paired(δ, sd, n) = power` for δ by bisection, for
    per-seed differences of standard deviation `sd` over `n` seeds: an
    experiment of this size supports ("A − B > 0" at 95 %) an effect of δ
    or more in at least a fraction `power` of runs. Effects below δ can hide
    in a null result.
    """
    from ..stats import power_paired

    n = check_int(n, "n", 2)
    if not (isinstance(sd, (int, float)) and math.isfinite(sd) and sd > 0):
        raise ValueError(f"sd must be a positive finite number; got sd={sd!r}")
    if not (isinstance(power, float) and 0.05 < power < 1.0):
        raise ValueError(f"power must be a float in (0.05, 1); got power={power!r}")
    lo, hi = 0.0, 50.0 * sd
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if power_paired(mid, sd, n) < power:
            lo = mid
        else:
            hi = mid
    return hi
