"""Full-length inference: whole songs of any length, sample rate and channel count.

The song is resampled to the model's rate, cut into tiles of ``valid_length(segment)`` input
samples whose outputs sit end to end, run through the model in batches, stitched, resampled
back and cropped to the song's length. For 'valid'
models each tile carries its own context; the song's two ends get zero context, as in the
paper's code. A song shorter than the model's context is zero-padded, so every length works.

Channels: a mono model gets the average of all channels and its stems are copied to every
channel; a stereo model gets a mono file duplicated and its stems are averaged back to mono.
"""

import itertools
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF
from torch import nn

__all__ = ["separate", "read_audio", "write_audio", "separate_file"]


@torch.inference_mode()
def separate(
    model: nn.Module,
    mix: torch.Tensor,
    rate: int,
    segment: int | None = None,
    batch_size: int = 4,
) -> torch.Tensor:
    """Separate one song.

    Args:
        model: a separation model (see :mod:`waveunet_lit.models.common`), on any device.
        mix: the song, ``(C, T)``, at ``rate`` Hz, any C >= 1.
        rate: sample rate of ``mix``.
        segment: output samples per tile at the model's rate (default: ~3 s).
        batch_size: tiles per forward pass.

    Returns:
        ``(S, C, T)``: one estimate per source, same rate, channels and length as ``mix``.

    Example:
        >>> from waveunet_lit.models import WaveUNet
        >>> net = WaveUNet(sources=("vocals", "accompaniment"), channels=2, sample_rate=8000, levels=3, features=4)
        >>> separate(net.eval(), torch.randn(1, 12345), rate=11025).shape
        torch.Size([2, 1, 12345])
    """
    if mix.dim() != 2 or mix.shape[-1] == 0:
        raise ValueError(f"separate expects a non-empty song of shape (C, T), got {tuple(mix.shape)}")
    if not torch.isfinite(mix).all():
        raise ValueError("separate: the song contains NaN or infinite samples")
    C_in, T = mix.shape
    param = next(itertools.chain(model.parameters(), model.buffers()), None)  # NMF has buffers only
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    x = mix.to(device=device, dtype=dtype)
    x = x.mean(0, keepdim=True) if model.channels == 1 else x  # (C', T)
    if x.shape[0] != model.channels:
        if x.shape[0] != 1:
            raise ValueError(f"cannot feed {C_in} channels to a {model.channels}-channel model")
        x = x.expand(model.channels, -1)  # (C, T): mono duplicated for a stereo model
    if rate != model.sample_rate:
        x = AF.resample(x, rate, model.sample_rate)  # (C, T')
    T_model = x.shape[-1]

    # Tiles start `hop` samples apart and each keeps the first `hop` samples of its output.
    # `hop` is a multiple of the model's `stride` (2**levels for the Wave-U-Net: it is
    # shift-equivariant only for such shifts), so tiling a 'valid' model gives exactly what
    # one forward pass over the whole song would.
    stride = getattr(model, "stride", 1)
    n_in = model.valid_length(max(segment or 3 * model.sample_rate, stride))
    n_out = model.output_length(n_in)
    hop = n_out // stride * stride
    offset = (n_in - n_out) // 2
    tiles = max(math.ceil(T_model / hop), 1)
    x = torch.nn.functional.pad(x, (offset, (tiles - 1) * hop + n_in - offset - T_model))  # (C, T_pad)
    starts = range(0, tiles * hop, hop)
    outs = []
    for b in range(0, tiles, batch_size):
        batch = torch.stack([x[:, s : s + n_in] for s in starts[b : b + batch_size]])  # (b, C, n_in)
        outs.append(model(batch)[..., :hop])  # (b, S, C, hop)
    est = torch.cat(outs).permute(1, 2, 0, 3).reshape(len(model.sources), model.channels, -1)  # (S, C, tiles * hop)
    est = est[..., :T_model].float()
    if rate != model.sample_rate:
        est = AF.resample(est, model.sample_rate, rate)  # (S, C, ~T)
    est = torch.nn.functional.pad(est, (0, max(T - est.shape[-1], 0)))[..., :T]  # (S, C, T)
    if est.shape[1] != C_in:
        est = est.mean(1, keepdim=True).expand(-1, C_in, -1)  # back to the song's channels
    return est.contiguous().cpu()


def read_audio(path: str | Path) -> tuple[torch.Tensor, int]:
    """Read an audio file as ``((C, T) float32, rate)``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not audio that soundfile can read, or holds no samples.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # noqa: BLE001 - libsndfile raises several classes
        raise ValueError(f"cannot read {path} as audio: {err}") from err
    if audio.shape[0] == 0:
        raise ValueError(f"{path} holds no audio samples")
    return torch.from_numpy(audio.T.copy()), rate  # (C, T)


def write_audio(path: str | Path, audio: torch.Tensor, rate: int) -> None:
    """Write ``(C, T)`` audio atomically: to a temporary file first, renamed when complete,
    so an interrupted run never leaves a half-written file under ``path``."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").upper()
    if fmt not in ("WAV", "FLAC"):
        raise ValueError(f"unsupported output format {path.suffix!r} for {path}: use .wav or .flac")
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, dir=path.parent, prefix=f".{path.stem}.")
    os.close(fd)
    try:
        sf.write(tmp, audio.T.numpy().astype(np.float32), rate, format=fmt, subtype="FLOAT" if fmt == "WAV" else "PCM_24")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def separate_file(model: nn.Module, path: str | Path, out_dir: str | Path, ext: str = "wav", **kwargs) -> list[Path]:
    """Separate an audio file into ``out_dir/<file stem>/<source>.<ext>``; returns the paths."""
    mix, rate = read_audio(path)
    stems = separate(model, mix, rate, **kwargs)
    folder = Path(out_dir) / Path(path).stem
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"cannot create output folder {folder}: {err}") from err
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"output folder {folder} is not writable")
    paths = []
    for name, audio in zip(model.sources, stems):
        paths.append(folder / f"{name}.{ext}")
        write_audio(paths[-1], audio, rate)
    return paths
