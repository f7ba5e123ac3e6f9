"""MUSDB18-layout data for Lightning: random training chunks, fixed validation chunks.

The ``musdb`` package parses the dataset (official train / valid / test split, track and stem
paths); audio is read chunk by chunk with ``soundfile`` (WAV, i.e. MUSDB18-HQ layout) and
resampled to the model's rate, so memory stays flat whatever the dataset size.

A batch is ``(mix, sources)``: ``(B, C, T_in)`` and ``(B, S, C, T_in)``, with
``mix = sources.sum(1)`` exactly. ``T_in`` is ``model.valid_length(segment)``, so the model
returns at least ``segment`` samples per example.
"""

import math
from pathlib import Path

import lightning as L
import musdb
import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF
from torch.utils.data import DataLoader, Dataset

from .toy import default_toy_root, generate_toy_musdb

__all__ = ["MusdbDataModule", "ChunkDataset", "Track", "find_tracks", "STEMS_OF"]

#: Which stems add up to each target name (MUSDB's own targets).
STEMS_OF = {
    "vocals": ("vocals",),
    "drums": ("drums",),
    "bass": ("bass",),
    "other": ("other",),
    "accompaniment": ("drums", "bass", "other"),
}


class Track:
    """One track: the WAV file of each stem, their common rate and length (read from headers).

    Raises:
        ValueError: a stem is missing, unreadable, or differs from the others in rate or length.
    """

    def __init__(self, name: str, folder: Path, stems: tuple[str, ...]):
        self.name = name
        self.paths = {stem: folder / f"{stem}.wav" for stem in stems}
        infos = {}
        for stem, path in self.paths.items():
            if not path.is_file():
                raise ValueError(f"track {name!r}: missing stem file {path}")
            try:
                infos[stem] = sf.info(str(path))
            except Exception as err:  # noqa: BLE001 - libsndfile's errors are not one class
                raise ValueError(f"track {name!r}: {path} is not a readable audio file ({err})") from err
        rates = {i.samplerate for i in infos.values()}
        lengths = {i.frames for i in infos.values()}
        if len(rates) > 1 or len(lengths) > 1:
            detail = ", ".join(f"{s}: {i.frames} samples at {i.samplerate} Hz" for s, i in infos.items())
            raise ValueError(f"track {name!r}: stems differ in rate or length ({detail})")
        self.rate = rates.pop()
        self.length = lengths.pop()
        self.channels = min(i.channels for i in infos.values())

    def read(self, stem: str, start: int, frames: int) -> np.ndarray:
        """``frames`` samples of one stem from ``start``, zero-padded past the end: ``(C, frames)``."""
        audio, _ = sf.read(str(self.paths[stem]), start=start, frames=frames, dtype="float32", always_2d=True)
        audio = audio.T  # (C, t) -- soundfile gives (t, C)
        if audio.shape[1] < frames:
            audio = np.pad(audio, ((0, 0), (0, frames - audio.shape[1])))
        return audio


def find_tracks(root: str | Path, subset: str, split: str | None, sources: tuple[str, ...]) -> list[Track]:
    """List the tracks of a MUSDB18-HQ-layout folder through ``musdb.DB``.

    Args:
        root: dataset root holding ``train/`` and ``test/``.
        subset: ``"train"`` or ``"test"``.
        split: with ``subset="train"``: ``"train"``, ``"valid"`` (MUSDB's official split) or None.
        sources: target names; each must be a key of :data:`STEMS_OF`.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root not found: {root} (expected a MUSDB18-HQ folder with train/ and test/)")
    unknown = [s for s in sources if s not in STEMS_OF]
    if unknown:
        raise ValueError(f"unknown source name(s) {unknown}; MUSDB provides {sorted(STEMS_OF)}")
    stems = tuple(dict.fromkeys(stem for s in sources for stem in STEMS_OF[s]))
    db = musdb.DB(root=str(root), is_wav=True, subsets=[subset], split=split)
    return [Track(t.name, Path(t.path).parent, stems) for t in db.tracks]


class ChunkDataset(Dataset):
    """Chunks of ``length`` samples at ``rate`` Hz from a list of tracks.

    Args:
        tracks: the tracks to draw from.
        sources: target names (see :data:`STEMS_OF`), in output order.
        length: samples per chunk at ``rate``.
        rate: the model's sample rate.
        channels: the model's channels: stereo files are averaged for mono models, mono files
            duplicated for stereo models.
        items: chunks per epoch when ``random``; ignored otherwise.
        random: random track and offset per item (training), else fixed, evenly spaced chunks,
            at most ``chunks_per_track`` per track (validation).

    Item: ``(mix (C, length), sources (S, C, length))``.
    """

    def __init__(
        self,
        tracks: list[Track],
        sources: tuple[str, ...],
        length: int,
        rate: int,
        channels: int,
        items: int = 1000,
        random: bool = True,
        chunks_per_track: int = 4,
    ):
        if not tracks:
            raise ValueError("ChunkDataset needs at least one track")
        self.tracks, self.sources, self.length, self.rate, self.channels = tracks, sources, length, rate, channels
        self.random = random
        self.items = items
        self.fixed: list[tuple[int, int]] = []
        if not random:
            for i, track in enumerate(tracks):
                span = self._native(length)
                starts = np.linspace(0, max(track.length - span, 0), num=chunks_per_track).astype(int)
                self.fixed += [(i, int(s)) for s in np.unique(starts)]

    def _native(self, n: int) -> int:
        """Samples at the file's rate that give ``n`` at the model's rate (all tracks share a rate)."""
        return math.ceil(n * self.tracks[0].rate / self.rate)

    def __len__(self) -> int:
        return self.items if self.random else len(self.fixed)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.random:
            i = int(torch.randint(len(self.tracks), ()))
            track = self.tracks[i]
            span = self._native(self.length)
            start = int(torch.randint(max(track.length - span, 0) + 1, ()))
        else:
            i, start = self.fixed[index]
            track = self.tracks[i]
        return self.chunk(track, start)

    def chunk(self, track: Track, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        margin = 64 if track.rate != self.rate else 0  # resampling filter warm-up, cut off below
        read_start = max(start - margin, 0)
        frames = self._native(self.length) + (start - read_start) + margin
        stems = {stem: torch.from_numpy(track.read(stem, read_start, frames)) for stem in track.paths}
        out = []
        for name in self.sources:
            x = sum(stems[stem] for stem in STEMS_OF[name])  # (C_file, frames)
            if x.shape[0] != self.channels:
                x = x.mean(0, keepdim=True).expand(self.channels, -1)  # mono <-> stereo
            out.append(x)
        audio = torch.stack(out)  # (S, C, frames)
        if track.rate != self.rate:
            audio = AF.resample(audio, track.rate, self.rate)
            skip = math.floor((start - read_start) * self.rate / track.rate)
            audio = audio[..., skip : skip + self.length]
        audio = audio[..., : self.length].contiguous()
        if audio.shape[-1] < self.length:  # a track shorter than a chunk is zero-padded
            audio = torch.nn.functional.pad(audio, (0, self.length - audio.shape[-1]))
        return audio.sum(0), audio  # (C, T), (S, C, T)


class MusdbDataModule(L.LightningDataModule):
    """Training, validation and test chunks from a MUSDB18-HQ-layout folder.

    Args:
        root: the dataset folder (``train/`` and ``test/`` inside). ``None`` uses the toy
            dataset of :mod:`waveunet_lit.data.toy`, generated on first use.
        sources: target names, in model output order; ``None`` takes the model's ``sources``.
        sample_rate: ``None`` takes the model's rate.
        channels: ``None`` takes the model's channel count.
        segment: output samples per training example; the input chunk is
            ``model.valid_length(segment)`` samples long.
        batch_size: examples per batch.
        num_workers: DataLoader worker processes.
        samples_per_epoch: random training chunks per epoch.
        valid_tracks: when the dataset has no tracks of MUSDB's official validation split (e.g.
            generated data), the last ``valid_tracks`` training tracks are held out instead.
        valid_chunks_per_track: fixed validation chunks per track.

    The model-dependent values are filled in by :meth:`configure_for`, which ``setup`` calls
    with the trainer's model; call it yourself to use the module without a trainer.
    """

    def __init__(
        self,
        root: str | None = None,
        sources: tuple[str, ...] | None = None,
        sample_rate: int | None = None,
        channels: int | None = None,
        segment: int = 16384,
        batch_size: int = 16,
        num_workers: int = 2,
        samples_per_epoch: int = 2000,
        valid_tracks: int = 2,
        valid_chunks_per_track: int = 4,
    ):
        super().__init__()
        if segment < 1 or batch_size < 1 or samples_per_epoch < 1:
            raise ValueError(
                f"segment, batch_size and samples_per_epoch must be >= 1, got {segment}, {batch_size}, {samples_per_epoch}"
            )
        self.root = Path(root).expanduser() if root is not None else None
        self.sources, self.sample_rate, self.channels = sources, sample_rate, channels
        self.segment, self.batch_size, self.num_workers = segment, batch_size, num_workers
        self.samples_per_epoch = samples_per_epoch
        self.valid_tracks, self.valid_chunks_per_track = valid_tracks, valid_chunks_per_track
        self.chunk_length: int | None = None

    def configure_for(self, model: torch.nn.Module) -> "MusdbDataModule":
        """Take sources, rate, channels and chunk length from a model (explicit values win)."""
        self.sources = tuple(self.sources or model.sources)
        self.sample_rate = self.sample_rate or model.sample_rate
        self.channels = self.channels or model.channels
        self.chunk_length = model.valid_length(self.segment)
        if tuple(model.sources) != self.sources:
            raise ValueError(f"data sources {self.sources} differ from the model's {tuple(model.sources)}")
        return self

    def prepare_data(self) -> None:
        if self.root is None:
            generate_toy_musdb(default_toy_root())

    @property
    def dataset_root(self) -> Path:
        return self.root if self.root is not None else default_toy_root()

    def setup(self, stage: str) -> None:
        if self.chunk_length is None:
            if self.trainer is None:
                raise RuntimeError("MusdbDataModule: call configure_for(model) or attach it to a Trainer first")
            self.configure_for(self.trainer.lightning_module.model)
        root, sources = self.dataset_root, self.sources
        make = lambda tracks, **kw: ChunkDataset(  # noqa: E731 - one place for the shared arguments
            tracks, sources, self.chunk_length, self.sample_rate, self.channels, **kw
        )
        if stage in ("fit", "validate"):
            train, valid = find_tracks(root, "train", "train", sources), find_tracks(root, "train", "valid", sources)
            if not valid:  # no official validation tracks here: hold out the last ones
                if len(train) <= self.valid_tracks:
                    raise ValueError(
                        f"{root / 'train'} has {len(train)} track(s): too few to hold out "
                        f"valid_tracks={self.valid_tracks} for validation"
                    )
                train, valid = train[: -self.valid_tracks], train[-self.valid_tracks :]
            if not train:
                raise ValueError(f"no training tracks found under {root / 'train'} (expected <track>/<stem>.wav folders)")
            self.train_set = make(train, items=self.samples_per_epoch)
            self.valid_set = make(valid, random=False, chunks_per_track=self.valid_chunks_per_track)
        if stage == "test":
            test = find_tracks(root, "test", None, sources)
            if not test:
                raise ValueError(f"no test tracks found under {root / 'test'} (expected <track>/<stem>.wav folders)")
            self.test_set = make(test, random=False, chunks_per_track=self.valid_chunks_per_track)

    def _loader(self, dataset: Dataset, train: bool = False) -> DataLoader:
        # No shuffling: training items are random chunks already, the others are fixed.
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            drop_last=train,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.valid_set)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set)
