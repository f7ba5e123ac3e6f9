"""Real-data checks: run only with MUSDB18 or MUSDB18-HQ at $MUSDB_PATH (skipped otherwise)."""

import os

import pytest
import torch

from waveunet_lit.data import MusdbDataModule
from waveunet_lit.models import WaveUNet
from waveunet_lit.separate import separate

pytestmark = pytest.mark.musdb


@pytest.fixture(scope="module")
def datamodule(tmp_path_factory):
    net = WaveUNet(channels=2, sample_rate=22050, levels=4, features=4)
    dm = MusdbDataModule(
        os.environ.get("MUSDB_PATH", ""), segment=4096, batch_size=2, num_workers=0,
        cache_dir=str(tmp_path_factory.mktemp("musdb-cache")),
    ).configure_for(net)
    dm.setup("fit")
    dm.setup("test")
    return net, dm


def test_official_split_sizes(datamodule):
    _, dm = datamodule
    assert (len(dm.train_set.tracks), len(dm.valid_set.tracks), len(dm.test_set.tracks)) == (86, 14, 50)


def test_real_batches_have_model_shapes_and_sum_to_the_mixture(datamodule):
    net, dm = datamodule
    mix, sources = next(iter(dm.train_dataloader()))
    T = net.valid_length(4096)
    assert mix.shape == (2, 2, T) and sources.shape == (2, 4, 2, T)
    torch.testing.assert_close(mix, sources.sum(1))


def test_a_test_chunk_separates_to_its_own_length(datamodule):
    net, dm = datamodule
    track = dm.test_set.tracks[0]
    mix, _ = dm.test_set.chunk(track, 0)
    stems = separate(net.eval(), mix, rate=22050)
    assert stems.shape == (4, *mix.shape)
