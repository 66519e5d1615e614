"""Tests for dropout_lib.training: History, accuracy, evaluate, train and the multi-seed
helpers.
"""

import numpy as np
import pytest
import torch
from torch import nn

from dropout_lib.models import MLP
from dropout_lib.training import (
    History,
    Run,
    accuracy,
    evaluate,
    final_values,
    run_seeds,
    stack_metric,
    to_tensors,
    train,
)


def binary_data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x, y


# ---------------------------------------------------------------- History


def test_history_append_getitem_final_epochs():
    h = History()
    assert h.epochs == 0
    h.append(train_loss=1.0, val_acc=np.float32(0.5))
    h.append(train_loss=0.5, val_acc=0.75)
    assert h["train_loss"] == [1.0, 0.5]
    assert h.final("val_acc") == 0.75
    assert isinstance(h["val_acc"][0], float)
    assert h.epochs == 2
    with pytest.raises(KeyError):
        h["missing"]


def test_histories_do_not_share_state():
    a, b = History(), History()
    a.append(x=1.0)
    assert b.metrics == {}


# ---------------------------------------------------------------- accuracy


def test_accuracy_binary_uses_logit_sign():
    out = torch.tensor([2.0, -1.0, 0.0, 0.5])
    y = torch.tensor([1, 0, 1, 0])
    # predictions 1, 0, 0 (0 is not > 0), 1
    assert accuracy(out, y) == pytest.approx(0.5)
    assert accuracy(out, y.float()) == pytest.approx(0.5)


def test_accuracy_multiclass_uses_argmax():
    out = torch.tensor([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    assert accuracy(out, torch.tensor([1, 0, 0])) == pytest.approx(2 / 3)


# ---------------------------------------------------------------- to_tensors


def test_to_tensors_dtypes_and_scaling():
    xi = np.full((2, 3, 3), 255, dtype=np.uint8)
    xt, yt = to_tensors(xi, np.array([1, 2]))
    assert xt.dtype == torch.float32 and float(xt.max()) == 1.0
    assert yt.dtype == torch.int64
    _, yf = to_tensors(np.zeros((2, 3)), np.array([0.0, 1.0]))
    assert yf.dtype == torch.float32
    xr, _ = to_tensors(xi, np.array([1, 2]), float_images=False)
    assert float(xr.max()) == 255.0


# ---------------------------------------------------------------- evaluate


def test_evaluate_restores_training_mode():
    model = MLP(5, [8], 1, dropout=0.5)
    x, y = binary_data()
    model.train()
    evaluate(model, x, y, nn.BCEWithLogitsLoss())
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    evaluate(model, x, y, nn.BCEWithLogitsLoss(), dropout_on=True)
    assert not model.training and not any(m.training for m in model.modules())


def test_evaluate_matches_direct_computation_and_batches():
    torch.manual_seed(0)
    model = MLP(5, [8], 3, dropout=0.5)
    x = torch.randn(50, 5)
    y = torch.randint(0, 3, (50,))
    loss_fn = nn.CrossEntropyLoss()
    model.eval()
    with torch.no_grad():
        out = model(x)
    want_loss, want_acc = loss_fn(out, y).item(), accuracy(out, y)
    model.train()
    for bs in (7, 50, 4096):
        loss, acc = evaluate(model, x, y, loss_fn, batch_size=bs)
        assert loss == pytest.approx(want_loss, rel=1e-5)
        assert acc == pytest.approx(want_acc)


def test_evaluate_is_deterministic_without_dropout_and_random_with_it():
    torch.manual_seed(0)
    model = MLP(5, [64, 64], 1, dropout=0.5)
    x, y = binary_data(256)
    loss_fn = nn.BCEWithLogitsLoss()
    assert evaluate(model, x, y, loss_fn) == evaluate(model, x, y, loss_fn)
    a = evaluate(model, x, y, loss_fn, dropout_on=True)
    b = evaluate(model, x, y, loss_fn, dropout_on=True)
    assert a != b


def test_evaluate_dropout_on_leaves_batchnorm_in_eval_mode():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(5, 8),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(8, 1),
        nn.Flatten(0),
    )
    x, y = binary_data()
    before = model[1].running_mean.clone()
    evaluate(model, x, y, nn.BCEWithLogitsLoss(), dropout_on=True)
    assert torch.equal(
        model[1].running_mean, before
    )  # a train-mode BN would have updated it


def test_evaluate_dropout_on_with_p_zero_equals_eval():
    torch.manual_seed(0)
    model = MLP(5, [8], 1, dropout=0.0)
    x, y = binary_data()
    loss_fn = nn.BCEWithLogitsLoss()
    assert evaluate(model, x, y, loss_fn, dropout_on=True) == evaluate(
        model, x, y, loss_fn
    )


# ---------------------------------------------------------------- train


def make_run(seed=0, p=0.5, epochs=3, out=1):
    x, y = binary_data(96)
    torch.manual_seed(seed)
    model = MLP(5, [16, 16], out, dropout=p)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.BCEWithLogitsLoss() if out == 1 else nn.CrossEntropyLoss()
    h = train(
        model,
        x,
        y,
        loss_fn=loss_fn,
        optimizer=opt,
        epochs=epochs,
        batch_size=32,
        eval_sets={"train_eval": (x, y)},
        seed=seed,
        device=torch.device("cpu"),
    )
    return model, h


def test_train_records_every_metric_every_epoch():
    model, h = make_run(epochs=4)
    assert set(h.metrics) == {
        "train_loss",
        "train_acc",
        "train_eval_loss",
        "train_eval_acc",
    }
    assert all(len(v) == 4 for v in h.metrics.values())
    assert h.epochs == 4
    assert not model.training  # train leaves the model in eval mode


def test_train_is_reproducible_with_the_same_seed():
    m1, h1 = make_run(seed=3)
    m2, h2 = make_run(seed=3)
    assert h1.metrics == h2.metrics
    for a, b in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(a, b)


def test_train_differs_with_another_seed():
    _, h1 = make_run(seed=1)
    _, h2 = make_run(seed=2)
    assert h1.metrics != h2.metrics


def test_train_learns_a_separable_problem():
    _, h = make_run(p=0.0, epochs=30)
    assert h.final("train_eval_acc") > 0.9
    assert h["train_loss"][-1] < h["train_loss"][0]


def test_train_multiclass():
    _, h = make_run(out=2, epochs=10)
    assert 0.0 <= h.final("train_acc") <= 1.0
    assert h.final("train_eval_acc") > 0.8


def test_train_without_dropout_train_metrics_are_epoch_averages():
    """With p = 0 and lr = 0 the weights never change, so the logged epoch averages
    equal eval metrics.
    """
    x, y = binary_data(96)
    torch.manual_seed(0)
    model = MLP(5, [16], 1, dropout=0.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    h = train(
        model,
        x,
        y,
        loss_fn=nn.BCEWithLogitsLoss(),
        optimizer=opt,
        epochs=2,
        batch_size=10,
        eval_sets={"all": (x, y)},
        device=torch.device("cpu"),
    )
    assert h["train_loss"] == pytest.approx(h["all_loss"], rel=1e-6)
    assert h["train_acc"] == pytest.approx(h["all_acc"])


def test_on_epoch_end_is_called():
    x, y = binary_data()
    model = MLP(5, [4], 1)
    calls = []
    train(
        model,
        x,
        y,
        loss_fn=nn.BCEWithLogitsLoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        epochs=3,
        batch_size=16,
        on_epoch_end=lambda e, m, h: calls.append((e, h.epochs)),
    )
    assert calls == [(0, 1), (1, 2), (2, 3)]


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 1.5}, "epochs"),
        ({"epochs": True}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": None}, "batch_size"),
    ],
)
def test_train_rejects_bad_arguments(kw, match):
    x, y = binary_data()
    model = MLP(5, [4], 1)
    args = dict(
        loss_fn=nn.BCEWithLogitsLoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        epochs=1,
        batch_size=8,
    )
    args.update(kw)
    with pytest.raises((TypeError, ValueError), match=match):
        train(model, x, y, **args)


def test_train_rejects_length_mismatch():
    x, y = binary_data()
    model = MLP(5, [4], 1)
    with pytest.raises(ValueError, match="same length"):
        train(
            model,
            x,
            y[:-1],
            loss_fn=nn.BCEWithLogitsLoss(),
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            epochs=1,
            batch_size=8,
        )


def test_train_does_not_modify_the_data():
    x, y = binary_data()
    x0, y0 = x.clone(), y.clone()
    model = MLP(5, [4], 1, dropout=0.5)
    train(
        model,
        x,
        y,
        loss_fn=nn.BCEWithLogitsLoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        epochs=2,
        batch_size=8,
    )
    assert torch.equal(x, x0) and torch.equal(y, y0)


# ---------------------------------------------------------------- several seeds


def test_stack_metric():
    h1, h2 = History(), History()
    for v in (1.0, 2.0):
        h1.append(a=v)
        h2.append(a=v + 1)
    np.testing.assert_array_equal(stack_metric([h1, h2], "a"), [[1.0, 2.0], [2.0, 3.0]])
    assert stack_metric(h1, "a").shape == (1, 2)
    with pytest.raises(KeyError, match="no metric"):
        stack_metric([h1], "b")
    h2.append(a=9.0)
    with pytest.raises(ValueError, match="different numbers of epochs"):
        stack_metric([h1, h2], "a")
    with pytest.raises(ValueError):
        stack_metric([], "a")
    with pytest.raises(TypeError):
        stack_metric([h1, {"a": [1]}], "a")


def test_run_seeds_is_reproducible_and_seed_dependent():
    x, y = binary_data(64)

    def build(seed):
        model = MLP(5, [8], 1, dropout=0.5)
        return model, torch.optim.Adam(model.parameters(), lr=1e-2)

    kw = dict(
        loss_fn=nn.BCEWithLogitsLoss(),
        epochs=2,
        batch_size=16,
        device=torch.device("cpu"),
        eval_sets={"train_eval": (x, y), "test": (x[:16], y[:16])},
    )
    runs_a = run_seeds(build, [0, 1], x, y, config="p=0.5", **kw)
    runs_b = run_seeds(build, [0, 1], x, y, config="p=0.5", keep_models=False, **kw)
    assert all(isinstance(r, Run) for r in runs_a)
    assert [r.history.metrics for r in runs_a] == [r.history.metrics for r in runs_b]
    assert runs_a[0].history.metrics != runs_a[1].history.metrics
    assert [r.seed for r in runs_a] == [0, 1] and runs_a[0].config == "p=0.5"
    assert runs_a[0].model is not None and runs_b[0].model is None
    r = runs_a[0]
    assert r.gap() == pytest.approx(r.final("train_eval_acc") - r.final("test_acc"))
    np.testing.assert_array_equal(
        final_values(runs_a, "test_acc"), [q.final("test_acc") for q in runs_a]
    )
    assert stack_metric(runs_a, "train_loss").shape == (2, 2)
    with pytest.raises(ValueError):
        run_seeds(build, [], x, y, **kw)
    with pytest.raises(ValueError):
        run_seeds(build, [-1], x, y, **kw)
    with pytest.raises(TypeError):
        run_seeds(build, [0], x, y, seed=3, **kw)
