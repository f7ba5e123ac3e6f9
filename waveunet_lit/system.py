"""The LightningModule that trains any separation architecture.

The architecture, the loss and the optimizer are injected, so one class trains the Wave-U-Net,
its variants and the spectrogram models; a YAML config names each by class path::

    model:
      class_path: waveunet_lit.Separator
      init_args:
        model: {class_path: waveunet_lit.models.WaveUNet, init_args: {channels: 2}}
        loss: {class_path: waveunet_lit.losses.MSELoss}
        optimizer: {class_path: torch.optim.Adam, init_args: {lr: 1.0e-4}}

A batch is ``(mix, sources)`` with shapes ``(B, C, T_in)`` and ``(B, S, C, T_in)``; the model
returns ``(B, S, C, T_out)`` and the targets are centre-cropped to ``T_out``.
"""

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from .losses import MSELoss
from .metrics import new_sdr
from .models.common import center_crop

__all__ = ["Separator", "load_separator"]


def _adam(params) -> torch.optim.Optimizer:
    """The paper's optimizer: Adam, learning rate 1e-4 (Section 4.2)."""
    return torch.optim.Adam(params, lr=1e-4)


class Separator(L.LightningModule):
    """Train, validate and run a source-separation model.

    Args:
        model: an ``nn.Module`` following the contract of :mod:`waveunet_lit.models.common`.
        loss: ``loss(estimate, target)`` on ``(B, S, C, T)``; MSE as in the paper.
        optimizer: a callable ``params -> Optimizer`` (LightningCLI builds it from YAML).
        lr_scheduler: optional callable ``optimizer -> LRScheduler``, stepped once per epoch.

    Logged: ``train/loss``, ``val/loss``, ``val/sdr`` (MDX "new SDR", mean over sources) and
    ``val/sdr_<source>``; the same under ``test/`` for ``lightning test``.

    Example:
        >>> from waveunet_lit.models import WaveUNet
        >>> net = WaveUNet(sources=("vocals", "accompaniment"), channels=1, levels=2, features=4)
        >>> system = Separator(net)
        >>> mix = torch.zeros(3, 1, net.valid_length(64))
        >>> system(mix).shape[:3]
        torch.Size([3, 2, 1])
    """

    def __init__(
        self,
        model: nn.Module,
        loss: nn.Module | None = None,
        optimizer: OptimizerCallable = _adam,
        lr_scheduler: LRSchedulerCallable | None = None,
    ):
        super().__init__()
        # Under LightningCLI this records the config (class paths and arguments), so that
        # `load_separator` can rebuild the model from a checkpoint alone.
        self.save_hyperparameters(ignore=["model", "loss"] if not _from_cli() else None)
        self.model = model
        self.loss = loss if loss is not None else MSELoss()
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.model.sources)

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """``(B, C, T_in) -> (B, S, C, T_out)``."""
        return self.model(mix)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mix, sources = batch  # (B, C, T_in), (B, S, C, T_in)
        estimates = self.model(mix)  # (B, S, C, T_out)
        targets = center_crop(sources, estimates.shape[-1])  # (B, S, C, T_out)
        return self.loss(estimates, targets), estimates, targets

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss, _, _ = self._step(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch[0].shape[0])
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        self._log_scores("val", *self._step(batch))

    def test_step(self, batch, batch_idx: int) -> None:
        self._log_scores("test", *self._step(batch))

    def _log_scores(self, stage: str, loss: torch.Tensor, estimates: torch.Tensor, targets: torch.Tensor) -> None:
        """Log ``<stage>/loss``, ``<stage>/sdr`` (mean over sources) and ``<stage>/sdr_<source>``."""
        B = estimates.shape[0]
        sdr = new_sdr(estimates.float(), targets.float())  # (B, S)
        self.log(f"{stage}/loss", loss, prog_bar=True, batch_size=B, sync_dist=True)
        self.log(f"{stage}/sdr", sdr.mean(), prog_bar=True, batch_size=B, sync_dist=True)
        for name, value in zip(self.sources, sdr.mean(0)):
            self.log(f"{stage}/sdr_{name}", value, batch_size=B, sync_dist=True)

    def predict_step(self, batch, batch_idx: int) -> torch.Tensor:
        mix = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.model(mix)

    def configure_optimizers(self):
        optimizer = self.optimizer(self.parameters())
        if self.lr_scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.lr_scheduler(optimizer), "interval": "epoch"}}


def _from_cli() -> bool:
    """True while LightningCLI instantiates the module (it then supplies the hyperparameters)."""
    from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters

    return _given_hyperparameters.get() is not None


def load_separator(checkpoint: str | Path, map_location: str | torch.device = "cpu") -> L.LightningModule:
    """Load a trained separator from a Lightning checkpoint, whatever LightningModule class
    (``Separator`` or another in this package) and architecture it holds.

    Raises:
        FileNotFoundError: the checkpoint does not exist.
        ValueError: the file is not a checkpoint written by ``waveunet fit``.
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means "not a checkpoint"
        raise ValueError(f"{path} is not a readable PyTorch checkpoint: {err}") from err
    hparams = ckpt.get("hyper_parameters", {}) if isinstance(ckpt, dict) else {}
    if "state_dict" not in ckpt or "model" not in hparams:
        raise ValueError(
            f"{path} holds no model configuration: train with `waveunet fit -c CONFIG` "
            "(LightningCLI records the model's class path and arguments in the checkpoint)"
        )
    class_path = hparams.get("_class_path", "waveunet_lit.system.Separator")
    module_name, _, class_name = class_path.rpartition(".")
    import importlib

    cls = getattr(importlib.import_module(module_name), class_name)
    system = cls.load_from_checkpoint(path, map_location=map_location)
    return system.eval()
