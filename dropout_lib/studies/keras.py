"""Chapter 4 (Keras): Keras 3 next to `dropout_lib`, and the tutorial's model in both.

What only the Keras chapter needs: importing Keras on the torch backend, the
accepted range of `rate` across Keras versions (`keras_dropout_behaviour`,
checked against the installed Keras by `observed_keras_behaviour`), a probe
that records the `training` flag Keras passes to its layers, and the tutorial's
model trained over seeds in Keras (`fit_tutorial_keras`) and in PyTorch
(`fit_tutorial_torch`), both returning `dropout_lib.training.Run`
objects with the same metric names. Reading a mask back from a layer's input and
output is general and lives in `dropout_lib.masks`.

Keras is imported lazily, inside the functions that need it, so `import
dropout_lib` never requires Keras. What any chapter setting Keras beside
PyTorch needs (`import_keras`, `mlp_from_keras`) lives in the concept module
`dropout_lib.keras_bridge` and is re-exported here under the same names.

Conventions: `rate` (Keras) and `p` (`dropout_lib`) are both the DROP
probability; q = 1 − p is the keep probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from ..keras_bridge import import_keras, mlp_from_keras
from ..masks import dropout_summary
from ..training import History, Run
from ..validation import check_int, check_probability, check_seed

__all__ = [
    "KERAS_VERSIONS",
    "THINNED_DRAWS",
    "fit_tutorial_keras",
    "fit_tutorial_torch",
    "import_keras",
    "keras_dropout_behaviour",
    "mlp_from_keras",
    "observed_keras_behaviour",
    "training_flag_probe",
    "tutorial_keras_model",
]

# --------------------------------------------------------------------------- rates

#: The Keras releases whose `Dropout` rate rules differ, as table column labels.
KERAS_VERSIONS = ("Keras 1", "Keras 2.0.1-2.3.1", "tf.keras 2.6-2.15", "Keras 3")

Behaviour = Literal["raises", "call raises", "identity", "zeros", "dropout"]


def keras_dropout_behaviour(
    rate: float, version: str, *, training: bool = True
) -> Behaviour:
    """What a Keras `Dropout` layer with this `rate` does in one of
    `KERAS_VERSIONS`.

    Returns `"raises"` (the constructor raises `ValueError`), `"call raises"`
    (the layer is built but a training call raises), `"identity"` (the input
    comes back unchanged), `"zeros"` (every entry is zeroed) or `"dropout"`
    (inverted dropout: each entry is zeroed with probability `rate` and the
    others are multiplied by 1/(1−rate)).

    * `"Keras 1"` (`Dropout(p)`, Keras 1.x, both backends): the layer applied
      `K.in_train_phase(K.dropout(x, p), x)` only when 0 < p < 1 and
      returned `x` otherwise, without checking `p`. (Only the Theano
      backend's `K.dropout` rejected levels outside [0, 1), and the
      layer never called it with such a level.)
    * `"Keras 2.0.1-2.3.1"` (multi-backend Keras 2): the constructor silently
      clamped `rate = min(1, max(0, rate))`; the call kept the
      0 < rate < 1 guard, so any rate ≥ 1 meant *no*
      dropout at all. (Release 2.0.0 had the same clamp, but its `call`
      returned a variable assigned only inside that guard, so a rate of 0 or
      ≥ 1 raised `UnboundLocalError` when the layer was called; 2.0.1
      returned the input instead. Not encoded here.)
    * `"tf.keras 2.6-2.15"` (the Keras bundled with TensorFlow 2): the
      constructor raises `ValueError` unless 0 ≤ rate ≤ 1
      (NaN included); rate 1 is accepted there, but `tf.nn.dropout` rejects it
      when the layer is called in training.
    * `"Keras 3"`: the constructor raises `ValueError` unless
      0 ≤ rate ≤ 1 (NaN included); rate 0 is the identity
      and rate 1 gives zeros.

    With `training=False` every version returns the input (if it constructs).
    """
    if not isinstance(version, str) or version not in KERAS_VERSIONS:
        raise ValueError(f"version must be one of {KERAS_VERSIONS}; got {version!r}")
    if isinstance(rate, (bool, np.bool_)) or not isinstance(
        rate, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"rate must be a real number; got rate={rate!r}")
    r = float(rate)
    if version in ("tf.keras 2.6-2.15", "Keras 3"):
        if not 0.0 <= r <= 1.0:  # False for NaN too
            return "raises"
        if not training or r == 0.0:
            return "identity"
        if r == 1.0:
            return "zeros" if version == "Keras 3" else "call raises"
        return "dropout"
    if version == "Keras 2.0.1-2.3.1":
        r = min(1.0, max(0.0, r))  # NaN: max(0.0, nan) is 0.0
    if training and 0.0 < r < 1.0:
        return "dropout"
    return "identity"


def observed_keras_behaviour(rate: float, *, training: bool = True) -> Behaviour:
    """What the INSTALLED `keras.layers.Dropout(rate)` does, in the vocabulary
    of `keras_dropout_behaviour`.

    Constructs the layer (`"raises"` on `ValueError`) and applies it once to
    a fixed 40 x 100 input without zeros (`"call raises"` on an exception):
    `"identity"` if the output equals the input, `"zeros"` if it is all
    zeros, `"dropout"` if some entries are zeroed and every kept entry is
    xᵢ / (1 − rate) to float32 precision. Any other output
    raises `RuntimeError`.
    """
    keras = import_keras()
    try:
        layer = keras.layers.Dropout(rate, seed=0)
    except ValueError:
        return "raises"
    x = np.linspace(1.0, 2.0, 4000, dtype=np.float32).reshape(40, 100)
    try:
        out = np.asarray(keras.ops.convert_to_numpy(layer(x, training=training)))
    except Exception:  # a training call that fails, whatever the backend raises
        return "call raises"
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
    raise RuntimeError(f"unrecognised Dropout output for rate={rate!r}: {s}")


def training_flag_probe(name: str = "probe") -> Any:
    """A Keras layer that returns its input and records the `training` flag of
    each real call.

    `layer.seen` lists the flag of every call on real data, in order. Calls
    Keras makes while tracing shapes (on symbolic tensors, or on PyTorch's
    `meta` device) are not recorded. Put it in a model to see what `fit`,
    `evaluate` and `predict` pass to the layers: every `Dropout` layer
    receives the same flag.
    """
    keras = import_keras()
    layer_base: Any = keras.layers.Layer  # Keras is imported lazily: no static type

    # misc: subclassing Any is refused by --strict only (unused-ignore otherwise)
    class TrainingFlagProbe(layer_base):  # type: ignore[misc, unused-ignore]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.seen: list[bool | None] = []

        def call(self, inputs: Any, training: bool | None = None) -> Any:
            symbolic = (
                isinstance(inputs, keras.KerasTensor)
                or getattr(getattr(inputs, "device", None), "type", None) == "meta"
            )
            if not symbolic:
                self.seen.append(training)
            return inputs

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

    return TrainingFlagProbe(name=name)


# --------------------------------------------------------------------------- tutorial


def tutorial_keras_model(
    in_features: int = 20,
    hidden: Sequence[int] = (64, 64),
    rate: float = 0.5,
    *,
    seed: int = 0,
    learning_rate: float = 1e-3,
) -> Any:
    """The tutorial's Keras model, compiled:
    `Dense(64, relu) -> Dropout -> Dense(64, relu) -> Dropout -> Dense(1, sigmoid)`.

    Adam (`learning_rate`), binary cross-entropy on the sigmoid output,
    accuracy as the metric. Every source of randomness is seeded from `seed`:
    the Glorot-uniform kernels (Keras's default initialiser, zero biases) and
    each `Dropout` layer's mask stream. A rate of 0 adds no `Dropout` layer.
    """
    keras = import_keras()
    rate = check_probability(rate, "rate")
    in_features = check_int(in_features, "in_features", 1)
    widths = [check_int(h, "hidden widths", 1) for h in hidden]
    seed = check_seed(seed)
    layers: list[Any] = [keras.Input(shape=(in_features,))]
    for i, width in enumerate(widths):
        init = keras.initializers.GlorotUniform(seed=seed * 1000 + i)
        layers.append(
            keras.layers.Dense(width, activation="relu", kernel_initializer=init)
        )
        if rate > 0:
            layers.append(keras.layers.Dropout(rate, seed=seed * 1000 + 100 + i))
    out_init = keras.initializers.GlorotUniform(seed=seed * 1000 + len(widths))
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


#: Mask draws averaged in `run.extra["train_thinned_acc"]`.
THINNED_DRAWS = 10

_SPLITS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def _float32_splits(data: Any) -> list[np.ndarray]:
    return [np.asarray(getattr(data, name), dtype=np.float32) for name in _SPLITS]


def _bce_and_accuracy(prob: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Binary cross-entropy (probabilities clipped to `[1e-7, 1 - 1e-7]`, as
    Keras does) and accuracy at threshold 0.5."""
    p = np.clip(prob.astype(np.float64).ravel(), 1e-7, 1 - 1e-7)
    t = y.astype(np.float64).ravel()
    loss = -float(np.mean(t * np.log(p) + (1 - t) * np.log1p(-p)))
    return loss, float(np.mean((p > 0.5) == (t > 0.5)))


def fit_tutorial_keras(
    data: Any,
    seeds: Sequence[int],
    *,
    rate: float = 0.5,
    epochs: int = 20,
    batch_size: int = 32,
) -> list[Run]:
    """Train `tutorial_keras_model` with `model.fit`, once per seed.

    `data` holds `x_train, y_train, x_val, y_val, x_test, y_test` (for
    example chapter 1's synthetic split). For each seed,
    `keras.utils.set_random_seed(seed)` fixes the batch order; weights and
    masks are seeded by the model itself. The validation rows are passed as
    `validation_data`. Each `dropout_lib.training.Run` has the
    history `train_loss`/`train_acc` (as `fit` logs them, dropout ON),
    `val_*`, `test_*` and `train_eval_*` (the full network on the training
    rows, dropout OFF) after every epoch, the trained Keras model, and
    `extra["train_thinned_acc"]`: the final weights' accuracy on the training
    rows with dropout ON, averaged over `THINNED_DRAWS` masks.
    """
    keras = import_keras()
    seeds = [check_seed(s, "seeds entries") for s in seeds]
    epochs = check_int(epochs, "epochs", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    x_tr, y_tr, x_val, y_val, x_te, y_te = _float32_splits(data)
    to_np = keras.ops.convert_to_numpy

    callback_base: Any = keras.callbacks.Callback  # lazily imported: no static type

    class _EvalSets(callback_base):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.history = History()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            record = {}
            for name, (x, y) in (("test", (x_te, y_te)), ("train_eval", (x_tr, y_tr))):
                prob = np.asarray(to_np(self.model(x, training=False)))
                record[f"{name}_loss"], record[f"{name}_acc"] = _bce_and_accuracy(
                    prob, y
                )
            self.history.append(**record)

    runs = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        model = tutorial_keras_model(x_tr.shape[1], (64, 64), rate, seed=seed)
        extra = _EvalSets()
        fitted = model.fit(
            x_tr,
            y_tr,
            validation_data=(x_val, y_val),
            epochs=epochs,
            batch_size=batch_size,
            verbose=0,
            callbacks=[extra],
        )
        names = {"loss": "train_loss", "accuracy": "train_acc"}
        names |= {"val_loss": "val_loss", "val_accuracy": "val_acc"}
        history = History()
        for key, values in fitted.history.items():
            if key in names:
                history.metrics[names[key]] = [float(v) for v in values]
        history.metrics.update(extra.history.metrics)
        thinned = np.mean(
            [
                _bce_and_accuracy(np.asarray(to_np(model(x_tr, training=True))), y_tr)[
                    1
                ]
                for _ in range(THINNED_DRAWS)
            ]
        )
        runs.append(
            Run("Keras 3", seed, history, model, {"train_thinned_acc": float(thinned)})
        )
    return runs


def fit_tutorial_torch(
    data: Any,
    seeds: Sequence[int],
    *,
    rate: float = 0.5,
    epochs: int = 20,
    batch_size: int = 32,
) -> list[Run]:
    """The same experiment in PyTorch: `MLP(20, [64, 64], 1, rate)` trained by
    `dropout_lib.training.run_seeds`.

    Same `data`, epochs, batch size and metric names as
    `fit_tutorial_keras`. `run_seeds` seeds torch's generator with each
    seed (initial weights and masks) and the batch order.

    Each framework keeps its own defaults: PyTorch's `Linear` initialisation,
    `Adam(lr=1e-3)` with `eps=1e-8` (Keras: `1e-7`), and the loss on
    logits (`BCEWithLogitsLoss`) instead of on sigmoid probabilities.
    """
    import torch

    from ..models import MLP
    from ..training import evaluate, run_seeds, to_tensors

    x_tr, y_tr, x_val, y_val, x_te, y_te = _float32_splits(data)
    x, y = to_tensors(x_tr, y_tr)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def build(seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        model = MLP(x_tr.shape[1], [64, 64], 1, rate)
        return model, torch.optim.Adam(model.parameters(), lr=1e-3)

    runs = run_seeds(
        build,
        seeds,
        x,
        y,
        config="PyTorch",
        loss_fn=loss_fn,
        epochs=epochs,
        batch_size=batch_size,
        eval_sets={
            "val": to_tensors(x_val, y_val),
            "test": to_tensors(x_te, y_te),
            "train_eval": (x, y),
        },
    )
    for run in runs:
        model = run.model
        if model is None:  # run_seeds keeps the models by default
            raise RuntimeError("run_seeds did not keep the trained model")
        thinned = [
            evaluate(model, x, y, loss_fn, dropout_on=True)[1]
            for _ in range(THINNED_DRAWS)
        ]
        run.extra["train_thinned_acc"] = float(np.mean(thinned))
    return runs
