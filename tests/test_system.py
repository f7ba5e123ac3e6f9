"""Separator checkpoints: whatever built the system (LightningCLI or plain Python), the
checkpoint alone rebuilds it, through the one configuration path (waveunet_lit.config)."""

from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from waveunet_lit import NMFSeparator, Separator, load_separator
from waveunet_lit.losses import L1Loss, MultiResolutionSTFTLoss
from waveunet_lit.models import NMF, StridedWaveUNet, WaveUNet


def _fit(system: L.LightningModule, tmp_path, steps: int = 2) -> str:
    net = system.model
    n = net.valid_length(256)
    mix = torch.randn(4, net.channels, n) * 0.1
    sources = torch.randn(4, len(net.sources), net.channels, n) * 0.1
    loader = DataLoader(TensorDataset(mix, sources), batch_size=2)
    checkpoint = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp_path, filename="plain")
    trainer = L.Trainer(max_steps=steps, logger=False, callbacks=[checkpoint], enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path)
    trainer.fit(system, loader)
    return checkpoint.best_model_path or checkpoint.last_model_path or str(tmp_path / "plain.ckpt")


@pytest.mark.parametrize("build", [
    lambda: Separator(WaveUNet(sources=("vocals", "other"), channels=1, levels=3, features=4, sample_rate=8000)),
    lambda: Separator(StridedWaveUNet(levels=2, features=4, channels=2), loss=L1Loss()),
    lambda: Separator(WaveUNet(levels=2, features=4), loss=MultiResolutionSTFTLoss(fft_sizes=(64, 128), hop_sizes=(16, 32), win_lengths=(64, 128))),
], ids=["wave_u_net", "strided_l1", "mr_stft_loss"])
def test_plain_python_checkpoint_loads_with_load_separator(build, tmp_path):
    torch.manual_seed(0)
    system = build()
    path = _fit(system, tmp_path)
    loaded = load_separator(path)
    assert type(loaded.model) is type(system.model) and type(loaded.loss) is type(system.loss)
    assert loaded.model.init_args == system.model.init_args
    mix = torch.randn(1, system.model.channels, system.model.valid_length(300))
    system.eval()
    with torch.no_grad():
        assert torch.equal(loaded(mix), system(mix))  # the trained weights, not fresh ones


def test_nmf_separator_checkpoint_keeps_its_class_and_dictionaries(tmp_path):
    system = NMFSeparator(NMF(sources=("vocals", "other"), channels=1, sample_rate=8000, n_fft=64, hop_length=16, components=4))
    path = _fit(system, tmp_path, steps=1)
    loaded = load_separator(path)
    assert type(loaded) is NMFSeparator
    assert torch.equal(loaded.model.dictionaries, system.model.dictionaries)


def test_a_checkpoint_without_a_configuration_is_refused(tmp_path):
    path = tmp_path / "weights_only.ckpt"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(ValueError, match="no waveunet-lit model configuration"):
        load_separator(path)


def test_a_checkpoint_whose_weights_do_not_fit_is_refused(tmp_path):
    system = Separator(WaveUNet(levels=2, features=4))
    path = _fit(system, tmp_path)
    ckpt = torch.load(path, weights_only=False)
    ckpt["hyper_parameters"]["model"]["init_args"]["features"] = 6
    torch.save(ckpt, path)
    with pytest.raises(ValueError, match="weights do not fit"):
        load_separator(path)


def test_a_checkpoint_naming_a_missing_class_is_refused(tmp_path):
    system = Separator(WaveUNet(levels=2, features=4))
    path = _fit(system, tmp_path)
    ckpt = torch.load(path, weights_only=False)
    ckpt["hyper_parameters"]["model"]["class_path"] = "waveunet_lit.models.Gone"
    torch.save(ckpt, path)
    with pytest.raises(ValueError, match="Gone"):
        load_separator(path)


def test_a_copy_shares_the_cli_optimizer_and_copies_no_trainer_or_data(toy_root, tmp_path, monkeypatch):
    """EMAWeightAveraging deep-copies the LightningModule. LightningCLI's optimizer and scheduler
    factories hold the CLI, and through it the trainer and the datamodule (the training set, when
    it is held in RAM): the copy shares the factories and copies the network, nothing else."""
    import copy

    import waveunet_lit
    from waveunet_lit.lightning_cli import WaveUNetCLI
    from waveunet_lit.config import load_config, model_flags, model_node, small_args

    monkeypatch.chdir(tmp_path)
    config = Path(waveunet_lit.__file__).parent / "configs" / "cpu_2h.yaml"  # an optimizer, a scheduler and EMA
    flags = model_flags(small_args(model_node(load_config(config))))
    cli = WaveUNetCLI(args=["-c", str(config), f"--data.init_args.root={toy_root}", "--data.init_args.segment=2048",
                            f"--trainer.default_root_dir={tmp_path}", *flags], run=False)
    memo = {}
    twin = copy.deepcopy(cli.model, memo)
    copied = {type(v).__name__ for v in memo.values()}
    assert not copied & {"WaveUNetCLI", "Trainer", "MusdbDataModule"}, copied
    assert twin.optimizer is cli.model.optimizer and twin.lr_scheduler is cli.model.lr_scheduler
    assert twin.model is not cli.model.model
    for a, b in zip(twin.model.parameters(), cli.model.model.parameters(), strict=True):
        assert a is not b and torch.equal(a, b)
