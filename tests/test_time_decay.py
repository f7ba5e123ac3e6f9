"""WallTimeDecay: the learning rate follows the wall time trained, on a clock the test drives."""

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Timer
from torch.utils.data import DataLoader, TensorDataset

from waveunet_lit.time_decay import WallTimeDecay


class Tiny(L.LightningModule):
    """One linear layer; records the learning rate each training step sees."""

    def __init__(self, scheduler: bool = False):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.scheduler = scheduler
        self.seen: list[tuple[float, float]] = []

    def training_step(self, batch, batch_idx):
        self.seen.append(tuple(g["lr"] for g in self.optimizers().param_groups))
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        # two parameter groups with different rates: each decays from its own
        opt = torch.optim.SGD([{"params": [self.layer.weight], "lr": 1.0}, {"params": [self.layer.bias], "lr": 0.5}])
        if not self.scheduler:
            return opt
        return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, step_size=1)}


@pytest.fixture
def clock(monkeypatch):
    """Lightning's Timer reads one second of training per step taken (``holder[0]``: the module)."""
    holder = []
    monkeypatch.setattr(Timer, "time_elapsed", lambda self, stage="train": float(holder[0].trainer.global_step))
    return holder


def _fit(module, tmp_path, max_time=10, ckpt_path=None, **kwargs):
    data = DataLoader(TensorDataset(torch.randn(64, 2)), batch_size=1)
    trainer = L.Trainer(max_time={"seconds": max_time} if max_time else None, max_steps=kwargs.pop("max_steps", 50),
                        callbacks=[WallTimeDecay(final=0.01)], logger=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path, **kwargs)
    trainer.fit(module, data, ckpt_path=ckpt_path)
    return trainer


def test_the_rate_decays_with_the_time_trained_and_ends_at_final(clock, tmp_path):
    module = Tiny()
    clock.append(module)
    trainer = _fit(module, tmp_path, enable_checkpointing=False)
    assert trainer.global_step == 10  # the Timer stopped it after 10 "seconds"
    expected = [(1.0 * 0.01 ** (k / 10), 0.5 * 0.01 ** (k / 10)) for k in range(10)]
    np.testing.assert_allclose(module.seen, expected, rtol=1e-12)


def test_a_resumed_run_goes_on_from_its_starting_rates(clock, tmp_path):
    first = Tiny()
    clock.append(first)
    _fit(first, tmp_path, max_steps=4, enable_checkpointing=True)
    ckpt = next((tmp_path / "checkpoints").glob("*.ckpt"))
    second = Tiny()
    clock[0] = second
    _fit(second, tmp_path, ckpt_path=ckpt, enable_checkpointing=False)
    # steps 4..9 with the rates of the first run's start, not of its last (decayed) step
    np.testing.assert_allclose(second.seen, [(0.01 ** (k / 10), 0.5 * 0.01 ** (k / 10)) for k in range(4, 10)], rtol=1e-12)


def test_bad_settings_are_named(tmp_path):
    with pytest.raises(ValueError, match="final must be a fraction of the starting rate in \\(0, 1\\], got 0"):
        WallTimeDecay(final=0)
    with pytest.raises(ValueError, match="set trainer.max_time"):
        _fit(Tiny(), tmp_path, max_time=None, max_steps=2, enable_checkpointing=False)
    with pytest.raises(ValueError, match="remove the model's lr_scheduler \\(StepLR\\)"):
        _fit(Tiny(scheduler=True), tmp_path, max_steps=2, enable_checkpointing=False)
