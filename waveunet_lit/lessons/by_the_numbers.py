"""Helpers for ``01_wave_u_net_by_the_numbers``: a view of a Wave-U-Net's bottleneck.

The receptive-field probe (:func:`waveunet_lit.receptive_field.measure_receptive_field`) asks
which input samples move one *output* sample. :class:`BottleneckView` lets the same probe ask
it of one *bottleneck* step: it runs the whole model and returns what its bottleneck
convolution wrote, shaped like a model output.
"""

import torch
from torch import nn

from ..models import WaveUNet

__all__ = ["BottleneckView"]


class BottleneckView(nn.Module):
    """The bottleneck features of ``net``, shaped ``(B, 1, D, N)`` like separated sources.

    Uses a forward hook on ``net.bottleneck``, so the forward pass is the model's own (the
    input length must be one the model accepts).

    Shape:
        ``mix (B, C, T) -> (B, 1, D, N)``: D bottleneck channels, N bottleneck steps.

    Example:
        >>> net = WaveUNet(sources=("a", "b"), channels=1, levels=2, features=2)
        >>> BottleneckView(net)(torch.zeros(1, 1, net.valid_length(1))).shape
        torch.Size([1, 1, 6, 4])
    """

    def __init__(self, net: WaveUNet):
        super().__init__()
        self.net = net
        self.channels = net.channels

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        seen = []
        hook = self.net.bottleneck.register_forward_hook(lambda mod, inp, out: seen.append(out))
        try:
            self.net(mix)
        finally:
            hook.remove()
        return seen[0][:, None]  # (B, 1, D, N)
