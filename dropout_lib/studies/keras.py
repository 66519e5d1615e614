"""Keras 3 next to ``dropout_lib``: the tutorial's model in both frameworks, and tools to compare them.

Keras is imported lazily, inside the functions that need it, so ``import
dropout_lib`` never requires Keras. Keras reads its backend once, at import:
:func:`import_keras` sets ``KERAS_BACKEND=torch`` first (no TensorFlow needed)
and refuses to continue if Keras was already imported with another backend.

Conventions: ``rate`` (Keras) and ``p`` (``dropout_lib``) are both the DROP
probability; :math:`q = 1 - p` is the keep probability.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .validation import check_probability, check_real_array

__all__ = [
    "DropoutSummary",
    "TutorialResult",
    "dropout_summary",
    "fit_tutorial_keras",
    "fit_tutorial_torch",
    "import_keras",
    "keras_dropout_behaviour",
    "kept_mask",
    "mlp_from_keras",
    "observed_keras_behaviour",
    "shared_along",
    "training_flag_probe",
    "tutorial_keras_model",
]


# --------------------------------------------------------------------------- Keras import


def import_keras(backend: str = "torch"):
    """Import Keras 3 on ``backend`` (default ``"torch"``) and return the module.

    Keras chooses its backend when it is first imported, from the environment
    variable ``KERAS_BACKEND``. This sets the variable if it is unset and checks
    that an already imported Keras uses ``backend``; otherwise it raises
    ``RuntimeError`` (restart the kernel and set the variable before importing).
    """
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string; got backend={backend!r}")
    requested = os.environ.setdefault("KERAS_BACKEND", backend)
    if requested != backend and "keras" not in sys.modules:
        raise RuntimeError(
            f"KERAS_BACKEND is set to {requested!r} but backend={backend!r} was requested; "
            "unset the variable or ask for the same backend"
        )
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(
            f"keras was already imported with backend {keras.backend.backend()!r}; "
            f"set KERAS_BACKEND={backend} before the first `import keras` (restart the kernel)"
        )
    return keras


# --------------------------------------------------------------------------- rate semantics by version

Behaviour = str  # "raises" | "identity" | "zeros" | "dropout"


def keras_dropout_behaviour(
    rate: float, version: int, *, training: bool = True
) -> Behaviour:
    """What a Keras ``Dropout`` layer with this ``rate`` does, in Keras 1, 2 or 3.

    Returns one of ``"raises"`` (the constructor raises ``ValueError``),
    ``"identity"`` (the input is returned unchanged), ``"zeros"`` (every entry
    is zeroed) or ``"dropout"`` (inverted dropout: each entry is zeroed with
    probability ``rate`` and the others are multiplied by :math:`1/(1-\\text{rate})`).

    * Keras 1 (``Dropout(p)``): the layer applied
      ``K.in_train_phase(K.dropout(x, p), x)`` only when :math:`0 < p < 1`, and
      returned ``x`` otherwise, without checking ``p``. (The backend function
      ``K.dropout`` itself rejected levels outside :math:`[0, 1)`, but the layer
      never called it with such a level.)
    * Keras 2 (``Dropout(rate)``): the constructor silently clamped
      ``rate = min(1, max(0, rate))``; the call kept the
      :math:`0 < \\text{rate} < 1` guard, so any rate :math:`\\ge 1` meant *no*
      dropout at all.
    * Keras 3: the constructor raises ``ValueError`` unless
      :math:`0 \\le \\text{rate} \\le 1` (NaN included); rate 0 is the identity and
      rate 1 gives zeros.

    With ``training=False`` every version returns the input (if it constructs).
    """
    if isinstance(version, bool) or version not in (1, 2, 3):
        raise ValueError(f"version must be 1, 2 or 3; got version={version!r}")
    if isinstance(rate, (bool, np.bool_)) or not isinstance(
        rate, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"rate must be a real number; got rate={rate!r}")
    r = float(rate)
    if version == 3:
        if not 0.0 <= r <= 1.0:  # False for NaN too
            return "raises"
        if not training or r == 0.0:
            return "identity"
        return "zeros" if r == 1.0 else "dropout"
    if version == 2:
        r = min(1.0, max(0.0, r))  # NaN: max(0.0, nan) is 0.0
    if training and 0.0 < r < 1.0:
        return "dropout"
    return "identity"


# --------------------------------------------------------------------------- reading a mask back


def kept_mask(x: Any, out: Any) -> np.ndarray:
    """Recover which entries a dropout layer kept, from its input ``x`` and output ``out``.

    Entry :math:`i` counts as kept when :math:`\\text{out}_i \\ne 0`. Entries where
    :math:`x_i = 0` are ambiguous (dropped and kept look alike), so ``x`` must
    have no zeros; ``ValueError`` otherwise, or if the shapes differ.
    """
    x = check_real_array(x, "x")
    out = check_real_array(out, "out")
    if x.shape != out.shape:
        raise ValueError(
            f"x and out must have the same shape; got {x.shape} and {out.shape}"
        )
    if np.any(x == 0):
        raise ValueError(
            "x must have no zero entries: a zero input hides whether it was dropped"
        )
    return out != 0


class DropoutSummary(NamedTuple):
    """What one application of dropout did to ``x``.

    ``dropped_fraction`` is the share of entries set to 0; ``scale_min`` and
    ``scale_max`` bound :math:`\\text{out}_i / x_i` over the kept entries (both
    equal :math:`1/q` for exact inverted dropout; NaN when nothing was kept);
    ``n`` is the number of entries.
    """

    dropped_fraction: float
    scale_min: float
    scale_max: float
    n: int


def dropout_summary(x: Any, out: Any) -> DropoutSummary:
    """Summarise one dropout application: the dropped fraction and the scale of the kept entries.

    For inverted dropout with drop probability :math:`p`, the dropped fraction
    of :math:`n` entries has mean :math:`p` and standard deviation
    :math:`\\sqrt{p(1-p)/n}`, and every kept entry satisfies
    :math:`\\text{out}_i / x_i = 1/(1-p)` up to rounding. ``x`` must have no
    zeros (see :func:`kept_mask`). The ratios are computed in float64.
    """
    mask = kept_mask(x, out)
    x64 = np.asarray(x, dtype=np.float64)
    out64 = np.asarray(out, dtype=np.float64)
    n = int(mask.size)
    if n == 0:
        raise ValueError("x must have at least one entry")
    ratios = out64[mask] / x64[mask]
    if ratios.size == 0:
        lo = hi = float("nan")
    else:
        lo, hi = float(ratios.min()), float(ratios.max())
    return DropoutSummary(float(1.0 - mask.mean()), lo, hi, n)


def shared_along(mask: Any, axes: int | Sequence[int]) -> bool:
    """True if ``mask`` is constant along every axis in ``axes``.

    A mask drawn at a ``noise_shape`` with size 1 on an axis and broadcast to
    the input is constant along that axis; an element-wise mask (almost
    surely) is not. ``SpatialDropout2D`` on ``(N, H, W, C)`` inputs, for
    example, gives masks shared along axes ``(1, 2)``.
    """
    m = np.asarray(mask)
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        axes = (int(axes),)
    try:
        axes = tuple(axes)
    except TypeError as exc:
        raise TypeError(
            f"axes must be an int or a sequence of ints; got axes={axes!r}"
        ) from exc
    if any(
        isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer))
        for a in axes
    ):
        raise TypeError(f"axes must be an int or a sequence of ints; got axes={axes!r}")
    axes = tuple(int(a) for a in axes)
    for a in axes:
        if not -m.ndim <= a < m.ndim:
            raise ValueError(f"axis {a} is out of range for a mask of rank {m.ndim}")
    if m.size == 0:
        return True
    first = m
    for a in axes:
        first = np.take(first, [0], axis=a)
    return bool(np.all(m == first))


# --------------------------------------------------------------------------- the tutorial's experiment


def tutorial_keras_model(
    in_features: int = 20,
    hidden: Sequence[int] = (64, 64),
    rate: float = 0.5,
    *,
    seed: int = 0,
    learning_rate: float = 1e-3,
):
    """The tutorial's Keras model, compiled: ``Dense(64, relu) -> Dropout -> Dense(64, relu) -> Dropout -> Dense(1, sigmoid)``.

    Adam (``learning_rate``), binary cross-entropy on the sigmoid output,
    accuracy as the metric. Every source of randomness is seeded from ``seed``:
    the Glorot-uniform kernels (Keras's default initialiser, zero biases) and
    each ``Dropout`` layer's mask stream. A rate of 0 adds no ``Dropout`` layer.
    """
    keras = import_keras()
    rate = check_probability(rate, "rate")
    hidden = list(hidden)
    if any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
        raise ValueError(
            f"hidden widths must be positive integers; got hidden={hidden!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got seed={seed!r}")
    layers: list = [keras.Input(shape=(in_features,))]
    for i, width in enumerate(hidden):
        init = keras.initializers.GlorotUniform(seed=seed * 1000 + i)
        layers.append(
            keras.layers.Dense(width, activation="relu", kernel_initializer=init)
        )
        if rate > 0:
            layers.append(keras.layers.Dropout(rate, seed=seed * 1000 + 100 + i))
    out_init = keras.initializers.GlorotUniform(seed=seed * 1000 + len(hidden))
    layers.append(
        keras.layers.Dense(1, activation="sigmoid", kernel_initializer=out_init)
    )
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


class TutorialResult(NamedTuple):
    """One training run: the per-epoch :class:`~dropout_lib.training.History` and final accuracies.

    History names: ``train_loss``/``train_acc`` (averaged over the epoch with
    dropout ON) and ``val_loss``/``val_acc`` (dropout OFF). ``train_eval_acc``
    is the trained network's accuracy on the training rows with dropout OFF, and
    ``train_thinned_acc`` the same final weights' accuracy on the same rows with
    dropout ON (averaged over ``THINNED_DRAWS`` independent masks per row).
    """

    history: Any
    test_acc: float
    train_eval_acc: float
    train_thinned_acc: float


#: Mask draws averaged in :attr:`TutorialResult.train_thinned_acc`.
THINNED_DRAWS = 10


def _keras_history(h) -> Any:
    from .training import History

    names = {
        "loss": "train_loss",
        "accuracy": "train_acc",
        "val_loss": "val_loss",
        "val_accuracy": "val_acc",
    }
    out = History()
    for k, v in h.history.items():
        if k in names:
            out.metrics[names[k]] = [float(a) for a in v]
    return out


def fit_tutorial_keras(
    data: Any,
    *,
    seed: int = 0,
    rate: float = 0.5,
    epochs: int = 20,
    batch_size: int = 32,
) -> TutorialResult:
    """Train :func:`tutorial_keras_model` with ``model.fit`` and evaluate it with ``model.evaluate``.

    ``data`` holds ``x_train, y_train, x_val, y_val, x_test, y_test`` (for example
    :func:`dropout_lib.data.synthetic_classification`); labels are cast to
    float32. ``keras.utils.set_random_seed(seed)`` fixes the shuffling of the
    batches; weights and masks are seeded by the model itself. The validation
    rows are passed as ``validation_data``, so both frameworks see the same rows.
    """
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    x_tr, y_tr, x_val, y_val, x_te, y_te = (
        f32(a)
        for a in (
            data.x_train,
            data.y_train,
            data.x_val,
            data.y_val,
            data.x_test,
            data.y_test,
        )
    )
    model = tutorial_keras_model(x_tr.shape[1], (64, 64), rate, seed=seed)
    h = model.fit(
        x_tr,
        y_tr,
        validation_data=(x_val, y_val),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
    )
    _, test_acc = model.evaluate(x_te, y_te, verbose=0)
    _, train_acc = model.evaluate(x_tr, y_tr, verbose=0)
    thinned = np.mean(
        [
            np.mean(
                (
                    np.asarray(
                        keras.ops.convert_to_numpy(model(x_tr, training=True))
                    ).ravel()
                    > 0.5
                )
                == (y_tr > 0.5)
            )
            for _ in range(THINNED_DRAWS)
        ]
    )
    return TutorialResult(
        _keras_history(h), float(test_acc), float(train_acc), float(thinned)
    )


def fit_tutorial_torch(
    data: Any,
    *,
    seed: int = 0,
    rate: float = 0.5,
    epochs: int = 20,
    batch_size: int = 32,
) -> TutorialResult:
    """The same experiment in PyTorch: ``MLP(20, [64, 64], 1, rate)`` trained by :func:`dropout_lib.training.train`.

    Same ``data``, epochs and batch size as :func:`fit_tutorial_keras`;
    ``torch.manual_seed(seed)`` sets the initial weights and the masks, and
    ``seed`` the batch order.

    Each framework keeps its own defaults: PyTorch's ``Linear`` initialisation,
    ``Adam(lr=1e-3)`` with ``eps=1e-8`` (Keras: ``1e-7``), and the loss on logits
    (``BCEWithLogitsLoss``) instead of on sigmoid probabilities.
    """
    import torch

    from .models import MLP
    from .training import evaluate, to_tensors, train

    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    torch.manual_seed(seed)
    model = MLP(data.x_train.shape[1], [64, 64], 1, rate)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = to_tensors(f32(data.x_train), f32(data.y_train))
    val = to_tensors(f32(data.x_val), f32(data.y_val))
    hist = train(
        model,
        x,
        y,
        loss_fn=loss_fn,
        optimizer=opt,
        epochs=epochs,
        batch_size=batch_size,
        eval_sets={"val": val},
        seed=seed,
    )
    device = next(model.parameters()).device
    xt, yt = to_tensors(f32(data.x_test), f32(data.y_test))
    _, test_acc = evaluate(model, xt.to(device), yt.to(device), loss_fn)
    _, train_acc = evaluate(model, x.to(device), y.to(device), loss_fn)
    thinned = np.mean(
        [
            evaluate(model, x.to(device), y.to(device), loss_fn, dropout_on=True)[1]
            for _ in range(THINNED_DRAWS)
        ]
    )
    return TutorialResult(hist, float(test_acc), float(train_acc), float(thinned))


def mlp_from_keras(keras_model, rate: float | None = None):
    """A :class:`dropout_lib.models.MLP` holding a copy of a Keras ``Dense`` stack's weights.

    Keras stores a ``Dense`` kernel as ``(in, out)`` and computes :math:`xW + b`;
    ``torch.nn.Linear`` stores ``(out, in)`` and computes :math:`xW^\\top + b`,
    so each kernel is transposed. The Keras model must be a chain of ``Dense``
    layers (ReLU hidden, one output unit) with optional ``Dropout`` layers;
    ``rate`` defaults to the first ``Dropout`` layer's rate (0 if none). The
    returned MLP outputs logits: apply a sigmoid to compare with Keras's
    probabilities. The Keras model is not modified.
    """
    import torch

    keras = import_keras()
    from .models import MLP

    dense = [
        layer for layer in keras_model.layers if isinstance(layer, keras.layers.Dense)
    ]
    drops = [
        layer for layer in keras_model.layers if isinstance(layer, keras.layers.Dropout)
    ]
    if len(dense) < 2:
        raise ValueError(
            "keras_model must have at least two Dense layers (hidden and output)"
        )
    if rate is None:
        rate = float(drops[0].rate) if drops else 0.0
    kernels = [np.asarray(keras.ops.convert_to_numpy(d.kernel)) for d in dense]
    biases = [np.asarray(keras.ops.convert_to_numpy(d.bias)) for d in dense]
    hidden = [int(k.shape[1]) for k in kernels[:-1]]
    mlp = MLP(int(kernels[0].shape[0]), hidden, int(kernels[-1].shape[1]), rate)
    linears = [m for m in mlp if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for lin, k, b in zip(linears, kernels, biases):
            lin.weight.copy_(torch.from_numpy(k.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
    return mlp.eval()


def training_flag_probe(name: str = "probe"):
    """A Keras layer that returns its input and records the ``training`` flag of each real call.

    ``layer.seen`` lists the flag of every call on real data, in order. Calls
    Keras makes while tracing shapes (on symbolic tensors, or on PyTorch's
    ``meta`` device) are not recorded. Put it in a model to see what ``fit``,
    ``evaluate`` and ``predict`` pass to the layers: every ``Dropout`` layer
    receives the same flag.
    """
    keras = import_keras()

    class TrainingFlagProbe(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seen: list = []

        def call(self, inputs, training=None):
            symbolic = (
                isinstance(inputs, keras.KerasTensor)
                or getattr(getattr(inputs, "device", None), "type", None) == "meta"
            )
            if not symbolic:
                self.seen.append(training)
            return inputs

        def compute_output_shape(self, input_shape):
            return input_shape

    return TrainingFlagProbe(name=name)


def observed_keras_behaviour(rate: float, *, training: bool = True) -> Behaviour:
    """What the INSTALLED ``keras.layers.Dropout(rate)`` does, in the vocabulary of :func:`keras_dropout_behaviour`.

    Constructs the layer (``"raises"`` on ``ValueError``) and applies it once to
    a fixed 40 x 100 input without zeros: ``"identity"`` if the output equals
    the input, ``"zeros"`` if it is all zeros, ``"dropout"`` if some entries are
    zeroed and every kept entry is :math:`x_i / (1 - \\text{rate})` to float32
    precision. Anything else raises ``AssertionError``.
    """
    keras = import_keras()
    try:
        layer = keras.layers.Dropout(rate, seed=0)
    except ValueError:
        return "raises"
    x = np.linspace(1.0, 2.0, 4000, dtype=np.float32).reshape(40, 100)
    out = np.asarray(keras.ops.convert_to_numpy(layer(x, training=training)))
    if np.array_equal(out, x):
        return "identity"
    if np.all(out == 0):
        return "zeros"
    s = dropout_summary(x, out)
    q = 1.0 - float(rate)
    if (
        0 < s.dropped_fraction < 1
        and abs(s.scale_min * q - 1) < 1e-6
        and abs(s.scale_max * q - 1) < 1e-6
    ):
        return "dropout"
    raise AssertionError(f"unrecognised Dropout output for rate={rate!r}: {s}")
