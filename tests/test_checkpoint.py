"""waveunet_lit.checkpoint: the model alone from a checkpoint, without Lightning.

`waveunet separate`, `waveunet evaluate` and the web app load models this way; its answer must be
load_separator's model, weights included, and its bad inputs the same clear errors.
"""

import argparse
import json
import subprocess
import sys

import lightning as L
import pytest
import soundfile as sf
import torch

import waveunet_lit
from waveunet_lit import NMFSeparator, Separator, load_separator
from waveunet_lit.checkpoint import load_model, read_checkpoint
from waveunet_lit.cli import main
from waveunet_lit.models import NMF, StridedWaveUNet, WaveUNet


def _save(system: L.LightningModule, path) -> str:
    """A checkpoint as `waveunet fit` writes it (the Trainer's own format), of a system with random weights."""
    trainer = L.Trainer(max_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu")
    trainer.strategy.connect(system)
    trainer.save_checkpoint(path)
    return str(path)


@pytest.mark.parametrize("build", [
    lambda: Separator(WaveUNet(sources=("vocals", "other"), channels=1, levels=3, features=4, sample_rate=8000)),
    lambda: Separator(StridedWaveUNet(levels=2, features=4, channels=2)),
    lambda: NMFSeparator(NMF(sources=("vocals", "other"), channels=1, sample_rate=8000, n_fft=64, hop_length=16, components=4)),
], ids=["wave_u_net", "strided", "nmf"])
def test_load_model_is_load_separators_model(build, tmp_path):
    torch.manual_seed(0)
    system = build()
    for value in system.model.state_dict().values():  # not the initial weights: a fresh model would differ
        if value.is_floating_point():
            value.add_(torch.rand_like(value))  # positive: NMF's dictionaries stay nonnegative
        elif value.dtype == torch.bool:  # NMF's `fitted` flags
            value.fill_(True)
    path = _save(system, tmp_path / "model.ckpt")
    model = load_model(path)
    reference = load_separator(path).model
    assert type(model) is type(system.model) and not model.training
    mix = torch.rand(1, model.channels, model.valid_length(300)) - 0.5
    with torch.no_grad():
        assert torch.equal(model(mix), reference(mix))
        assert torch.equal(model(mix), system.model.eval()(mix))


def test_separate_runs_without_lightning(tmp_path):
    """`waveunet separate` imports neither Lightning nor the trainer: about 250 MB less memory."""
    torch.manual_seed(0)
    path = _save(Separator(WaveUNet(sources=("vocals", "other"), channels=1, levels=2, features=4, sample_rate=8000)),
                 tmp_path / "tiny.ckpt")
    sf.write(tmp_path / "song.wav", (torch.rand(4000, 2) - 0.5).numpy(), 8000)
    code = ("import json, sys; from waveunet_lit.cli import main; code = main(sys.argv[1:]); "
            "print(json.dumps([code, sorted(m for m in sys.modules if m.split('.')[0] in ('lightning', 'pytorch_lightning'))]))")
    proc = subprocess.run([sys.executable, "-c", code, "separate", str(tmp_path / "song.wav"), "--checkpoint", path,
                           "--out", str(tmp_path / "out"), "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    code, loaded = json.loads(proc.stdout.splitlines()[-1])
    assert code == 0 and loaded == []
    assert sorted(p.name for p in (tmp_path / "out" / "song").iterdir()) == ["manifest.json", "other.wav", "vocals.wav"]


def test_the_package_names_load_on_first_use():
    assert waveunet_lit.WaveUNet is WaveUNet and waveunet_lit.load_model is load_model
    assert {"Separator", "MusdbDataModule", "load_model"} <= set(dir(waveunet_lit))
    with pytest.raises(AttributeError, match="no attribute 'Seperator'"):
        waveunet_lit.Seperator  # noqa: B018 - a misspelt name is an AttributeError, as for any module
    from waveunet_lit import cli, lightning_cli

    assert cli.WaveUNetCLI is lightning_cli.WaveUNetCLI  # its former home still answers


def test_a_checkpoint_with_other_python_objects_still_loads(tmp_path):
    """Objects beyond tensors and dicts (a callback's custom state) need full unpickling, as in Lightning."""
    path = _save(Separator(WaveUNet(levels=2, features=4)), tmp_path / "model.ckpt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["callbacks"] = {"custom": argparse.Namespace(seen=3)}
    torch.save(ckpt, path)
    assert read_checkpoint(path)["callbacks"]["custom"].seen == 3
    assert load_model(path).sources == WaveUNet(levels=2, features=4).sources


def test_bad_checkpoints_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found: .*absent.ckpt"):
        load_model(tmp_path / "absent.ckpt")
    (tmp_path / "noise.ckpt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="noise.ckpt is not a readable PyTorch checkpoint"):
        load_model(tmp_path / "noise.ckpt")
    torch.save({"state_dict": {}}, tmp_path / "bare.ckpt")
    with pytest.raises(ValueError, match="bare.ckpt holds no waveunet-lit model configuration"):
        load_model(tmp_path / "bare.ckpt")
    path = _save(Separator(WaveUNet(levels=2, features=4)), tmp_path / "model.ckpt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["hyper_parameters"]["model"]["init_args"]["features"] = 6
    torch.save(ckpt, tmp_path / "wider.ckpt")
    with pytest.raises(ValueError, match="wider.ckpt: the weights do not fit"):
        load_model(tmp_path / "wider.ckpt")
    ckpt["hyper_parameters"]["model"]["class_path"] = "waveunet_lit.models.Gone"
    torch.save(ckpt, tmp_path / "gone.ckpt")
    with pytest.raises(ValueError, match="gone.ckpt: .*Gone"):
        load_model(tmp_path / "gone.ckpt")


def test_lightnings_configuration_errors_stay_one_line(monkeypatch, capsys):
    """MisconfigurationException is a user error once Lightning is loaded (`fit`, `demo`): exit 2, one line."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    def misconfigured(argv):
        raise MisconfigurationException("no GPU to run on")

    monkeypatch.setattr("waveunet_lit.cli._info", misconfigured)
    monkeypatch.delenv("WAVEUNET_DEBUG", raising=False)
    assert main(["info", "-c", "m4"]) == 2
    assert "error: no GPU to run on" in capsys.readouterr().err
