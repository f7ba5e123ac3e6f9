"""Solutions of the exercises of notebook 06_losses."""

import math

import torch

from waveunet_lit.losses import check_pair


def neg_si_sdr_of(snr_db: float, gain: float) -> float:
    """The projection is gain * target, the error is the noise: SI-SDR = SNR + 20 log10(gain)."""
    return -(snr_db + 20 * math.log10(gain))


def log_magnitude_l1(estimate, target):
    """L1 between log(|STFT| + eps) of estimate and target, mean over everything."""
    check_pair(estimate, target, "log_magnitude_l1")
    T = estimate.shape[-1]
    window = torch.hann_window(256, dtype=estimate.dtype)

    def log_mag(x):
        spec = torch.stft(x.reshape(-1, T), 256, 64, window=window, return_complex=True)
        return torch.log(spec.abs() + 1e-5)

    return torch.mean(torch.abs(log_mag(estimate) - log_mag(target)))


if __name__ == "__main__":
    from waveunet_lit.exercises import losses, report

    raise SystemExit(report(losses.CHECKS, globals()))
