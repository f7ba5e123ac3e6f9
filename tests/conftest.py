"""Shared fixtures: tiny generated datasets and a trained-for-a-moment checkpoint."""

import os
from pathlib import Path

import pytest
import torch

from waveunet_lit.data import generate_toy_musdb

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory) -> Path:
    """A MUSDB18-HQ-layout folder: 3 train and 2 test tracks of 3 s at 44.1 kHz."""
    return generate_toy_musdb(tmp_path_factory.mktemp("toy"), train_tracks=3, test_tracks=2, seconds=3.0)


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `musdb` without MUSDB_PATH and `gpu` without CUDA."""
    has_musdb = bool(os.environ.get("MUSDB_PATH")) and Path(os.environ["MUSDB_PATH"]).is_dir()
    for item in items:
        if "musdb" in item.keywords and not has_musdb:
            item.add_marker(pytest.mark.skip(reason="set MUSDB_PATH to a MUSDB18 folder to run"))
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))
