"""Augmentations applied to each source separately, before the sources are mixed.

The training mixture is the sum of the augmented sources, so ``mix == sources.sum(S)`` holds
whatever the augmentation does. Each source draws its own random parameters.

* Cheap, from the Wave-U-Net paper (Section 4.2: random gain 0.7-1.0, channel swap) and
  common practice: :class:`RandomGain`, :class:`ChannelSwap`, :class:`SignFlip`,
  :class:`TimeShift`.
* Effects from the MUSDB data-augmentation literature (pitch shift +-2 semitones, time
  stretch 0.8-1.2, dynamic range compression, reverb; Cohen-Hadria et al., 2019), computed by
  Spotify's ``pedalboard`` (JUCE's DSP): :class:`PitchShift`, :class:`TimeStretch`,
  :class:`Compress`, :class:`Reverb`.

All of them run on the CPU, in the DataLoader's worker processes (none runs on the GPU; the
effects cost 0.1-0.3 s per source and second of audio for pitch shift and time stretch,
milliseconds for the others). In YAML, the data module takes a list::

    augment:
      - class_path: waveunet_lit.data.augment.RandomGain
        init_args: {low: 0.7, high: 1.0}
      - class_path: waveunet_lit.data.augment.PitchShift
        init_args: {semitones: 2.0, p: 0.2}

Every augmentation maps a source ``(C, T)`` float32 numpy array to ``(C, T')``; those that
need more input than they return (time shift, time stretch) say how much with
:meth:`Augmentation.input_length`, and the dataset reads that much and keeps the first
``T`` samples of the result.
"""

import math

import numpy as np

__all__ = [
    "Augmentation",
    "RandomGain",
    "ChannelSwap",
    "SignFlip",
    "TimeShift",
    "PitchShift",
    "TimeStretch",
    "Compress",
    "Reverb",
    "apply_augmentations",
    "input_length",
]


def _check_probability(p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    return float(p)


def _check_range(name: str, value: tuple[float, float], low: float, high: float) -> tuple[float, float]:
    a, b = value
    if not low <= a <= b <= high:
        raise ValueError(f"{name} must be (min, max) with {low} <= min <= max <= {high}, got {tuple(value)}")
    return float(a), float(b)


class Augmentation:
    """Base class: applies :meth:`apply` with probability ``p``.

    Args:
        p: probability of applying the augmentation to a source.
    """

    def __init__(self, p: float = 1.0):
        self.p = _check_probability(p)

    def input_length(self, n: int) -> int:
        """Input samples needed so that the output has at least ``n`` samples."""
        return n

    def __call__(self, x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        """``(C, T) -> (C, T')``; ``x`` is returned unchanged with probability ``1 - p``."""
        if self.p < 1.0 and rng.random() >= self.p:
            return x
        return self.apply(x, rate, rng)

    def apply(self, x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class RandomGain(Augmentation):
    """Multiply the source by a gain drawn uniformly from ``[low, high]`` (paper: 0.7-1.0).

    Example:
        >>> y = RandomGain(0.5, 0.5)(np.ones((2, 4), np.float32), 8000, np.random.default_rng(0))
        >>> float(y.max())
        0.5
    """

    def __init__(self, low: float = 0.7, high: float = 1.0, p: float = 1.0):
        super().__init__(p)
        self.low, self.high = _check_range("(low, high)", (low, high), 0.0, 10.0)

    def apply(self, x, rate, rng):
        return x * np.float32(rng.uniform(self.low, self.high))


class ChannelSwap(Augmentation):
    """Swap left and right (stereo only; mono is returned as is).

    Example:
        >>> ChannelSwap(p=1.0)(np.array([[1.0], [2.0]], np.float32), 8000, np.random.default_rng(0))[:, 0].tolist()
        [2.0, 1.0]
    """

    def __init__(self, p: float = 0.5):
        super().__init__(p)

    def apply(self, x, rate, rng):
        return x[::-1].copy() if x.shape[0] == 2 else x


class SignFlip(Augmentation):
    """Multiply the source by -1 (inaudible alone, but changes how sources add up)."""

    def __init__(self, p: float = 0.5):
        super().__init__(p)

    def apply(self, x, rate, rng):
        return -x


class TimeShift(Augmentation):
    """Delay each source by its own offset of 0..``max_shift`` samples (a mild incoherent remix).

    Example:
        >>> shift = TimeShift(max_shift=3, p=1.0)
        >>> shift.input_length(10)
        13
        >>> shift(np.zeros((1, 13), np.float32), 8000, np.random.default_rng(0)).shape[1] >= 10
        True
    """

    def __init__(self, max_shift: int = 4096, p: float = 1.0):
        super().__init__(p)
        if max_shift < 0:
            raise ValueError(f"max_shift must be >= 0 samples, got {max_shift}")
        self.max_shift = int(max_shift)

    def input_length(self, n):
        return n + self.max_shift

    def apply(self, x, rate, rng):
        return x[:, int(rng.integers(0, self.max_shift + 1)) :]


class PitchShift(Augmentation):
    """Shift the pitch by a uniform random amount in ``[-semitones, semitones]`` (pedalboard).

    The length is unchanged. Costly (about 0.1 s per second of stereo audio): keep ``p`` low.
    """

    def __init__(self, semitones: float = 2.0, p: float = 0.2):
        super().__init__(p)
        if not 0 < semitones <= 12:
            raise ValueError(f"semitones must be in (0, 12], got {semitones}")
        self.semitones = float(semitones)

    def apply(self, x, rate, rng):
        import pedalboard

        shift = float(rng.uniform(-self.semitones, self.semitones))
        return pedalboard.PitchShift(semitones=shift)(np.ascontiguousarray(x, np.float32), rate)


class TimeStretch(Augmentation):
    """Change the tempo by a factor in ``[low, high]`` without changing the pitch (pedalboard).

    A factor above 1 speeds up (shortens) the audio, so ``input_length(n)`` reads
    ``ceil(n * high)`` samples to return at least ``n`` whatever the factor.
    """

    def __init__(self, low: float = 0.8, high: float = 1.2, p: float = 0.2):
        super().__init__(p)
        self.low, self.high = _check_range("(low, high)", (low, high), 0.25, 4.0)

    def input_length(self, n):
        return math.ceil(n * self.high) + 32  # + a margin for the stretcher's rounding

    def apply(self, x, rate, rng):
        import pedalboard

        factor = float(rng.uniform(self.low, self.high))
        y = pedalboard.time_stretch(np.ascontiguousarray(x, np.float32), float(rate), stretch_factor=factor)
        return np.ascontiguousarray(y, np.float32)


class Compress(Augmentation):
    """Dynamic range compression with random threshold (dB) and ratio (pedalboard's Compressor)."""

    def __init__(
        self,
        threshold_db: tuple[float, float] = (-30.0, -10.0),
        ratio: tuple[float, float] = (2.0, 8.0),
        attack_ms: float = 5.0,
        release_ms: float = 100.0,
        p: float = 0.3,
    ):
        super().__init__(p)
        self.threshold_db = _check_range("threshold_db", threshold_db, -80.0, 0.0)
        self.ratio = _check_range("ratio", ratio, 1.0, 100.0)
        if attack_ms <= 0 or release_ms <= 0:
            raise ValueError(f"attack_ms and release_ms must be > 0, got {attack_ms}, {release_ms}")
        self.attack_ms, self.release_ms = float(attack_ms), float(release_ms)

    def apply(self, x, rate, rng):
        import pedalboard

        effect = pedalboard.Compressor(
            threshold_db=float(rng.uniform(*self.threshold_db)),
            ratio=float(rng.uniform(*self.ratio)),
            attack_ms=self.attack_ms,
            release_ms=self.release_ms,
        )
        return effect(np.ascontiguousarray(x, np.float32), rate)


class Reverb(Augmentation):
    """Algorithmic reverb (Freeverb, pedalboard) with random room size and wet level."""

    def __init__(
        self,
        room_size: tuple[float, float] = (0.1, 0.8),
        wet_level: tuple[float, float] = (0.1, 0.4),
        damping: float = 0.5,
        p: float = 0.3,
    ):
        super().__init__(p)
        self.room_size = _check_range("room_size", room_size, 0.0, 1.0)
        self.wet_level = _check_range("wet_level", wet_level, 0.0, 1.0)
        if not 0 <= damping <= 1:
            raise ValueError(f"damping must be in [0, 1], got {damping}")
        self.damping = float(damping)

    def apply(self, x, rate, rng):
        import pedalboard

        wet = float(rng.uniform(*self.wet_level))
        effect = pedalboard.Reverb(
            room_size=float(rng.uniform(*self.room_size)), damping=self.damping, wet_level=wet, dry_level=1.0 - wet
        )
        return effect(np.ascontiguousarray(x, np.float32), rate)


def input_length(augmentations, n: int) -> int:
    """Samples to read so that the chain ``augmentations`` returns at least ``n``.

    Example:
        >>> input_length([TimeShift(100), TimeStretch(0.8, 1.2)], 1000)
        1332
    """
    for aug in reversed(list(augmentations)):
        n = aug.input_length(n)
    return n


def apply_augmentations(augmentations, x: np.ndarray, rate: int, rng: np.random.Generator, length: int) -> np.ndarray:
    """Run the chain on one source ``(C, T)`` and return exactly ``(C, length)`` (zero-padded
    if an effect returned fewer samples)."""
    for aug in augmentations:
        x = aug(x, rate, rng)
    x = x[:, :length]
    if x.shape[1] < length:
        x = np.pad(x, ((0, 0), (0, length - x.shape[1])))
    return np.ascontiguousarray(x, dtype=np.float32)
