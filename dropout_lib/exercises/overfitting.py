"""Checkers for the exercises of chapter 1 (overfitting).

Each checker calls the learner's function through `._checking` on cases
with known answers and returns True, or raises
`dropout_lib.exercises._checking.CheckFailed` naming the case that
failed and a hint. A learner's exception is reported the same way. No check
uses `assert`, so the checkers work under `python -O` too.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..validation import check_int
from ._checking import call_learner, fail, require, require_callable

__all__ = [
    "check_decay_builder",
    "check_early_stopping",
    "check_param_count",
    "reference_early_stopping",
    "reference_param_count",
]


def reference_param_count(
    in_features: int, hidden: Sequence[int], out_features: int
) -> int:
    """Number of trainable parameters of a fully connected net
    `in -> hidden... -> out`.

    A `Linear(a, b)` layer has a weight matrix b × a and a bias of
    length b, so (a + 1) b parameters; the net has
    Σₗ (nₗ₋₁ + 1) nₗ with n₀ the inputs and
    n_L the outputs. Dropout layers add none. Widths must be integers
    ≥ 1 (`ValueError`/`TypeError` otherwise).
    """
    widths = [check_int(in_features, "in_features", 1)]
    widths += [check_int(h, "hidden entries", 1) for h in hidden]
    widths.append(check_int(out_features, "out_features", 1))
    return sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:], strict=True))


def reference_early_stopping(
    val_losses: Sequence[float], patience: int
) -> tuple[int, int]:
    """Early stopping on a validation loss: `(best_epoch, stop_epoch)`, both counted
    from 1.

    An epoch *improves* if its loss is strictly below every earlier loss. Training
    stops after `patience` consecutive epochs without improvement, i.e. at
    epoch `best + patience`, or at the last epoch if that comes first. The
    weights restored are those of `best_epoch`, the FIRST epoch reaching the
    minimum seen up to the stop. `patience` must be an integer ≥ 1.
    """
    patience = check_int(patience, "patience", 1)
    best_epoch, best = 0, float("inf")
    for e, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch = loss, e
        elif e - best_epoch >= patience:
            return best_epoch, e
    return best_epoch, len(val_losses)


def check_param_count(fn: Callable[[int, Sequence[int], int], int]) -> bool:
    """Check `fn(in_features, hidden, out_features)` counts an MLP's parameters.

    The answer is compared with PyTorch's own count for
    `dropout_lib.models.MLP` (which must equal
    `reference_param_count`) on several layouts, including the chapter's
    20-64-64-1 net and a net without hidden layers.
    """
    from ..models import MLP

    require_callable(fn, "fn", "(in_features, hidden, out_features) -> int")
    cases = [
        (20, [64, 64], 1),
        (20, [], 1),
        (784, [256, 256], 10),
        (3, [5], 2),
        (1, [1, 1, 1], 1),
    ]
    for in_f, hidden, out_f in cases:
        want = sum(
            p.numel() for p in MLP(in_f, hidden, out_f, dropout=0.5).parameters()
        )
        if want != reference_param_count(in_f, hidden, out_f):
            raise RuntimeError(  # the checker's own consistency, not the learner's
                f"MLP{(in_f, hidden, out_f)} has {want} parameters, the formula "
                f"{reference_param_count(in_f, hidden, out_f)}"
            )
        layout = f"layout {in_f}-{hidden}-{out_f}"
        got = call_learner(
            fn,
            in_f,
            list(hidden),
            out_f,
            what=layout,
            hint="accept (int, list of ints, int) and return an int",
        )
        if isinstance(got, bool) or not isinstance(got, numbers.Integral):
            fail(
                f"{layout}: return an int; got {type(got).__name__}",
                "count parameters with integer arithmetic",
            )
        if got != want:
            widths = [in_f, *hidden, out_f]
            no_bias = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
            hint = (
                "it looks like the biases are missing: a Linear(a, b) layer has a*b "
                "weights AND b biases"
                if got == no_bias
                else "count (fan_in + 1) * fan_out for every Linear layer, output "
                "layer included"
            )
            fail(f"{layout}: expected {want} parameters, got {got}", hint)
    return True


def check_early_stopping(
    fn: Callable[[Sequence[float], int], tuple[int, int]],
) -> bool:
    """Check `fn(val_losses, patience) -> (best_epoch, stop_epoch)` (epochs counted
    from 1).

    Cases cover a strict minimum, a plateau (ties do not count as improvement),
    a loss that never stops improving, patience 1, and a minimum at epoch 1.
    """
    require_callable(fn, "fn", "(val_losses, patience) -> (best_epoch, stop_epoch)")
    cases = [
        ([1.0, 0.8, 0.7, 0.75, 0.9, 1.0, 1.1], 2),  # minimum at 3, stop at 5
        ([1.0, 0.8, 0.8, 0.8, 0.8], 2),  # tie is not an improvement: best 2, stop 4
        ([1.0, 0.9, 0.8, 0.7], 3),  # never stops early
        ([0.5, 0.6, 0.4, 0.3], 1),  # patience 1: stop at 2
        ([0.5, 0.6, 0.7, 0.8, 0.9], 3),  # best at epoch 1
        # a late improvement resets the counter
        ([0.9, 0.7, 0.71, 0.72, 0.69, 0.8, 0.81, 0.9], 3),
    ]
    for losses, patience in cases:
        want = reference_early_stopping(losses, patience)
        case = f"val_losses={losses}, patience={patience}"
        got = call_learner(
            fn,
            list(losses),
            patience,
            what=case,
            hint="accept a list of floats and an int",
        )
        try:
            pair = (int(got[0]), int(got[1]))
        except (TypeError, ValueError, IndexError, KeyError):
            fail(
                f"{case}: return a pair (best_epoch, stop_epoch); got {got!r}",
                "return a tuple of two ints",
            )
        if pair != want:
            if pair == (want[0] - 1, want[1] - 1):
                hint = "epochs are counted from 1, not 0"
            elif pair[0] != want[0]:
                hint = (
                    "an epoch improves only if its loss is STRICTLY below the best so "
                    "far; keep the first epoch that reaches the minimum"
                )
            else:
                hint = (
                    "stop after `patience` epochs in a row without improvement, i.e. "
                    "at best_epoch + patience"
                )
            fail(f"{case}: expected (best, stop) = {want}, got {pair}", hint)
    return True


def check_decay_builder(
    fn: Callable[[float], Callable[[int], tuple[nn.Module, torch.optim.Optimizer]]],
) -> bool:
    """Check `fn(weight_decay) -> build`, where `build(seed) -> (model, optimizer)`
    makes the small regime's network WITHOUT dropout (20 → 256 → 256 → 1) and an
    optimizer with weight decay λ = `weight_decay` on that model's parameters.

    The penalty may be coupled (Adam's `weight_decay`, the gradient of
    (λ/2)‖θ‖²) or decoupled (AdamW's); what is checked: no active dropout
    layer, the widths, λ in the optimizer's parameter groups, the optimizer
    updating exactly this model's parameters, and a fresh model per call.
    """
    require_callable(fn, "fn", "(weight_decay) -> build(seed) -> (model, optimizer)")
    for lam in (0.01, 0.1):
        build = call_learner(fn, lam, what=f"weight_decay={lam}", hint="return build")
        require(
            callable(build),
            f"weight_decay={lam}: fn must return a function build(seed)",
            "return the inner function, not its result",
        )
        pair = call_learner(build, 0, what="build(0)", hint="return (model, optimizer)")
        try:
            model, opt = pair
        except (TypeError, ValueError):
            fail(f"build(0) must return (model, optimizer); got {pair!r}")
        require(
            isinstance(model, nn.Module) and isinstance(opt, torch.optim.Optimizer),
            "build(0) must return an nn.Module and a torch.optim.Optimizer",
        )
        drops = [
            m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)
        ]
        drops += [m for m in model.modules() if type(m).__name__ == "Dropout"]
        require(
            all(float(getattr(m, "p", 0.0)) == 0.0 for m in drops),
            "the network still has dropout",
            "compare weight decay against dropout: build the network with dropout=0",
        )
        widths = [
            (m.in_features, m.out_features)
            for m in model.modules()
            if isinstance(m, nn.Linear)
        ]
        require(
            widths == [(20, 256), (256, 256), (256, 1)],
            f"expected Linear layers 20-256-256-1; got {widths}",
            "use MLP(20, [256, 256], 1)",
        )
        decays = {float(g.get("weight_decay", 0.0)) for g in opt.param_groups}
        require(
            lam in decays,
            f"weight_decay={lam}: the optimizer's weight_decay is {sorted(decays)}",
            "pass weight_decay to the optimizer (Adam or AdamW)",
        )
        in_opt = {id(t) for g in opt.param_groups for t in g["params"]}
        require(
            {id(t) for t in model.parameters()} <= in_opt,
            "the optimizer does not update this model's parameters",
            "create the optimizer from the model that build returns",
        )
        again, _ = call_learner(build, 1, what="build(1)", hint="return a new model")
        require(
            again is not model,
            "build returned the same model object twice",
            "make a fresh network inside build(seed), one per seed",
        )
    return True
