"""Decode once: every track resampled to the model's rate and stored as ``.npy`` arrays.

Reading a chunk from a ``.stem.mp4`` file starts an ``ffmpeg`` process that decodes from the
start of the file (tens to hundreds of milliseconds), and resampling a chunk costs more than
reading it: the known bottleneck of MUSDB training loops. :func:`prepare_cache` does both
once per track and stem; training then reads chunks from the ``.npy`` arrays.

Layout of a cache folder::

    manifest.json                  settings + every track: length, source files (size, mtime)
    train/<track>/<stem>.npy       (C, T) at the cache's rate, one file per MUSDB stem
    train/<track>/track.json       the track's own record, written last
    test/<track>/...

Nothing half-written is ever read: each track is written under ``.<track>.partial`` and
renamed when complete; ``manifest.json`` is removed before any change and written again
(to a temporary file, then renamed) only when every track is in place.
"""

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path, exclusive
from ..audio import default_data_root, resample, to_channels
from .tracks import STEMS, dataset_format, find_tracks

__all__ = ["CachedTrack", "prepare_cache", "open_cache", "default_cache_dir", "cache_settings", "CACHE_VERSION"]

#: Bump when the cache layout changes; older caches are then rebuilt.
CACHE_VERSION = 1
DTYPES = ("float32", "float16")


def cache_settings(root: str | Path, rate: int, channels: int, dtype: str = "float32") -> dict:
    """What a cache depends on besides its source files."""
    if dtype not in DTYPES:
        raise ValueError(f"cache dtype must be one of {DTYPES}, got {dtype!r}")
    if rate < 1 or channels not in (1, 2):
        raise ValueError(f"cache needs rate >= 1 and channels 1 or 2, got rate={rate}, channels={channels}")
    root = Path(root).expanduser().resolve()
    return {
        "version": CACHE_VERSION,
        "root": str(root),
        "format": dataset_format(root),
        "rate": int(rate),
        "channels": int(channels),
        "dtype": dtype,
        "stems": list(STEMS),
    }


def default_cache_dir(root: str | Path, rate: int, channels: int, dtype: str = "float32") -> Path:
    """``root/.waveunet-cache/<rate>hz-<C>ch-<dtype>`` when ``root`` is writable, else the same
    under ``$WAVEUNET_DATA/cache`` (or ``~/.cache/waveunet-lit/cache``), keyed by root's path."""
    root = Path(root).expanduser().resolve()
    leaf = f"{rate}hz-{channels}ch-{dtype}"
    if os.access(root, os.W_OK):
        return root / ".waveunet-cache" / leaf
    base = default_data_root()
    tag = hashlib.sha1(str(root).encode()).hexdigest()[:10]
    return base / "cache" / f"{root.name}-{tag}" / leaf


def _file_record(path: Path) -> dict:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _convert(audio: np.ndarray, rate: int, to_rate: int, channels: int) -> np.ndarray:
    """Resample ``(C, T)`` to ``to_rate`` and convert to ``channels`` (:func:`~waveunet_lit.audio.to_channels`)."""
    x = to_channels(torch.from_numpy(audio), channels)  # (channels, T)
    return resample(x, rate, to_rate).contiguous().numpy()  # (channels, T')


def _write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=1))


def prepare_cache(
    root: str | Path,
    rate: int,
    channels: int,
    cache_dir: str | Path | None = None,
    dtype: str = "float32",
    progress: bool = True,
    rebuild: bool = False,
) -> Path:
    """Decode and resample every track of ``root`` (train and test) once; return the cache folder.

    Tracks already cached from the same, unchanged files are kept, so an interrupted run
    resumes and a second run costs a few ``stat`` calls.

    Args:
        root: a MUSDB18 (MP4) or MUSDB18-HQ (WAV) folder.
        rate: the model's sample rate.
        channels: the model's channels.
        cache_dir: the cache folder; default :func:`default_cache_dir`.
        dtype: ``"float32"``, or ``"float16"`` (half the disk; ~1e-3 relative error).
        progress: show a tqdm progress bar.
        rebuild: replace a cache written with other settings instead of failing.

    Raises:
        ValueError: ``cache_dir`` holds a cache written with other settings (and not ``rebuild``),
            or a track is broken (the message names the file).
    """
    settings = cache_settings(root, rate, channels, dtype)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(root, rate, channels, dtype)
    with exclusive(cache):  # a second process preparing the same cache waits, then finds it done
        return _fill_cache(root, cache, settings, rate, channels, dtype, progress, rebuild)


def _fill_cache(root, cache: Path, settings: dict, rate: int, channels: int, dtype: str, progress: bool, rebuild: bool) -> Path:
    """The body of :func:`prepare_cache`, run while holding the cache's lock."""
    from tqdm.auto import tqdm

    manifest_path = cache / "manifest.json"
    if manifest_path.is_file():
        old = json.loads(manifest_path.read_text())
        diff = _differences(old.get("settings", {}), settings)
        if diff and not rebuild:
            raise ValueError(f"{manifest_path} was written with other settings ({diff}); delete {cache} or pass rebuild")
        if diff:  # rebuild: delete all of it but the lock held
            for child in cache.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                elif child.name != ".lock":
                    child.unlink()
    tracks = [(subset, t) for subset in ("train", "test") for t in find_tracks(root, subset, None, stems=STEMS)]
    if not tracks:
        raise ValueError(f"no tracks found under {Path(root) / 'train'} or {Path(root) / 'test'}")
    entries = {}
    todo = []
    for subset, track in tracks:
        record = {"length": None, "files": [_file_record(p) for p in track.files()]}
        done = cache / subset / track.name / "track.json"
        old = json.loads(done.read_text()) if done.is_file() else None
        if old is not None and old["files"] == record["files"]:
            entries[f"{subset}/{track.name}"] = old
        else:
            todo.append((subset, track, record))
    if todo and manifest_path.exists():
        manifest_path.unlink()  # from here until the end the cache is incomplete: nobody may use it
    for subset, track, record in tqdm(todo, desc=f"decoding to {rate} Hz", unit="track", disable=not progress or not todo):
        folder = cache / subset / track.name
        partial = cache / subset / f".{track.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        lengths = set()
        for stem in STEMS:
            audio = _convert(track.load(stem), track.rate, rate, channels)  # (C, T)
            lengths.add(audio.shape[1])
            np.save(partial / f"{stem}.npy", audio.astype(dtype))
        record["length"] = min(lengths)
        _write_json(partial / "track.json", record)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        entries[f"{subset}/{track.name}"] = record
    for subset in ("train", "test"):  # tracks that left the dataset leave the cache
        for folder in (cache / subset).glob("*") if (cache / subset).is_dir() else ():
            if f"{subset}/{folder.name}" not in entries:
                shutil.rmtree(folder, ignore_errors=True)
    _write_json(manifest_path, {"settings": settings, "tracks": entries})
    return cache


def _differences(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(f"{k}: {old.get(k)!r} in the cache, {new.get(k)!r} wanted" for k in keys)


class CachedTrack:
    """One cached track: ``.npy`` arrays at the model's rate, read chunk by chunk.

    Each :meth:`read` reads just the chunk's bytes, one seek and read per channel (the header
    of each file is parsed once, on its first read), so a process never holds pages of the
    whole dataset (memory stays flat over a long epoch) and a read costs no mapping or header
    parsing; ``in_memory=True`` loads every stem into RAM once instead.
    """

    def __init__(self, name: str, folder: Path, length: int, rate: int, channels: int, in_memory: bool = False):
        self.name, self.folder, self.length, self.rate, self.channels = name, Path(folder), length, rate, channels
        self.paths = {stem: self.folder / f"{stem}.npy" for stem in STEMS}
        self.layouts: dict[str, tuple[int, int, np.dtype]] = {}  # stem -> (data offset, samples per channel, dtype)
        self.arrays = {stem: self._open(stem) for stem in STEMS} if in_memory else None

    def files(self) -> list[Path]:
        return list(self.paths.values())

    def _corrupt(self, stem: str, err: Exception) -> ValueError:
        return ValueError(f"cache file {self.paths[stem]} is missing or corrupt ({err}); rebuild the cache")

    def _check_shape(self, stem: str, shape: tuple) -> None:
        if len(shape) != 2 or shape[0] != self.channels or shape[1] < self.length:
            raise ValueError(
                f"cache file {self.paths[stem]} has shape {shape}, expected ({self.channels}, >= {self.length}); rebuild the cache"
            )

    def _open(self, stem: str) -> np.ndarray:
        """The whole stem in RAM: ``(C, T)``."""
        try:
            array = np.load(self.paths[stem])
        except (OSError, ValueError, EOFError) as err:
            raise self._corrupt(stem, err) from err
        self._check_shape(stem, array.shape)
        return array

    def _layout(self, stem: str) -> tuple[int, int, np.dtype]:
        """``(offset, width, dtype)`` of a stem's file: where its samples start, the samples per
        channel (the file is C-ordered ``(C, width)``) and their type; parsed once."""
        if stem not in self.layouts:
            try:
                with open(self.paths[stem], "rb") as f:
                    version = np.lib.format.read_magic(f)
                    if version not in ((1, 0), (2, 0)):
                        raise ValueError(f".npy format version {version}")
                    header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                    shape, fortran, dtype = header(f)
                    offset = f.tell()
            except (OSError, ValueError, EOFError) as err:
                raise self._corrupt(stem, err) from err
            self._check_shape(stem, shape)
            if fortran or dtype not in (np.dtype(np.float32), np.dtype(np.float16)):
                found = f"{'Fortran-ordered ' if fortran else ''}{dtype} array"
                raise self._corrupt(stem, ValueError(f"{found}, expected C-ordered float32 or float16"))
            self.layouts[stem] = (offset, shape[1], dtype)
        return self.layouts[stem]

    def read(self, stem: str, start: int, frames: int) -> np.ndarray:
        """``frames`` samples from ``start``, zero-padded past the end: ``(C, frames)`` float32."""
        out = np.zeros((self.channels, frames), dtype=np.float32)
        stop = min(start + frames, self.length)
        if stop <= start:
            return out
        if self.arrays is not None:
            out[:, : stop - start] = self.arrays[stem][:, start:stop]
            return out
        offset, width, dtype = self._layout(stem)
        n = stop - start
        buffer = out if dtype == np.float32 else np.empty((self.channels, n), dtype)  # float16 files: converted below
        try:
            with open(self.paths[stem], "rb", buffering=0) as f:
                for c in range(self.channels):  # channel c's chunk is one contiguous run of bytes
                    f.seek(offset + (c * width + start) * dtype.itemsize)
                    row = memoryview(buffer[c, :n]).cast("B")
                    if f.readinto(row) != len(row):
                        raise EOFError(f"the file ends before sample {stop} of channel {c}")
        except (OSError, EOFError) as err:
            raise self._corrupt(stem, err) from err
        if buffer is not out:
            out[:, :n] = buffer
        return out

    def load(self, stem: str) -> np.ndarray:
        return self.read(stem, 0, self.length)


def open_cache(
    root: str | Path,
    rate: int,
    channels: int,
    subset: str,
    split: str | None,
    cache_dir: str | Path | None = None,
    dtype: str = "float32",
    in_memory: bool = False,
) -> list[CachedTrack]:
    """The cached tracks of one subset (and MUSDB split), checked against the wanted settings.

    Raises:
        ValueError: no complete cache there, or it was written with other settings, or its
            source files changed since (the message names the file).
    """
    from .tracks import musdb_setup

    settings = cache_settings(root, rate, channels, dtype)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(root, rate, channels, dtype)
    manifest_path = cache / "manifest.json"
    if not manifest_path.is_file():
        raise ValueError(
            f"no complete cache at {cache} (missing {manifest_path.name}): run prepare_data() or "
            f"`waveunet prepare-data {root} --rate {rate} --channels {channels}`"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        entries = manifest["tracks"]
        diff = _differences(manifest["settings"], settings)
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{manifest_path} is not a cache manifest ({err}); delete {cache}") from err
    if diff:
        raise ValueError(f"{manifest_path} was written with other settings ({diff})")
    valid = set(musdb_setup()["validation_tracks"])
    tracks = []
    for key, record in sorted(entries.items()):
        sub, name = key.split("/", 1)
        if sub != subset or (split is not None and subset == "train" and (name in valid) != (split == "valid")):
            continue
        for f in record["files"]:
            path = Path(f["path"])
            if not path.is_file() or _file_record(path) != f:
                raise ValueError(f"{path} changed since the cache {manifest_path} was written; prepare the cache again")
        tracks.append(CachedTrack(name, cache / sub / name, record["length"], rate, channels, in_memory=in_memory))
    return tracks
