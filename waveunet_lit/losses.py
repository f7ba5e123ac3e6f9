"""Training losses. Every loss is an ``nn.Module`` called ``loss(estimate, target)`` on
``(B, S, C, T)`` tensors of equal shape and returns a scalar: the mean over batch, sources and
channels (and over time or time-frequency bins where the formula has them), as each docstring
states. A YAML config names one by class path, e.g. ``class_path: waveunet_lit.losses.MSELoss``;
:class:`WeightedSum` combines several.

A wrong shape raises ``ValueError`` naming the expected shape; a NaN or inf in the estimate
raises ``ValueError`` too (a diverged model should stop loudly, not train on NaN)."""

import torch
from torch import nn

from .metrics import check_pair as _check_pair
from .metrics import new_sdr, si_sdr
from .models.common import record_init

__all__ = [
    "MSELoss",
    "L1Loss",
    "MultiResolutionSTFTLoss",
    "MagnitudePhaseL1Loss",
    "NegSDRLoss",
    "NegSISDRLoss",
    "WeightedSum",
    "check_pair",
]


def check_pair(estimate: torch.Tensor, target: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` unless ``estimate`` and ``target`` are both ``(B, S, C, T)`` alike
    and the estimate is finite."""
    _check_pair(estimate, target, name, four_d=True)


class MSELoss(nn.Module):
    """Mean squared error, the paper's loss: ``mean((estimate - target) ** 2)``.

    Example:
        >>> x = torch.ones(1, 2, 1, 4)
        >>> MSELoss()(x, 3 * x).item()
        4.0
    """

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_pair(estimate, target, "MSELoss")
        return torch.mean((estimate - target) ** 2)


class L1Loss(nn.Module):
    """Mean absolute error: ``mean(|estimate - target|)``.

    Example:
        >>> x = torch.ones(1, 2, 1, 4)
        >>> L1Loss()(x, 3 * x).item()
        2.0
    """

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_pair(estimate, target, "L1Loss")
        return torch.mean(torch.abs(estimate - target))


def _check_stft_args(name: str, n_ffts: tuple, hops: tuple, wins: tuple) -> None:
    if not (len(n_ffts) == len(hops) == len(wins)) or len(n_ffts) == 0:
        raise ValueError(
            f"{name}: fft_sizes, hop_sizes and win_lengths must be non-empty and equally long, "
            f"got {n_ffts}, {hops}, {wins}"
        )
    for n_fft, hop, win in zip(n_ffts, hops, wins):
        if not (isinstance(n_fft, int) and isinstance(hop, int) and isinstance(win, int)):
            raise ValueError(f"{name}: STFT sizes must be ints, got {n_fft}, {hop}, {win}")
        if not 0 < hop <= win <= n_fft:
            raise ValueError(
                f"{name}: need 0 < hop <= win_length <= n_fft, got hop={hop}, win={win}, n_fft={n_fft}"
            )


def _stft(x: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    """Complex STFT of every signal: ``(B, S, C, T) -> (B, S, C, F, N)`` (Hann window, centred,
    zero padding so that any length works)."""
    B, S, C, T = x.shape
    spec = torch.stft(
        x.reshape(B * S * C, T), n_fft, hop, window=window, center=True, pad_mode="constant",
        return_complex=True,
    )  # (B S C, F, N)
    return spec.view(B, S, C, *spec.shape[-2:])  # (B, S, C, F, N)


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral convergence plus log-magnitude L1, averaged over several STFT resolutions.

    The spectral loss of "Wave-U-Net with spectral loss" designs, as defined by Yamamoto et al.
    (Parallel WaveGAN, ICASSP 2020, Eqs. 4-6; after Arık et al. 2018). With ``X = |STFT(target)|``
    and ``Y = |STFT(estimate)|`` per signal (batch item, source, channel) and resolution ``m``::

        L_sc  = || X - Y ||_F / || X ||_F                     (mean over signals)
        L_mag = mean | log X - log Y |                          (mean over signals and bins)
        loss  = (1 / M) sum_m (L_sc + L_mag)

    Magnitudes are floored at ``sqrt(eps)`` so that logs and gradients stay finite. Zero when
    ``estimate == target``; unchanged (up to ``eps``) when both are scaled by the same factor.

    Args:
        fft_sizes, hop_sizes, win_lengths: one entry per resolution (Hann windows).
        eps: floor of the squared magnitude.

    Example:
        >>> loss = MultiResolutionSTFTLoss(fft_sizes=(64, 32), hop_sizes=(16, 8), win_lengths=(64, 32))
        >>> x = torch.randn(2, 3, 1, 256)
        >>> loss(x, x).item()
        0.0
        >>> bool(loss(0.5 * x, x) > 0)
        True
    """

    def __init__(
        self,
        fft_sizes: tuple[int, ...] = (2048, 1024, 512),
        hop_sizes: tuple[int, ...] = (512, 256, 128),
        win_lengths: tuple[int, ...] = (2048, 1024, 512),
        eps: float = 1e-7,
    ):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        fft_sizes, hop_sizes, win_lengths = tuple(fft_sizes), tuple(hop_sizes), tuple(win_lengths)
        _check_stft_args("MultiResolutionSTFTLoss", fft_sizes, hop_sizes, win_lengths)
        if not eps > 0:
            raise ValueError(f"MultiResolutionSTFTLoss: eps must be > 0, got {eps}")
        self.fft_sizes, self.hop_sizes, self.win_lengths, self.eps = fft_sizes, hop_sizes, win_lengths, eps
        for i, win in enumerate(win_lengths):
            self.register_buffer(f"window{i}", torch.hann_window(win), persistent=False)

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_pair(estimate, target, "MultiResolutionSTFTLoss")
        total = estimate.new_zeros(())
        for i, (n_fft, hop) in enumerate(zip(self.fft_sizes, self.hop_sizes)):
            window = getattr(self, f"window{i}").to(estimate.dtype)
            x = _magnitude(_stft(target, n_fft, hop, window), self.eps)  # (B, S, C, F, N)
            y = _magnitude(_stft(estimate, n_fft, hop, window), self.eps)  # (B, S, C, F, N)
            sc = torch.linalg.vector_norm(x - y, dim=(-2, -1)) / torch.linalg.vector_norm(x, dim=(-2, -1))
            total = total + sc.mean() + torch.mean(torch.abs(torch.log(x) - torch.log(y)))
        return total / len(self.fft_sizes)


def _magnitude(spec: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.sqrt(torch.clamp(spec.real**2 + spec.imag**2, min=eps))


class MagnitudePhaseL1Loss(nn.Module):
    """Weighted L1 on STFT magnitude and on the complex STFT (real and imaginary parts).

    The complex term is how phase enters: BSRNN (Luo & Yu, "Music Source Separation with
    Band-split RNN", IEEE/ACM TASLP 2023, arXiv:2209.15174) trains on the mean absolute error of
    the real and imaginary parts of the estimated spectrogram (plus a waveform MAE, which a
    :class:`WeightedSum` with :class:`L1Loss` adds). Here that complex term is balanced against a
    magnitude term with ``alpha`` (0.5 by default). With ``X = STFT(target)``,
    ``Y = STFT(estimate)``::

        loss = alpha * mean | |Y| - |X| |
             + (1 - alpha) * mean (| Re Y - Re X | + | Im Y - Im X |)

    means over batch, sources, channels and time-frequency bins. A pure phase error (``|Y| = |X|``)
    costs only through the second term. Zero when ``estimate == target``; scales linearly:
    ``loss(k e, k t) = |k| loss(e, t)``.

    Args:
        alpha: weight of the magnitude term, in [0, 1].
        n_fft, hop_length: STFT size and hop (Hann window of ``n_fft`` samples).

    Example:
        >>> loss = MagnitudePhaseL1Loss(n_fft=64, hop_length=16)
        >>> x = torch.randn(2, 1, 2, 512)
        >>> loss(x, x).item()
        0.0
        >>> bool(loss(-x, x) > 0)  # same magnitude, opposite phase
        True
    """

    def __init__(self, alpha: float = 0.5, n_fft: int = 2048, hop_length: int = 512):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"MagnitudePhaseL1Loss: alpha must be in [0, 1], got {alpha}")
        _check_stft_args("MagnitudePhaseL1Loss", (n_fft,), (hop_length,), (n_fft,))
        self.alpha, self.n_fft, self.hop_length = alpha, n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_pair(estimate, target, "MagnitudePhaseL1Loss")
        window = self.window.to(estimate.dtype)
        x = _stft(target, self.n_fft, self.hop_length, window)  # (B, S, C, F, N)
        y = _stft(estimate, self.n_fft, self.hop_length, window)  # (B, S, C, F, N)
        # |Y| through a floor so that its gradient is finite where Y = 0.
        magnitude = torch.mean(torch.abs(_magnitude(y, 1e-12) - _magnitude(x, 1e-12)))
        complex_part = torch.mean(torch.abs(y.real - x.real) + torch.abs(y.imag - x.imag))
        return self.alpha * magnitude + (1 - self.alpha) * complex_part


class NegSDRLoss(nn.Module):
    """Negative MDX "new SDR" (:func:`waveunet_lit.metrics.new_sdr`), mean over batch and sources::

        loss = -mean_{b,s} 10 log10((||t||^2 + eps) / (||t - e||^2 + eps))

    sums over channels and time. Its lower bound, reached at ``estimate == target``, is
    ``-10 log10((||t||^2 + eps) / eps)`` (about -100 dB for unit-power signals of 1000 samples
    and ``eps = 1e-7``). Scaling estimate and target together leaves it unchanged (up to eps);
    scaling the estimate alone does not.

    With ``frame=L`` the chunk is cut into frames of ``L`` samples (the samples after the last
    whole frame join it) and the loss is the mean of the frames' negative SDRs, as BSSEval
    scores 1-s frames: a quiet passage then counts as much as a loud one, where the SDR of the
    whole chunk is set by its loud part.

    Args:
        eps: added to both energies (keeps silent signals finite).
        frame: samples per frame (e.g. the model's sample rate: 1-s frames); ``None``: the
            whole chunk is one frame.

    Example:
        >>> t = torch.ones(1, 2, 1, 100)
        >>> round(NegSDRLoss()(0.9 * t, t).item(), 3)
        -20.0
        >>> e = torch.cat([0.9 * t[..., :50], 0.99 * t[..., 50:]], -1)  # 20 dB, then 40 dB
        >>> round(NegSDRLoss()(e, t).item(), 2), round(NegSDRLoss(frame=50)(e, t).item(), 2)
        (-22.97, -30.0)
    """

    def __init__(self, eps: float = 1e-7, frame: int | None = None):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        if not eps > 0:
            raise ValueError(f"NegSDRLoss: eps must be > 0, got {eps}")
        if frame is not None and (isinstance(frame, bool) or not isinstance(frame, int) or frame < 1):
            raise ValueError(f"NegSDRLoss: frame must be a number of samples >= 1 (or None), got {frame!r}")
        self.eps, self.frame = eps, frame

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_pair(estimate, target, "NegSDRLoss")
        if self.frame is None:
            return -new_sdr(estimate, target, self.eps).mean()
        signal = frame_sums(target.square().sum(-2), self.frame)  # (B, S, n)
        error = frame_sums((target - estimate).square().sum(-2), self.frame)
        return -(10 * torch.log10((signal + self.eps) / (error + self.eps))).mean()


def frame_sums(x: torch.Tensor, frame: int) -> torch.Tensor:
    """``(..., T) -> (..., n)``: sums over ``n = max(T // frame, 1)`` frames of ``frame`` samples;
    the samples after the last whole frame join it.

    Example:
        >>> frame_sums(torch.arange(7.0), 3).tolist()  # [0+1+2, 3+4+5+6]
        [3.0, 18.0]
    """
    T = x.shape[-1]
    n = max(T // frame, 1)
    index = (torch.arange(T, device=x.device) // frame).clamp(max=n - 1)  # each sample's frame
    return x.new_zeros(*x.shape[:-1], n).index_add(-1, index, x)


class NegSISDRLoss(nn.Module):
    """Negative scale-invariant SDR (:func:`waveunet_lit.metrics.si_sdr`), mean over batch and
    sources; one SI-SDR per ``(C, T)`` signal::

        a = <e, t> / ||t||^2,   loss = -mean_{b,s} 10 log10((||a t||^2 + eps) / (||a t - e||^2 + eps))

    Minimal (about -80 dB or lower, set by ``eps``) at ``estimate == target``; unchanged when the
    estimate alone is rescaled by ``k > 0``, so it does not constrain the output level (pair it
    with a waveform loss in a :class:`WeightedSum` if the level matters).

    Example:
        >>> t = torch.sin(torch.linspace(0, 100, 1000)).expand(1, 2, 1, 1000)
        >>> NegSISDRLoss()(2 * t, t).item() < -70
        True
    """

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        if not eps > 0:
            raise ValueError(f"NegSISDRLoss: eps must be > 0, got {eps}")
        self.eps = eps

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_pair(estimate, target, "NegSISDRLoss")
        return -si_sdr(estimate, target, self.eps).mean()


class WeightedSum(nn.Module):
    """``sum_i weights[i] * losses[i](estimate, target)``.

    Args:
        losses: the losses, each an ``nn.Module`` called ``loss(estimate, target)``.
        weights: one float per loss.

    In a config::

        loss:
          class_path: waveunet_lit.losses.WeightedSum
          init_args:
            losses:
              - class_path: waveunet_lit.losses.L1Loss
              - class_path: waveunet_lit.losses.MultiResolutionSTFTLoss
            weights: [1.0, 0.5]

    Example:
        >>> x = torch.ones(1, 2, 1, 4)
        >>> WeightedSum((MSELoss(), L1Loss()), (1.0, 0.5))(x, 3 * x).item()  # 4 + 0.5 * 2
        5.0
    """

    def __init__(self, losses: tuple[nn.Module, ...], weights: tuple[float, ...]):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        losses, weights = tuple(losses), tuple(float(w) for w in weights)
        if len(losses) == 0 or len(losses) != len(weights):
            raise ValueError(
                f"WeightedSum: losses and weights must be non-empty and equally long, "
                f"got {len(losses)} losses and {len(weights)} weights"
            )
        if not all(isinstance(loss, nn.Module) for loss in losses):
            raise ValueError("WeightedSum: every entry of losses must be an nn.Module")
        if not all(torch.isfinite(torch.tensor(w)) for w in weights):
            raise ValueError(f"WeightedSum: weights must be finite, got {weights}")
        self.losses = nn.ModuleList(losses)
        self.weights = weights

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_pair(estimate, target, "WeightedSum")
        return sum(w * loss(estimate, target) for w, loss in zip(self.weights, self.losses))
