"""TensorBoard is the default logger, and `waveunet plot-logs` draws what was logged."""

from pathlib import Path

import pytest

import waveunet_lit
from waveunet_lit.cli import main
from waveunet_lit.plot_logs import find_log, plot_logs, read_scalars

DEMO = Path(waveunet_lit.__file__).parent / "configs" / "demo.yaml"


@pytest.fixture(scope="module")
def run_dir(toy_root, tmp_path_factory) -> Path:
    """Two epochs of the demo config on the toy data, with the config's own logger settings."""
    run = tmp_path_factory.mktemp("logged")
    assert main([
        "fit", "-c", str(DEMO), f"--data.init_args.root={toy_root}", "--data.init_args.num_workers=0",
        "--data.init_args.samples_per_epoch=16", "--data.init_args.batch_size=4", "--data.init_args.valid_tracks=1",
        "--trainer.max_epochs=2", "--trainer.log_every_n_steps=1", "--trainer.enable_progress_bar=false",
        "--model.init_args.model.init_args.levels=3", f"--trainer.default_root_dir={run}",
    ]) == 0
    return run


def test_tensorboard_event_files_are_written_by_default(run_dir):
    assert list(run_dir.rglob("events.out.tfevents.*")), "no TensorBoard events: is tensorboard installed?"
    assert not list(run_dir.rglob("metrics.csv"))
    assert list(run_dir.rglob("checkpoints/best.ckpt"))  # next to the logs of the same version


def test_read_scalars_finds_losses_and_sdr_per_source(run_dir):
    scalars = read_scalars(find_log(run_dir))
    for tag in ("train/loss", "val/loss", "val/sdr", "val/sdr_vocals", "val/sdr_bass"):
        assert tag in scalars, sorted(scalars)
    assert len(scalars["val/sdr"]) == 2  # one validation per epoch
    steps = [s for s, _ in scalars["train/loss"]]
    assert steps == sorted(steps) and len(steps) >= 4


def test_plot_logs_command_writes_a_png(run_dir, tmp_path, capsys):
    out = tmp_path / "curves.png"
    assert main(["plot-logs", str(run_dir), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(out) in capsys.readouterr().out


def test_plot_logs_picks_the_newest_version(run_dir, tmp_path):
    versions = sorted({p.parent for p in run_dir.rglob("events.out.tfevents.*")})
    assert find_log(run_dir) == versions[-1]


def test_plot_logs_of_a_folder_without_logs_is_a_clear_error(tmp_path, capsys):
    assert main(["plot-logs", str(tmp_path)]) == 2
    assert "no training logs" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="run folder not found"):
        plot_logs(tmp_path / "missing")
