"""`waveunet separate` output folders: collisions named before any work, folders replaced
as a whole with a manifest, leftovers of killed runs removed."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import lightning as L
import pytest
import torch

from waveunet_lit import Separator
from waveunet_lit.audio import read_audio, write_audio
from waveunet_lit.cli import main
from waveunet_lit.models import WaveUNet
from waveunet_lit.separate import separate_file
from waveunet_lit.song_folders import file_digest, plan_folders, remove_stale_partials


def checkpoint(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    system = Separator(WaveUNet(sources=("vocals", "other"), channels=1, sample_rate=8000, levels=2, features=4))
    trainer = L.Trainer(max_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.strategy.connect(system)
    trainer.save_checkpoint(path)
    return path


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpts")
    return checkpoint(folder / "a.ckpt", 0), checkpoint(folder / "b.ckpt", 1)


def song(path: Path, freq: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = torch.arange(4000) / 8000
    write_audio(path, 0.3 * torch.sin(2 * torch.pi * freq * t)[None], 8000)
    return path


def test_same_stem_in_two_folders_gets_two_output_folders(ckpts, tmp_path, capsys):
    a, b = song(tmp_path / "a" / "song.wav", 220), song(tmp_path / "b" / "song.wav", 660)
    out = tmp_path / "o"
    assert main(["separate", str(a), str(b), "--checkpoint", str(ckpts[0]), "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["song-wav", "song-wav-2"]
    assert f"{b} -> {out / 'song-wav-2'}" in captured.err
    assert len(set(captured.out.split())) == 4  # four distinct paths, none printed twice
    for name, src in (("song-wav", a), ("song-wav-2", b)):
        manifest = json.loads((out / name / "manifest.json").read_text())
        assert manifest["input"] == str(src.resolve())
    # each folder holds its own song's stems: the stems add up to that song (difference output)
    for name, src in (("song-wav", a), ("song-wav-2", b)):
        total = sum(read_audio(out / name / f"{s}.wav")[0] for s in ("vocals", "other"))
        assert torch.allclose(total, read_audio(src)[0], atol=1e-4)


def test_wav_and_flac_of_one_song_get_extension_names():
    assert plan_folders(["song.wav", "song.mp3", "x/other.wav"]) == {
        Path("song.wav"): "song-wav", Path("song.mp3"): "song-mp3", Path("x/other.wav"): "other"}
    assert list(plan_folders(["song.wav", "./song.wav"]).values()) == ["song"]  # one file, once
    # a real file named like a generated name does not steal it
    plan = plan_folders(["a/song.wav", "b/song.wav", "song-wav.wav"])
    assert list(plan.values()) == ["song-wav", "song-wav-2", "song-wav-3"]


def test_manifest_names_the_checkpoint_and_settings(ckpts, tmp_path, capsys):
    s = song(tmp_path / "song.wav", 440)
    out = tmp_path / "o"
    assert main(["separate", str(s), "--checkpoint", str(ckpts[0]), "--out", str(out), "--shifts", "2",
                 "--format", "flac", "--quiet"]) == 0
    m = json.loads((out / "song" / "manifest.json").read_text())
    assert m["checkpoint"] == str(ckpts[0].resolve()) and m["checkpoint_sha256"] == file_digest(ckpts[0])
    assert m["settings"]["shifts"] == 2 and m["format"] == "flac" and m["waveunet_lit"] and m["time"]
    assert sorted(p.name for p in (out / "song").iterdir()) == ["manifest.json", "other.flac", "vocals.flac"]


def test_a_rerun_with_another_model_replaces_the_folder_as_a_whole(ckpts, tmp_path, capsys):
    s = song(tmp_path / "song.wav", 440)
    out = tmp_path / "o"
    assert main(["separate", str(s), "--checkpoint", str(ckpts[0]), "--out", str(out), "--quiet"]) == 0
    (out / "song" / "stale.txt").write_text("only in the first run's folder")
    assert main(["separate", str(s), "--checkpoint", str(ckpts[1]), "--out", str(out), "--quiet"]) == 0
    assert not (out / "song" / "stale.txt").exists()
    assert json.loads((out / "song" / "manifest.json").read_text())["checkpoint_sha256"] == file_digest(ckpts[1])
    assert [p.name for p in out.iterdir()] == ["song"]  # no hidden leftovers


def test_a_failure_while_writing_keeps_the_old_folder_intact(ckpts, tmp_path, monkeypatch):
    from waveunet_lit import separate as sep
    from waveunet_lit.system import load_separator

    s = song(tmp_path / "song.wav", 440)
    out = tmp_path / "o"
    model = load_separator(ckpts[0]).model
    separate_file(model, s, out, manifest={"checkpoint_sha256": "first"})
    before = {p.name: p.read_bytes() for p in (out / "song").iterdir()}
    calls = []

    def dies_after_one(path, audio, rate):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a Ctrl-C between two stems would
        sep.__dict__["_real_write"](path, audio, rate)

    monkeypatch.setitem(sep.__dict__, "_real_write", sep.write_audio)
    monkeypatch.setattr(sep, "write_audio", dies_after_one)
    with pytest.raises(KeyboardInterrupt):
        separate_file(load_separator(ckpts[1]).model, s, out, manifest={"checkpoint_sha256": "second"})
    assert {p.name: p.read_bytes() for p in (out / "song").iterdir()} == before
    assert [p.name for p in out.iterdir()] == ["song"]


def test_a_killed_run_leaves_the_old_folder_and_its_leftovers_are_removed_next_time(ckpts, tmp_path):
    s = song(tmp_path / "song.wav", 440)
    out = tmp_path / "o"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = [sys.executable, "-m", "waveunet_lit.cli", "separate", str(s), "--checkpoint", str(ckpts[0]), "--out", str(out), "--quiet"]
    subprocess.run(first, check=True, env=env, capture_output=True)
    before = {p.name: p.read_bytes() for p in (out / "song").iterdir()}
    # a second run that is SIGKILLed after writing its first stem
    script = textwrap.dedent(f"""
        import os, signal, sys
        import waveunet_lit.separate as sep
        real = sep.write_audio
        def write_then_die(path, audio, rate):
            real(path, audio, rate)
            os.kill(os.getpid(), signal.SIGKILL)
        sep.write_audio = write_then_die
        from waveunet_lit.cli import main
        main(["separate", {str(s)!r}, "--checkpoint", {str(ckpts[1])!r}, "--out", {str(out)!r}, "--quiet"])
    """)
    killed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert killed.returncode == -9
    assert {p.name: p.read_bytes() for p in (out / "song").iterdir()} == before  # untouched, not mixed
    leftovers = [p for p in out.iterdir() if p.name != "song"]
    assert leftovers and all(p.name.startswith(".song.partial-") for p in leftovers)
    subprocess.run(first, check=True, env=env, capture_output=True)
    assert [p.name for p in out.iterdir()] == ["song"]


def test_partials_of_a_running_process_are_kept(tmp_path):
    mine = tmp_path / f".song.partial-{os.getpid()}-x"
    mine.mkdir()
    assert remove_stale_partials(tmp_path) == [] and mine.exists()
