"""The decode-once cache: manifest, reuse, rebuild, atomic writes, clear errors, flat memory."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from waveunet_lit.data import MusdbDataModule, generate_toy_musdb
from waveunet_lit.data import cache as cache_module
from waveunet_lit.data.cache import CachedTrack, default_cache_dir, open_cache, prepare_cache
from waveunet_lit.data.tracks import STEMS
from waveunet_lit.models import WaveUNet


@pytest.fixture()
def root(tmp_path) -> Path:
    return generate_toy_musdb(tmp_path / "data", train_tracks=2, test_tracks=1, seconds=0.5, sample_rate=16000)


def test_manifest_records_settings_and_files(root, tmp_path):
    cache = prepare_cache(root, 8000, 1, tmp_path / "c", progress=False)
    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest["settings"]["rate"] == 8000 and manifest["settings"]["channels"] == 1
    assert manifest["settings"]["stems"] == list(STEMS) and manifest["settings"]["format"] == "wav"
    record = manifest["tracks"]["train/toy_000"]
    assert record["length"] == 4000  # 0.5 s at 8 kHz
    files = {Path(f["path"]).name: f for f in record["files"]}
    assert set(files) == {f"{s}.wav" for s in STEMS}
    assert files["vocals.wav"]["size"] == (root / "train/toy_000/vocals.wav").stat().st_size
    array = np.load(cache / "train/toy_000/vocals.npy")
    assert array.shape == (1, 4000) and array.dtype == np.float32


def test_cache_is_reused_then_rebuilt_for_changed_files(root, tmp_path):
    cache = prepare_cache(root, 8000, 2, tmp_path / "c", progress=False)
    npy = cache / "train/toy_001/bass.npy"
    first, old = npy.stat().st_mtime_ns, np.load(npy)
    prepare_cache(root, 8000, 2, tmp_path / "c", progress=False)
    assert npy.stat().st_mtime_ns == first  # nothing decoded again
    path = root / "train/toy_001/bass.wav"
    audio, rate = sf.read(path)
    sf.write(path, audio * 0.5, rate)
    with pytest.raises(ValueError, match="toy_001/bass.wav changed"):
        open_cache(root, 8000, 2, "train", None, tmp_path / "c")
    prepare_cache(root, 8000, 2, tmp_path / "c", progress=False)
    tracks = {t.name: t for t in open_cache(root, 8000, 2, "train", None, tmp_path / "c")}
    np.testing.assert_allclose(np.load(npy), 0.5 * old, atol=1e-4)  # decoded again from the new file
    assert tracks["toy_001"].read("bass", 0, 10).shape == (2, 10)
    assert (cache / "train/toy_000/bass.npy").stat().st_mtime_ns < npy.stat().st_mtime_ns  # only toy_001 redone


def test_other_settings_give_an_error_naming_the_manifest(root, tmp_path):
    prepare_cache(root, 8000, 2, tmp_path / "c", progress=False)
    with pytest.raises(ValueError, match=r"manifest.json was written with other settings \(.*rate: 8000"):
        prepare_cache(root, 11025, 2, tmp_path / "c", progress=False)
    with pytest.raises(ValueError, match=r"manifest.json was written with other settings \(channels"):
        open_cache(root, 8000, 1, "train", None, tmp_path / "c")
    prepare_cache(root, 11025, 2, tmp_path / "c", progress=False, rebuild=True)
    assert open_cache(root, 11025, 2, "test", None, tmp_path / "c")[0].rate == 11025


def test_default_cache_dir_is_keyed_by_settings(root, monkeypatch, tmp_path):
    a, b = default_cache_dir(root, 8000, 2), default_cache_dir(root, 8000, 1)
    assert a != b and a.parent == b.parent and a.is_relative_to(root.resolve())
    monkeypatch.setattr(cache_module.os, "access", lambda path, mode: False)  # a read-only dataset
    monkeypatch.setenv("WAVEUNET_DATA", str(tmp_path / "home"))
    elsewhere = default_cache_dir(root, 8000, 2)
    assert elsewhere.is_relative_to(tmp_path / "home") and elsewhere.name == a.name


def test_interrupted_preparation_leaves_no_usable_cache(root, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = cache_module._convert

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 6:  # in the middle of the second track
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(cache_module, "_convert", failing)
    with pytest.raises(KeyboardInterrupt):
        prepare_cache(root, 8000, 2, tmp_path / "c", progress=False)
    assert not (tmp_path / "c" / "manifest.json").exists()
    with pytest.raises(ValueError, match="no complete cache"):
        open_cache(root, 8000, 2, "train", None, tmp_path / "c")
    complete = [p.name for p in (tmp_path / "c" / "train").iterdir() if not p.name.startswith(".")]
    assert complete == ["toy_000"]  # the half-written track stayed a hidden .partial folder
    monkeypatch.setattr(cache_module, "_convert", real)
    first = (tmp_path / "c/train/toy_000/vocals.npy").stat().st_mtime_ns
    prepare_cache(root, 8000, 2, tmp_path / "c", progress=False)  # resumes
    assert (tmp_path / "c/train/toy_000/vocals.npy").stat().st_mtime_ns == first
    assert len(open_cache(root, 8000, 2, "train", None, tmp_path / "c")) == 2
    assert not list((tmp_path / "c" / "train").glob(".*"))


def test_corrupt_cache_file_is_named(root, tmp_path):
    cache = prepare_cache(root, 8000, 2, tmp_path / "c", progress=False)
    (cache / "train/toy_000/drums.npy").write_bytes(b"not numpy")
    track = open_cache(root, 8000, 2, "train", None, tmp_path / "c")[0]
    with pytest.raises(ValueError, match="toy_000/drums.npy is missing or corrupt"):
        track.read("drums", 0, 100)


def test_corrupt_manifest_is_named(root, tmp_path):
    cache = prepare_cache(root, 8000, 2, tmp_path / "c", progress=False)
    (cache / "manifest.json").write_text("{}")
    with pytest.raises(ValueError, match="manifest.json is not a cache manifest"):
        open_cache(root, 8000, 2, "train", None, tmp_path / "c")


def test_datamodule_with_a_foreign_cache_dir_fails_clearly(root, tmp_path):
    prepare_cache(root, 16000, 2, tmp_path / "c", progress=False)
    net = WaveUNet(channels=2, sample_rate=8000, levels=2, features=4)
    dm = MusdbDataModule(str(root), num_workers=0, cache_dir=str(tmp_path / "c"), valid_tracks=1).configure_for(net)
    with pytest.raises(ValueError, match="manifest.json was written with other settings"):
        dm.setup("fit")


def test_memory_stays_flat_over_many_chunks(tmp_path):
    """Reading 1 GB of chunks from a 42 MB memory-mapped cache must not grow the process."""
    psutil = pytest.importorskip("psutil")
    folder = tmp_path / "track"
    folder.mkdir()
    length = 1_300_000
    for stem in STEMS:
        np.save(folder / f"{stem}.npy", np.random.default_rng(0).standard_normal((2, length), dtype=np.float32))
    track = CachedTrack("big", folder, length, 22050, 2)
    rng = np.random.default_rng(1)
    process = psutil.Process()

    def read_many(n, random=True):
        for _ in range(n):
            start = int(rng.integers(0, length - 16384)) if random else 0
            for stem in STEMS:
                track.read(stem, start, 16384)

    read_many(50, random=False)  # warm up the allocator on one place of the files
    before = process.memory_info().rss
    read_many(2000)  # 2000 chunks x 4 stems x 128 KiB ~ 1 GB read, every page touched
    grown = process.memory_info().rss - before
    assert grown < 10 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB"


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_chunk_reads_equal_array_slices(tmp_path, dtype):
    """Chunks at the start, middle and end (zero-padded past it) equal numpy's slices."""
    data = np.random.default_rng(0).standard_normal((2, 1000)).astype(dtype)
    for stem in STEMS:
        np.save(tmp_path / f"{stem}.npy", data)
    track = CachedTrack("t", tmp_path, 1000, 8000, 2)
    for start, frames in ((0, 1000), (0, 1), (123, 456), (990, 40), (1000, 5)):
        expected = np.zeros((2, frames), np.float32)
        expected[:, : max(0, min(frames, 1000 - start))] = data[:, start : start + frames]
        chunk = track.read("bass", start, frames)
        assert chunk.dtype == np.float32
        np.testing.assert_array_equal(chunk, expected)


def test_truncated_or_foreign_cache_files_are_named(tmp_path):
    np.save(tmp_path / "bass.npy", np.ones((2, 1000), np.float32))
    with open(tmp_path / "bass.npy", "r+b") as f:  # a copy cut short: the header still says 1000 samples
        f.truncate(f.seek(0, 2) - 100)
    np.save(tmp_path / "drums.npy", np.ones((2, 1000), np.float64))
    np.save(tmp_path / "other.npy", np.asfortranarray(np.ones((2, 1000), np.float32)))
    np.save(tmp_path / "vocals.npy", np.ones((1, 1000), np.float32))
    track = CachedTrack("t", tmp_path, 1000, 8000, 2)
    assert track.read("bass", 0, 10).sum() == 20  # channel 0's first samples are there
    with pytest.raises(ValueError, match="bass.npy is missing or corrupt .the file ends before sample 1000 of channel 1"):
        track.read("bass", 900, 100)
    with pytest.raises(ValueError, match="drums.npy is missing or corrupt .float64 array, expected C-ordered float32"):
        track.read("drums", 0, 10)
    with pytest.raises(ValueError, match="other.npy is missing or corrupt .Fortran-ordered float32"):
        track.read("other", 0, 10)
    with pytest.raises(ValueError, match=r"vocals.npy has shape \(1, 1000\), expected \(2, >= 1000\)"):
        track.read("vocals", 0, 10)


def test_in_memory_cache_reads_the_same(root, tmp_path):
    prepare_cache(root, 8000, 2, tmp_path / "c", progress=False)
    a = open_cache(root, 8000, 2, "test", None, tmp_path / "c")[0]
    b = open_cache(root, 8000, 2, "test", None, tmp_path / "c", in_memory=True)[0]
    assert b.arrays is not None
    chunk = a.read("other", 100, 500)
    np.testing.assert_array_equal(chunk, b.read("other", 100, 500))
    shutil.rmtree(tmp_path / "c")
    np.testing.assert_array_equal(chunk, b.read("other", 100, 500))  # held in RAM: needs no files
    with pytest.raises(ValueError, match="other.npy is missing or corrupt"):
        a.read("other", 100, 500)


def test_prepare_data_command(root, tmp_path, capsys):
    from waveunet_lit.data.cli_commands import prepare_data_command

    assert prepare_data_command([str(root), "--rate", "8000", "--channels", "1", "--cache-dir", str(tmp_path / "c")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "c")
    assert len(open_cache(root, 8000, 1, "train", None, tmp_path / "c")) == 2
    with pytest.raises(ValueError, match="other settings"):
        prepare_data_command([str(root), "--rate", "16000", "--cache-dir", str(tmp_path / "c")])
    assert prepare_data_command([str(root), "--rate", "16000", "--cache-dir", str(tmp_path / "c"), "--rebuild"]) == 0


def test_two_processes_preparing_one_cache_take_turns(root, tmp_path):
    """Two trainings started at once decode the same dataset: the second waits for the first's
    lock and finds its tracks (without the lock they write into each other's .partial folders)."""
    import subprocess
    import sys

    cache = tmp_path / "cache"
    code = (
        "import sys, time\n"
        "from waveunet_lit.data import cache as c\n"
        "convert = c._convert\n"
        "c._convert = lambda *a: (time.sleep(0.15), convert(*a))[1]  # slow enough to overlap\n"
        "c.prepare_cache(sys.argv[1], 8000, 1, cache_dir=sys.argv[2], progress=False)\n"
    )
    runs = [subprocess.Popen([sys.executable, "-c", code, str(root), str(cache)], stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    manifest = json.loads((cache / "manifest.json").read_text())
    assert sorted(manifest["tracks"]) == sorted(f"{p.parent.name}/{p.name}" for p in root.glob("*/*") if p.is_dir())
    assert not list(cache.glob("*/.*.partial"))
    for key in manifest["tracks"]:
        assert sorted(p.name for p in (cache / key).iterdir()) == sorted([*(f"{s}.npy" for s in STEMS), "track.json"])
