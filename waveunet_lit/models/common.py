"""Pieces every separation model shares: the model contract, the cropping rule, the length
and receptive-field helpers.

**The model contract.** Every separation model in :mod:`waveunet_lit.models` is a plain
``nn.Module`` (no Lightning) that

* takes a mixture ``mix`` of shape ``(B, C, T_in)`` and returns source estimates of shape
  ``(B, S, C, T_out)``, the sources in the order of its ``sources`` attribute;
* has the attributes ``sources`` (tuple of names), ``channels`` (C) and ``sample_rate`` (Hz);
* answers ``output_length(n)``: the ``T_out`` that ``forward`` returns for ``T_in = n``
  (``ValueError`` when the model cannot take ``n`` samples), and ``valid_length(n)``: the
  smallest input length ``m`` the model accepts with ``output_length(m) >= n``; both are
  integer arithmetic, no forward pass;
* has ``period``: the period of its sampling grid, in input samples. Shifting the input by a
  multiple of ``period`` shifts the output alike (away from the borders, and for models whose
  layers are local in time: no statistics over the whole input, no recurrence); a shift by
  less moves the input against the grid of its decimations and changes the output.
  ``2 ** levels`` for a U-Net that halves its resolution ``levels`` times, ``stride ** levels``
  with ``stride`` per level, the STFT hop (times the pooling of frames) for spectrogram models,
  1 for a model that commutes with every shift. :func:`waveunet_lit.separate.separate` starts
  the tiles of 'valid' models ``period`` multiples apart, so that tiling gives one forward pass.

Models with a computable receptive field also answer ``receptive_field()`` (input samples one
output sample can depend on, the widest over output positions; :func:`widest_span`), checked
against a gradient probe (:mod:`waveunet_lit.receptive_field`). A model that learns by
something other than gradient descent (NMF) has ``fit_batch(stems)``.

The output of a model is aligned with the *centre* of its input: output sample ``j`` is the
estimate for input sample ``j + (T_in - T_out) // 2`` (:func:`center_crop` gives the targets).

One test (``tests/test_model_contract.py``) checks all of this for every model that a shipped
config builds: adding a model is one model file plus one YAML.
"""

import inspect
from collections.abc import Callable

import torch

__all__ = ["center_crop", "check_mix", "check_context", "hull", "record_init", "widest_span", "MAX_CONTEXT_SECONDS"]

#: Models needing more input than this many seconds for one output sample are refused.
MAX_CONTEXT_SECONDS = 600


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


def check_context(name: str, samples: int, sample_rate: int, setting: str) -> None:
    """Raise ``ValueError`` when a model needs more than :data:`MAX_CONTEXT_SECONDS` of input.

    Args:
        name: the model's class name, for the message.
        samples: the fewest input samples the model takes (``valid_length(1)``).
        sample_rate: the model's rate.
        setting: the arguments responsible, e.g. ``"levels=40 with stride=4"``.

    Example:
        >>> check_context("Net", 1000, 8000, "levels=3")  # 1/8 s: fine
        >>> check_context("Net", 2**40, 8000, "levels=40")
        Traceback (most recent call last):
        ...
        ValueError: Net: levels=40 needs inputs of at least 1099511627776 samples, more than 10 minutes at 8000 Hz; use fewer levels
    """
    if samples > MAX_CONTEXT_SECONDS * sample_rate:
        raise ValueError(
            f"{name}: {setting} needs inputs of at least {samples} samples, more than "
            f"{MAX_CONTEXT_SECONDS // 60} minutes at {sample_rate} Hz; use fewer levels"
        )


def hull(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Smallest interval containing the intervals ``a`` and ``b``.

    Example:
        >>> hull((3, 5), (-1, 4))
        (-1, 5)
    """
    return min(a[0], b[0]), max(a[1], b[1])


def widest_span(input_span: Callable[[int], tuple[int, int]], period: int) -> int:
    """Receptive field from a model's ``input_span(j)`` (first and last input sample output
    ``j`` depends on): the widest span over one ``period`` of output positions, after which the
    spans repeat, shifted.

    Example:
        >>> widest_span(lambda j: (j - 2 - j % 2, j + 2), period=2)  # odd outputs see one more
        6
    """
    return max(hi - lo + 1 for lo, hi in (input_span(j) for j in range(period)))


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
