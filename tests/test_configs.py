"""Every shipped config parses and builds at full size, and a shrunk copy of it trains.

Building is cheap (M4's 10 M parameters take a moment); training the full sizes on a CPU is
not, so `fast_dev_run` runs with the model arguments of :data:`waveunet_lit.config.SMALL`
(the same families, a few levels and filters) through the same LightningCLI path as
`lightning fit -c`.
"""

from pathlib import Path

import pytest
import torch

import waveunet_lit
from waveunet_lit.lightning_cli import WaveUNetCLI
from waveunet_lit.config import SMALL, instantiate, load_config, model_flags, model_node, small_args

CONFIGS = sorted((Path(waveunet_lit.__file__).parent / "configs").glob("*.yaml"))
IDS = [p.stem for p in CONFIGS]


def test_configs_are_shipped():
    names = {p.stem for p in CONFIGS}
    assert {"demo", "m1", "m2", "m3", "m4", "m5", "m6", "m5_highsr", "strided", "dilated", "mask_unet", "port",
            "spec_unet", "band_split_rnn", "nmf"} <= names


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_config_builds_at_full_size(config):
    """The whole LightningModule of the config (model, loss, optimizer, scheduler) builds."""
    cli = WaveUNetCLI(args=["-c", str(config), "--trainer.logger=false"], run=False)
    system = cli.model
    node = model_node(load_config(config))
    assert type(system.model).__name__ == node["class_path"].rpartition(".")[2]
    for key, value in node.get("init_args", {}).items():  # the YAML's arguments reached the model
        assert system.model.init_args[key] == (tuple(value) if isinstance(value, list) else value), key
    assert system.configure_optimizers() is not None or type(system).__name__ == "NMFSeparator"


def test_small_sizes_cover_every_shipped_architecture():
    classes = {model_node(load_config(c))["class_path"].rpartition(".")[2] for c in CONFIGS}
    assert classes <= set(SMALL), f"add CPU sizes to waveunet_lit.config.SMALL for: {classes - set(SMALL)}"


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_shrunk_config_fast_dev_run(config, toy_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may land in the current folder either
    small = small_args(model_node(load_config(config)))
    overrides = [
        f"--data.init_args.root={toy_root}",
        "--data.init_args.batch_size=2",
        "--data.init_args.num_workers=0",
        "--data.init_args.segment=2048",
        "--trainer.fast_dev_run=true",
        "--trainer.accelerator=cpu",
        "--trainer.precision=32-true",
        f"--trainer.default_root_dir={tmp_path}",
        *model_flags(small),
    ]
    torch.manual_seed(0)
    cli = WaveUNetCLI(args=["fit", "-c", str(config), *overrides])
    assert cli.trainer.state.finished
    assert "train/loss" in cli.trainer.callback_metrics
    assert "val/loss" in cli.trainer.callback_metrics
    assert all(getattr(cli.model.model, k) == v for k, v in small.items() if hasattr(cli.model.model, k))


def test_a_misspelled_key_is_a_clear_error():
    node = {"class_path": "waveunet_lit.models.WaveUNet", "init_args": {"levelz": 3}}
    with pytest.raises(ValueError, match="levelz"):
        instantiate(node)


def test_an_unknown_class_is_a_clear_error():
    with pytest.raises(ValueError, match="NoSuchNet"):
        instantiate({"class_path": "waveunet_lit.models.NoSuchNet"})
