"""Exercises of notebook 06_losses.

Check your answers with ``waveunet_lit.exercises.losses.check_neg_si_sdr_of(neg_si_sdr_of)``
and ``check_log_magnitude_l1(log_magnitude_l1)``.
"""


def neg_si_sdr_of(snr_db: float, gain: float) -> float:
    """The value of ``NegSISDRLoss`` for the estimate ``gain * target + n``, where the noise ``n``
    is orthogonal to the target and ``snr_db`` dB below the (unscaled) target:
    ``||n||^2 = ||target||^2 / 10^(snr_db / 10)``. A formula, no tensors needed.
    """
    raise NotImplementedError("your code here")


def log_magnitude_l1(estimate, target):
    """Your own loss: mean absolute difference of ``log(|STFT| + eps)`` of estimate and target.

    Keep the package's loss contract: check the inputs with
    ``waveunet_lit.losses.check_pair(estimate, target, "log_magnitude_l1")`` (``(B, S, C, T)``,
    ``ValueError`` otherwise); return a scalar tensor; 0 at ``estimate == target``; larger for a
    worse estimate; finite gradients, also for a silent estimate. Use torch only, e.g.
    ``torch.stft(x.reshape(-1, T), 256, 64, window=torch.hann_window(256), return_complex=True)``.
    """
    raise NotImplementedError("your code here")


if __name__ == "__main__":
    from waveunet_lit.exercises import losses, report

    raise SystemExit(report(losses.CHECKS, globals()))
