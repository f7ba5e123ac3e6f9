"""Full-length inference: whole songs of any length, sample rate, channel count and format.

The song is resampled to the model's rate and cut into tiles of ``valid_length(segment)``
input samples, run through the model in batches; each tile's output is added straight into
one preallocated buffer (no list of tile outputs, no concatenated copy), which is then
resampled back block by block into the returned tensor. Memory for a song of ``T`` samples is
the song, its model-rate copy, one model-rate buffer of stems and the returned stems.

Two tiling rules, chosen from the model's length arithmetic:

* **'valid' models** (``output_length(n) < n``: the Wave-U-Net with context, the port's
  U-Net): tiles start ``hop`` samples apart and each keeps the first ``hop`` samples of its
  output, where ``hop`` is a multiple of the model's ``period`` (the shift its output follows
  exactly, see :mod:`waveunet_lit.models.common`); every tile carries its own context, so
  tiling gives what one forward pass over the whole song would: exactly for the Wave-U-Net,
  to ~1e-5 for the port's fixed resampling (its reflect padding reaches the first output
  samples). Layers with statistics over the whole tile (``GroupNorm``) make every output
  depend on the tile, so no tiling can equal one pass for them. The song's two ends get zero
  context, as in the paper's code.
* **'same' models** (``output_length(n) == n``: spectrogram models, the Wave-U-Net without
  context): tiles overlap by ``overlap`` of their length and are cross-faded with a trapezoid
  window (windowed overlap-add), which hides the edge effects of zero padding at tile borders.

A song shorter than one tile is zero-padded, so every length works (one sample too).
Test-time shift averaging (``shifts=N``) runs the song ``N`` times, delayed by sub-tile
offsets, and averages the stems. For a model with a difference output the stems still add
up to the input: every tile's do, and averaging keeps sums.

Channels follow :func:`waveunet_lit.audio.to_channels`: a mono model gets the average of all
channels and its stems are copied to every channel; a stereo model gets a mono file duplicated
and its stems are averaged back to mono.
"""

import math
import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .audio import model_device, model_dtype, read_audio, resample_into, to_channels, write_audio
from .heap import reuse_freed_memory
from .high_band import fill_high_band
from .song_folders import remove_stale_partials, replace_folder, write_manifest
from .wiener import FRAME, frame_problem, wiener as wiener_filter

# read_audio and write_audio live in waveunet_lit.audio (importable from here too: separate_file
# and the web app use them).
__all__ = ["separate", "separate_file", "tile_plan"]

#: Default output samples of a 'valid' model's tile, in multiples of its context (when 3 s are fewer).
CONTEXT_MULTIPLE = 4


def tile_plan(model: nn.Module, segment: int | None = None, overlap: float = 0.25,
              length: int | None = None) -> dict[str, int | bool]:
    """How :func:`separate` tiles a song for ``model``: input and output samples per tile,
    the hop between tiles, the context offset and whether tiles overlap-add.

    Args:
        model: a separation model.
        segment: wanted output samples per tile at the model's rate (default: ~3 s, or
            four times the context for a 'valid' model whose context is longer).
        overlap: fraction of a tile shared with the next one, for 'same' models.
        length: samples of the song (at the model's rate), when known. With the default
            ``segment``, a 'valid' model then gets the fewest equal tiles that cover it: as
            many tiles as the default hop needs, each as short as that count allows.

    Returns:
        ``{"n_in", "n_out", "hop", "offset", "overlap_add", "period"}`` (ints and a bool).

    Example:
        >>> from waveunet_lit.models import WaveUNet
        >>> net = WaveUNet(sources=("vocals", "accompaniment"), sample_rate=8000, levels=3, features=4)
        >>> plan = tile_plan(net, segment=1000)
        >>> plan["hop"] % net.period, plan["overlap_add"], plan["n_in"] - plan["n_out"] == 2 * plan["offset"]
        (0, False, True)
        >>> tile_plan(net)["hop"], tile_plan(net, length=30_000)["hop"]  # 2 tiles either way: equal ones
        (24000, 15000)
    """
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    if segment is not None and segment < 1:
        raise ValueError(f"segment must be a positive number of samples, got {segment}")
    period = int(model.period)
    n_in = model.valid_length(max(segment or 3 * model.sample_rate, period))
    n_out = model.output_length(n_in)
    overlap_add = n_out == n_in
    if segment is None and not overlap_add and n_out < CONTEXT_MULTIPLE * (n_in - n_out):
        # A 'valid' tile computes its context as well as its output: M4's ~6 s of context
        # made 3 s tiles cost 2.9x their output. Outputs four times the context cost 1.25x
        # (twice: 1.5x); larger tiles gain little more and need more memory (M4: ~640 bytes
        # per input sample in WaveUNet's no-grad path, ~400 MB for such a tile).
        n_in = model.valid_length(CONTEXT_MULTIPLE * (n_in - n_out))
        n_out = model.output_length(n_in)
    if length is not None and segment is None and not overlap_add and n_out >= period:
        # A 3-minute song at 22.05 kHz takes 8 tiles of M4 either way; 8 hops of 499712
        # compute 4 % fewer samples than 8 of 524288. Still whole periods: tiles give one
        # forward pass exactly.
        tiles = max(math.ceil(length / (n_out // period * period)), 1)
        return tile_plan(model, math.ceil(max(length, 1) / tiles / period) * period, overlap)
    if overlap_add:
        hop = max(1, round(n_in * (1 - overlap)))
    else:
        hop = n_out // period * period  # the next tile sees the same sampling grid
        if hop < 1:
            raise ValueError(
                f"tile_plan: {type(model).__name__} returns {n_out} samples for {n_in}, fewer than its "
                f"period {period}: its output_length or period is wrong"
            )
    return {"n_in": n_in, "n_out": n_out, "hop": hop, "offset": (n_in - n_out) // 2, "overlap_add": overlap_add, "period": period}


def _fade_window(n: int, hop: int) -> torch.Tensor:
    """Trapezoid weights ``(n,)``: ramps over the ``n - hop`` samples shared with each
    neighbour, flat 1 in between; never zero, so a lone tile is used as it is."""
    ramp = max(n - hop, 0)
    w = torch.ones(n)
    if ramp:
        up = torch.arange(1, ramp + 1, dtype=torch.float32) / (ramp + 1)  # (ramp,) in (0, 1)
        w[:ramp] = up
        w[n - ramp :] = torch.minimum(w[n - ramp :], up.flip(0))
    return w


def _shift_offsets(shifts: int, period: int, mode: str, seed: int) -> list[int]:
    """Delays, in samples, of the passes of test-time shift averaging (the first is 0 for
    ``"fixed"``: evenly spaced over ``period``)."""
    if shifts <= 1:
        return [0]
    if mode == "fixed":
        return [k * period // shifts for k in range(shifts)]
    if mode == "random":
        g = torch.Generator().manual_seed(seed)
        return torch.randint(0, period, (shifts,), generator=g).tolist()
    raise ValueError(f"shift_mode must be 'fixed' or 'random', got {mode!r}")


def _tile(x: torch.Tensor, start: int, length: int) -> torch.Tensor:
    """``x[:, start : start + length]`` with zeros outside ``x``: ``(C, length)``."""
    T = x.shape[-1]
    a, b = max(start, 0), min(start + length, T)
    if a >= b:
        return x.new_zeros(x.shape[0], length)
    return torch.nn.functional.pad(x[:, a:b], (a - start, start + length - b))  # (C, length)


@torch.inference_mode()
def separate(
    model: nn.Module,
    mix: torch.Tensor,
    rate: int,
    segment: int | None = None,
    batch_size: int = 4,
    overlap: float = 0.25,
    shifts: int = 0,
    shift_mode: str = "fixed",
    seed: int = 0,
    progress: bool = False,
    on_tiles: Callable[[int, int], None] | None = None,
    max_batch_samples: int | None = 2**19,
    wiener: int = 0,
    high_band: bool = False,
    wiener_fft: int = FRAME,
) -> torch.Tensor:
    """Separate one song.

    Args:
        model: a separation model (see :mod:`waveunet_lit.models.common`), on any device.
        mix: the song, ``(C, T)``, at ``rate`` Hz, any C >= 1 and T >= 1.
        rate: sample rate of ``mix``.
        segment: output samples per tile at the model's rate (default: ~3 s, or four times
            the context for a 'valid' model with a longer one: see :func:`tile_plan`; then
            shortened, for a 'valid' model, to the fewest equal tiles that cover the song).
        batch_size: at most this many tiles per forward pass.
        overlap: fraction of a tile cross-faded with the next, for 'same' models only.
        shifts: test-time shift averaging: run the song this many times, each delayed by a
            different sub-tile offset, and average (0 or 1: one plain pass). Offsets span one
            ``period`` for 'valid' models (their outputs repeat for larger shifts) and one hop
            for 'same' models.
        shift_mode: ``"fixed"`` (evenly spaced offsets, the first 0) or ``"random"``.
        seed: seed of the random offsets.
        progress: show a tqdm progress bar of the tiles.
        on_tiles: called as ``on_tiles(tiles_done, tiles_total)`` after each batch of tiles
            (all passes counted); an exception it raises stops the separation (a web app's
            cancel button, for instance).
        max_batch_samples: fewer tiles per forward pass when ``batch_size`` of them would
            hold more input samples than this (always at least one tile): it bounds the
            memory of a pass for long tiles. ``None``: always ``batch_size``.
        wiener: EM iterations of the multichannel Wiener post-filter
            (:func:`waveunet_lit.wiener.wiener`) on the stems at the song's rate: they then
            add up to the song. 0: none.
        high_band: when the model works at a lower rate than the song, share the band above
            its Nyquist frequency (which its stems miss) among the stems as they share the
            band just below (:func:`waveunet_lit.high_band.fill_high_band`); before the
            Wiener post-filter.
        wiener_fft: the post-filter's STFT frame in samples at the song's rate (a multiple of
            4; hop a quarter of it): 4096 is 93 ms at 44.1 kHz, as Open-Unmix.

    Returns:
        ``(S, C, T)`` float32 on the CPU: one estimate per source, same rate, channels and
        length as ``mix``.

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
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if max_batch_samples is not None and max_batch_samples < 1:
        raise ValueError(f"max_batch_samples must be a positive number of samples or None, got {max_batch_samples}")
    if shifts < 0:
        raise ValueError(f"shifts must be >= 0, got {shifts}")
    if wiener < 0:
        raise ValueError(f"wiener must be >= 0 iterations, got {wiener}")
    if problem := frame_problem(wiener_fft):
        raise ValueError(f"wiener_fft {problem}")
    C_in, T = mix.shape
    device, dtype = model_device(model), model_dtype(model)
    x = to_channels(mix, model.channels)  # (C, T)
    if rate != model.sample_rate:
        T_model = math.ceil(T * model.sample_rate / rate)
        x = resample_into(x, rate, model.sample_rate, torch.empty(model.channels, T_model))  # (C, T_model)
    x = x.to(device=device, dtype=dtype)  # no copy when it is there already
    C, T_model = x.shape
    S = len(model.sources)

    plan = tile_plan(model, segment, overlap)  # its period or hop: what the shifts span
    period = plan["period"] if not plan["overlap_add"] and plan["period"] > 1 else plan["hop"]
    delays = _shift_offsets(shifts, period, shift_mode, seed)
    plan = tile_plan(model, segment, overlap, length=T_model + max(delays))  # the last pass is the longest
    n_in, hop, offset = plan["n_in"], plan["hop"], plan["offset"]
    if max_batch_samples is not None:
        batch_size = max(1, min(batch_size, max_batch_samples // n_in))
    acc = torch.zeros(S, C, T_model)  # (S, C, T_model): the only full-length buffer of stems
    if plan["overlap_add"]:
        window = _fade_window(n_in, hop)  # (n_in,)
        weight = torch.zeros(T_model)  # (T_model,): summed window weights
    # Pass with delay d: the model sees the song delayed by d; its output position p holds
    # song sample p - d. Tile k covers output positions [k * hop, k * hop + keep).
    keep = n_in if plan["overlap_add"] else hop
    passes = []
    for d in delays:
        tiles = max(math.ceil((T_model + d - keep) / hop) + 1, 1) if plan["overlap_add"] else max(math.ceil((T_model + d) / hop), 1)
        passes.append((d, tiles))
    total = sum(t for _, t in passes)
    bar = tqdm(total=total, unit="tile", disable=not progress, leave=False)
    done = 0
    with reuse_freed_memory():  # every tile allocates what the last freed: reuse its pages (glibc)
        for d, tiles in passes:
            for b in range(0, tiles, batch_size):
                ks = range(b, min(b + batch_size, tiles))
                # 'valid' tile k's output starts at input position k * hop, so its input starts
                # `offset` samples earlier; 'same' tiles' inputs and outputs coincide.
                batch = torch.stack([_tile(x, k * hop - d - offset, n_in) for k in ks])  # (b, C, n_in)
                y = model(batch)[..., :keep].float().cpu()  # (b, S, C, keep)
                for k, y_k in zip(ks, y):
                    a = k * hop - d  # song position of the tile's first kept sample
                    lo, hi = max(a, 0), min(a + keep, T_model)
                    if lo >= hi:
                        continue
                    if plan["overlap_add"]:
                        w = window[lo - a : hi - a]  # (hi - lo,)
                        acc[..., lo:hi] += y_k[..., lo - a : hi - a] * w
                        weight[lo:hi] += w
                    else:
                        acc[..., lo:hi] += y_k[..., lo - a : hi - a]
                bar.update(len(ks))
                done += len(ks)
                if on_tiles is not None:
                    on_tiles(done, total)
    bar.close()
    if plan["overlap_add"]:
        acc /= weight  # (S, C, T_model): weighted average over tiles and passes
    elif len(delays) > 1:
        acc /= len(delays)  # every pass covers every sample exactly once

    if rate != model.sample_rate:
        est = resample_into(acc, model.sample_rate, rate, torch.empty(S, C, T))  # (S, C, T)
        del acc
    else:
        est = acc  # (S, C, T)
    if C != C_in:  # back to the song's channels, by the same rule
        est = to_channels(est, C_in).contiguous()  # (S, C_in, T)
    if high_band and model.sample_rate < rate:
        est = fill_high_band(est, mix.cpu(), rate, cutoff=model.sample_rate / 2)  # (S, C_in, T)
    if wiener:
        est = wiener_filter(est, mix.cpu(), iterations=wiener, n_fft=wiener_fft)  # (S, C_in, T), on the CPU
    return est


# ---------------------------------------------------------------------------------------------
# files


def separate_file(
    model: nn.Module,
    path: str | Path,
    out_dir: str | Path,
    ext: str = "wav",
    folder_name: str | None = None,
    manifest: dict | None = None,
    **kwargs,
) -> list[Path]:
    """Separate an audio file into ``out_dir/<folder_name>/<source>.<ext>``; returns the paths.

    The folder (default name: the file's stem) is written beside it under a hidden name and
    renamed over it when complete (:func:`waveunet_lit.song_folders.replace_folder`), so it
    holds one run's stems or the previous run's, never a mix; it gets a ``manifest.json`` with
    the input file, the model, the settings and ``manifest`` (e.g. the checkpoint and its
    sha256). Hidden folders of killed runs in ``out_dir`` are removed first.
    ``kwargs`` go to :func:`separate` (``segment``, ``batch_size``, ``shifts``, ``progress`` ...).
    """
    if ext not in ("wav", "flac"):
        raise ValueError(f"unsupported output format {ext!r}: use 'wav' or 'flac'")
    mix, rate = read_audio(path)  # first: an unreadable file leaves no empty folder behind
    folder = Path(out_dir) / (folder_name or Path(path).stem)
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise NotADirectoryError(f"cannot create output folder {folder}: {out_dir} is a file")
    remove_stale_partials(out_dir)
    stems = separate(model, mix, rate, **kwargs)
    del mix
    settings = {k: v for k, v in kwargs.items() if k not in ("progress", "on_tiles")}
    with replace_folder(folder) as tmp:
        if not os.access(tmp, os.W_OK):
            raise PermissionError(f"output folder {folder} is not writable")
        for name, audio in zip(model.sources, stems):
            write_audio(tmp / f"{name}.{ext}", audio, rate)
        write_manifest(tmp, input=str(Path(path).resolve()), model=type(model).__name__, sources=list(model.sources),
                       sample_rate=rate, format=ext, settings=settings, **(manifest or {}))
    return [folder / f"{name}.{ext}" for name in model.sources]
