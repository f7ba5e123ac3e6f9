"""Exercises of notebook 05_spectrograms_and_masks.

Check your answers with ``waveunet_lit.exercises.spectrograms.check_num_frames(num_frames)``
and ``check_ratio_mask_separate(ratio_mask_separate)``.
"""


def num_frames(length: int, n_fft: int, hop: int) -> int:
    """How many frames ``waveunet_lit.models.STFT(n_fft, hop)`` makes from ``length`` samples.

    Frames are centred (frame ``j`` sits on sample ``j * hop``) and the signal is first padded
    at the end to a multiple of ``hop``. Use integer arithmetic only, no STFT.
    """
    raise NotImplementedError("your code here")


def ratio_mask_separate(mix, sources, stft):
    """Separate ``mix`` ``(T,)`` with the oracle ratio mask of the true ``sources`` ``(S, T)``.

    With ``S_j = stft(sources[j])`` and ``X = stft(mix)``: the mask of source ``j`` is
    ``|S_j| / sum_k |S_k|`` (guard the division against 0); multiply it with the complex ``X``
    (so the estimate keeps the mixture's phase) and return ``stft.inverse(..., T)``, ``(S, T)``.
    """
    raise NotImplementedError("your code here")


if __name__ == "__main__":
    from waveunet_lit.exercises import spectrograms, report

    raise SystemExit(report(spectrograms.CHECKS, globals()))
