"""MUSDB18-layout data for Lightning: random training chunks, fixed validation chunks.

One data module serves MUSDB18 (``.stem.mp4``), MUSDB18-HQ (WAV), the 7-second previews and
the generated datasets (numpy toy set, FluidSynth-rendered set). By default each track is
decoded and resampled once to the model's rate (:mod:`waveunet_lit.data.cache`); training
then reads each chunk's bytes from ``.npy`` files, so memory stays flat whatever the dataset size.

A batch is ``(mix, sources)``: ``(B, C, T_in)`` and ``(B, S, C, T_in)``. The mixture is the sum
of all four stems after augmentation, so ``mix == sources.sum(1)`` whenever the sources cover
the stems (the 4 sources, or vocals + accompaniment). ``T_in`` is
``model.valid_length(segment)``, so the model returns at least ``segment`` samples.
"""

import math
from collections.abc import Sequence
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..audio import resample, to_channels
from .augment import Augmentation, apply_augmentations, input_length
from .cache import open_cache, prepare_cache
from .toy import default_toy_root, generate_toy_musdb
from .tracks import STEMS, STEMS_OF, StemTrack, Track, download_previews, find_tracks

__all__ = ["MusdbDataModule", "ChunkDataset", "SilenceFilter", "Track", "StemTrack", "find_tracks", "STEMS_OF"]

MAX_WORKERS = 64  # rows of the shared kept/dropped counters (one per DataLoader worker)


class SilenceFilter:
    """Keep a chunk only if a source is audible: RMS >= ``min_rms`` and at least ``min_active``
    of its ``window``-sample windows have RMS >= ``min_rms``.

    Example:
        >>> f = SilenceFilter(min_rms=0.005, min_active=0.3, window=100)
        >>> x = np.zeros((2, 1000), np.float32); x[:, :400] = 0.1
        >>> f.is_active(x), f.is_active(x[:, 500:])
        (True, False)
    """

    def __init__(self, min_rms: float = 0.005, min_active: float = 0.3, window: int = 1024):
        if min_rms < 0 or not 0 <= min_active <= 1 or window < 1:
            raise ValueError(f"need min_rms >= 0, 0 <= min_active <= 1, window >= 1; got {min_rms}, {min_active}, {window}")
        self.min_rms, self.min_active, self.window = min_rms, min_active, window

    def is_active(self, x: np.ndarray) -> bool:
        """``x``: ``(C, T)``."""
        if math.sqrt(float(np.mean(np.square(x, dtype=np.float64)))) < self.min_rms:
            return False
        n = x.shape[1] // self.window
        if n == 0:
            return True
        windows = x[:, : n * self.window].reshape(x.shape[0], n, self.window)  # (C, N, window)
        rms = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=(0, 2)))  # (N,)
        return float(np.mean(rms >= self.min_rms)) >= self.min_active


class ChunkDataset(Dataset):
    """Chunks of ``length`` samples at ``rate`` Hz from a list of tracks.

    Args:
        tracks: the tracks to draw from (WAV, MP4 or cached; any rate).
        sources: target names (see :data:`STEMS_OF`), in output order; they must not share stems.
        length: samples per chunk at ``rate`` (the model's ``T_in``).
        rate: the model's sample rate.
        channels: the model's channels: stereo is averaged for mono models, mono duplicated
            for stereo models.
        items: chunks per epoch when ``random``; ignored otherwise.
        random: random track and offset per item (training), else fixed, evenly spaced chunks,
            at most ``chunks_per_track`` per track, without augmentation (validation).
        chunks_per_track: see ``random``.
        augment: augmentations applied to each source (and to the rest of the mixture, when the
            sources do not cover every stem) before mixing; random chunks only.
        remix: probability that a random item is an incoherent remix: each source from its own
            random track and offset.
        silence: drop random chunks in which a source of ``silence_sources`` is silent (drawn
            again, at most ``max_tries`` times); None keeps every chunk.
        silence_sources: the sources checked by ``silence``; None: all ``sources``.
        target_length: the samples the model predicts (``segment``), at the centre of the
            chunk: the silence filter looks at those.
        max_tries: draws per item before the silence filter gives up and keeps the last one.

    Item: ``(mix (C, length), sources (S, C, length))``.
    """

    def __init__(
        self,
        tracks: list,
        sources: tuple[str, ...],
        length: int,
        rate: int,
        channels: int,
        items: int = 1000,
        random: bool = True,
        chunks_per_track: int = 4,
        augment: Sequence[Augmentation] = (),
        remix: float = 0.0,
        silence: SilenceFilter | None = None,
        silence_sources: tuple[str, ...] | None = None,
        target_length: int | None = None,
        max_tries: int = 20,
    ):
        if not tracks:
            raise ValueError("ChunkDataset needs at least one track")
        check_sources(sources)
        if not 0 <= remix <= 1:
            raise ValueError(f"remix is a probability in [0, 1], got {remix}")
        self.tracks, self.sources, self.length, self.rate, self.channels = tracks, tuple(sources), length, rate, channels
        self.random, self.items, self.augment, self.remix = random, items, tuple(augment), remix
        self.silence, self.max_tries = silence, max_tries
        self.checked = [self.sources.index(s) for s in (silence_sources or self.sources)]
        self.target_length = min(target_length or length, length)
        # The sources, then the stems no source covers (still part of the mixture).
        rest = tuple(s for s in STEMS if not any(s in STEMS_OF[name] for name in self.sources))
        self.groups = [STEMS_OF[name] for name in self.sources] + ([rest] if rest else [])
        # Kept / dropped counts of the silence filter, one row per worker, in shared memory so
        # that the main process can report them.
        self.counts = torch.zeros(MAX_WORKERS + 1, 2, dtype=torch.int64).share_memory_()
        self.fixed: list[tuple[int, int]] = []
        if not random:
            for i, track in enumerate(tracks):
                span = self._native(track, length)
                starts = np.linspace(0, max(track.length - span, 0), num=chunks_per_track).astype(int)
                self.fixed += [(i, int(s)) for s in np.unique(starts)]

    def _native(self, track, n: int) -> int:
        """Samples at the track's rate that give ``n`` at the model's rate."""
        return math.ceil(n * track.rate / self.rate)

    def __len__(self) -> int:
        return self.items if self.random else len(self.fixed)

    def read(self, track, start: int, frames: int, stems: tuple[str, ...]) -> torch.Tensor:
        """The sum of ``stems`` of ``track`` from ``start`` (track samples), ``frames`` samples
        at the model's rate and channels: ``(C, frames)``."""
        margin = 64 if track.rate != self.rate else 0  # resampling filter warm-up, cut off below
        read_start = max(start - margin, 0)
        native = self._native(track, frames) + (start - read_start) + margin
        x = sum(torch.from_numpy(track.read(stem, read_start, native)) for stem in stems)  # (C_file, native)
        x = to_channels(x, self.channels)  # (C, native)
        if track.rate != self.rate:
            x = resample(x, track.rate, self.rate)  # (C, ~frames)
            skip = math.floor((start - read_start) * self.rate / track.rate)
            x = x[:, skip : skip + frames]
        x = x[:, :frames]
        if x.shape[-1] < frames:  # a track shorter than a chunk is zero-padded
            x = torch.nn.functional.pad(x, (0, frames - x.shape[-1]))
        return x.contiguous()  # (C, frames)

    def chunk(self, track, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed, unaugmented chunk at ``start``: ``(mix (C, T), sources (S, C, T))``."""
        audio = torch.stack([self.read(track, start, self.length, g) for g in self.groups])  # (G, C, T)
        return audio.sum(0), audio[: len(self.sources)]

    def _draw(self, rng: np.random.Generator, frames: int) -> tuple[object, int]:
        track = self.tracks[int(rng.integers(len(self.tracks)))]
        return track, int(rng.integers(max(track.length - self._native(track, frames), 0) + 1))

    def _active(self, x: torch.Tensor, frames: int) -> bool:
        surplus = frames - self.target_length
        return self.silence.is_active(x[:, surplus // 2 : surplus // 2 + self.target_length].numpy())

    def _count(self, kept: bool) -> None:
        info = torch.utils.data.get_worker_info()
        self.counts[(info.id + 1) if info is not None else 0, 0 if kept else 1] += 1

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.random:
            i, start = self.fixed[index]
            return self.chunk(self.tracks[i], start)
        # torch's generator is seeded per worker by the DataLoader (and by seed_everything).
        rng = np.random.default_rng(int(torch.randint(2**62, ())))
        frames = input_length(self.augment, self.length)
        checked = set(self.checked) if self.silence is not None else set()
        if rng.random() < self.remix:  # incoherent: every group from its own track and offset
            groups = []
            for g, stems in enumerate(self.groups):
                for attempt in range(self.max_tries):
                    x = self.read(*self._draw(rng, frames), frames, stems)
                    if g not in checked:
                        break
                    ok = self._active(x, frames)
                    self._count(ok)
                    if ok:
                        break
                groups.append(x)
        else:
            for attempt in range(self.max_tries):
                track, start = self._draw(rng, frames)
                groups = [self.read(track, start, frames, stems) for stems in self.groups]
                if not checked:
                    break
                ok = all(self._active(groups[g], frames) for g in checked)
                self._count(ok)
                if ok:
                    break
        audio = np.stack(
            [apply_augmentations(self.augment, x.numpy(), self.rate, rng, self.length) for x in groups]
        )  # (G, C, T)
        audio = torch.from_numpy(audio)
        return audio.sum(0), audio[: len(self.sources)]  # (C, T), (S, C, T)

    def silence_counts(self) -> dict[str, int]:
        """Chunks kept and dropped by the silence filter so far (all workers)."""
        kept, dropped = self.counts.sum(0).tolist()
        return {"kept": kept, "dropped": dropped}


def check_sources(sources: Sequence[str]) -> None:
    """Raise ``ValueError`` for unknown source names or sources that share stems."""
    unknown = [s for s in sources if s not in STEMS_OF]
    if unknown:
        raise ValueError(f"unknown source name(s) {unknown}; MUSDB provides {sorted(STEMS_OF)}")
    stems = [stem for s in sources for stem in STEMS_OF[s]]
    if len(stems) != len(set(stems)):
        raise ValueError(f"sources {tuple(sources)} share stems ({stems}); each stem may belong to one source")


class _EpochSampler(Sampler):
    """Indices ``0..n-1``; calls ``on_epoch`` (in the main process) whenever an epoch starts."""

    def __init__(self, n: int, on_epoch):
        self.n, self.on_epoch = n, on_epoch

    def __iter__(self):
        self.on_epoch()
        return iter(range(self.n))

    def __len__(self) -> int:
        return self.n


class MusdbDataModule(L.LightningDataModule):
    """Training, validation and test chunks from MUSDB18 (MP4 or HQ WAV) or generated data.

    Args:
        root: the dataset folder (``train/`` and ``test/`` inside), MUSDB18 or MUSDB18-HQ
            layout. ``None``: the generated dataset named by ``generated``, made on first use.
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
        generated: what ``root: null`` means: ``"toy"`` (numpy, seconds to make) or
            ``"rendered"`` (FluidSynth, :mod:`waveunet_lit.data.render`).
        rendered_songs: with ``generated: rendered``, train on the held-out quality set with
            this many training songs (:func:`~waveunet_lit.data.render.quality_root`: the 8
            test songs of ``bench/quality.py``, 30 s each) instead of the small default set
            (16 + 4 songs of 20 s). ``root``, when given, wins.
        download: download MUSDB18's 7-second previews into ``root`` (default
            ``~/MUSDB18/MUSDB18-7``) if not there; fails fast and clearly when offline.
        cache: decode and resample every track once (``prepare_data``) and train from the
            cache; ``False`` decodes every chunk from the files (slow for MP4).
        cache_dir: the cache folder; default ``root/.waveunet-cache/<rate>hz-<C>ch-<dtype>``.
        cache_dtype: ``"float32"`` or ``"float16"``.
        in_memory: load the cache into RAM instead of reading each chunk from its files.
        remix: probability of an incoherent training example (each source from another track).
        augment: augmentations of each source, in order (see :mod:`waveunet_lit.data.augment`).
        min_rms: silence filter: a training chunk is kept only if every source in
            ``silence_sources`` has RMS >= ``min_rms`` ... (0 disables the filter)
        min_active: ... and at least this fraction of its ``silence_window``-sample windows too.
        silence_window: window of the silence filter, in samples at the model's rate.
        silence_sources: the sources the filter checks; ``None``: all.

    The model-dependent values are filled in by :meth:`configure_for`, which ``prepare_data``
    and ``setup`` call with the trainer's model; call it yourself to use the module without a
    trainer (``setup`` then also runs ``prepare_data``).
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
        generated: str = "toy",
        rendered_songs: int | None = None,
        download: bool = False,
        cache: bool = True,
        cache_dir: str | None = None,
        cache_dtype: str = "float32",
        in_memory: bool = False,
        remix: float = 0.0,
        augment: Sequence[Augmentation] = (),
        min_rms: float = 0.005,
        min_active: float = 0.3,
        silence_window: int = 1024,
        silence_sources: tuple[str, ...] | None = None,
    ):
        super().__init__()
        if segment < 1 or batch_size < 1 or samples_per_epoch < 1:
            raise ValueError(
                f"segment, batch_size and samples_per_epoch must be >= 1, got {segment}, {batch_size}, {samples_per_epoch}"
            )
        if generated not in ("toy", "rendered"):
            raise ValueError(f"generated must be 'toy' or 'rendered', got {generated!r}")
        if rendered_songs is not None and rendered_songs < 1:
            raise ValueError(f"rendered_songs must be >= 1 training songs, got {rendered_songs}")
        if rendered_songs is not None and generated != "rendered":
            raise ValueError(f"rendered_songs goes with generated: rendered, got generated: {generated!r}")
        if cache_dtype not in ("float32", "float16"):
            raise ValueError(f"cache_dtype must be 'float32' or 'float16', got {cache_dtype!r}")
        if not 0 <= remix <= 1:
            raise ValueError(f"remix is a probability in [0, 1], got {remix}")
        if sources is not None:
            check_sources(sources)
        self.silence = SilenceFilter(min_rms, min_active, silence_window) if (min_rms > 0 or min_active > 0) else None
        self.root = Path(root).expanduser() if root is not None else None
        self.sources, self.sample_rate, self.channels = sources, sample_rate, channels
        self.segment, self.batch_size, self.num_workers = segment, batch_size, num_workers
        self.samples_per_epoch = samples_per_epoch
        self.valid_tracks, self.valid_chunks_per_track = valid_tracks, valid_chunks_per_track
        self.generated, self.rendered_songs, self.download = generated, rendered_songs, download
        self.cache, self.cache_dir, self.cache_dtype, self.in_memory = cache, cache_dir, cache_dtype, in_memory
        self.remix, self.augment = remix, tuple(augment)
        self.silence_sources = tuple(silence_sources) if silence_sources else None
        self.chunk_length: int | None = None
        self._epoch = 0

    def configure_for(self, model: torch.nn.Module) -> "MusdbDataModule":
        """Take sources, rate, channels and chunk length from a model (explicit values win)."""
        self.sources = tuple(self.sources or model.sources)
        self.sample_rate = self.sample_rate or model.sample_rate
        self.channels = self.channels or model.channels
        self.chunk_length = model.valid_length(self.segment)
        if tuple(model.sources) != self.sources:
            raise ValueError(f"data sources {self.sources} differ from the model's {tuple(model.sources)}")
        check_sources(self.sources)
        if self.silence_sources and not set(self.silence_sources) <= set(self.sources):
            raise ValueError(f"silence_sources {self.silence_sources} must be among the sources {self.sources}")
        return self

    def _configure_from_trainer(self) -> None:
        if self.chunk_length is None:
            if self.trainer is None:
                raise RuntimeError("MusdbDataModule: call configure_for(model) or attach it to a Trainer first")
            self.configure_for(self.trainer.lightning_module.model)

    @property
    def dataset_root(self) -> Path:
        if self.root is not None:
            return self.root
        if self.download:
            from .tracks import default_previews_root

            return default_previews_root()
        if self.generated == "rendered":
            from .render import default_rendered_root, quality_root

            return quality_root(self.rendered_songs) if self.rendered_songs else default_rendered_root()
        return default_toy_root()

    def prepare_data(self) -> None:
        """Make the generated data / download the previews, then fill the decode-once cache."""
        root = self.dataset_root
        if self.download:
            download_previews(root)
        elif self.root is None and self.generated == "toy":
            generate_toy_musdb(root)
        elif self.root is None and self.rendered_songs:
            from .render import render_quality_set

            render_quality_set(self.rendered_songs)
        elif self.root is None:
            from .render import render_dataset

            render_dataset(root)
        if self.cache:
            self._configure_from_trainer()
            # A cache in the default place is keyed by its settings: rebuild it if stale. A
            # cache_dir given by the user with other settings is an error, never overwritten.
            prepare_cache(
                root, self.sample_rate, self.channels, self.cache_dir, self.cache_dtype,
                progress=True, rebuild=self.cache_dir is None,
            )

    def _tracks(self, subset: str, split: str | None) -> list:
        if not self.cache:
            return find_tracks(self.dataset_root, subset, split, stems=STEMS)
        return open_cache(
            self.dataset_root, self.sample_rate, self.channels, subset, split,
            self.cache_dir, self.cache_dtype, self.in_memory,
        )

    def setup(self, stage: str) -> None:
        self._configure_from_trainer()
        if self.trainer is None:  # used alone: nobody else runs prepare_data
            self.prepare_data()
        root, sources = self.dataset_root, self.sources
        make = lambda tracks, **kw: ChunkDataset(  # noqa: E731 - one place for the shared arguments
            tracks, sources, self.chunk_length, self.sample_rate, self.channels, target_length=self.segment, **kw
        )
        if stage in ("fit", "validate"):
            train, valid = self._tracks("train", "train"), self._tracks("train", "valid")
            if not valid:  # no official validation tracks here: hold out the last ones
                if len(train) <= self.valid_tracks:
                    raise ValueError(
                        f"{root / 'train'} has {len(train)} track(s): too few to hold out "
                        f"valid_tracks={self.valid_tracks} for validation"
                    )
                train, valid = train[: -self.valid_tracks], train[-self.valid_tracks :]
            self.train_set = make(
                train, items=self.samples_per_epoch, augment=self.augment, remix=self.remix,
                silence=self.silence, silence_sources=self.silence_sources,
            )
            self.valid_set = make(valid, random=False, chunks_per_track=self.valid_chunks_per_track)
        if stage == "test":
            test = self._tracks("test", None)
            if not test:
                raise ValueError(f"no test tracks found under {root / 'test'}")
            self.test_set = make(test, random=False, chunks_per_track=self.valid_chunks_per_track)

    def report_silence(self, log: bool = True) -> dict[str, int] | None:
        """Print (and log to the trainer's logger) the silence filter's kept/dropped counts
        since the last report; returns them."""
        if self.silence is None or not hasattr(self, "train_set"):
            return None
        counts = self.train_set.silence_counts()
        self.train_set.counts.zero_()
        total = counts["kept"] + counts["dropped"]
        if total:
            from lightning.pytorch.utilities import rank_zero_info

            rank_zero_info(
                f"silence filter, epoch {max(self._epoch - 1, 0)}: kept {counts['kept']} chunks, dropped {counts['dropped']} "
                f"({100 * counts['dropped'] / total:.1f}% silent)"
            )
            logger = self.trainer.logger if self.trainer is not None and log else None
            if logger is not None:
                step = self.trainer.global_step
                logger.log_metrics({"data/silence_kept": counts["kept"], "data/silence_dropped": counts["dropped"]}, step=step)
        return counts

    def _on_train_epoch(self) -> None:
        if self._epoch > 0:
            self.report_silence()
        self._epoch += 1

    def _loader(self, dataset: Dataset, train: bool = False) -> DataLoader:
        # No shuffling: training items are random chunks already, the others are fixed.
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            drop_last=train,
            sampler=_EpochSampler(len(dataset), self._on_train_epoch) if train else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.valid_set)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set)

    def teardown(self, stage: str) -> None:
        if stage == "fit":
            self.report_silence(log=False)  # the last epoch's counts; the logger may be closed
