"""Datasets and the LightningDataModule: MUSDB18-layout folders and generated data."""

from .musdb_data import STEMS_OF, ChunkDataset, MusdbDataModule, Track, find_tracks
from .toy import default_toy_root, generate_toy_musdb

__all__ = ["STEMS_OF", "ChunkDataset", "MusdbDataModule", "Track", "find_tracks", "default_toy_root", "generate_toy_musdb"]
