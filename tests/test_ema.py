"""The foreach EMA callback averages as Lightning's per-tensor one does, in a real fit."""

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import EMAWeightAveraging as LightningEMA
from torch import nn

from waveunet_lit.ema import EMAWeightAveraging, ema_update


class Regression(L.LightningModule):
    """A small network fitted to a fixed random target: parameters that move every step."""

    def __init__(self, norm: bool = False):
        super().__init__()
        layers = [nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4)]
        if norm:
            layers.insert(1, nn.BatchNorm1d(16))  # float running statistics and an int64 counter
        self.net = nn.Sequential(*layers)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.mean((self.net(x) - y) ** 2)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit(callback, tmp_path, norm: bool = False) -> Regression:
    L.seed_everything(0)
    model = Regression(norm)
    g = torch.Generator().manual_seed(1)
    data = torch.utils.data.TensorDataset(torch.randn(64, 8, generator=g), torch.randn(64, 4, generator=g))
    trainer = L.Trainer(max_steps=40, callbacks=[callback], logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=8))
    return model


def test_the_foreach_average_is_lightnings_average(tmp_path):
    ours = fit(EMAWeightAveraging(decay=0.9, update_starting_at_step=5), tmp_path)
    theirs = fit(LightningEMA(decay=0.9, update_starting_at_step=5), tmp_path)
    plain = fit(EMAWeightAveraging(decay=0.0), tmp_path)  # decay 0: the average is the last weights
    for a, b, c in zip(ours.parameters(), theirs.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(a, c, atol=1e-4)  # the average is not the trained weights


def test_float_buffers_are_averaged_and_integer_buffers_copied(tmp_path):
    ours = fit(EMAWeightAveraging(decay=0.9), tmp_path, norm=True)
    trained = fit(EMAWeightAveraging(decay=0.0), tmp_path, norm=True)
    norm, last = ours.net[1], trained.net[1]
    assert norm.num_batches_tracked.dtype == torch.int64
    assert norm.num_batches_tracked.item() == last.num_batches_tracked.item() == 40
    assert not torch.allclose(norm.running_mean, last.running_mean, atol=1e-4)


def test_one_update_by_hand():
    ema, weight = [torch.tensor([1.0, -2.0])], [torch.tensor([3.0, 2.0])]
    ema_update(0.75)(ema, weight, torch.tensor(1))
    torch.testing.assert_close(ema[0], torch.tensor([0.75 * 1 + 0.25 * 3, 0.75 * -2 + 0.25 * 2]))


@pytest.mark.parametrize("decay", [-0.1, 1.5])
def test_a_decay_outside_zero_one_is_refused(decay):
    with pytest.raises(ValueError, match=f"decay must be in \\[0, 1\\], got {decay}"):
        EMAWeightAveraging(decay=decay)
