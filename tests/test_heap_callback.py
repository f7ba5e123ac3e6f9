"""Every trainer of a Separator reuses freed memory while it runs (waveunet_lit.heap_callback),
and glibc's defaults are back when the run ends, after an error too."""

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from waveunet_lit import Separator, heap
from waveunet_lit.heap_callback import ReuseFreedMemory
from waveunet_lit.models import WaveUNet


class Probe(L.Callback):
    """Records, at every training step, how many reuse_freed_memory blocks are open."""

    def __init__(self):
        self.depths = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.depths.append(heap._depth)


class Failing(Separator):
    def training_step(self, batch, batch_idx):
        if batch_idx == 1:
            raise RuntimeError("a step that fails")
        return super().training_step(batch, batch_idx)


def fit(system: Separator, tmp_path, steps: int = 3) -> Probe:
    net = system.model
    n = net.valid_length(256)
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(6, net.channels, n) * 0.1, torch.randn(6, len(net.sources), net.channels, n) * 0.1)
    probe = Probe()
    trainer = L.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path, callbacks=[probe])
    trainer.fit(system, DataLoader(data, batch_size=2))
    return probe


def net():
    return WaveUNet(sources=("vocals", "other"), channels=1, levels=2, features=4, sample_rate=8000)


def test_the_setting_is_on_during_fit_and_off_after(tmp_path):
    probe = fit(Separator(net()), tmp_path)
    expected = 1 if heap._glibc() is not None else 0  # elsewhere the block changes nothing and counts nothing
    assert probe.depths == [expected] * 3
    assert heap._depth == 0


def test_an_error_in_a_step_still_restores_the_defaults(tmp_path):
    with pytest.raises(RuntimeError, match="a step that fails"):
        fit(Failing(net()), tmp_path)
    assert heap._depth == 0


def test_every_separator_brings_the_callback():
    assert [type(c) for c in Separator(net()).configure_callbacks()] == [ReuseFreedMemory]
