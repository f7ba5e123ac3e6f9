"""Pieces every separation model shares: the cropping rule and the model contract.

Every separation model in :mod:`waveunet_lit.models` is a plain ``nn.Module`` that

* takes a mixture ``mix`` of shape ``(B, C, T_in)`` and returns source estimates of shape
  ``(B, S, C, T_out)``, the sources in the order of its ``sources`` attribute;
* has the attributes ``sources`` (tuple of names), ``channels`` (C) and ``sample_rate`` (Hz);
* answers ``output_length(n)``: the ``T_out`` that ``forward`` returns for ``T_in = n``
  (``ValueError`` when the model cannot take ``n`` samples), and ``valid_length(n)``: the
  smallest input length ``m`` the model accepts with ``output_length(m) >= n``.

Optionally a model has ``stride``: its output shifts with its input for shifts that are
multiples of ``stride`` samples (``2 ** levels`` for a decimating U-Net); tiled inference uses
hops of that size. Models without it are assumed shift-equivariant (``stride = 1``).

The output of a model is aligned with the *centre* of its input: output sample ``j`` is the
estimate for input sample ``j + (T_in - T_out) // 2`` (:func:`center_crop` gives the targets).
"""

import inspect

import torch

__all__ = ["center_crop", "check_mix", "record_init"]


def center_crop(x: torch.Tensor, length: int) -> torch.Tensor:
    """Crop the last dimension of ``x`` to ``length`` samples around its centre.

    When the surplus ``x.shape[-1] - length`` is odd, the extra sample is dropped at the end,
    so ``start = surplus // 2``, the same rule the models use for their skip connections.

    Args:
        x: any tensor ``(..., T)``.
        length: wanted length, ``0 < length <= T``.

    Returns:
        ``(..., length)``, a view of ``x``.

    Example:
        >>> center_crop(torch.arange(7), 3).tolist()
        [2, 3, 4]
        >>> center_crop(torch.arange(6), 3).tolist()
        [1, 2, 3]
    """
    surplus = x.shape[-1] - length
    if surplus < 0 or length <= 0:
        raise ValueError(f"center_crop: cannot crop {x.shape[-1]} samples to {length}")
    start = surplus // 2
    return x[..., start : start + length]


def check_mix(mix: torch.Tensor, channels: int, name: str) -> None:
    """Raise ``ValueError`` unless ``mix`` is ``(B, channels, T)``."""
    if mix.dim() != 3 or mix.shape[1] != channels:
        raise ValueError(
            f"{name} expects a mixture of shape (B, C={channels}, T), got {tuple(mix.shape)}"
        )


def record_init(values: dict) -> dict:
    """The constructor arguments of a model (or loss), from ``locals()`` taken first thing in
    its ``__init__``: ``self.init_args = record_init(locals())``.

    :func:`waveunet_lit.config.describe` turns them into the ``{class_path, init_args}`` node
    that checkpoints store, so a model built in plain Python can be rebuilt from its checkpoint.

    Example:
        >>> class Gain(torch.nn.Module):
        ...     def __init__(self, gain: float = 1.0):
        ...         super().__init__()
        ...         self.init_args = record_init(locals())
        ...         self.gain = gain
        >>> Gain(0.5).init_args
        {'gain': 0.5}
    """
    parameters = inspect.signature(type(values["self"]).__init__).parameters
    return {name: values[name] for name in parameters if name != "self" and name in values}
