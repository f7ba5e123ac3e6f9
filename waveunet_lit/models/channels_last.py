"""Time-major ("channels-last") 1-D layers: a signal ``(B, C, n)`` held as ``(B, C, 1, n)``.

oneDNN, which runs PyTorch's convolutions on the CPU, computes bfloat16 convolutions in
channels-last memory: the ``C`` values of one time step side by side. PyTorch has that layout
for 4-D tensors only (``torch.channels_last``), so a 1-D signal given to ``F.conv1d`` is
converted to it and back for every input, output and gradient: a third of the port recipe's
bf16-mixed training step (``bench/port_vs_f90.py``), and each conversion is a slow transpose.
Held as ``(B, C, 1, n)`` in channels-last memory, a convolution with a ``1 x k`` kernel needs
none of them:

* :func:`conv1d`, :func:`conv_transpose1d`: ``F.conv1d`` / ``F.conv_transpose1d`` for either
  shape (a ``1 x k`` 2-D convolution for ``(B, C, 1, n)``, which keeps the layout).
* :class:`Conv1d`, :class:`ConvTranspose1d`, :class:`BatchNorm1d`: the ``nn`` layers of the
  same name (the same weights and state dict, the same function) that also take
  ``(B, C, 1, n)`` and return that layout; ``(B, C, n)`` works as before.
* :func:`crop`: a centre crop of the time axis whose gradient keeps the layout. Slicing's own
  backward writes into a new contiguous tensor, and every layer after it would convert back.
* :func:`layout_for`: channels-last where the convolutions run in bfloat16 on the CPU; the
  usual layout elsewhere (oneDNN's float32 convolutions are faster in it).

Element-wise layers, group norm, ``torch.cat`` and padding keep the layout by themselves.

Example:
    >>> x = torch.randn(2, 3, 50)
    >>> x4 = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)  # (B, C, 1, n)
    >>> conv = Conv1d(3, 4, 5)
    >>> y = conv(x4)
    >>> tuple(y.shape), y.is_contiguous(memory_format=torch.channels_last)
    ((2, 4, 1, 46), True)
    >>> bool(torch.allclose(y.squeeze(2), conv(x), atol=1e-5))
    True
"""

import torch
from torch import nn
from torch.autograd import Function
from torch.nn import functional as F

from .common import center_crop

__all__ = ["autocast_bf16", "conv1d", "conv_transpose1d", "is_channels_last", "layout_for", "Conv1d", "ConvTranspose1d",
           "BatchNorm1d", "crop"]


def autocast_bf16(device_type: str) -> bool:
    """Whether autocast to bfloat16 is on for ``device_type`` (``"cpu"``, ``"cuda"``): how
    ``bf16-mixed`` runs the forward pass.

    Example:
        >>> autocast_bf16("cpu")
        False
        >>> with torch.autocast("cpu", dtype=torch.bfloat16):
        ...     autocast_bf16("cpu")
        True
    """
    return torch.is_autocast_enabled(device_type) and torch.get_autocast_dtype(device_type) == torch.bfloat16


def layout_for(x: torch.Tensor) -> torch.memory_format:
    """The memory layout to hold ``x``'s network in: channels-last on the CPU when its
    convolutions run in bfloat16 (autocast to it, as ``bf16-mixed`` trains, or a bfloat16
    ``x``), the usual layout otherwise. oneDNN's float32 convolutions are faster in the usual
    layout: the port recipe's 32-true training step took 17.8 s in channels-last and 10.8 s in
    it on a 2-core AVX2 CPU, where ``fit`` trains in 32-true (``bench/port_vs_f90.py``).

    Example:
        >>> x = torch.zeros(1, 2, 8)
        >>> layout_for(x) == torch.contiguous_format
        True
        >>> with torch.autocast("cpu", dtype=torch.bfloat16):
        ...     layout_for(x) == torch.channels_last
        True
    """
    if x.device.type != "cpu":
        return torch.contiguous_format
    return torch.channels_last if autocast_bf16("cpu") or x.dtype == torch.bfloat16 else torch.contiguous_format


def is_channels_last(x: torch.Tensor) -> bool:
    """``(B, C, 1, n)`` with the channels innermost in memory (also a crop of such a tensor)."""
    return x.dim() == 4 and x.stride(1) == 1


def conv1d(x, weight, bias=None, stride: int = 1, padding: int | str = 0, dilation: int = 1, groups: int = 1) -> torch.Tensor:
    """``F.conv1d`` of ``(B, C_in, n)``, or of ``(B, C_in, 1, n) -> (B, C_out, 1, n')`` in its layout.
    ``padding`` is zero padding: samples on each side, or ``"same"`` / ``"valid"`` as ``F.conv1d``
    takes them (with a ``1 x k`` kernel they pad the time axis alone)."""
    if x.dim() == 3:
        return F.conv1d(x, weight, bias, stride, padding, dilation, groups)
    padding = padding if isinstance(padding, str) else (0, padding)
    return F.conv2d(x, weight.unsqueeze(2), bias, (1, stride), padding, (1, dilation), groups)


def conv_transpose1d(x, weight, bias=None, stride: int = 1, padding: int = 0, output_padding: int = 0, groups: int = 1,
                     dilation: int = 1) -> torch.Tensor:
    """``F.conv_transpose1d`` of ``(B, C_in, n)``, or of ``(B, C_in, 1, n)`` in its layout."""
    if x.dim() == 3:
        return F.conv_transpose1d(x, weight, bias, stride, padding, output_padding, groups, dilation)
    return F.conv_transpose2d(x, weight.unsqueeze(2), bias, (1, stride), (0, padding), (0, output_padding), groups, (1, dilation))


class Conv1d(nn.Conv1d):
    """``nn.Conv1d`` that also takes ``(B, C_in, 1, n) -> (B, C_out, 1, n')`` (a ``1 x k`` 2-D convolution)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            return super().forward(x)
        if self.padding_mode != "zeros":  # as nn.Conv1d: pad the time axis in that mode, then convolve unpadded
            layout = torch.channels_last if is_channels_last(x) else torch.contiguous_format
            x = F.pad(x, (*self._reversed_padding_repeated_twice, 0, 0), mode=self.padding_mode).contiguous(memory_format=layout)
            return conv1d(x, self.weight, self.bias, self.stride[0], 0, self.dilation[0], self.groups)
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]  # "same" / "valid" or samples
        return conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)


class ConvTranspose1d(nn.ConvTranspose1d):
    """``nn.ConvTranspose1d`` that also takes ``(B, C_in, 1, n) -> (B, C_out, 1, n')``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            return super().forward(x)
        return conv_transpose1d(x, self.weight, self.bias, self.stride[0], self.padding[0], self.output_padding[0],
                                self.groups, self.dilation[0])


class BatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` that also takes ``(B, C, 1, n)``: the same statistics per channel."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() not in (2, 3, 4):
            raise ValueError(f"BatchNorm1d: expected (B, C), (B, C, n) or (B, C, 1, n), got {tuple(x.shape)}")


class _Crop(Function):
    """:func:`center_crop` whose gradient has ``x``'s layout (zeros outside the crop)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, length: int) -> torch.Tensor:
        ctx.shape, ctx.length = x.shape, length
        ctx.layout = torch.channels_last if is_channels_last(x) else torch.contiguous_format
        return center_crop(x, length)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        out = torch.empty(ctx.shape, dtype=grad.dtype, device=grad.device, memory_format=ctx.layout).zero_()
        center_crop(out, ctx.length).copy_(grad)
        return out, None


def crop(x: torch.Tensor, length: int) -> torch.Tensor:
    """:func:`~waveunet_lit.models.common.center_crop` of the last axis (the same samples, a
    view), whose gradient keeps a channels-last ``x`` channels-last.

    Example:
        >>> x = torch.arange(7.0).reshape(1, 1, 1, 7).requires_grad_()
        >>> y = crop(x, 3)
        >>> y.flatten().tolist()
        [2.0, 3.0, 4.0]
        >>> y.sum().backward(); x.grad.flatten().tolist()
        [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    """
    return _Crop.apply(x, length)  # center_crop checks the length
