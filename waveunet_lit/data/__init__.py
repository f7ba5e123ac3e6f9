"""Datasets and the LightningDataModule: MUSDB18 (MP4 and HQ WAV), a decode-once cache,
augmentation, silence filtering, and generated data (numpy toy set, FluidSynth-rendered set)."""

from .augment import (
    Augmentation,
    ChannelSwap,
    Compress,
    PitchShift,
    RandomGain,
    Reverb,
    SignFlip,
    TimeShift,
    TimeStretch,
)
from .cache import CachedTrack, open_cache, prepare_cache
from .musdb_data import ChunkDataset, MusdbDataModule, SilenceFilter
from .render import default_rendered_root, render_dataset
from .toy import default_toy_root, generate_toy_musdb
from .tracks import STEMS, STEMS_OF, StemTrack, Track, download_previews, find_tracks

__all__ = [
    "STEMS",
    "STEMS_OF",
    "Augmentation",
    "CachedTrack",
    "ChannelSwap",
    "ChunkDataset",
    "Compress",
    "MusdbDataModule",
    "PitchShift",
    "RandomGain",
    "Reverb",
    "SignFlip",
    "SilenceFilter",
    "StemTrack",
    "TimeShift",
    "TimeStretch",
    "Track",
    "default_rendered_root",
    "default_toy_root",
    "download_previews",
    "find_tracks",
    "generate_toy_musdb",
    "open_cache",
    "prepare_cache",
    "render_dataset",
]
