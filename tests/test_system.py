"""Separator checkpoints: whatever built the system (LightningCLI or plain Python), the
checkpoint alone rebuilds it, through the one configuration path (waveunet_lit.config)."""

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
