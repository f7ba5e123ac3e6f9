"""A small synthetic dataset in MUSDB18-HQ layout, generated with numpy in seconds.

Each source is a different, learnable kind of sound, so a small model can learn to separate
them on a laptop CPU:

* ``vocals``: a sung-like melody: harmonic tone (decaying harmonics, 5 Hz vibrato) with rests;
* ``drums``: kick (falling sine sweep) on beats 1 and 3, snare (noise burst) on 2 and 4,
  hi-hat (short bright noise) on every eighth;
* ``bass``: low square-ish notes (odd harmonics) on every beat, 40-110 Hz;
* ``other``: sustained chords of three sine tones, one chord per bar.

Tracks differ in tempo, key, gains and stereo placement; everything comes from one seed.
The layout is MUSDB18-HQ's: ``root/{train,test}/<track>/{mixture,vocals,drums,bass,other}.wav``
with ``mixture = vocals + drums + bass + other`` (up to 16-bit rounding, as in MUSDB18-HQ).
"""

from pathlib import Path

import numpy as np
import soundfile as sf

from ..audio import default_data_root

__all__ = ["generate_toy_musdb", "default_toy_root", "SOURCES"]

SOURCES = ("vocals", "drums", "bass", "other")


def default_toy_root() -> Path:
    """Where the toy dataset lives unless told otherwise: ``$WAVEUNET_DATA/toy-musdb`` or
    ``~/.cache/waveunet-lit/toy-musdb``."""
    return default_data_root() / "toy-musdb"


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _envelope(n: int, rate: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / rate
    return np.minimum(t / attack, 1.0) * np.exp(-t / decay)


def _track(rng: np.random.Generator, seconds: float, rate: int) -> dict[str, np.ndarray]:
    """One track: ``{source: (2, T) float32}``."""
    T = int(seconds * rate)
    beat = int(rate * 60 / rng.uniform(90, 140))  # samples per beat
    key = int(rng.integers(0, 12))
    scale = np.array([0, 2, 4, 5, 7, 9, 11])
    out = {name: np.zeros(T) for name in SOURCES}
    t_beat = np.arange(beat) / rate

    for start in range(0, T, beat):  # one loop over beats writes drums and bass
        n = min(beat, T - start)
        k = start // beat
        if k % 2 == 0:  # kick: 150 Hz -> 50 Hz sweep
            f = 50 + 100 * np.exp(-t_beat[:n] * 30)
            out["drums"][start : start + n] += np.sin(2 * np.pi * np.cumsum(f) / rate) * _envelope(n, rate, 0.002, 0.12)
        else:  # snare: noise burst
            out["drums"][start : start + n] += 0.5 * rng.standard_normal(n) * _envelope(n, rate, 0.001, 0.06)
        for half in (0, beat // 2):  # hi-hat on every eighth: differenced noise is bright
            m = min(rate // 20, T - start - half)
            if m > 1:
                out["drums"][start + half : start + half + m] += 0.2 * np.diff(rng.standard_normal(m + 1)) * _envelope(m, rate, 0.0005, 0.01)
        f0 = _midi_hz(28 + key + scale[rng.integers(0, 5)])  # 40-110 Hz
        phase = 2 * np.pi * f0 * t_beat[:n]
        square = sum(np.sin(h * phase) / h for h in (1, 3, 5, 7))
        out["bass"][start : start + n] += 0.8 * square * _envelope(n, rate, 0.01, 0.5)

    bar = 4 * beat
    for start in range(0, T, bar):  # one chord per bar
        n = min(bar, T - start)
        root = 52 + key + scale[rng.integers(0, 7)]
        t = np.arange(n) / rate
        chord = sum(np.sin(2 * np.pi * _midi_hz(root + iv) * t + rng.uniform(0, 6.3)) for iv in (0, 4, 7))
        out["other"][start : start + n] += 0.25 * chord * np.minimum(t / 0.2, 1.0) * np.minimum((n - np.arange(n)) / (0.05 * rate), 1.0)

    for start in range(0, T, beat // 2):  # melody: one note per eighth, a third of them rests
        n = min(beat // 2, T - start)
        if rng.uniform() < 0.33:
            continue
        f0 = _midi_hz(64 + key + scale[rng.integers(0, 7)] + 12 * rng.integers(0, 2))
        t = np.arange(n) / rate
        f = f0 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))  # vibrato
        phase = 2 * np.pi * np.cumsum(f) / rate
        voice = sum(np.sin(h * phase) * 0.6**h for h in range(1, 7))
        out["vocals"][start : start + n] += voice * _envelope(n, rate, 0.02, 0.4) * np.minimum((n - np.arange(n)) / (0.01 * rate), 1.0)

    stereo = {}
    for name, x in out.items():
        x = x / (np.max(np.abs(x)) + 1e-9) * rng.uniform(0.5, 1.0)  # random source gain
        pan = rng.uniform(0.2, 0.8)  # constant-power panning
        stereo[name] = np.stack([np.cos(pan * np.pi / 2) * x, np.sin(pan * np.pi / 2) * x]).astype(np.float32)
    return stereo


def generate_toy_musdb(
    root: str | Path,
    train_tracks: int = 12,
    test_tracks: int = 4,
    seconds: float = 12.0,
    sample_rate: int = 44100,
    seed: int = 0,
) -> Path:
    """Write the toy dataset to ``root`` (MUSDB18-HQ layout) and return ``root``.

    Each track folder is written under a temporary name and renamed when complete, so an
    interrupted run never leaves a half-written track behind; existing tracks are kept.

    Example:
        >>> import tempfile
        >>> root = generate_toy_musdb(tempfile.mkdtemp(), train_tracks=1, test_tracks=1, seconds=1, sample_rate=8000)
        >>> sorted(p.name for p in (root / "train" / "toy_000").iterdir())
        ['bass.wav', 'drums.wav', 'mixture.wav', 'other.wav', 'vocals.wav']
    """
    root = Path(root)
    for subset, count, offset in (("train", train_tracks, 0), ("test", test_tracks, 10_000)):
        for i in range(count):
            folder = root / subset / f"toy_{i:03d}"
            if folder.is_dir():
                continue
            tmp = root / subset / f".toy_{i:03d}.partial"
            tmp.mkdir(parents=True, exist_ok=True)
            stems = _track(np.random.default_rng([seed, offset + i]), seconds, sample_rate)
            mixture = sum(stems.values())
            peak = np.max(np.abs(mixture))
            scale = 0.9 / peak if peak > 0.9 else 1.0  # keep the mixture inside [-1, 1]
            for name, audio in {**stems, "mixture": mixture}.items():
                sf.write(tmp / f"{name}.wav", (audio * scale).T, sample_rate, subtype="PCM_16")
            tmp.rename(folder)
    return root
