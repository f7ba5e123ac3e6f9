"""Short mono clips for notebooks: what ``IPython.display.Audio`` gets, kept small."""

import numpy as np
import torch

from ..audio import to_channels

__all__ = ["listen", "MAX_RATE", "MAX_SECONDS"]

MAX_RATE = 16_000  # Hz: clips in notebooks are at most this rate ...
MAX_SECONDS = 3.0  # ... and this long, so a notebook with its outputs stays well under 2 MB


def listen(x: torch.Tensor | np.ndarray, rate: int, normalize: bool = False):
    """An ``IPython.display.Audio`` player for a short clip, averaged to mono.

    ``normalize=False`` by default, so that two clips played one after the other keep their
    loudness (IPython normalises each clip to full scale otherwise); samples are clipped to
    ``[-1, 1]``.

    Args:
        x: ``(T,)`` or ``(C, T)`` samples.
        rate: sample rate in Hz, at most :data:`MAX_RATE`.
        normalize: scale the clip to full scale, as IPython does by default.

    Raises:
        ValueError: the rate is above 16 kHz, the clip is longer than 3 s, or not 1-D / 2-D.

    Example:
        >>> player = listen(torch.zeros(2, 800), 8000)
        >>> player.data[:4]  # a WAV file, embedded in the notebook
        b'RIFF'
        >>> listen(torch.zeros(44100), 44100)
        Traceback (most recent call last):
        ...
        ValueError: listen: rate 44100 Hz is above 16000 Hz; resample the clip first
    """
    from IPython.display import Audio

    x = torch.as_tensor(x, dtype=torch.float32)
    if x.dim() == 2:
        x = to_channels(x, 1)[0]  # (T,): the package's one channel rule
    if x.dim() != 1:
        raise ValueError(f"listen expects (T,) or (C, T) samples, got shape {tuple(x.shape)}")
    if rate > MAX_RATE:
        raise ValueError(f"listen: rate {rate} Hz is above {MAX_RATE} Hz; resample the clip first")
    if x.shape[-1] > MAX_SECONDS * rate:
        raise ValueError(f"listen: {x.shape[-1] / rate:.2f} s is longer than {MAX_SECONDS} s; cut the clip")
    return Audio(x.clamp(-1, 1).numpy(), rate=rate, normalize=normalize)
