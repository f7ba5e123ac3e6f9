"""MUSDB18 in both formats: tiny .stem.mp4 files (stempeg + ffmpeg) and WAV folders; the
official split; the previews' download when offline; bad input."""

import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from waveunet_lit.data import MusdbDataModule, find_tracks, generate_toy_musdb
from waveunet_lit.data.tracks import dataset_format, download_previews, musdb_setup
from waveunet_lit.models import WaveUNet

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg program")
VALID_NAME = musdb_setup()["validation_tracks"][0]  # a track of MUSDB's official validation split


def model(rate=8000, sources=("vocals", "drums", "bass", "other"), channels=2):
    return WaveUNet(sources=sources, channels=channels, sample_rate=rate, levels=2, features=4)


def _as_musdb_names(root: Path) -> Path:
    """Rename the toy tracks: one train track gets a name of MUSDB's validation split."""
    (root / "train" / "toy_002").rename(root / "train" / VALID_NAME)
    return root


@pytest.fixture(scope="module")
def wav_root(tmp_path_factory) -> Path:
    root = generate_toy_musdb(tmp_path_factory.mktemp("wav"), train_tracks=3, test_tracks=1, seconds=0.6, sample_rate=22050)
    return _as_musdb_names(root)


@pytest.fixture(scope="module")
def mp4_root(wav_root, tmp_path_factory) -> Path:
    """The same tracks as .stem.mp4 files (stream order: mixture, drums, bass, other, vocals)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs the ffmpeg program")
    import stempeg

    root = tmp_path_factory.mktemp("mp4")
    for folder in sorted(wav_root.glob("*/*")):
        (root / folder.parent.name).mkdir(exist_ok=True)
        stems = [sf.read(folder / f"{n}.wav", dtype="float32")[0] for n in ("mixture", "drums", "bass", "other", "vocals")]
        stempeg.write_stems(str(root / folder.parent.name / f"{folder.name}.stem.mp4"), np.stack(stems), sample_rate=22050)
    return root


def test_formats_are_detected(wav_root, mp4_root, tmp_path):
    assert dataset_format(wav_root) == "wav" and dataset_format(mp4_root) == "mp4"
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="expected root/train/<track>/<stem>.wav"):
        dataset_format(tmp_path)


@needs_ffmpeg
def test_mp4_tracks_have_rate_length_and_stems(mp4_root):
    tracks = find_tracks(mp4_root, "train", None)
    assert [t.name for t in tracks] == sorted([VALID_NAME, "toy_000", "toy_001"])
    track = tracks[0]
    assert track.rate == 22050 and track.channels == 2 and abs(track.length - int(0.6 * 22050)) < 50
    vocals = track.read("vocals", 1000, 2000)
    assert vocals.shape == (2, 2000) and np.std(vocals) > 1e-3
    np.testing.assert_array_equal(vocals, track.load("vocals")[:, 1000:3000])  # a chunk is a slice of the whole
    tail = track.read("bass", track.length - 100, 300)
    assert tail.shape == (2, 300) and np.all(tail[:, 100:] == 0)  # zero-padded past the end


@needs_ffmpeg
def test_mp4_stems_decode_to_the_wav_stems(wav_root, mp4_root):
    mp4 = find_tracks(mp4_root, "train", None)[0]
    wav = find_tracks(wav_root, "train", None)[0]
    assert mp4.name == wav.name
    for stem in ("vocals", "bass"):
        a, b = mp4.load(stem), wav.load(stem)[:, : mp4.length]
        # AAC is lossy: compare energies and correlation, not samples
        corr = np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))
        assert corr > 0.9, (stem, corr)


@needs_ffmpeg
@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("fmt", ["wav", "mp4"])
def test_one_datamodule_serves_both_formats_with_the_official_split(wav_root, mp4_root, fmt, cache, tmp_path):
    root = wav_root if fmt == "wav" else mp4_root
    net = model(rate=8000)
    dm = MusdbDataModule(
        str(root), segment=400, batch_size=2, num_workers=0, samples_per_epoch=2, valid_chunks_per_track=2,
        cache=cache, cache_dir=str(tmp_path / "cache") if cache else None, min_rms=0, min_active=0,
    ).configure_for(net)
    dm.setup("fit")
    assert [t.name for t in dm.valid_set.tracks] == [VALID_NAME]  # MUSDB's split, not "the last ones"
    assert VALID_NAME not in [t.name for t in dm.train_set.tracks] and len(dm.train_set.tracks) == 2
    mix, sources = next(iter(dm.train_dataloader()))
    T = net.valid_length(400)
    assert mix.shape == (2, 2, T) and sources.shape == (2, 4, 2, T)
    torch.testing.assert_close(mix, sources.sum(1))
    if cache:
        assert all(t.rate == 8000 for t in dm.train_set.tracks)
    dm.setup("test")
    assert [t.name for t in dm.test_set.tracks] == ["toy_000"]


@needs_ffmpeg
def test_mp4_without_ffmpeg_names_the_file(mp4_root, monkeypatch, tmp_path):
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(RuntimeError, match=r"toy_000\.stem\.mp4.*ffmpeg"):
        find_tracks(mp4_root, "test", None)


@needs_ffmpeg
def test_corrupt_mp4_names_the_file(mp4_root, tmp_path):
    root = tmp_path / "broken"
    shutil.copytree(mp4_root, root)
    bad = root / "test" / "toy_000.stem.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(ValueError, match="toy_000.stem.mp4 is not a readable stem file"):
        find_tracks(root, "test", None)


@needs_ffmpeg
def test_mp4_with_too_few_streams_names_the_file(tmp_path):
    import stempeg

    (tmp_path / "train").mkdir()
    stempeg.write_stems(
        str(tmp_path / "train" / "two.stem.mp4"), np.zeros((2, 4410, 2), np.float32), sample_rate=22050,
        writer=stempeg.StreamsWriter(stem_names=["mixture", "drums"]),
    )
    with pytest.raises(ValueError, match="two.stem.mp4 has 2 audio stream"):
        find_tracks(tmp_path, "train", None)


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        find_tracks(tmp_path / "nowhere", "train", None)


def test_previews_offline_fail_fast_and_clearly(tmp_path, monkeypatch):
    """No DNS: musdb's urlopen fails at once; the error says what to do."""

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    start = time.monotonic()
    with pytest.raises(ConnectionError, match="offline.*MUSDB18-HQ"):
        download_previews(tmp_path / "previews")
    assert time.monotonic() - start < 10
    assert not (tmp_path / "previews" / "train").exists()


def test_previews_silent_server_times_out(tmp_path, monkeypatch):
    """A network that swallows packets: musdb has no timeout of its own; ours stops it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts the connection, never answers the TLS handshake
    port = server.getsockname()[1]
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, p, *a, **k: real("127.0.0.1", port, *a, **k))
    start = time.monotonic()
    try:
        with pytest.raises(ConnectionError, match="could not download"):
            download_previews(tmp_path / "previews", timeout=1.0)
    finally:
        server.close()
    assert time.monotonic() - start < 10
    assert socket.getdefaulttimeout() is None  # restored


def test_datamodule_download_flag_uses_the_previews(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("waveunet_lit.data.musdb_data.download_previews", lambda root: calls.append(root))
    dm = MusdbDataModule(str(tmp_path / "p"), download=True, cache=False, num_workers=0).configure_for(model())
    with pytest.raises(FileNotFoundError):  # the fake download wrote nothing
        dm.setup("fit")
    assert calls == [tmp_path / "p"]
