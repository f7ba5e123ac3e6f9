"""Generated data and the MUSDB-layout DataModule: layout, shapes, rates, and bad input.

More in test_data_formats.py (MP4 stems, previews), test_data_cache.py (decode-once cache),
test_data_augment.py (augmentation, silence filter, remixing), test_data_render.py."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from waveunet_lit.data import MusdbDataModule, find_tracks, generate_toy_musdb
from waveunet_lit.models import WaveUNet


def model(channels=2, sources=("vocals", "drums", "bass", "other"), rate=8000):
    output = "difference" if len(sources) > 1 else "direct"
    return WaveUNet(sources=sources, channels=channels, sample_rate=rate, levels=3, features=4, output=output)


def test_toy_dataset_layout_and_mixture(toy_root):
    folder = toy_root / "train" / "toy_000"
    stems = {n: sf.read(folder / f"{n}.wav")[0] for n in ("vocals", "drums", "bass", "other", "mixture")}
    assert stems["mixture"].shape == (3 * 44100, 2)
    total = stems["vocals"] + stems["drums"] + stems["bass"] + stems["other"]
    assert np.max(np.abs(total - stems["mixture"])) < 4 / 2**15  # 16-bit rounding of 5 files
    assert all(np.std(x) > 0.01 for x in stems.values())


def test_toy_dataset_is_seeded(tmp_path):
    a = generate_toy_musdb(tmp_path / "a", 1, 0, seconds=0.5, sample_rate=8000, seed=3)
    b = generate_toy_musdb(tmp_path / "b", 1, 0, seconds=0.5, sample_rate=8000, seed=3)
    c = generate_toy_musdb(tmp_path / "c", 1, 0, seconds=0.5, sample_rate=8000, seed=4)
    read = lambda r: sf.read(r / "train/toy_000/vocals.wav")[0]  # noqa: E731
    assert np.array_equal(read(a), read(b)) and not np.array_equal(read(a), read(c))


@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("channels", [1, 2])
def test_datamodule_batches_have_model_shapes(toy_root, channels, cache):
    net = model(channels=channels)
    dm = MusdbDataModule(
        str(toy_root), segment=500, batch_size=3, num_workers=0, samples_per_epoch=6, valid_tracks=1, cache=cache
    )
    dm.configure_for(net).setup("fit")
    mix, sources = next(iter(dm.train_dataloader()))
    T = net.valid_length(500)
    assert mix.shape == (3, channels, T) and sources.shape == (3, 4, channels, T)
    torch.testing.assert_close(mix, sources.sum(1))
    assert len(dm.train_set.tracks) == 2 and len(dm.valid_set.tracks) == 1
    assert len(dm.valid_set) == 4  # fixed chunks of the held-out track
    first = [dm.valid_set[i][0] for i in range(len(dm.valid_set))]
    assert all(torch.equal(a, dm.valid_set[i][0]) for i, a in enumerate(first))  # deterministic


def test_chunks_are_resampled_to_the_model_rate(toy_root):
    import torchaudio.functional as AF

    net = model(rate=11025)
    dm = MusdbDataModule(str(toy_root), segment=4000, num_workers=0, cache=False).configure_for(net)
    dm.setup("test")
    track = dm.test_set.tracks[0]
    mix, sources = dm.test_set.chunk(track, start=44100)  # 1 s in
    whole = sum(torch.from_numpy(track.read(s, 0, track.length)) for s in ("vocals", "drums", "bass", "other"))
    reference = AF.resample(whole, 44100, 11025)[:, 11025 : 11025 + mix.shape[-1]]
    assert mix.shape[-1] == net.valid_length(4000)
    torch.testing.assert_close(mix[:, 50:-50], reference[:, 50:-50], atol=2e-3, rtol=0)
    # the decode-once cache holds the same signal, resampled once
    cached = MusdbDataModule(str(toy_root), segment=4000, num_workers=0).configure_for(net)
    cached.setup("test")
    assert cached.test_set.tracks[0].rate == 11025 and cached.test_set.tracks[0].name == track.name
    mix_cached, _ = cached.test_set.chunk(cached.test_set.tracks[0], start=11025)
    torch.testing.assert_close(mix_cached[:, 50:-50], mix[:, 50:-50], atol=2e-3, rtol=0)


def test_accompaniment_is_the_sum_of_the_other_stems(toy_root):
    net = model(sources=("vocals", "accompaniment"))
    dm = MusdbDataModule(str(toy_root), segment=300, num_workers=0, valid_tracks=1).configure_for(net)
    dm.setup("fit")
    mix, sources = dm.valid_set[0]
    assert sources.shape[0] == 2
    torch.testing.assert_close(mix, sources.sum(0))


def test_vocals_only_model_still_gets_the_full_mixture(toy_root):
    net = model(sources=("vocals",))
    dm = MusdbDataModule(str(toy_root), segment=300, num_workers=0, valid_tracks=1).configure_for(net)
    dm.setup("fit")
    mix, sources = dm.valid_set[0]
    full = MusdbDataModule(str(toy_root), segment=300, num_workers=0, valid_tracks=1).configure_for(model())
    full.setup("fit")
    mix4, sources4 = full.valid_set[0]
    torch.testing.assert_close(mix, mix4)  # the mixture of all stems, not just the vocals
    torch.testing.assert_close(sources[0], sources4[0])
    assert not torch.allclose(mix, sources.sum(0))


def test_sources_sharing_stems_are_rejected():
    with pytest.raises(ValueError, match="share stems"):
        MusdbDataModule(sources=("drums", "accompaniment"))


def test_missing_root_names_the_path(tmp_path):
    dm = MusdbDataModule(str(tmp_path / "nowhere"), num_workers=0).configure_for(model())
    with pytest.raises(FileNotFoundError, match="nowhere"):
        dm.setup("fit")


@pytest.mark.parametrize("cache", [True, False])
def test_empty_folder_says_no_tracks(tmp_path, cache):
    (tmp_path / "train").mkdir()
    dm = MusdbDataModule(str(tmp_path), num_workers=0, cache=cache).configure_for(model())
    with pytest.raises(ValueError, match="no MUSDB18 tracks.*train"):
        dm.setup("fit")


def test_non_audio_file_is_named(toy_root, tmp_path):
    root = tmp_path / "broken"
    shutil.copytree(toy_root, root)
    bad = root / "train" / "toy_001" / "drums.wav"
    bad.write_text("this is not audio")
    with pytest.raises(ValueError, match="toy_001/drums.wav"):
        find_tracks(root, "train", None, ("vocals", "drums", "bass", "other"))
    dm = MusdbDataModule(str(root), num_workers=0).configure_for(model())
    with pytest.raises(ValueError, match="toy_001/drums.wav"):
        dm.setup("fit")  # preparing the cache names the broken file too


def test_stems_of_different_length_are_rejected(toy_root, tmp_path):
    root = tmp_path / "short"
    shutil.copytree(toy_root, root)
    path = root / "train" / "toy_000" / "bass.wav"
    audio, rate = sf.read(path)
    sf.write(path, audio[:1000], rate)
    with pytest.raises(ValueError, match="stems differ.*toy_000/bass.wav"):
        find_tracks(root, "train", None, ("bass", "drums"))


def test_unknown_source_name(toy_root):
    with pytest.raises(ValueError, match="unknown source name"):
        find_tracks(toy_root, "train", None, ("guitar",))


def test_track_shorter_than_a_chunk_is_zero_padded(tmp_path):
    root = generate_toy_musdb(tmp_path, train_tracks=3, test_tracks=0, seconds=0.05, sample_rate=8000)
    net = model()
    dm = MusdbDataModule(str(root), segment=2000, num_workers=0, valid_tracks=1).configure_for(net)
    dm.setup("fit")
    mix, sources = dm.train_set[0]
    assert mix.shape[-1] == net.valid_length(2000)
    assert torch.all(mix[:, 450:] == 0)  # 0.05 s at 8 kHz = 400 samples, then padding


def test_mono_file_for_a_stereo_model_is_duplicated(tmp_path):
    root = generate_toy_musdb(tmp_path, train_tracks=2, test_tracks=0, seconds=0.5, sample_rate=8000)
    for wav in Path(root).rglob("*.wav"):
        audio, rate = sf.read(wav)
        sf.write(wav, audio[:, 0], rate)  # make every file mono
    dm = MusdbDataModule(str(root), segment=500, num_workers=0, valid_tracks=1).configure_for(model(channels=2))
    dm.setup("fit")
    mix, _ = dm.valid_set[0]
    assert mix.shape[0] == 2 and torch.equal(mix[0], mix[1])
