"""Tests for dropout_lib.studies.practice (chapter 10: recipe, max-norm, diagram)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from dropout_lib.studies.practice import (
    SRIVASTAVA_DEFAULTS,
    MaxNorm,
    RecipeStep,
    build_recipe_model,
    draw_decision_diagram,
    max_norm_,
    run_recipe,
)


def test_srivastava_keep_probabilities_are_probabilities():
    lo, hi = SRIVASTAVA_DEFAULTS["keep q, hidden units (range)"]
    assert 0 < lo < hi <= 1 and SRIVASTAVA_DEFAULTS["keep q, real-valued inputs"] == 0.8


def test_max_norm_projects_rows_and_spares_output_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        model[0].weight.copy_(
            torch.tensor([[3.0, 4, 0, 0], [0.1, 0, 0, 0], [0, 0, 6, 8]])
        )
        model[2].weight.fill_(10.0)
    out_before = model[2].weight.clone()
    assert max_norm_(model, 5.0) == 1  # only the third row (norm 10) is over 5
    norms = model[0].weight.norm(dim=1)
    assert torch.allclose(norms, torch.tensor([5.0, 0.1, 5.0]))
    # direction kept
    assert torch.allclose(model[0].weight[2], torch.tensor([0.0, 0, 3, 4]))
    assert torch.equal(model[2].weight, out_before)
    assert max_norm_(model, 5.0) == 0  # idempotent


@pytest.mark.parametrize(
    "c, exc",
    [
        (0, ValueError),
        (-1.0, ValueError),
        ("3", TypeError),
        (float("inf"), ValueError),
        (True, TypeError),
    ],
)
def test_max_norm_rejects_bad_c(c, exc):
    with pytest.raises(exc, match="c"):
        max_norm_(nn.Linear(2, 2), c)


def test_maxnorm_wrapper_steps_then_projects():
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1))
    opt = MaxNorm(torch.optim.SGD(model.parameters(), lr=100.0), model, 1.0)
    loss = model(torch.ones(8, 3)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert float(model[0].weight.detach().norm(dim=1).max()) <= 1.0 + 1e-6
    assert opt.param_groups is opt.optimizer.param_groups
    with pytest.raises(TypeError, match="optimizer"):
        MaxNorm(object(), model, 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"hidden_p": 1.0}, ValueError),
        ({"input_p": -0.1}, ValueError),
        ({"width": 0}, ValueError),
        ({"max_norm": 0.0}, ValueError),
        ({"weight_decay": -1.0}, ValueError),
        ({"lr": 0}, ValueError),
        ({"weight_decay": "x"}, TypeError),
    ],
)
def test_recipe_step_validates(kwargs, exc):
    with pytest.raises(exc):
        RecipeStep("bad", **kwargs)


def test_build_recipe_model_layout():
    model, opt = build_recipe_model(
        RecipeStep("s", hidden_p=0.5, input_p=0.2, width=8, max_norm=3.0), 5
    )
    drops = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert drops == [0.2, 0.5, 0.5]
    assert isinstance(opt, MaxNorm) and opt.c == 3.0
    plain, opt2 = build_recipe_model(RecipeStep("s", width=8), 5)
    assert not any(isinstance(m, nn.Dropout) for m in plain.modules())
    assert isinstance(opt2, torch.optim.AdamW)


def test_run_recipe_pairs_seeds_and_records_eval_metrics():
    torch.manual_seed(0)
    x, y = torch.randn(40, 3), (torch.rand(40) > 0.5).long()
    step = RecipeStep("s", hidden_p=0.5, width=8)
    a = run_recipe(step, (x, y), {"val": (x, y)}, [0, 1], epochs=2, batch_size=16)
    b = run_recipe(step, (x, y), {"val": (x, y)}, [0, 1], epochs=2, batch_size=16)
    assert [r.seed for r in a] == [0, 1] and len(a[0].history["val_loss"]) == 2
    assert a[0].final("val_loss") == b[0].final("val_loss")  # same seed, same run
    assert a[0].final("val_loss") != a[1].final("val_loss")
    x_input = (x, y)
    with pytest.raises(ValueError, match="2-D"):
        run_recipe(step, (x[:, None], y), {}, [0], epochs=1)
    assert x_input[0].shape == (40, 3)


def test_decision_diagram_draws_every_node():
    fig, ax = plt.subplots()
    draw_decision_diagram(ax)
    texts = " ".join(t.get_text() for t in ax.texts)
    for word in ("overfit", "Underfitting", "BatchNorm", "Transformer", "single-epoch"):
        assert word in texts
    plt.close(fig)
