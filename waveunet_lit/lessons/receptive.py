"""Helpers for ``04_receptive_field``: toy convolution stacks to probe, the probe drawn, context
per model, and a tiny separation task that shows what context buys at tile borders.

The receptive fields themselves come from the package (:mod:`waveunet_lit.receptive_field` and
each model's ``receptive_field()``); separation of long signals from
:func:`waveunet_lit.separate.separate`.
"""

import math

import torch
from torch import nn

from ..models import DilatedWaveUNet, WaveUNet, center_crop
from ..receptive_field import measure_receptive_field, receptive_field
from ..separate import separate

__all__ = ["ConvStack", "border_error", "gradient_magnitude", "plot_border_error", "plot_context",
           "plot_probe", "toy_batch", "train_toy"]


class ConvStack(nn.Module):
    """'Valid' ``Conv1d`` layers ``(kernel, stride, dilation)``, one channel, shaped like a
    separation model (``(B, 1, T) -> (B, 1, 1, T_out)``) so that the gradient probe can measure it.

    Example:
        >>> ConvStack([(3, 1, 1), (3, 2, 2)])(torch.zeros(2, 1, 20)).shape
        torch.Size([2, 1, 1, 7])
    """

    def __init__(self, layers):
        super().__init__()
        self.channels = 1
        self.convs = nn.ModuleList(nn.Conv1d(1, 1, k, stride=s, dilation=d) for k, s, d in layers)
        for conv in self.convs:  # weights away from zero, so no tap is accidentally silent
            nn.init.uniform_(conv.weight, 0.5, 1.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = conv(x)  # (B, 1, T')
        return x[:, None]  # (B, 1, 1, T_out)


def gradient_magnitude(model: nn.Module, n_in: int, index: int | None = None, seed: int = 0) -> torch.Tensor:
    """``|d out[index] / d x|`` over the ``n_in`` input samples for one random input (``(n_in,)``),
    summed over sources and channels; for pictures (the package's probe gives the numbers).

    Example:
        >>> g = gradient_magnitude(ConvStack([(3, 1, 1)]), 9)
        >>> (g > 0).nonzero().flatten().tolist()
        [3, 4, 5]
    """
    probe = model.double().eval()
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1, getattr(model, "channels", 1), n_in, generator=gen, dtype=torch.float64, requires_grad=True)
    out = probe(x)  # (1, S, C, T_out)
    j = out.shape[-1] // 2 if index is None else index
    (grad,) = torch.autograd.grad(out[..., j].sum(), x)
    model.float()
    return grad.abs().sum(dim=(0, 1))  # (T_in,)


def plot_probe(levels: int = 2, dilation_growth: int = 2, depth: int = 2) -> None:
    """The gradient of one output sample of a small :class:`DilatedWaveUNet` over its input,
    with the computed receptive field; prints the computed and the measured value.

    Example:
        >>> plot_probe(2, 2)
        DilatedWaveUNet levels=2, dilation growth 2, depth 2: computed 67, measured 67 samples
    """
    import matplotlib.pyplot as plt

    torch.manual_seed(0)
    net = DilatedWaveUNet(sources=("a", "b"), channels=1, levels=levels, features=2, kernel_size=3, depth=depth,
                          dilation_growth=dilation_growth)
    computed = net.receptive_field()
    n = net.valid_length(2 * computed + 2**levels)
    measured = measure_receptive_field(net, n, outputs=2**levels, trials=2)
    print(f"DilatedWaveUNet levels={levels}, dilation growth {dilation_growth}, depth {depth}: "
          f"computed {computed}, measured {measured} samples")
    g = gradient_magnitude(net, n)
    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.semilogy(g.clamp_min(1e-12), lw=0.8)
    hit = (g > 0).nonzero().flatten()
    ax.axvspan(int(hit[0]), int(hit[-1]), color="C1", alpha=0.15, label=f"span {int(hit[-1] - hit[0]) + 1} samples")
    ax.set_ylim(1e-6 * float(g.max()), 2 * float(g.max()))
    ax.set_xlabel("input sample")
    ax.set_ylabel("|d out / d in|")
    ax.set_title(f"which input samples move the centre output (receptive field {computed})")
    ax.legend(fontsize=8)
    fig.tight_layout()


def plot_context(models: dict[str, nn.Module]) -> None:
    """Bar chart of the receptive field in seconds of each model; prints samples and seconds.

    Example:
        >>> plot_context({"M4": WaveUNet.from_preset("M4")})
        M4           135155 samples   6.13 s at 22050 Hz
    """
    import matplotlib.pyplot as plt

    names, seconds = [], []
    for name, model in models.items():
        rf = receptive_field(model)
        names.append(name)
        seconds.append(rf / model.sample_rate)
        print(f"{name:<12} {rf:>6} samples {rf / model.sample_rate:>6.2f} s at {model.sample_rate} Hz")
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.barh(names, seconds, color="C0")
    ax.invert_yaxis()
    ax.set_xlabel("receptive field (s)")
    ax.set_title("how much audio one output sample hears")
    fig.tight_layout()


# ---------------------------------------------------------------- the tile-border demo
def toy_batch(batch: int, n: int, rate: int = 8000, gen: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A toy separation task: "vocals" = a tone between 400 and 1200 Hz, "accompaniment" = a
    tone between 60 and 150 Hz plus a little noise, random amplitudes and phases.

    Returns:
        ``mix (B, 1, n)`` and ``sources (B, 2, 1, n)``, which sum to ``mix``.

    Example:
        >>> mix, sources = toy_batch(3, 100, gen=torch.Generator().manual_seed(0))
        >>> mix.shape, sources.shape, bool(torch.allclose(sources.sum(1), mix))
        (torch.Size([3, 1, 100]), torch.Size([3, 2, 1, 100]), True)
    """
    gen = gen or torch.Generator().manual_seed(0)
    t = torch.arange(n) / rate

    def tone(lo: float, hi: float) -> torch.Tensor:
        f = lo + (hi - lo) * torch.rand(batch, 1, generator=gen)
        phase = 2 * math.pi * torch.rand(batch, 1, generator=gen)
        amp = 0.1 + 0.3 * torch.rand(batch, 1, generator=gen)
        return amp * torch.sin(2 * math.pi * f * t + phase)  # (B, n)

    vocals = tone(400, 1200)
    accompaniment = tone(60, 150) + 0.02 * torch.randn(batch, n, generator=gen)
    sources = torch.stack([vocals, accompaniment], dim=1)[:, :, None]  # (B, 2, 1, n)
    return sources.sum(1), sources


def train_toy(context: bool, steps: int = 150, seed: int = 0, rate: int = 8000) -> WaveUNet:
    """A small Wave-U-Net (4 levels, 8 filters) trained on :func:`toy_batch` for ``steps`` Adam
    steps, with 'valid' convolutions and input context (``context=True``, like M3) or with zero
    'same' padding (like M2). Deterministic for a given seed and thread count.

    Example:
        >>> net = train_toy(context=True, steps=2)
        >>> net.context, net.training
        (True, False)
    """
    torch.manual_seed(seed)
    net = WaveUNet(sources=("vocals", "accompaniment"), channels=1, sample_rate=rate, levels=4, features=8,
                   context=context, output_activation="identity")
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(seed)
    n_in = net.valid_length(512)
    for _ in range(steps):
        mix, sources = toy_batch(8, n_in, rate, gen)
        est = net(mix)  # (B, 2, 1, T_out)
        loss = (est - center_crop(sources, est.shape[-1])).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def border_error(net: WaveUNet, tile: int = 512, tiles: int = 16, seed: int = 1) -> torch.Tensor:
    """Mean absolute error of the vocals estimate at each position inside a tile of ``tile``
    output samples, when a song of ``tiles`` tiles is separated tile by tile with
    :func:`~waveunet_lit.separate.separate` (no overlap; a 'valid' model gets its context from
    the neighbouring audio). The first and last tile are left out (the song's own ends).

    Returns:
        ``(tile,)``.

    Example:
        >>> border_error(train_toy(context=False, steps=1), tile=64, tiles=4).shape
        torch.Size([64])
    """
    mix, sources = toy_batch(1, tile * tiles, net.sample_rate, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        est = separate(net, mix[0], net.sample_rate, segment=tile, overlap=0.0)  # (S, C, T)
    err = (est[0, 0] - sources[0, 0, 0]).abs()  # (T,)
    return err.reshape(tiles, tile)[1:-1].mean(0)  # (tile,)


def plot_border_error(errors: dict[str, torch.Tensor]) -> None:
    """Error against the position inside the tile, one line per model; prints, for each, the
    mean error in the 16 samples next to the tile borders and in the middle half."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3))
    for name, e in errors.items():
        n = e.shape[-1]
        edge = torch.cat([e[:16], e[-16:]]).mean()
        middle = e[n // 4 : 3 * n // 4].mean()
        print(f"{name:<16} error at the borders {float(edge):.4f}, in the middle {float(middle):.4f}")
        ax.semilogy(e, label=name)
    ax.set_xlabel("output sample inside the tile")
    ax.set_ylabel("mean |error| of vocals")
    ax.set_title("separating tile by tile: the errors at the tile borders")
    ax.legend(fontsize=8)
    fig.tight_layout()
