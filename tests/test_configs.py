"""Every shipped config parses and completes a `fast_dev_run` on generated data."""

from pathlib import Path

import pytest
import yaml

import waveunet_lit
from waveunet_lit.cli import WaveUNetCLI

CONFIGS = sorted((Path(waveunet_lit.__file__).parent / "configs").glob("*.yaml"))


def test_configs_are_shipped():
    names = {p.stem for p in CONFIGS}
    assert {"demo", "m1", "m2", "m3", "m4", "m5", "m6", "m5_highsr", "strided", "dilated", "mask_unet", "port",
            "spec_unet", "band_split_rnn", "nmf"} <= names


@pytest.mark.parametrize("config", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_fast_dev_run(config, toy_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # configs write runs/ relative to the current folder
    data = yaml.safe_load(config.read_text())["data"]["init_args"]
    overrides = [
        f"--data.init_args.root={toy_root}",
        "--data.init_args.batch_size=2",
        "--data.init_args.num_workers=0",
        "--trainer.fast_dev_run=true",
        "--trainer.accelerator=cpu",
        "--trainer.precision=32-true",
        f"--trainer.default_root_dir={tmp_path}",
    ]
    if "segment" in data:
        overrides.append(f"--data.init_args.segment={min(int(data['segment']), 4096)}")
    cli = WaveUNetCLI(args=["fit", "-c", str(config), *overrides])
    assert cli.trainer.state.finished
    assert "train/loss" in cli.trainer.callback_metrics
    assert "val/loss" in cli.trainer.callback_metrics
