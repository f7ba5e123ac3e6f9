"""Finding and reading MUSDB18 tracks in both formats, with errors that name the file.

* MUSDB18-HQ layout: ``root/{train,test}/<track>/{vocals,drums,bass,other,mixture}.wav``;
  read with ``soundfile``, chunk by chunk.
* MUSDB18 (compressed): ``root/{train,test}/<track>.stem.mp4``, one AAC stream per stem;
  decoded by ``stempeg`` (the reader ``musdb`` uses), which runs the ``ffmpeg`` program.

The official train / valid split and the stem order inside ``.stem.mp4`` files come from the
``musdb`` package's own setup file, so they are MUSDB's, not ours. Each file is probed once
(``musdb.DB`` probes every WAV and MP4 stream with ffprobe, which costs seconds per song list
and hides which file is broken).
"""

import shutil
import socket
import subprocess
import urllib.error
from pathlib import Path

import musdb
import numpy as np
import soundfile as sf
import yaml

__all__ = [
    "STEMS",
    "STEMS_OF",
    "Track",
    "StemTrack",
    "find_tracks",
    "dataset_format",
    "musdb_setup",
    "download_previews",
    "default_previews_root",
]

#: MUSDB's four stems; a track's mixture is their sum.
STEMS = ("vocals", "drums", "bass", "other")

#: Which stems add up to each target name (MUSDB's own targets).
STEMS_OF = {
    "vocals": ("vocals",),
    "drums": ("drums",),
    "bass": ("bass",),
    "other": ("other",),
    "accompaniment": ("drums", "bass", "other"),
}


def musdb_setup() -> dict:
    """``musdb``'s setup file: stem ids, validation track names, the previews' URL."""
    with open(Path(musdb.__file__).parent / "configs" / "mus.yaml") as f:
        return yaml.safe_load(f)


class Track:
    """One track in MUSDB18-HQ layout: a WAV file per stem, with a common rate and length.

    Args:
        name: the track's name (its folder name).
        folder: the folder holding ``<stem>.wav``.
        stems: stem names to use (``"mixture"`` is allowed too).

    Raises:
        ValueError: a stem is missing, unreadable, or differs from the others in rate or length
            (the message names the file).
    """

    def __init__(self, name: str, folder: Path, stems: tuple[str, ...] = STEMS):
        self.name = name
        self.paths = {stem: Path(folder) / f"{stem}.wav" for stem in stems}
        infos = {}
        for stem, path in self.paths.items():
            if not path.is_file():
                raise ValueError(f"track {name!r}: missing stem file {path}")
            try:
                infos[stem] = sf.info(str(path))
            except Exception as err:  # noqa: BLE001 - libsndfile's errors are not one class
                raise ValueError(f"track {name!r}: {path} is not a readable audio file ({err})") from err
        self.rate, self.length = _common_rate_and_length(name, {s: (i.samplerate, i.frames) for s, i in infos.items()}, self.paths)
        self.channels = min(i.channels for i in infos.values())

    def files(self) -> list[Path]:
        """The files this track is read from (for a cache manifest)."""
        return sorted(set(self.paths.values()))

    def read(self, stem: str, start: int, frames: int) -> np.ndarray:
        """``frames`` samples of one stem from ``start``, zero-padded past the end: ``(C, frames)``."""
        audio, _ = sf.read(str(self.paths[stem]), start=start, frames=frames, dtype="float32", always_2d=True)
        audio = audio.T  # (C, t) -- soundfile gives (t, C)
        if audio.shape[1] < frames:
            audio = np.pad(audio, ((0, 0), (0, frames - audio.shape[1])))
        return audio

    def load(self, stem: str) -> np.ndarray:
        """The whole stem: ``(C, length)``."""
        return self.read(stem, 0, self.length)


def _common_rate_and_length(name: str, info: dict[str, tuple[int, int]], paths: dict[str, Path]) -> tuple[int, int]:
    """Check that every stem has one rate and one length; the error names the odd file."""
    rates = {rate for rate, _ in info.values()}
    lengths = {frames for _, frames in info.values()}
    if len(rates) > 1 or len(lengths) > 1:
        longest = max(frames for _, frames in info.values())
        odd = [s for s, (rate, frames) in info.items() if frames < longest or rate != max(rates)]
        detail = ", ".join(f"{s}: {frames} samples at {rate} Hz" for s, (rate, frames) in info.items())
        raise ValueError(
            f"track {name!r}: stems differ in rate or length ({detail}); check {', '.join(str(paths[s]) for s in odd)}"
        )
    return rates.pop(), lengths.pop()


def _require_ffmpeg(path: Path) -> None:
    missing = [cmd for cmd in ("ffmpeg", "ffprobe") if shutil.which(cmd) is None]
    if missing:
        raise RuntimeError(
            f"reading {path} needs the {' and '.join(missing)} program(s), not found on PATH: install ffmpeg "
            "(Debian/Ubuntu: apt-get install ffmpeg; `make install` does it) or use MUSDB18-HQ (WAV)"
        )


class StemTrack:
    """One track of compressed MUSDB18: a ``.stem.mp4`` file with one AAC stream per stem.

    Probing uses ``stempeg``; decoding runs the ``ffmpeg`` program, which costs tens to hundreds
    of milliseconds per call even for a short chunk, which is why training reads a decoded cache instead
    (:mod:`waveunet_lit.data.cache`).

    Raises:
        RuntimeError: ffmpeg / ffprobe are not installed (the message names the file).
        ValueError: the file is not a readable stem file, or its streams differ in length.
    """

    def __init__(self, name: str, path: Path, stems: tuple[str, ...] = STEMS):
        import stempeg

        self.name, self.path = name, Path(path)
        _require_ffmpeg(self.path)
        try:
            self.info = stempeg.Info(str(self.path))
        except Exception as err:  # noqa: BLE001 - ffprobe's errors carry its stderr
            stderr = getattr(err, "stderr", b"") or b""
            detail = stderr.decode(errors="replace").strip().splitlines()[-1:] or [str(err)]
            raise ValueError(f"track {name!r}: {self.path} is not a readable stem file ({detail[0]})") from err
        ids = musdb_setup()["stem_ids"]
        self.stream = {stem: ids[stem] for stem in stems}
        if max(self.stream.values()) >= self.info.nb_audio_streams:
            raise ValueError(
                f"track {name!r}: {self.path} has {self.info.nb_audio_streams} audio stream(s); a MUSDB18 stem file has 5 "
                f"(mixture, drums, bass, other, vocals)"
            )
        self.paths = {stem: self.path for stem in stems}
        self.rate = self.info.sample_rate(0)
        info = {stem: (self.info.sample_rate(k), round(self.info.duration(k) * self.info.sample_rate(k))) for stem, k in self.stream.items()}
        self.rate, self.length = _common_rate_and_length(name, info, {s: Path(f"{self.path}#stream{k}") for s, k in self.stream.items()})
        self.channels = min(self.info.channels(k) for k in self.stream.values())

    def files(self) -> list[Path]:
        return [self.path]

    def _decode(self, stem: str, start: int | None, frames: int | None) -> np.ndarray:
        """Run ffmpeg on one stream, as ``stempeg.read_stems`` does but without probing the file
        again: ``(C, t)`` float32. The seek (``-ss``) is an output option: ffmpeg decodes from the
        start and drops samples, which is slow but gives the very samples of a full decode
        (seeking in the input restarts the AAC decoder and gives different samples)."""
        _require_ffmpeg(self.path)
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(self.path), "-map", f"0:{self.stream[stem]}"]
        if start:
            cmd += ["-ss", f"{start / self.rate:.6f}"]
        if frames is not None:
            cmd += ["-t", f"{(frames + 1) / self.rate:.6f}"]  # one sample more against rounding; cut below
        cmd += ["-f", "f32le", "-ac", str(self.channels), "-ar", str(self.rate), "pipe:"]
        result = subprocess.run(cmd, capture_output=True)
        audio = np.frombuffer(result.stdout, dtype="<f4")
        if result.returncode != 0 or audio.size == 0:
            detail = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no audio decoded"]
            raise ValueError(f"track {self.name!r}: ffmpeg could not decode {self.path} (stream {self.stream[stem]}): {detail[0]}")
        return audio[: audio.size // self.channels * self.channels].reshape(-1, self.channels).T.copy()  # (C, t)

    def read(self, stem: str, start: int, frames: int) -> np.ndarray:
        """``frames`` samples of one stem from ``start``, zero-padded past the end: ``(C, frames)``."""
        if start >= self.length:
            return np.zeros((self.channels, frames), np.float32)
        audio = self._decode(stem, start, frames)[:, : min(frames, self.length - start)]  # (C, <= frames)
        return np.pad(audio, ((0, 0), (0, frames - audio.shape[1])))

    def load(self, stem: str) -> np.ndarray:
        """The whole stem, cut to the stream's duration (AAC decoders add padding): ``(C, length)``."""
        audio = self._decode(stem, None, None)[:, : self.length]
        return np.pad(audio, ((0, 0), (0, self.length - audio.shape[1])))


def dataset_format(root: str | Path) -> str:
    """``"wav"`` (MUSDB18-HQ layout) or ``"mp4"`` (``.stem.mp4`` files), from what is in ``root``.

    Raises:
        FileNotFoundError: ``root`` does not exist.
        ValueError: ``root`` holds neither layout (the message says what it found).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(
            f"dataset root not found: {root} (expected MUSDB18-HQ folders root/train/<track>/<stem>.wav "
            "or MUSDB18 files root/train/<track>.stem.mp4)"
        )
    subsets = [root / s for s in ("train", "test") if (root / s).is_dir()]
    mp4 = [p for s in subsets for p in s.glob("*.stem.mp4")]
    wav = [p for s in subsets for p in s.glob("*/*.wav")]
    if mp4 and wav:
        raise ValueError(f"{root} mixes .stem.mp4 files and WAV track folders; keep one format per root")
    if mp4:
        return "mp4"
    if wav:
        return "wav"
    found = sorted(p.name for p in root.iterdir())[:8]
    raise ValueError(
        f"{root} has no MUSDB18 tracks: expected root/train/<track>/<stem>.wav (MUSDB18-HQ) or "
        f"root/train/<track>.stem.mp4 (MUSDB18); found {found or 'an empty folder'}"
    )


def find_tracks(
    root: str | Path,
    subset: str,
    split: str | None,
    sources: tuple[str, ...] = STEMS,
    stems: tuple[str, ...] | None = None,
) -> list["Track | StemTrack"]:
    """The tracks of one subset of a MUSDB18 (MP4) or MUSDB18-HQ (WAV) folder.

    Args:
        root: dataset root holding ``train/`` and ``test/``.
        subset: ``"train"`` or ``"test"``.
        split: with ``subset="train"``: ``"train"`` or ``"valid"`` (MUSDB's official split, by
            track name), or None for all.
        sources: target names; each must be a key of :data:`STEMS_OF`.
        stems: the stems to open; default: those the ``sources`` need.

    Returns:
        Tracks sorted by name; empty when ``root/subset`` has none.

    Raises:
        FileNotFoundError, ValueError, RuntimeError: see :func:`dataset_format`, :class:`Track`,
        :class:`StemTrack`.
    """
    unknown = [s for s in sources if s not in STEMS_OF]
    if unknown:
        raise ValueError(f"unknown source name(s) {unknown}; MUSDB provides {sorted(STEMS_OF)}")
    if subset not in ("train", "test") or split not in (None, "train", "valid"):
        raise ValueError(f"subset must be 'train' or 'test' and split None, 'train' or 'valid'; got {subset!r}, {split!r}")
    fmt = dataset_format(root)
    stems = stems or tuple(dict.fromkeys(stem for s in sources for stem in STEMS_OF[s]))
    folder = Path(root).expanduser() / subset
    if not folder.is_dir():
        return []
    valid = set(musdb_setup()["validation_tracks"])
    if fmt == "wav":
        entries = sorted((p.name, p) for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    else:
        entries = sorted((p.name[: -len(".stem.mp4")], p) for p in folder.glob("*.stem.mp4"))
    if split is not None and subset == "train":
        entries = [(n, p) for n, p in entries if (n in valid) == (split == "valid")]
    make = Track if fmt == "wav" else StemTrack
    return [make(name, path, stems) for name, path in entries]


def default_previews_root() -> Path:
    """Where ``musdb`` puts the 7-second previews: ``~/MUSDB18/MUSDB18-7``."""
    return Path("~/MUSDB18/MUSDB18-7").expanduser()


def download_previews(root: str | Path | None = None, timeout: float = 30.0) -> Path:
    """Download MUSDB18's 7-second previews (144 ``.stem.mp4`` tracks, ~140 MB) with ``musdb``.

    Nothing happens when ``root/train`` exists already. ``musdb`` opens the URL without a
    timeout, so a network that drops packets would hang it; here every socket operation gives
    up after ``timeout`` seconds.

    Raises:
        ConnectionError: offline, or the server did not answer (the message says what to do).
    """
    root = Path(root).expanduser() if root is not None else default_previews_root()
    url = musdb_setup()["sample-url"]
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        musdb.DB(root=str(root), download=True, subsets=[])
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise ConnectionError(
            f"could not download the MUSDB18 7-second previews from {url} into {root} ({reason}); are you offline? "
            "Download MUSDB18 or MUSDB18-HQ from https://sigsep.github.io/datasets/musdb.html and pass its folder "
            "as root, or use the generated data (root: null)"
        ) from err
    finally:
        socket.setdefaulttimeout(previous)
    if not (root / "train").is_dir():
        raise ConnectionError(f"the download from {url} left no {root / 'train'} folder; delete {root} and retry")
    return root
