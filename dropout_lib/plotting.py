"""Plotting helpers shared by the chapters: learning curves with seed bands.

A learning curve here is one metric of a `dropout_lib.training.History` against
the epoch number. When a configuration was trained with several seeds,
`plot_history` draws the mean over seeds, v̄ₑ = (1/n) Σᵢ v_(i,e), and a band
v̄ₑ ± sₑ with the sample standard deviation sₑ over the seeds at each epoch
`e`, exactly `dropout_lib.stats.mean_sd` applied epoch by epoch. A single run
has no spread: it is drawn as a line without a band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .stats import mean_sd
from .training import History, Run, stack_metric

__all__ = ["METRIC_LABELS", "metric_label", "mean_std_band", "plot_history"]

#: Readable names for the metrics `dropout_lib.training.train` records.
METRIC_LABELS: dict[str, str] = {
    "train_loss": "train loss (logged while training)",
    "train_acc": "train accuracy (logged while training)",
    "train_eval_loss": "train loss (eval mode)",
    "train_eval_acc": "train accuracy (eval mode)",
    "val_loss": "validation loss",
    "val_acc": "validation accuracy",
    "test_loss": "test loss",
    "test_acc": "test accuracy",
}

LINESTYLES = ("-", "--", ":", "-.")

HistoryGroup = History | Run | Sequence[History | Run]


def metric_label(name: str) -> str:
    """A readable label for a metric name: `METRIC_LABELS`, else the name with
    spaces for `_`.

    `train_*` metrics logged during training are labelled "logged while
    training" rather than "dropout on": for a network without dropout they are
    measured the same way, and only a network with dropout is thinned there.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str; got {type(name).__name__}")
    return METRIC_LABELS.get(name, name.replace("_", " "))


def mean_std_band(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation over runs, point by point.

    `values` has shape `[n_runs, n_points]` with `n_runs >= 2`; column e gives
    v̄ₑ and sₑ = √((1/(n−1)) Σᵢ (v_(i,e) − v̄ₑ)²), computed by
    `dropout_lib.stats.mean_sd` (the course's one definition). A single run has
    no spread, so it raises `ValueError` rather than returning a band of zeros
    (or NaN). The input is not modified.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(
            f"values must have shape [n_runs, n_points] with n_points > 0; "
            f"got {arr.shape}"
        )
    if arr.shape[0] < 2:
        raise ValueError(
            f"a band needs at least 2 runs (the sample sd of one run is undefined); "
            f"got {arr.shape[0]}"
        )
    summaries = [mean_sd(arr[:, e]) for e in range(arr.shape[1])]
    mean = np.array([s.mean for s in summaries])
    std = np.array([s.sd for s in summaries])
    return mean, std


HistoryLike = History | Run


def _as_history(h: object) -> History | None:
    if isinstance(h, Run):
        return h.history
    return h if isinstance(h, History) else None


def _as_groups(histories: Any) -> dict[str, list[History]]:
    single = _as_history(histories)
    if single is not None:
        return {"": [single]}
    if isinstance(histories, Mapping):
        groups = {}
        for label, group in histories.items():
            one = _as_history(group)
            items = [group] if one is not None else list(group)
            runs = [_as_history(h) for h in items]
            if not runs or any(h is None for h in runs):
                raise TypeError(
                    f"histories[{label!r}] must be a History or Run, or a non-empty "
                    "sequence of them"
                )
            groups[str(label)] = [h for h in runs if h is not None]
        if not groups:
            raise ValueError("histories must not be empty")
        return groups
    try:
        items = list(histories)
    except TypeError as exc:
        raise TypeError(
            "histories must be a History or Run, a sequence of them (seeds) or a "
            f"mapping label -> those; got {type(histories).__name__}"
        ) from exc
    runs = [_as_history(h) for h in items]
    if not runs or any(h is None for h in runs):
        raise TypeError(
            "histories must be a History or Run, a non-empty sequence of them or a "
            "mapping of those"
        )
    return {"": [h for h in runs if h is not None]}


def plot_history(
    histories: HistoryGroup | Mapping[str, HistoryGroup],
    metrics: str | Sequence[str],
    *,
    ax: Any = None,
    colors: Mapping[str, str] | None = None,
    band: bool = True,
    title: str | None = None,
    ylabel: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Any:
    """Draw learning curves: one colour per configuration, one line style per metric.

    Parameters
    ----------
    histories
        A `History` or `Run`, a sequence of them (one per seed:
        drawn as the mean with a mean ± sd band), or a mapping
        `label -> History | Run | [...]` comparing configurations.
    metrics
        Metric name(s) recorded in the histories, e.g. `["train_acc", "val_acc"]`.
    ax
        A Matplotlib Axes to draw on (a new figure is made if None).
    colors
        Optional `label -> colour` for the mapping form.
    band
        Shade v̄ₑ ± sₑ (`mean_std_band`) for groups of two or more runs; a
        single run is drawn as a line without a band.
    title, ylabel
        Optional axis title and y label.
    labels
        Optional `metric -> legend text` overriding `metric_label`.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on. Epochs are numbered from 1 on the x axis, with
        integer ticks only.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if not metrics or not all(isinstance(m, str) for m in metrics):
        raise TypeError(
            "metrics must be a metric name or a non-empty sequence of names"
        )
    groups = _as_groups(histories)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    prop_colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    for g, (label, runs) in enumerate(groups.items()):
        color = (colors or {}).get(label, prop_colors[g % len(prop_colors)])
        for k, metric in enumerate(metrics):
            values = stack_metric(runs, metric)
            several = values.shape[0] > 1
            if several:
                mean, std = mean_std_band(values)
            else:
                mean, std = values[0], np.zeros(0)
            epochs = np.arange(1, values.shape[1] + 1)
            name = (labels or {}).get(metric, metric_label(metric))
            line_label = f"{label}: {name}" if label else name
            ax.plot(
                epochs,
                mean,
                color=color,
                linestyle=LINESTYLES[k % len(LINESTYLES)],
                label=line_label,
            )
            if band and several:
                ax.fill_between(
                    epochs, mean - std, mean + std, color=color, alpha=0.2, linewidth=0
                )
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend()
    return ax
