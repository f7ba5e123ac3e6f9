"""Helpers for ``01_wave_u_net_by_the_numbers``: a view of a Wave-U-Net's bottleneck.

The receptive-field probe (:func:`waveunet_lit.receptive_field.measure_receptive_field`) asks
which input samples move one *output* sample. :class:`BottleneckView` lets the same probe ask
it of one *bottleneck* step: it runs the whole model and returns what its bottleneck
convolution wrote, shaped like a model output.
"""

import torch
from torch import nn

from ..models import WaveUNet

__all__ = ["BottleneckView", "plot_lengths"]


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


def plot_lengths(levels: int = 12, down_kernel: int = 15, up_kernel: int = 5, output: int = 16384) -> None:
    """Samples after every convolution of a Wave-U-Net with context, from one real forward pass
    (1 filter per level: the lengths do not depend on the widths); prints input and output length.

    Example:
        >>> plot_lengths(levels=3, down_kernel=5, up_kernel=3, output=100)
        levels=3, kernels 5/3: 181 input samples -> 107 output samples, 16 bottleneck steps
    """
    import matplotlib.pyplot as plt

    net = WaveUNet(sources=("a", "b"), channels=1, levels=levels, features=1, down_kernel=down_kernel, up_kernel=up_kernel)
    n = net.valid_length(output)
    lengths = []
    convs = [*net.down, net.bottleneck, *net.up]
    hooks = [c.register_forward_hook(lambda mod, inp, out: lengths.append(out.shape[-1])) for c in convs]
    try:
        with torch.no_grad():
            out = net(torch.zeros(1, 1, n))
    finally:
        for h in hooks:
            h.remove()
    print(f"levels={levels}, kernels {down_kernel}/{up_kernel}: {n} input samples -> {out.shape[-1]} output samples, "
          f"{lengths[levels]} bottleneck steps")
    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.semilogy(lengths, "o-")
    ax.set_xticks(range(len(lengths)), [f"down {i + 1}" for i in range(levels)] + ["bottleneck"]
                  + [f"up {levels - i}" for i in range(levels)], rotation=70, fontsize=7)
    ax.set_ylabel("samples (log)")
    ax.set_title(f"{n} samples in, {out.shape[-1]} out")
    fig.tight_layout()
