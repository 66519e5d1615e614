"""Chapter 7's experiment: dropout at test time, MC dropout, ensembles and shift.

Everything the chapter trains comes from here, once: a Fashion-MNIST subset
with two classes held out of training, small MLPs with dropout (one per seed,
each also the first member of a five-member deep ensemble of the same recipe),
the shifts (rotations, graded noise and blur, unseen classes), the tables of
scores, a grid that measures how far weight scaling is from the Monte Carlo
average, and a network with BatchNorm for the "doing it right in code" section.
The exact enumeration of a small softmax regression's masks is not here: the
chapter uses `dropout_lib.ensemble.softmax_regression_ensemble`, as chapter 3
does.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data import fashion_mnist
from ..ensemble import tv_distance
from ..inference import mc_samples, weight_scaled_predict
from ..models import MLP
from ..nn import Dropout, dropout_active
from ..stats import Claim, claim, paired_diff
from ..training import Run, run_seeds, to_tensors
from ..uncertainty import (
    auroc,
    brier_score,
    decompose,
    entropy,
    expected_calibration_error,
    mc_samples_batched,
    nll_from_probs,
)
from ..validation import check_int, check_module, check_probability, check_tensor

__all__ = [
    "HELD_OUT",
    "Predictions",
    "Split",
    "build_bn_mlp",
    "SEVERITIES",
    "compare",
    "corrupt",
    "gaussian_blur",
    "gaussian_noise",
    "fit_temperature",
    "gap_regression",
    "load_validation",
    "subset_train",
    "curve_over_passes",
    "ensemble_view_grid",
    "load_split",
    "ood_table",
    "predict",
    "rotate",
    "score_table",
    "seed_dropout_generators",
    "shift_scores",
    "time_mc",
    "train_models",
]

#: The two Fashion-MNIST classes kept out of training: sandal (5) and bag (8).
HELD_OUT: tuple[int, int] = (5, 8)


@dataclass(frozen=True)
class Split:
    """Train and test tensors; labels of the 8 seen classes are renumbered 0..7.

    `x_*` are float32 images `[N, 28, 28]` in [0, 1]; `x_ood` holds test
    images of the held-out classes (no labels: no class of the model fits).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_ood: torch.Tensor
    classes: tuple[int, ...]


def _subset(y: np.ndarray, classes: Sequence[int], per_class: int) -> np.ndarray:
    """Indices of the first `per_class` examples of each class, in data order."""
    keep = [np.flatnonzero(y == c)[:per_class] for c in classes]
    return np.sort(np.concatenate(keep))


def load_split(
    n_train_per_class: int = 1000,
    n_test_per_class: int = 500,
    held_out: Sequence[int] = HELD_OUT,
) -> Split:
    """The chapter's data: the first `n_train_per_class` training images of each
    seen class, the first `n_test_per_class` test images of each class (seen
    classes form `x_test`, held-out classes `x_ood`). Deterministic."""
    n_train_per_class = check_int(n_train_per_class, "n_train_per_class", 1)
    n_test_per_class = check_int(n_test_per_class, "n_test_per_class", 1)
    held = tuple(check_int(c, "held_out entries", 0) for c in held_out)
    if any(c > 9 for c in held) or len(set(held)) != len(held) or len(held) > 8:
        raise ValueError(
            f"held_out must name distinct classes in 0..9; got {held_out!r}"
        )
    seen = tuple(c for c in range(10) if c not in held)
    remap = np.full(10, -1, dtype=np.int64)
    remap[list(seen)] = np.arange(len(seen))
    x_tr, y_tr = fashion_mnist("train")
    x_te, y_te = fashion_mnist("test")
    i_tr = _subset(y_tr, seen, n_train_per_class)
    i_te = _subset(y_te, seen, n_test_per_class)
    i_ood = _subset(y_te, held, n_test_per_class)
    xt, yt = to_tensors(x_tr[i_tr], remap[y_tr[i_tr]])
    xs, ys = to_tensors(x_te[i_te], remap[y_te[i_te]])
    xo, _ = to_tensors(x_te[i_ood], y_te[i_ood])
    return Split(xt, yt, xs, ys, xo, seen)


def load_validation(
    n_train_per_class: int = 1000,
    n_per_class: int = 250,
    held_out: Sequence[int] = HELD_OUT,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validation images and labels (renumbered like `load_split`'s): the
    `n_per_class` training images of each seen class that follow the first
    `n_train_per_class` (so none of them is in `load_split`'s training set)."""
    n_train_per_class = check_int(n_train_per_class, "n_train_per_class", 1)
    n_per_class = check_int(n_per_class, "n_per_class", 1)
    held = tuple(check_int(c, "held_out entries", 0) for c in held_out)
    seen = tuple(c for c in range(10) if c not in held)
    remap = np.full(10, -1, dtype=np.int64)
    remap[list(seen)] = np.arange(len(seen))
    x_tr, y_tr = fashion_mnist("train")
    end = n_train_per_class + n_per_class
    idx = np.sort(
        np.concatenate([np.flatnonzero(y_tr == c)[n_train_per_class:end] for c in seen])
    )
    return to_tensors(x_tr[idx], remap[y_tr[idx]])


def subset_train(split: Split, per_class: int) -> Split:
    """`split` with only the first `per_class` training images of each class
    (test and held-out images unchanged): the small-data regime."""
    per_class = check_int(per_class, "per_class", 1)
    y = split.y_train.cpu().numpy()
    idx = torch.from_numpy(_subset(y, range(len(split.classes)), per_class))
    return Split(
        split.x_train[idx],
        split.y_train[idx],
        split.x_test,
        split.y_test,
        split.x_ood,
        split.classes,
    )


def rotate(x: torch.Tensor, angle: float) -> torch.Tensor:
    """Images `[N, H, W]` rotated by `angle` degrees about their centre.

    `scipy.ndimage.rotate` with bilinear interpolation (`order=1`), the
    same frame (`reshape=False`) and black (0) outside the original image;
    values are clipped to [0, 1]. A new tensor; `x` is not modified.
    """
    from scipy import ndimage

    check_tensor(x, "x", ndim=3)
    if isinstance(angle, bool) or not isinstance(angle, (int, float)):
        raise TypeError(f"angle must be a real number (degrees); got {angle!r}")
    arr = x.detach().cpu().numpy().astype(np.float32)
    out = ndimage.rotate(arr, float(angle), axes=(1, 2), reshape=False, order=1)
    return torch.from_numpy(np.clip(out, 0.0, 1.0)).to(x.device)


#: Severities 1..5 of the two graded corruptions, in the style of Hendrycks and
#: Dietterich (2019): the standard deviation of the Gaussian pixel noise (pixel
#: values in [0, 1]) and of the Gaussian blur kernel (in pixels). Severity 0 is
#: the clean image.
SEVERITIES: dict[str, tuple[float, ...]] = {
    "noise": (0.1, 0.2, 0.4, 0.6, 0.8),
    "blur": (0.5, 1.0, 1.5, 2.0, 3.0),
}


def gaussian_noise(x: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """Images `x` `[N, H, W]` with Gaussian pixel noise, clipped to [0, 1]:
    x' = clip(x + sigma * z, 0, 1), z ~ N(0, 1) independently per pixel.

    z is drawn from a CPU generator seeded `seed` and then moved to `x`'s
    device, so the corruption is the same on every device and every call
    with the same seed. A new tensor; `x` is not modified.
    """
    check_tensor(x, "x", ndim=3)
    sigma = _check_level(sigma, "sigma")
    gen = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    z = torch.randn(tuple(x.shape), generator=gen, dtype=torch.float32)
    return (x + sigma * z.to(device=x.device, dtype=x.dtype)).clamp(0.0, 1.0)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Images `x` `[N, H, W]` convolved with a Gaussian of standard deviation
    `sigma` pixels along each axis (separable; kernel radius r =
    int(3 sigma + 0.5), weights proportional to exp(-k^2 / (2 sigma^2)) for
    k = -r..r, summing to 1; mirror padding, as `scipy.ndimage.gaussian_filter`
    with `mode="mirror"`, `truncate=3`). `sigma = 0` returns a copy. Runs on
    `x`'s device; deterministic. A new tensor; `x` is not modified.
    """
    check_tensor(x, "x", ndim=3)
    sigma = _check_level(sigma, "sigma")
    if sigma == 0.0:
        return x.clone()
    r = int(3.0 * sigma + 0.5)
    if r >= min(x.shape[1:]):
        raise ValueError(
            f"sigma={sigma} needs a kernel radius {r} below the image size "
            f"{tuple(x.shape[1:])}"
        )
    k = torch.arange(-r, r + 1, dtype=torch.float64)
    w = torch.exp(-(k**2) / (2 * sigma**2))
    w = (w / w.sum()).to(device=x.device, dtype=x.dtype)
    img = x.unsqueeze(1)  # [N, 1, H, W]
    img = nn.functional.pad(img, (r, r, r, r), mode="reflect")
    img = nn.functional.conv2d(img, w.reshape(1, 1, 1, -1))
    img = nn.functional.conv2d(img, w.reshape(1, 1, -1, 1))
    return img.squeeze(1)


def corrupt(x: torch.Tensor, kind: str, severity: int, seed: int = 0) -> torch.Tensor:
    """`x` under corruption `kind` (`"noise"` or `"blur"`) at `severity` 0..5,
    with the levels of `SEVERITIES` (severity 0: an unchanged copy). `seed`
    fixes the noise (`gaussian_noise`); blur does not use it."""
    if kind not in SEVERITIES:
        raise ValueError(f"kind must be one of {sorted(SEVERITIES)}; got {kind!r}")
    levels = SEVERITIES[kind]
    severity = check_int(severity, "severity", 0)
    if severity > len(levels):
        raise ValueError(f"severity must lie in 0..{len(levels)}; got {severity}")
    if severity == 0:
        return x.clone()
    level = levels[severity - 1]
    if kind == "noise":
        return gaussian_noise(x, level, seed)
    return gaussian_blur(x, level)


def _check_level(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0; got {value!r}")
    return float(value)


def train_models(
    split: Split,
    seeds: Sequence[int],
    *,
    hidden: Sequence[int] = (128, 128),
    p: float = 0.5,
    epochs: int = 5,
    batch_size: int = 128,
    lr: float = 1e-3,
    device: torch.device | None = None,
) -> list[Run]:
    """One MLP per seed (`784-hidden-8`, dropout `p` after each hidden ReLU),
    trained with Adam on `split`'s training set by `run_seeds`.

    Training runs on `device` (default `dropout_lib.get_device`, a GPU
    where there is one); the trained models are returned on the CPU, where the
    chapter analyses them next to its CPU data.
    """
    p = check_probability(p, "p")
    n_classes = len(split.classes)

    def build(seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
        model = MLP(28 * 28, hidden, n_classes, p)
        return model, torch.optim.Adam(model.parameters(), lr=lr)

    runs = run_seeds(
        build,
        seeds,
        split.x_train,
        split.y_train,
        config={"hidden": tuple(hidden), "p": p, "epochs": epochs},
        loss_fn=nn.CrossEntropyLoss(),
        epochs=epochs,
        batch_size=batch_size,
        device=device,
    )
    return _to_cpu(runs)


def _to_cpu(runs: list[Run]) -> list[Run]:
    """Move every run's model to the CPU (in place) and return `runs`."""
    for run in runs:
        if run.model is not None:
            run.model.cpu()
    return runs


@dataclass(frozen=True)
class Predictions:
    """One seed's predictions on one input set: `ws` `[N, C]` (weight scaling),
    `mc` `[T, N, C]` (MC dropout passes), `ens` `[M, N, C]` (members), and
    `temp`, the temperature of the temperature-scaled method `ts`."""

    ws: torch.Tensor
    mc: torch.Tensor
    ens: torch.Tensor
    temp: float = 1.0

    def probs(self, method: str, passes: int | None = None) -> torch.Tensor:
        """Predictive probabilities `[N, C]` of `method` in `ws`, `ts`, `mc`,
        `ens` (`passes`: use only the first so many MC passes).

        `ts` is weight scaling with temperature `temp`:
        softmax(z / temp) = softmax(log p_ws / temp), since log p_ws differs
        from the logits z only by a constant per row.
        """
        if method == "ws":
            return self.ws
        if method == "ts":
            return _tempered(self.ws, self.temp)
        if method == "mc":
            return self.mc[: passes or len(self.mc)].mean(dim=0)
        if method == "ens":
            return self.ens.mean(dim=0)
        raise ValueError(f"method must be 'ws', 'ts', 'mc' or 'ens'; got {method!r}")


def _tempered(probs: torch.Tensor, temp: float) -> torch.Tensor:
    """softmax(log p / temp), computed in float64."""
    logp = probs.double().clamp_min(1e-300).log()
    return torch.softmax(logp / temp, dim=-1)


def fit_temperature(probs: torch.Tensor, y: torch.Tensor) -> float:
    """The temperature T > 0 that minimises the NLL of softmax(log p / T) on
    (`probs`, `y`) (Guo et al. 2017), searched over log T in [-3, 3].

    Fit it on validation data the model was not trained on; T > 1 softens
    the predictions, T < 1 sharpens them.
    """
    from scipy.optimize import minimize_scalar

    check_tensor(probs, "probs", ndim=2)
    if len(probs) != len(y):
        raise ValueError(
            f"probs and y must have the same length; got {len(probs)} and {len(y)}"
        )
    logp = probs.double().clamp_min(1e-300).log()
    idx = y.long().reshape(-1, 1).to(probs.device)

    def loss(log_t: float) -> float:
        lp = torch.log_softmax(logp / math.exp(log_t), dim=-1)
        return float(-lp.gather(1, idx).mean())

    res = minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded")
    return float(math.exp(res.x))


def predict(
    members: Sequence[nn.Module],
    x: torch.Tensor,
    passes: int,
    *,
    seed: int = 0,
    temp: float = 1.0,
) -> Predictions:
    """Weight scaling and `passes` MC dropout passes of `members[0]`, and every
    member's weight-scaled prediction (the deep ensemble), on inputs `x`.

    `x` is moved to each model's device; the predictions come back on `x`'s.
    """
    if not members:
        raise ValueError("members must hold at least one model")
    first = members[0]
    xd = x.to(_device_of(first))
    ws = weight_scaled_predict(first, xd).to(x.device)
    mc = mc_samples_batched(first, xd, passes, seed=seed, batch_size=1000).to(x.device)
    ens = torch.stack(
        [weight_scaled_predict(m, x.to(_device_of(m))).to(x.device) for m in members]
    )
    return Predictions(ws, mc, ens, float(temp))


def _device_of(model: nn.Module) -> torch.device:
    """The device of `model`'s first parameter (the CPU for a model without any)."""
    for prm in model.parameters():
        return prm.device
    return torch.device("cpu")


METHODS = ("ws", "ts", "mc", "ens")

#: `table[method][metric]`: one score per seed.
ScoreTable = dict[str, dict[str, np.ndarray]]


def score_table(
    preds: Sequence[Predictions],
    y: torch.Tensor,
    n_bins: int = 15,
    methods: Sequence[str] = METHODS,
) -> dict[str, dict[str, np.ndarray]]:
    """`table[method][metric]`: one value per seed of accuracy, NLL, Brier, ECE."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for method in methods:
        rows: dict[str, list[float]] = {"acc": [], "nll": [], "brier": [], "ece": []}
        for pr in preds:
            p = pr.probs(method)
            rows["acc"].append(float((p.argmax(dim=1) == y).double().mean()))
            rows["nll"].append(nll_from_probs(p, y))
            rows["brier"].append(brier_score(p, y))
            rows["ece"].append(expected_calibration_error(p, y, n_bins))
        out[method] = {k: np.array(v) for k, v in rows.items()}
    return out


def shift_scores(
    members: Sequence[Sequence[nn.Module]],
    temps: Sequence[float],
    x: torch.Tensor,
    y: torch.Tensor,
    passes: int,
    *,
    seed: int = 0,
    n_ensembles: int = 5,
) -> tuple[list[Predictions], ScoreTable, ScoreTable]:
    """Every seed's predictions on one (possibly shifted) input set and their
    `score_table`s: seed k uses `members[k]` (model first, then the other
    ensemble members), temperature `temps[k]` and MC seed `seed + k`.

    Returns `(preds, table, table_ens)`: `table` scores `ws`, `ts` and `mc`
    over all seeds, `table_ens` scores `mc` and `ens` over the first
    `n_ensembles` seeds (those whose `members` hold a whole ensemble).
    """
    if len(members) != len(temps):
        raise ValueError(
            f"members and temps must have one entry per seed; got {len(members)} "
            f"and {len(temps)}"
        )
    n_ensembles = check_int(n_ensembles, "n_ensembles", 1)
    preds = [
        predict(m, x, passes, seed=seed + k, temp=t)
        for k, (m, t) in enumerate(zip(members, temps, strict=True))
    ]
    table = score_table(preds, y, methods=("ws", "ts", "mc"))
    table_ens = score_table(preds[:n_ensembles], y, methods=("mc", "ens"))
    return preds, table, table_ens


def curve_over_passes(
    preds: Sequence[Predictions], y: torch.Tensor, passes: Sequence[int]
) -> dict[str, np.ndarray]:
    """Accuracy and NLL of the MC average of the first `T` passes, for each `T`.

    Returns `"acc"` and `"nll"` as arrays `[len(passes), n_seeds]`.
    """
    acc = np.zeros((len(passes), len(preds)))
    loss = np.zeros_like(acc)
    for i, t in enumerate(passes):
        t = check_int(t, "passes entries", 1)
        for k, pr in enumerate(preds):
            if t > len(pr.mc):
                raise ValueError(f"only {len(pr.mc)} passes stored; asked for {t}")
            p = pr.probs("mc", t)
            acc[i, k] = float((p.argmax(dim=1) == y).double().mean())
            loss[i, k] = nll_from_probs(p, y)
    return {"acc": acc, "nll": loss}


def compare(
    name: str, a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray
) -> Claim:
    """The paired difference A - B over seeds as a `dropout_lib.stats.Claim`
    in the direction of its mean (A - B > 0 when the mean is positive), with
    the book's tier ("replicates", "supported" or "inconclusive"). For
    reporting a table of comparisons; it asserts nothing.
    """
    d = paired_diff(a, b)
    return claim(name, d, ">" if d.mean > 0 else "<")


def ood_table(
    preds_in: Sequence[Predictions], preds_out: Sequence[Predictions]
) -> dict[str, np.ndarray]:
    """AUROC per seed of telling `preds_out` inputs from `preds_in` inputs, by
    the entropy of each method's predictive mean and by the mutual information
    of MC dropout and of the ensemble."""
    rows: dict[str, list[float]] = {
        "ws entropy": [],
        "mc entropy": [],
        "mc MI": [],
        "ens entropy": [],
        "ens MI": [],
    }
    for a, b in zip(preds_in, preds_out, strict=True):
        rows["ws entropy"].append(auroc(entropy(a.ws), entropy(b.ws)))
        for m, key in (("mc", "mc"), ("ens", "ens")):
            da, db = decompose(getattr(a, key)), decompose(getattr(b, key))
            rows[f"{m} entropy"].append(auroc(da.total, db.total))
            rows[f"{m} MI"].append(auroc(da.epistemic, db.epistemic))
    return {k: np.array(v) for k, v in rows.items()}


# --------------------------------------------------------------------------
# the ensemble view
# --------------------------------------------------------------------------


def _tv(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean total-variation distance (1/2) ‖a − b‖₁ over examples."""
    return float(tv_distance(a, b).mean())


def ensemble_view_grid(
    split: Split,
    depths: Sequence[int] = (1, 2, 3),
    rates: Sequence[float] = (0.1, 0.3, 0.5),
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    width: int = 64,
    n_train: int = 2000,
    epochs: int = 3,
    passes: int = 100,
    n_inputs: int = 500,
) -> dict[str, np.ndarray]:
    """Distance between weight scaling and the MC average, per depth, rate and seed.

    For each cell, an MLP with `depth` hidden layers of `width` units and
    dropout `rate` after each is trained (Adam, `epochs` epochs, the first
    `n_train` training images); on the first `n_inputs` test images the
    `passes`-pass MC average p̄_T is compared with weight scaling.
    Returns arrays `[depth, rate, seed]`: `"tv"`, the mean total-variation
    distance (1/2) ‖p̄_T − p_ws‖₁, and `"floor"`,
    the distance between the two halves' averages divided by 2, an estimate of
    the part of `"tv"` due to the finite `passes` (for a TV distance that is
    pure sampling noise, two averages of T/2 passes are about
    √2 · √2 = 2 times as far apart as one average of
    T passes is from the exact mean); `"acc_ws"` the accuracy.
    """
    passes = check_int(passes, "passes", 2)
    x_tr, y_tr = split.x_train[:n_train], split.y_train[:n_train]
    x = split.x_test[:n_inputs]
    y = split.y_test[:n_inputs]
    shape = (len(depths), len(rates), len(seeds))
    tv, floor, acc = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    n_classes = len(split.classes)
    for i, depth in enumerate(depths):
        for j, rate in enumerate(rates):
            hidden = (width,) * depth

            def build(
                _seed: int, h: Sequence[int] = hidden, r: float = rate
            ) -> tuple[nn.Module, torch.optim.Optimizer]:
                return _mlp_adam(h, n_classes, r)

            runs = run_seeds(
                build,
                seeds,
                x_tr,
                y_tr,
                loss_fn=nn.CrossEntropyLoss(),
                epochs=epochs,
                batch_size=64,
            )
            for k, run in enumerate(_to_cpu(runs)):
                model = run.model
                if model is None:  # pragma: no cover - run_seeds keeps models
                    raise RuntimeError("run_seeds dropped the model")
                ws = weight_scaled_predict(model, x)
                mc = mc_samples_batched(model, x, passes, seed=1000 + k)
                h = passes // 2
                tv[i, j, k] = _tv(mc.mean(0), ws)
                floor[i, j, k] = _tv(mc[:h].mean(0), mc[h : 2 * h].mean(0)) / 2
                acc[i, j, k] = float((ws.argmax(1) == y).double().mean())
    return {"tv": tv, "floor": floor, "acc_ws": acc}


def _mlp_adam(
    hidden: Sequence[int], n_classes: int, p: float, lr: float = 1e-3
) -> tuple[nn.Module, torch.optim.Optimizer]:
    model = MLP(28 * 28, hidden, n_classes, p)
    return model, torch.optim.Adam(model.parameters(), lr=lr)


# --------------------------------------------------------------------------
# cost: looped versus batched passes
# --------------------------------------------------------------------------


def seed_dropout_generators(model: nn.Module, seed: int) -> nn.Module:
    """Give every `dropout_lib.nn.Dropout` in `model` its own generator,
    seeded `seed, seed + 1, ...` in module order (in place; returns `model`).

    Each layer then draws its masks from its own stream, in pass order, whether
    the T passes run one after another or as one tiled batch (CPU
    generators fill a tensor element by element), so looped and batched MC
    dropout see the same masks.
    """
    check_module(model)
    k = check_int(seed, "seed", 0)
    for m in model.modules():
        if isinstance(m, Dropout):
            m.generator = torch.Generator().manual_seed(k)
            k += 1
    return model


def time_mc(
    model: nn.Module, x: torch.Tensor, passes: int, repeats: int = 5
) -> dict[str, float]:
    """Median wall time (s) over `repeats` of `passes` MC passes on `x`,
    looped (`dropout_lib.inference.mc_samples`) and batched
    (`dropout_lib.uncertainty.mc_samples_batched`), and the speedup.

    The two forms run alternately; the speedup is the median over rounds of
    looped / batched time in the same round, so load from other processes that
    slows one round slows both of its terms."""
    repeats = check_int(repeats, "repeats", 1)
    times: dict[str, list[float]] = {"looped": [], "batched": []}
    fns: dict[str, Callable[[], Any]] = {
        "looped": lambda: mc_samples(model, x, passes),
        "batched": lambda: mc_samples_batched(model, x, passes),
    }
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    ratios = [a / b for a, b in zip(times["looped"], times["batched"], strict=True)]
    return {
        "looped": statistics.median(times["looped"]),
        "batched": statistics.median(times["batched"]),
        "speedup": statistics.median(ratios),
    }


# --------------------------------------------------------------------------
# BatchNorm: the wrong and the right way, in torch and in Keras
# --------------------------------------------------------------------------


def build_bn_mlp(
    n_classes: int = 8, hidden: int = 128, p: float = 0.3
) -> nn.Sequential:
    """`Flatten -> [Linear -> BatchNorm1d -> ReLU -> Dropout(p)] x 2 -> Linear`.

    Uses `torch.nn.Dropout` (the layer most code uses) so the Keras twin
    (`dropout_lib.keras_bridge.keras_from_torch`) can mirror it layer by layer.
    """
    check_probability(p, "p")
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Dropout(p),
        nn.Linear(hidden, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Dropout(p),
        nn.Linear(hidden, n_classes),
    )


# --------------------------------------------------------------------------
# a 1-D regression with a gap in the data
# --------------------------------------------------------------------------


def _gap_data(
    n: int, gen: torch.Generator, noise: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` points with x uniform on [-3, -1] or [1, 3] (the gap is (-1, 1))
    and y = sin(2x)/2 + x/4 + noise."""
    u = torch.rand(n, 1, generator=gen, dtype=torch.float64)
    side = torch.where(torch.rand(n, 1, generator=gen) < 0.5, -1.0, 1.0).double()
    x = side * (1.0 + 2.0 * u)
    y = (
        0.5 * torch.sin(2 * x)
        + 0.25 * x
        + noise * torch.randn(n, 1, generator=gen, dtype=torch.float64)
    )
    return x.float(), y.float()


def gap_regression(
    *,
    n_train: int = 80,
    p: float = 0.2,
    width: int = 64,
    weight_decay: float = 1e-4,
    steps: int = 500,
    passes: int = 200,
    noise: float = 0.1,
    seed: int = 0,
) -> dict[str, Any]:
    """MC dropout on a 1-D regression whose inputs leave a gap at (-1, 1).

    An MLP 1 -> width -> width -> 1 with dropout `p` before both hidden-to-
    hidden and hidden-to-output weight layers is fitted by full-batch Adam
    (`weight_decay`) to the mean squared error on `n_train` points.
    On a grid of x in [-4, 4] it returns the MC mean m(x) and the spread of
    the passes s(x) (`passes` passes). The model precision tau enters the
    predictive variance as s(x)^2 + 1/tau (Gal and Ghahramani 2016); here
    1/tau is fitted on 200 fresh validation points by matching the mean
    squared residual, 1/tau = max(mean((y - m)^2 - s^2), 0). `coverage`
    gives the fraction of 2000 fresh test points (inside the data region)
    that fall within m +- 2 s and within m +- 2 sqrt(s^2 + 1/tau).
    """
    p = check_probability(p, "p")
    gen = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    x, y = _gap_data(n_train, gen, noise)
    x_val, y_val = _gap_data(200, gen, noise)
    x_te, y_te = _gap_data(2000, gen, noise)
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(1, width),
        nn.ReLU(),
        nn.Dropout(p),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Dropout(p),
        nn.Linear(width, 1),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=weight_decay)
    model.train()
    for _ in range(check_int(steps, "steps", 1)):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    model.eval()

    def mc(xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with dropout_active(model, others="eval"), torch.no_grad():
            tiled = xs.repeat(passes, 1)
            out = model(tiled).reshape(passes, len(xs)).double()
        return out.mean(0), out.std(0)

    grid = torch.linspace(-4, 4, 161).reshape(-1, 1)
    m, sd = mc(grid)
    mv, sv = mc(x_val)
    inv_tau = max(float(((y_val[:, 0].double() - mv) ** 2 - sv**2).mean()), 0.0)
    mt, st = mc(x_te)
    r = (y_te[:, 0].double() - mt).abs()
    coverage = {
        "mc only": float((r <= 2 * st).double().mean()),
        "mc + 1/tau": float((r <= 2 * (st**2 + inv_tau).sqrt()).double().mean()),
    }
    gap = grid[:, 0].abs() < 1
    data = (grid[:, 0].abs() >= 1) & (grid[:, 0].abs() <= 3)
    return {
        "x": x[:, 0],
        "y": y[:, 0],
        "grid": grid[:, 0],
        "mean": m,
        "sd": sd,
        "inv_tau": inv_tau,
        "noise_var": noise**2,
        "coverage": coverage,
        "sd_gap": float(sd[gap].mean()),
        "sd_data": float(sd[data].mean()),
    }
