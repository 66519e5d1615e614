"""Plotting helpers shared by the chapters: learning curves with seed bands.

A learning curve here is one metric of a :class:`~dropout_lib.training.History`
against the epoch number. When a configuration was trained with several seeds,
:func:`plot_history` draws the mean over seeds, :math:`\\bar v_e = \\frac1n\\sum_i v_{i,e}`,
and a band :math:`\\bar v_e \\pm s_e` with the sample standard deviation
:math:`s_e` (``ddof=1``) over the seeds at each epoch ``e``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .training import History, stack_metric

__all__ = ["METRIC_LABELS", "metric_label", "mean_std_band", "plot_history"]

#: Readable names for the metrics :func:`dropout_lib.training.train` records.
METRIC_LABELS: dict[str, str] = {
    "train_loss": "train loss (dropout on)",
    "train_acc": "train accuracy (dropout on)",
    "train_eval_loss": "train loss (dropout off)",
    "train_eval_acc": "train accuracy (dropout off)",
    "val_loss": "validation loss",
    "val_acc": "validation accuracy",
    "test_loss": "test loss",
    "test_acc": "test accuracy",
}

LINESTYLES = ("-", "--", ":", "-.")

HistoryGroup = History | Sequence[History]


def metric_label(name: str) -> str:
    """A readable label for a metric name (``METRIC_LABELS`` or the name with ``_`` as spaces)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str; got {type(name).__name__}")
    return METRIC_LABELS.get(name, name.replace("_", " "))


def mean_std_band(values) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise mean and sample standard deviation of ``values`` ``[n_runs, n_points]``.

    With a single run the standard deviation is zero. The input is not modified.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"values must have shape [n_runs, n_points] with both > 0; got {arr.shape}"
        )
    mean = arr.mean(axis=0)
    std = arr.std(axis=0, ddof=1) if arr.shape[0] > 1 else np.zeros_like(mean)
    return mean, std


def _as_groups(histories) -> dict[str, list[History]]:
    if isinstance(histories, History):
        return {"": [histories]}
    if isinstance(histories, Mapping):
        groups = {}
        for label, group in histories.items():
            runs = [group] if isinstance(group, History) else list(group)
            if not runs or not all(isinstance(h, History) for h in runs):
                raise TypeError(
                    f"histories[{label!r}] must be a History or a non-empty sequence of History objects"
                )
            groups[str(label)] = runs
        if not groups:
            raise ValueError("histories must not be empty")
        return groups
    try:
        runs = list(histories)
    except TypeError as exc:
        raise TypeError(
            "histories must be a History, a sequence of History (seeds) or a mapping label -> those; "
            f"got {type(histories).__name__}"
        ) from exc
    if not runs or not all(isinstance(h, History) for h in runs):
        raise TypeError(
            "histories must be a History, a non-empty sequence of History or a mapping of those"
        )
    return {"": runs}


def plot_history(
    histories: HistoryGroup | Mapping[str, HistoryGroup],
    metrics: str | Sequence[str],
    *,
    ax=None,
    colors: Mapping[str, str] | None = None,
    band: bool = True,
    title: str | None = None,
    ylabel: str | None = None,
):
    """Draw learning curves: one colour per configuration, one line style per metric.

    Parameters
    ----------
    histories
        A :class:`History`, a sequence of them (one per seed: drawn as the mean
        with a mean ± std band), or a mapping ``label -> History | [History, ...]``
        comparing configurations.
    metrics
        Metric name(s) recorded in the histories, e.g. ``["train_acc", "val_acc"]``.
    ax
        A Matplotlib Axes to draw on (a new figure is made if None).
    colors
        Optional ``label -> colour`` for the mapping form.
    band
        Shade :math:`\\bar v_e \\pm s_e` when there are several runs.
    title, ylabel
        Optional axis title and y label.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on. Epochs are numbered from 1 on the x axis.
    """
    import matplotlib.pyplot as plt

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
            mean, std = mean_std_band(values)
            epochs = np.arange(1, values.shape[1] + 1)
            name = metric_label(metric)
            line_label = f"{label}: {name}" if label else name
            ax.plot(
                epochs,
                mean,
                color=color,
                linestyle=LINESTYLES[k % len(LINESTYLES)],
                label=line_label,
            )
            if band and values.shape[0] > 1:
                ax.fill_between(
                    epochs, mean - std, mean + std, color=color, alpha=0.2, linewidth=0
                )
    ax.set_xlabel("epoch")
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax
