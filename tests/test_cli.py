"""The `waveunet` / `lightning` commands: fit, separate, evaluate, and their errors."""

import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
import torch

import waveunet_lit
from waveunet_lit.cli import main
from waveunet_lit.system import load_separator

DEMO = Path(waveunet_lit.__file__).parent / "configs" / "demo.yaml"


@pytest.fixture(scope="module")
def checkpoint(toy_root, tmp_path_factory) -> Path:
    """Train the demo config for a few steps and return its last checkpoint."""
    run = tmp_path_factory.mktemp("run")
    args = [
        "fit", "-c", str(DEMO),
        f"--data.init_args.root={toy_root}", "--data.init_args.num_workers=0",
        "--data.init_args.samples_per_epoch=16", "--data.init_args.batch_size=4", "--data.init_args.valid_tracks=1",
        "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false", "--trainer.logger=false",
        f"--trainer.default_root_dir={run}",
        "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
        f"--trainer.callbacks.dirpath={run}", "--trainer.callbacks.filename=tiny",
    ]
    assert main(args) == 0
    return run / "tiny.ckpt"


def test_checkpoint_rebuilds_the_model_from_its_config(checkpoint):
    system = load_separator(checkpoint)
    assert type(system.model).__name__ == "WaveUNet"
    assert system.model.sources == ("vocals", "drums", "bass", "other") and system.model.sample_rate == 8000
    assert not system.training


def test_separate_writes_one_file_per_source(checkpoint, toy_root, tmp_path, capsys):
    song = toy_root / "test" / "toy_000" / "mixture.wav"
    assert main(["separate", str(song), "--checkpoint", str(checkpoint), "--out", str(tmp_path)]) == 0
    files = sorted(f for f in (tmp_path / "mixture").iterdir() if f.name != "manifest.json")
    assert [f.name for f in files] == ["bass.wav", "drums.wav", "other.wav", "vocals.wav"]
    assert (tmp_path / "mixture" / "manifest.json").is_file()
    mix, rate = sf.read(song)
    stems = [sf.read(f)[0] for f in files]
    assert rate == 44100 and all(s.shape == mix.shape for s in stems)
    # the difference output layer: the stems add up to the song as the 8 kHz model hears it
    import torchaudio.functional as AF

    heard = AF.resample(AF.resample(torch.from_numpy(mix.T), 44100, 8000), 8000, 44100).numpy().T
    assert abs(sum(stems) - heard)[1000:-1000].max() < 1e-3


def test_separate_high_band_shares_out_what_the_8_khz_model_cannot_hear(checkpoint, toy_root, tmp_path):
    import json

    import numpy as np
    import torchaudio.functional as AF

    song = toy_root / "test" / "toy_000" / "mixture.wav"
    assert main(["separate", str(song), "--checkpoint", str(checkpoint), "--out", str(tmp_path), "--high-band", "--quiet"]) == 0
    assert json.loads((tmp_path / "mixture" / "manifest.json").read_text())["settings"]["high_band"] is True
    mix = sf.read(song)[0]
    total = sum(sf.read(tmp_path / "mixture" / f"{s}.wav")[0] for s in ("vocals", "drums", "bass", "other"))
    heard = AF.resample(AF.resample(torch.from_numpy(mix.T), 44100, 8000), 8000, 44100).numpy().T
    # without the fill the stems add up to `heard`; with it, to the whole song above 0.95 x 4 kHz
    def above(x):  # energy of (T, C) above 3.9 kHz
        spec = np.fft.rfft(x, axis=0)
        return float((np.abs(spec[np.fft.rfftfreq(len(x), 1 / 44100) > 3900]) ** 2).sum())

    assert above(total - mix) < 0.01 * above(heard - mix)


def test_evaluate_prints_model_and_baseline(checkpoint, toy_root, tmp_path, capsys):
    code = main(["evaluate", "--checkpoint", str(checkpoint), "--root", str(toy_root), "--out", str(tmp_path), "--max-tracks", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "mixture SDR" in out and "vocals" in out
    assert list((tmp_path / "model" / "test").glob("*.json"))


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    song = tmp_path / "song.wav"
    sf.write(song, torch.zeros(100).numpy(), 8000)
    assert main(["separate", str(song), "--checkpoint", str(tmp_path / "none.ckpt")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_non_checkpoint_file_is_a_clear_error(tmp_path, capsys):
    bogus = tmp_path / "bogus.ckpt"
    bogus.write_text("hello")
    assert main(["evaluate", "--checkpoint", str(bogus)]) == 2
    assert "not a readable PyTorch checkpoint" in capsys.readouterr().err


def test_unreadable_song_is_reported_and_others_go_on(checkpoint, toy_root, tmp_path, capsys):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    good = toy_root / "test" / "toy_001" / "mixture.wav"
    code = main(["separate", str(bad), str(good), "--checkpoint", str(checkpoint), "--out", str(tmp_path / "out")])
    assert code == 1
    assert "cannot read" in capsys.readouterr().err
    assert (tmp_path / "out" / "mixture" / "vocals.wav").is_file()


@pytest.mark.slow
def test_both_console_scripts_exist():
    bin_dir = Path(sys.executable).parent
    for name in ("waveunet", "lightning"):
        result = subprocess.run([str(bin_dir / name), "fit", "--help"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and "--trainer" in result.stdout


def _fast_dev_run(toy_root, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    args = [str(bin_dir / "lightning"), "fit", "-c", str(DEMO), "--trainer.fast_dev_run=true",
            f"--data.init_args.root={toy_root}", "--data.init_args.num_workers=0", "--data.init_args.valid_tracks=1",
            "--trainer.enable_progress_bar=false", *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp_path)


@pytest.mark.slow
def test_ddp_trains_on_two_cpu_processes(toy_root, tmp_path):
    """Several devices go through Lightning's DDP strategy (here two CPU processes, gloo)."""
    result = _fast_dev_run(toy_root, tmp_path, "--trainer.accelerator=cpu", "--trainer.devices=2", "--trainer.strategy=ddp")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "world_size: 2" in result.stderr or "distributed_backend=gloo" in result.stderr


@pytest.mark.slow
def test_bf16_mixed_precision_on_cpu(toy_root, tmp_path):
    result = _fast_dev_run(toy_root, tmp_path, "--trainer.accelerator=cpu", "--trainer.precision=bf16-mixed")
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["16-mixed", "bf16-mixed"])
def test_mixed_precision_on_gpu(toy_root, tmp_path, precision):
    result = _fast_dev_run(toy_root, tmp_path, "--trainer.accelerator=gpu", "--trainer.devices=1", f"--trainer.precision={precision}")
    assert result.returncode == 0, result.stderr[-3000:]
