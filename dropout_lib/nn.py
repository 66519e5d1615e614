"""Dropout layers for PyTorch, written from the definition (not wrappers of
`torch.nn.Dropout`).

Both layers honour `module.train()` / `module.eval()` through `self.training`,
build their mask on the input's device, and keep the input's dtype.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from .validation import check_int, check_module, check_probability, check_tensor

__all__ = [
    "ClassicDropout",
    "DROPOUT_TYPES",
    "DropBlock",
    "Dropout",
    "Dropout2d",
    "block_keep_mask",
    "channel_keep_mask",
    "dropout_active",
    "eval_mode",
    "is_dropout",
    "keep_mask",
    "preserve_modes",
]


def keep_mask(
    x: torch.Tensor, keep_prob: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A bool tensor shaped like `x`, on `x.device` and in `x`'s memory format,
    with P(True) = q (`keep_prob`).

    Drawn as [u < q], u ~ U[0, 1) in float32, so q = 0 and q = 1 are exact.
    The uniforms fill the mask in memory order, as `torch.rand` does, so a
    contiguous `x` gets exactly the mask `torch.rand(x.shape) < q` would give;
    a channels-last `x` gets a channels-last mask, so the layers below keep
    the input's layout as `torch.nn.Dropout` does.
    """
    check_tensor(x, "x")
    return _keep_mask(x, check_probability(keep_prob, "keep_prob"), generator)


def _keep_mask(
    x: torch.Tensor, keep_prob: float, generator: torch.Generator | None
) -> torch.Tensor:
    """`keep_mask` for callers that checked their arguments (the layers)."""
    u = torch.empty_like(x, dtype=torch.float32, memory_format=torch.preserve_format)
    return u.uniform_(generator=generator) < keep_prob


class _MaskedDropout(nn.Module):
    """What the element-wise layers share: the drop probability `p`, checked
    once here; `inplace`, second as in `torch.nn.Dropout(p, inplace)`, to
    overwrite the input instead of allocating the output; and an optional
    `generator` for the masks, keyword-only."""

    def __init__(
        self,
        p: float = 0.5,
        inplace: bool = False,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.p = check_probability(p, "p")
        if not isinstance(inplace, bool):
            raise TypeError(f"inplace must be True or False; got {inplace!r}")
        self.inplace = inplace
        self.generator = generator

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", inplace=True" if self.inplace else "")


class Dropout(_MaskedDropout):
    """Inverted dropout: in training h' = m ⊙ h / (1 − p), in eval the
    identity.

    Gradient: ∂h'ᵢ / ∂hᵢ = mᵢ / (1 − p), which autograd derives from the
    `torch.where` below. `p == 1` outputs exact zeros (and zero gradients),
    even for infinite inputs. `Dropout(p, inplace=True)` writes the result
    into `x` (zeroing the dropped entries, then scaling), as torch's does; as
    there, autograd refuses it on a leaf that requires grad.
    `Dropout(p, generator=g)` draws the masks from `g` (keyword-only).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = self._mask(x, keep)
        scale = 1.0 / keep if keep > 0 else 0.0
        if self.inplace:
            return x.masked_fill_(~mask, 0).mul_(scale)
        return torch.where(
            mask, x * scale, torch.zeros((), dtype=x.dtype, device=x.device)
        )

    def _mask(self, x: torch.Tensor, keep: float) -> torch.Tensor:
        """The keep mask, broadcastable to `x`: one coin per element."""
        return _keep_mask(x, keep, self.generator)


class ClassicDropout(_MaskedDropout):
    """Classic dropout: training h' = m ⊙ h; eval h' = (1 − p) h.

    The eval-mode scaling is the "weight scaling inference rule" of Hinton et
    al. (2012), applied to the activations instead of the next layer's weights.
    `inplace=True` overwrites `x` in both modes; the `generator` is
    keyword-only, as in `Dropout`.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = 1.0 - self.p
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        if self.inplace:
            if not self.training:
                return x.mul_(keep) if keep > 0 else x.zero_()
            if self.p == 0.0:
                return x
            return x.masked_fill_(~_keep_mask(x, keep, self.generator), 0)
        if not self.training:
            return (
                x * keep
                if keep > 0
                else torch.where(torch.zeros_like(x, dtype=torch.bool), x, zero)
            )
        if self.p == 0.0:
            return x
        return torch.where(_keep_mask(x, keep, self.generator), x, zero)


def channel_keep_mask(
    x: torch.Tensor, keep_prob: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A bool mask of shape `(N, C, 1, ..., 1)` for an input `x` of shape `(N, C,
    *spatial)`.

    One draw [u_nc < q], u_nc ~ U[0, 1), per sample and channel; broadcasting it
    over the spatial axes keeps or drops a whole feature map at once. This is
    Keras's `noise_shape=(N, C, 1, 1)` for channels-first data. Made on
    `x.device`.
    """
    if check_tensor(x, "x").ndim < 3:
        raise ValueError(
            "x must have shape (N, C, *spatial) with at least one spatial axis; "
            f"got shape {tuple(x.shape)}"
        )
    return _channel_keep_mask(x, check_probability(keep_prob, "keep_prob"), generator)


def _channel_keep_mask(
    x: torch.Tensor, keep_prob: float, generator: torch.Generator | None
) -> torch.Tensor:
    """`channel_keep_mask` for callers that checked their arguments (Dropout2d)."""
    shape = tuple(x.shape[:2]) + (1,) * (x.ndim - 2)
    return torch.rand(shape, device=x.device, generator=generator) < keep_prob


class Dropout2d(Dropout):
    """Channel-wise ("spatial") inverted dropout for feature maps (Tompson et al. 2015).

    For an input h of shape `(N, C, H, W)`, training mode computes
    h'_nchw = m_nc h_nchw / q with one mask entry m_nc ~ Bernoulli(q),
    q = 1 − p, per sample and channel, shared by all H W positions of that
    feature map. Each entry keeps the moments of element-wise dropout,
    E[h'] = h and Var[h'] = h² p / q, but two positions of one map are now
    dropped together: Cov[h'_nchw, h'_nch'w'] = h_nchw h_nch'w' p/q. Eval mode
    is the identity; `p == 1` gives exact zeros. Any input with at least one
    spatial axis is accepted (`(N, C, L)` and `(N, C, D, H, W)` too).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 3:
            raise ValueError(
                "Dropout2d expects x of shape (N, C, *spatial); "
                f"got shape {tuple(x.shape)}"
            )
        return super().forward(x)

    def _mask(self, x: torch.Tensor, keep: float) -> torch.Tensor:
        """One coin per (sample, channel), broadcast over the spatial positions."""
        return _channel_keep_mask(x, keep, self.generator)


def block_keep_mask(
    x: torch.Tensor,
    keep_prob: float,
    block_size: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A bool keep mask shaped like `x` (`(N, C, H, W)`) that drops square blocks.

    Block *seeds* are drawn independently, z_ncuv ~ Bernoulli(γ), on a grid of
    (H + b − 1) × (W + b − 1) positions, b = `block_size`; a seed drops the
    b × b block whose bottom-right corner it marks
    (a max-pool of the seeds with a b × b window and stride 1), clipped to the
    map. Every position of the map lies in exactly b² windows, so it is kept
    with probability (1 − γ)^(b²); choosing:

        γ = 1 − q^(1/b²)

    makes that exactly q (`keep_prob`) at every position, edges included.
    `b = 1` is element-wise dropout. Made on `x.device`.
    """
    if check_tensor(x, "x").ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W); got shape {tuple(x.shape)}")
    b = check_int(block_size, "block_size", 1)
    q = check_probability(keep_prob, "keep_prob")
    return _block_keep_mask(x, q, b, generator)


def _block_keep_mask(
    x: torch.Tensor, q: float, b: int, generator: torch.Generator | None
) -> torch.Tensor:
    """`block_keep_mask` for callers that checked their arguments (DropBlock)."""
    n, c, h, w = x.shape
    gamma = 1.0 - q ** (1.0 / (b * b))
    shape = (n, c, h + b - 1, w + b - 1)
    seeds = torch.rand(shape, device=x.device, generator=generator) < gamma
    if b == 1:
        return torch.logical_not(seeds)
    dropped = F.max_pool2d(seeds.to(torch.float32), kernel_size=b, stride=1)
    return dropped == 0


class DropBlock(Dropout):
    """DropBlock (Ghiasi et al. 2018): inverted dropout of square blocks of a feature
    map.

    Training mode computes h'_nchw = m_nchw h_nchw / q with the mask of
    `block_keep_mask`: contiguous b × b regions (`block_size`) are dropped
    together, so a dropped activation's neighbours are mostly dropped too and
    cannot stand in for it. Each position is kept with probability exactly
    q = 1 − p, so E[h'] = h holds entry by entry, as for `Dropout`. Eval mode is
    the identity; `p == 1` gives exact zeros.

    Two deliberate differences from the paper: its seed rate
    γ = (p/b²) · HW/((H − b + 1)(W − b + 1)) only approximates the drop rate,
    and it rescales by the realised fraction of kept units, whereas here γ
    makes the keep probability exact and the scale is the constant 1/q; and
    blocks may be clipped at the map's edges (the paper keeps them inside).
    `block_size=1` is element-wise dropout.
    """

    def __init__(
        self,
        p: float = 0.1,
        block_size: int = 3,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(p, generator=generator)
        self.block_size = check_int(block_size, "block_size", 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(
                f"DropBlock expects x of shape (N, C, H, W); got shape {tuple(x.shape)}"
            )
        return super().forward(x)

    def _mask(self, x: torch.Tensor, keep: float) -> torch.Tensor:
        """Square blocks of `block_size` dropped together
        (`block_keep_mask`)."""
        return _block_keep_mask(x, keep, self.block_size, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, block_size={self.block_size}"


# --------------------------------------------------------------------------
# Modes: which modules are in training mode, and the one way to change that
# --------------------------------------------------------------------------

#: Every module type the course treats as a dropout layer: torch's own classes
#: (all subclasses of these count too) and the course's layers above. Layers that
#: other modules add (DropBlock, for example) subclass `Dropout`, so they
#: are included without being listed.
DROPOUT_TYPES: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    Dropout,
    ClassicDropout,
)


def is_dropout(module: nn.Module) -> bool:
    """True when `module` is an instance of one of `DROPOUT_TYPES`."""
    return isinstance(module, DROPOUT_TYPES)


@contextmanager
def preserve_modes(model: nn.Module) -> Iterator[nn.Module]:
    """Save every submodule's own `training` flag and restore it on exit.

    `model.train(was_training)` would flatten a model whose modules are in
    mixed modes; this restores each flag as it was, even after an exception.
    """
    check_module(model)
    saved = [(m, m.training) for m in model.modules()]
    try:
        yield model
    finally:
        for m, flag in saved:
            m.training = flag


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put the whole `model` in eval mode inside the block.

    Every module's own flag is restored after (`preserve_modes`).
    """
    with preserve_modes(model):
        model.eval()
        yield model


@contextmanager
def dropout_active(model: nn.Module, *, others: str = "keep") -> Iterator[nn.Module]:
    """Switch on only the dropout layers (`DROPOUT_TYPES`) inside the block.

    `others="keep"` (the default) leaves every other module in the mode it was
    in; `others="eval"` puts every other module in eval mode first, which is
    what Monte Carlo dropout needs (BatchNorm keeps its running statistics
    instead of normalising with the test batch's). `model.train()` is *not* a
    substitute: it also switches BatchNorm to batch statistics. Every module's
    own flag is restored on exit (`preserve_modes`).
    """
    if others not in ("keep", "eval"):
        raise ValueError(f"others must be 'keep' or 'eval'; got others={others!r}")
    with preserve_modes(model):
        if others == "eval":
            model.eval()
        for m in model.modules():
            if is_dropout(m):
                m.train()
        yield model
