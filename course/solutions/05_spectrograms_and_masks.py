"""Solutions of the exercises of notebook 05_spectrograms_and_masks."""

import math


def num_frames(length: int, n_fft: int, hop: int) -> int:
    """Padded to ceil(length / hop) hops; centred frames on samples 0, hop, ..., that end."""
    return 1 + math.ceil(length / hop)


def ratio_mask_separate(mix, sources, stft):
    """Ratio mask |S_j| / sum_k |S_k| times the complex mixture spectrogram, inverted."""
    magnitudes = stft(sources).abs()  # (S, F, N)
    mask = magnitudes / magnitudes.sum(0, keepdim=True).clamp_min(1e-12)  # (S, F, N)
    return stft.inverse(mask * stft(mix), mix.shape[-1])  # (S, T)


if __name__ == "__main__":
    from waveunet_lit.exercises import spectrograms, report

    raise SystemExit(report(spectrograms.CHECKS, globals()))
