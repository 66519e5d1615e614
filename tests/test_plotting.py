"""Tests for dropout_lib.plotting: learning curves with mean ± std bands."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from dropout_lib.plotting import mean_std_band, metric_label, plot_history
from dropout_lib.stats import mean_sd
from dropout_lib.training import History, Run

matplotlib.use("Agg")


def hist(values, name="val_acc", other="train_acc"):
    h = History()
    for v in values:
        h.append(**{name: v, other: v + 0.1})
    return h


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_mean_std_band():
    mean, std = mean_std_band([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(mean, [2.0, 4.0])
    np.testing.assert_allclose(std, [np.sqrt(2.0), np.sqrt(8.0)])  # ddof = 1
    with pytest.raises(ValueError, match="at least 2 runs"):
        mean_std_band([[1.0, 2.0, 3.0]])  # one run has no spread: not 0, not NaN
    with pytest.raises(ValueError):
        mean_std_band([1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        mean_std_band(np.zeros((0, 3)))
    with pytest.raises(ValueError):
        mean_std_band(np.zeros((2, 2, 2)))


def test_mean_std_band_is_mean_sd_per_point():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(5, 7))
    mean, std = mean_std_band(v)
    for e in range(7):
        s = mean_sd(v[:, e])
        assert mean[e] == s.mean and std[e] == s.sd


def test_mean_std_band_does_not_modify_input():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = a.copy()
    mean_std_band(a)
    np.testing.assert_array_equal(a, b)


def test_metric_label():
    assert metric_label("train_acc") == "train accuracy (logged while training)"
    assert "dropout" not in metric_label("train_loss")
    assert metric_label("foo_bar") == "foo bar"
    with pytest.raises(TypeError):
        metric_label(3)


def test_single_history_draws_one_line_per_metric_without_band():
    ax = plot_history(hist([0.5, 0.6, 0.7]), ["train_acc", "val_acc"])
    assert len(ax.lines) == 2
    assert len(ax.collections) == 0
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [0.5, 0.6, 0.7])
    assert ax.get_xlabel() == "epoch"


def test_seeds_are_averaged_with_a_band():
    runs = [hist([0.5, 0.6]), hist([0.7, 1.0])]
    ax = plot_history(runs, "val_acc", title="t", ylabel="acc")
    assert len(ax.lines) == 1 and len(ax.collections) == 1
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.6, 0.8])
    assert ax.get_title() == "t" and ax.get_ylabel() == "acc"
    ax2 = plot_history(runs, "val_acc", band=False)
    assert len(ax2.collections) == 0


def test_mapping_colours_and_labels():
    fig, ax = plt.subplots()
    groups = {
        "p = 0": [hist([0.5, 0.6]), hist([0.5, 0.7])],
        "p = 0.5": hist([0.4, 0.5]),
    }
    out = plot_history(
        groups, ["train_acc", "val_acc"], ax=ax, colors={"p = 0.5": "red"}
    )
    assert out is ax
    assert len(ax.lines) == 4
    labels = [line.get_label() for line in ax.lines]
    assert labels[0] == "p = 0: train accuracy (logged while training)"
    assert labels[3] == "p = 0.5: validation accuracy"
    assert ax.lines[0].get_linestyle() != ax.lines[1].get_linestyle()
    assert matplotlib.colors.same_color(ax.lines[2].get_color(), "red")
    assert ax.lines[0].get_color() == ax.lines[1].get_color()


@pytest.mark.parametrize("bad", [[], 3, {"a": []}, {"a": [1, 2]}, ["x"]])
def test_rejects_bad_histories(bad):
    with pytest.raises((TypeError, ValueError)):
        plot_history(bad, "val_acc")


def test_rejects_bad_metrics_and_missing_metric():
    with pytest.raises(TypeError):
        plot_history(hist([0.1]), [])
    with pytest.raises(KeyError):
        plot_history(hist([0.1]), "nope")


def test_runs_are_accepted_and_labels_override():
    runs = [Run("a", s, hist([0.5, 0.6 + s / 10])) for s in range(3)]
    ax = plot_history(
        {"p = 0": runs}, "train_acc", labels={"train_acc": "logged train accuracy"}
    )
    assert ax.lines[0].get_label() == "p = 0: logged train accuracy"
    assert len(ax.collections) == 1


def test_epoch_ticks_are_integers():
    ax = plot_history(
        [hist(np.linspace(0.5, 0.9, 10)), hist(np.linspace(0.4, 0.9, 10))], "val_acc"
    )
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 10]
    assert ticks and all(float(t).is_integer() for t in ticks)
