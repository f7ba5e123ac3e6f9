"""Audio plumbing shared by training data, the cache, separation and evaluation: one rule each.

* :func:`to_channels`: the one channel rule. Any number of channels averages to mono; mono is
  copied to any number of channels; nothing else is guessed (3 channels to stereo is an error).
* :func:`resample` of a whole signal, and :func:`resample_into` that gives the same samples
  block by block into a preallocated buffer (for whole songs).
* :func:`read_audio` / :func:`write_audio`: files as ``(C, T)`` float32 tensors; soundfile,
  with the ``ffmpeg`` program as fallback for what libsndfile cannot decode (mp3, m4a ...).
* :func:`model_device` / :func:`model_dtype`: where a model's tensors live.
* :func:`default_data_root`: where generated datasets and caches go unless told otherwise.

Audio is ``(..., C, T)`` everywhere; soundfile's ``(T, C)`` arrays are transposed here, at the
border.
"""

import itertools
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF
from torch import nn

from .atomic import atomic_path

__all__ = [
    "to_channels", "resample", "resample_into", "read_audio", "write_audio",
    "model_device", "model_dtype", "default_data_root",
]


def to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Convert ``x (..., C, T)`` to ``(..., channels, T)`` by the one rule of the package.

    Same count: ``x`` itself. To mono: the average of all channels. From mono: the channel
    copied to every channel (a view, no copy). Any other pair raises ``ValueError``.

    Example:
        >>> stereo = torch.tensor([[1.0, 3.0], [3.0, 5.0]])
        >>> to_channels(stereo, 1).tolist()
        [[2.0, 4.0]]
        >>> to_channels(stereo[:1], 2).tolist()
        [[1.0, 3.0], [1.0, 3.0]]
    """
    if x.dim() < 2:
        raise ValueError(f"to_channels expects audio of shape (..., C, T), got {tuple(x.shape)}")
    if channels < 1:
        raise ValueError(f"to_channels: channels must be >= 1, got {channels}")
    C = x.shape[-2]
    if C == channels:
        return x
    if channels == 1:
        return x.mean(-2, keepdim=True)  # (..., 1, T)
    if C == 1:
        return x.expand(*x.shape[:-2], channels, x.shape[-1])  # (..., channels, T)
    raise ValueError(
        f"cannot convert {C} channels to a {channels}-channel signal: only mono -> any (copied) "
        f"and any -> mono (averaged) are defined; convert the audio first"
    )


def _check_rates(orig: int, new: int) -> None:
    for name, r in (("orig", orig), ("new", new)):
        if int(r) != r or r < 1:
            raise ValueError(f"resample: {name} must be a positive whole number of Hz, got {r!r}")


def resample(x: torch.Tensor, orig: int, new: int) -> torch.Tensor:
    """Resample ``x (..., T)`` from ``orig`` to ``new`` Hz (torchaudio's windowed sinc, float32).

    ``x`` itself when the rates are equal. The output has ``ceil(T * new / orig)`` samples.

    Example:
        >>> resample(torch.zeros(2, 44100), 44100, 8000).shape
        torch.Size([2, 8000])
    """
    _check_rates(orig, new)
    if orig == new:
        return x
    if not x.dtype.is_floating_point:
        raise ValueError(f"resample needs floating-point audio, got {x.dtype}")
    return AF.resample(x.contiguous(), int(orig), int(new))  # (..., ceil(T * new / orig))


def resample_into(src: torch.Tensor, orig: int, new: int, out: torch.Tensor, block: int = 1 << 18) -> torch.Tensor:
    """Resample ``src (..., T)`` from ``orig`` to ``new`` Hz into ``out (..., T')``, block by
    block: the same samples as :func:`resample` on the whole signal (cut or zero-padded to
    ``T'``), without its full-length temporaries.

    torchaudio computes output frame ``i`` (``new / g`` samples, ``g = gcd(orig, new)``) from
    input samples ``i * orig / g - width .. (i + 1) * orig / g + width``; blocks that start on a
    frame and carry that many extra input samples on both sides give the same frames.

    Example:
        >>> x = torch.randn(2, 3, 10_000)
        >>> out = resample_into(x, 44100, 8000, torch.empty(2, 3, 1814), block=1000)
        >>> bool(torch.allclose(out, resample(x, 44100, 8000)[..., :1814], atol=1e-5))
        True
    """
    _check_rates(orig, new)
    if src.shape[:-1] != out.shape[:-1]:
        raise ValueError(f"resample_into: src {tuple(src.shape)} and out {tuple(out.shape)} differ before the last dimension")
    g = math.gcd(orig, new)
    o, n = orig // g, new // g
    width = math.ceil(6 * o / (min(o, n) * 0.99))  # torchaudio's default lowpass_filter_width=6, rolloff=0.99
    margin = math.ceil((width + o) / o) * o  # whole frames of input
    T_src, T_out = src.shape[-1], out.shape[-1]
    total = min(math.ceil(n * T_src / o), T_out)
    out[..., total:] = 0
    frames_per_block = max(1, block // o)
    for f0 in range(0, math.ceil(T_src / o), frames_per_block):
        a = f0 * o
        b = min(a + frames_per_block * o, T_src)
        lo, hi = max(a - margin, 0), min(b + margin, T_src)
        chunk = src[..., lo:hi].reshape(-1, hi - lo).to(torch.float32)  # (rows, hi - lo)
        y = resample(chunk, orig, new).reshape(*src.shape[:-1], -1)  # (..., ~(hi - lo) * n / o)
        k0 = (a - lo) // o * n
        start, stop = f0 * n, min(math.ceil(n * b / o), total)
        if stop > start:
            out[..., start:stop] = y[..., k0 : k0 + stop - start]
    return out


# ---------------------------------------------------------------------------------------------
# files


def _read_with_ffmpeg(path: Path, why: str) -> tuple[torch.Tensor, int]:
    """Decode any format ffmpeg knows (mp3, m4a, ...) through a temporary float WAV file."""
    if shutil.which("ffmpeg") is None:
        raise ValueError(
            f"cannot read {path} as audio: soundfile cannot ({why}) and the ffmpeg program is not installed "
            "(Debian/Ubuntu: apt-get install ffmpeg)"
        )
    with tempfile.TemporaryDirectory(prefix="waveunet-") as tmp:
        wav = Path(tmp) / "decoded.wav"
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(path), "-vn", "-c:a", "pcm_f32le", str(wav)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not wav.is_file():
            detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ValueError(f"cannot read {path} as audio: soundfile cannot ({why}) and ffmpeg cannot either ({detail})")
        audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    return torch.from_numpy(audio.T.copy()), rate  # (C, T)


def read_audio(path: str | Path) -> tuple[torch.Tensor, int]:
    """Read an audio file as ``((C, T) float32, rate)``: wav, flac, ogg ... with soundfile,
    anything else (mp3 on old libsndfile, m4a, ...) through the ``ffmpeg`` program.

    Raises:
        FileNotFoundError: no such file.
        ValueError: neither soundfile nor ffmpeg can read it, or it holds no samples (the
            message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        audio = torch.from_numpy(data.T.copy())  # (C, T) -- soundfile gives (T, C)
    except Exception as err:  # noqa: BLE001 - libsndfile raises several classes
        audio, rate = _read_with_ffmpeg(path, str(err).strip() or type(err).__name__)
    if audio.shape[-1] == 0:
        raise ValueError(f"{path} holds no audio samples")
    return audio, rate


def write_audio(path: str | Path, audio: torch.Tensor, rate: int) -> None:
    """Write ``(C, T)`` audio as ``.wav`` (32-bit float) or ``.flac`` (24-bit, clipped to
    [-1, 1]) atomically: to a temporary file first, renamed when complete, so an interrupted
    run never leaves a half-written file under ``path``.

    Raises:
        ValueError: another suffix, or ``audio`` not ``(C, T)``.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").upper()
    if fmt not in ("WAV", "FLAC"):
        raise ValueError(f"unsupported output format {path.suffix!r} for {path}: use .wav or .flac")
    if audio.dim() != 2:
        raise ValueError(f"write_audio expects audio of shape (C, T) for {path}, got {tuple(audio.shape)}")
    # (T, C): one copy in frame order (soundfile copies again what is not contiguous), never a
    # view of `audio`, which the FLAC clipping below would change
    data = np.array(audio.detach().cpu().T.numpy(), dtype=np.float32, order="C")
    if fmt == "FLAC":
        np.clip(data, -1.0, 1.0, out=data)  # integer PCM: out-of-range floats would wrap around
    with atomic_path(path) as tmp:
        sf.write(tmp, data, rate, format=fmt, subtype="FLOAT" if fmt == "WAV" else "PCM_24")


# ---------------------------------------------------------------------------------------------
# where things live


def _tensors(model: nn.Module):
    return itertools.chain(model.parameters(), model.buffers())  # NMF has buffers only


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's first parameter or buffer (CPU for a model without tensors).

    Example:
        >>> model_device(nn.Linear(2, 2)).type
        'cpu'
    """
    first = next(_tensors(model), None)
    return first.device if first is not None else torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of a model's first floating-point parameter or buffer (float32 if none).

    Example:
        >>> model_dtype(nn.Linear(2, 2).double())
        torch.float64
    """
    first = next((t for t in _tensors(model) if t.is_floating_point()), None)
    return first.dtype if first is not None else torch.float32


def default_data_root() -> Path:
    """Where generated datasets and caches live unless told otherwise: ``$WAVEUNET_DATA``, or
    ``~/.cache/waveunet-lit`` when that variable is unset or empty.

    Example:
        >>> default_data_root().name in ("waveunet-lit", Path(os.environ.get("WAVEUNET_DATA", "x")).name)
        True
    """
    return Path(os.environ.get("WAVEUNET_DATA") or Path.home() / ".cache" / "waveunet-lit").expanduser()
