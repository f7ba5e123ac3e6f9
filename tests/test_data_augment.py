"""Augmentation per source (mixture == sum of sources for every one), the silence filter,
incoherent remixing, and the YAML form of all three."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from waveunet_lit.data import MusdbDataModule, generate_toy_musdb
from waveunet_lit.data.augment import (
    ChannelSwap,
    Compress,
    PitchShift,
    RandomGain,
    Reverb,
    SignFlip,
    TimeShift,
    TimeStretch,
)
from waveunet_lit.data.musdb_data import SilenceFilter
from waveunet_lit.models import WaveUNet

RATE = 8000
AUGMENTATIONS = [
    RandomGain(0.7, 1.0),
    ChannelSwap(p=1.0),
    SignFlip(p=1.0),
    TimeShift(max_shift=300),
    PitchShift(semitones=2.0, p=1.0),
    TimeStretch(0.8, 1.2, p=1.0),
    Compress(p=1.0),
    Reverb(p=1.0),
]


def model(sources=("vocals", "drums", "bass", "other")):
    return WaveUNet(sources=sources, channels=2, sample_rate=RATE, levels=2, features=4)


def datamodule(root, **kwargs):
    args = dict(segment=600, batch_size=2, num_workers=0, samples_per_epoch=8, valid_tracks=1, cache_dir=str(Path(root) / "c8k"))
    dm = MusdbDataModule(str(root), **{**args, **kwargs}).configure_for(model(kwargs.get("sources") or model().sources))
    dm.setup("fit")
    return dm


def item(dataset, seed):
    torch.manual_seed(seed)
    return dataset[0]


@pytest.mark.parametrize("aug", AUGMENTATIONS, ids=lambda a: type(a).__name__)
def test_mixture_is_the_sum_of_augmented_sources(toy_root, aug):
    plain = datamodule(toy_root, min_rms=0, min_active=0).train_set
    augmented = datamodule(toy_root, min_rms=0, min_active=0, augment=[aug]).train_set
    mix, sources = item(augmented, 3)
    assert mix.shape == (2, augmented.length) and sources.shape == (4, 2, augmented.length)
    torch.testing.assert_close(mix, sources.sum(0), atol=1e-6, rtol=0)
    _, reference = item(plain, 3)
    assert not torch.allclose(sources, reference, atol=1e-3)  # the augmentation did something


def test_every_source_gets_its_own_draw(toy_root):
    plain = datamodule(toy_root).train_set  # the silence filter keeps every source audible
    gained = datamodule(toy_root, augment=[RandomGain(0.2, 1.0)]).train_set
    _, a = item(plain, 5)
    _, b = item(gained, 5)  # same seed: same track and offset, then a gain per source
    ratios = [float((b[s].norm() / a[s].norm())) for s in range(4)]
    assert all(0.2 - 1e-4 <= r <= 1.0 + 1e-4 for r in ratios)
    assert max(ratios) - min(ratios) > 1e-3


def test_chain_of_all_augmentations_keeps_the_sum(toy_root):
    dm = datamodule(toy_root, augment=AUGMENTATIONS, remix=0.5)
    mix, sources = next(iter(dm.train_dataloader()))
    torch.testing.assert_close(mix, sources.sum(1), atol=1e-5, rtol=0)
    assert torch.isfinite(sources).all()


def test_validation_is_never_augmented(toy_root):
    a = datamodule(toy_root).valid_set
    b = datamodule(toy_root, augment=[SignFlip(p=1.0)], remix=1.0).valid_set
    for i in range(len(a)):
        torch.testing.assert_close(a[i][1], b[i][1])


def test_simple_augmentations_do_what_they_say():
    rng = np.random.default_rng(0)
    x = np.stack([np.arange(10, dtype=np.float32), -np.arange(10, dtype=np.float32)])
    np.testing.assert_array_equal(ChannelSwap(p=1.0)(x, RATE, rng), x[::-1])
    np.testing.assert_array_equal(SignFlip(p=1.0)(x, RATE, rng), -x)
    for aug in (ChannelSwap(p=0.0), SignFlip(p=0.0), RandomGain(p=0.0), Reverb(p=0.0)):
        assert aug(x, RATE, rng) is x
    shifted = TimeShift(max_shift=4)(x, RATE, rng)
    s = 10 - shifted.shape[1]
    assert 0 <= s <= 4 and np.array_equal(shifted, x[:, s:])
    mono = np.ones((1, 5), np.float32)
    assert ChannelSwap(p=1.0)(mono, RATE, rng) is mono


def test_pitch_shift_moves_a_sine_by_the_drawn_interval():
    t = np.arange(RATE) / RATE
    x = np.stack([np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)
    y = PitchShift(semitones=2.0, p=1.0)(x, RATE, np.random.default_rng(7))
    shift = np.random.default_rng(7).uniform(-2.0, 2.0)  # the draw PitchShift made
    peak = np.argmax(np.abs(np.fft.rfft(y[0, 2000:6000]))) * RATE / 4000
    assert y.shape == x.shape
    assert peak == pytest.approx(440 * 2 ** (shift / 12), abs=4.0)


def test_time_stretch_changes_the_length_by_the_factor():
    x = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32)
    aug = TimeStretch(0.8, 1.2, p=1.0)
    y = aug(x, RATE, np.random.default_rng(3))
    factor = np.random.default_rng(3).uniform(0.8, 1.2)
    assert y.shape[1] == pytest.approx(8000 / factor, rel=0.02)
    assert aug.input_length(1000) >= 1200


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: RandomGain(1.0, 0.5), "low, high"),
        (lambda: SignFlip(p=1.5), "p must be a probability"),
        (lambda: TimeShift(max_shift=-1), "max_shift"),
        (lambda: PitchShift(semitones=0), "semitones"),
        (lambda: TimeStretch(0.1, 1.0), "low, high"),
        (lambda: Compress(ratio=(0.5, 2.0)), "ratio"),
        (lambda: Reverb(room_size=(0.5, 2.0)), "room_size"),
    ],
)
def test_bad_augmentation_arguments_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_silence_filter_thresholds():
    f = SilenceFilter(min_rms=0.005, min_active=0.3, window=100)
    loud = np.full((2, 1000), 0.1, np.float32)
    assert f.is_active(loud)
    assert not f.is_active(loud * 0.01)  # RMS 0.001
    sparse = np.zeros((2, 1000), np.float32)
    sparse[:, :200] = 0.5  # loud overall, but only 20% of windows active
    assert not f.is_active(sparse)
    assert SilenceFilter(min_rms=0.005, min_active=0.1, window=100).is_active(sparse)
    with pytest.raises(ValueError):
        SilenceFilter(min_active=2)


@pytest.fixture(scope="module")
def half_silent_root(tmp_path_factory) -> Path:
    """Toy tracks whose vocals are silent in the second half."""
    root = generate_toy_musdb(tmp_path_factory.mktemp("silent"), train_tracks=3, test_tracks=0, seconds=2.0, sample_rate=RATE)
    for path in root.glob("train/*/vocals.wav"):
        audio, rate = sf.read(path)
        audio[len(audio) // 2 :] = 0
        sf.write(path, audio, rate)
    return root


def test_silence_filter_drops_silent_chunks_and_counts_them(half_silent_root):
    dm = datamodule(half_silent_root, samples_per_epoch=40, silence_sources=("vocals",))
    vocals = [dm.train_set[i][1][0] for i in range(40)]
    rms = [float(v.pow(2).mean().sqrt()) for v in vocals]
    assert min(rms) >= 0.005 * 0.5  # the centre (the target) is active, the rest can fade
    counts = dm.report_silence()
    assert counts["kept"] == 40 and counts["dropped"] > 0
    assert dm.report_silence() == {"kept": 0, "dropped": 0}  # reported counts are reset
    unfiltered = datamodule(half_silent_root, samples_per_epoch=40, min_rms=0, min_active=0)
    assert unfiltered.train_set.silence is None
    quiet = [float(unfiltered.train_set[i][1][0].pow(2).mean().sqrt()) for i in range(40)]
    assert min(quiet) < 0.001  # without the filter, silent vocals do come through


def test_counts_are_reported_each_epoch_from_worker_processes(half_silent_root, capsys):
    dm = datamodule(half_silent_root, samples_per_epoch=16, batch_size=4, num_workers=1, silence_sources=("vocals",))
    reports = []
    dm.report_silence = lambda log=True: reports.append(dm.train_set.silence_counts()) or dm.train_set.counts.zero_()
    loader = dm.train_dataloader()
    for epoch in range(2):
        assert sum(1 for _ in loader) == 4
    assert len(reports) == 1 and reports[0]["kept"] == 16  # epoch 1's counts, seen at epoch 2's start


def test_incoherent_remix_mixes_tracks(tmp_path):
    """Each track holds constants: track k's stems are all (k + 1) / 10, so a chunk tells
    which track each source came from."""
    root = tmp_path / "dc"
    for k in range(4):
        folder = root / "train" / f"t{k}"
        folder.mkdir(parents=True)
        for stem in ("vocals", "drums", "bass", "other", "mixture"):
            sf.write(folder / f"{stem}.wav", np.full((RATE, 2), (k + 1) / 10), RATE, subtype="FLOAT")
    coherent = datamodule(root, min_rms=0, min_active=0).train_set
    remixed = datamodule(root, min_rms=0, min_active=0, remix=1.0).train_set
    origin = lambda sources: {round(float(s.mean()), 3) for s in sources}  # noqa: E731
    assert all(len(origin(coherent[i][1])) == 1 for i in range(20))
    assert any(len(origin(remixed[i][1])) > 1 for i in range(20))
    mix, sources = remixed[0]
    torch.testing.assert_close(mix, sources.sum(0))


def test_augmentations_and_filter_from_yaml(toy_root, tmp_path):
    from waveunet_lit.lightning_cli import WaveUNetCLI

    config = {
        "model": {
            "class_path": "waveunet_lit.Separator",
            "init_args": {"model": {"class_path": "waveunet_lit.models.WaveUNet", "init_args": {"channels": 2, "sample_rate": RATE, "levels": 2, "features": 4}}},
        },
        "data": {
            "class_path": "waveunet_lit.data.MusdbDataModule",
            "init_args": {
                "root": str(toy_root),
                "segment": 256,
                "remix": 0.25,
                "min_rms": 0.01,
                "augment": [
                    {"class_path": "waveunet_lit.data.augment.RandomGain", "init_args": {"low": 0.7, "high": 1.0}},
                    {"class_path": "waveunet_lit.data.augment.PitchShift", "init_args": {"semitones": 1.5, "p": 0.1}},
                    {"class_path": "waveunet_lit.data.augment.Reverb", "init_args": {"room_size": [0.2, 0.4]}},
                ],
            },
        },
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    cli = WaveUNetCLI(args=["-c", str(path), "--trainer.default_root_dir", str(tmp_path)], run=False)
    dm = cli.datamodule
    assert [type(a).__name__ for a in dm.augment] == ["RandomGain", "PitchShift", "Reverb"]
    assert dm.augment[1].semitones == 1.5 and dm.augment[2].room_size == (0.2, 0.4)
    assert dm.remix == 0.25 and dm.silence.min_rms == 0.01
