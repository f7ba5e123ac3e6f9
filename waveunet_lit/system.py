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

import copy
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from .checkpoint import read_checkpoint
from .config import describe, instantiate
from .heap_callback import ReuseFreedMemory
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
        self.model = model
        self.loss = loss if loss is not None else MSELoss()
        # The configuration that rebuilds this system, however it was built (LightningCLI or
        # plain Python): `load_separator` needs only the checkpoint.
        self.save_hyperparameters({"_class_path": f"{type(self).__module__}.{type(self).__qualname__}",
                                   "model": describe(self.model), "loss": describe(self.loss)})
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler

    def __deepcopy__(self, memo: dict) -> "Separator":
        """A copy of the system that shares the optimizer and scheduler factories.

        ``EMAWeightAveraging`` deep-copies the LightningModule. The factories LightningCLI
        builds hold the CLI, and through it the trainer and the datamodule: copying them
        copied the training set too when it is held in RAM (``in_memory: true``; ``cpu_2h``
        on 150 rendered songs, 2.2 GB of arrays, held 5.4 GB at its first step, 3.2 GB
        with the factories shared). They make new optimizers and keep no state, so the copy
        can share them.
        """
        for factory in (self.optimizer, self.lr_scheduler):
            if factory is not None:
                memo[id(factory)] = factory
        twin = type(self).__new__(type(self))
        memo[id(self)] = twin
        twin.__setstate__(copy.deepcopy(self.__getstate__(), memo))  # what deepcopy does, with the factories shared
        return twin

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

    def configure_callbacks(self) -> list[L.Callback]:
        """Callbacks every trainer of this system gets, configs or not: freed memory reused
        from step to step (:mod:`waveunet_lit.heap_callback`)."""
        return [ReuseFreedMemory()]

    def configure_optimizers(self):
        optimizer = self.optimizer(self.parameters())
        if self.lr_scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.lr_scheduler(optimizer), "interval": "epoch"}}


def load_separator(checkpoint: str | Path, map_location: str | torch.device = "cpu") -> L.LightningModule:
    """Load a trained separator from a Lightning checkpoint, whatever LightningModule class
    (``Separator`` or another in this package) and architecture it holds.

    The checkpoint holds the system's class and the ``{class_path, init_args}`` of its model and
    loss (:func:`waveunet_lit.config.describe`); they are built with
    :func:`waveunet_lit.config.instantiate` and the weights loaded strictly.

    Raises:
        FileNotFoundError: the checkpoint does not exist.
        ValueError: the file is not a checkpoint of a waveunet-lit system, or its configuration
            or weights do not fit (the message says which).

    Example:
        >>> import lightning as L, tempfile
        >>> from waveunet_lit.models import WaveUNet
        >>> system = Separator(WaveUNet(sources=("vocals", "other"), channels=1, levels=2, features=4))
        >>> trainer = L.Trainer(max_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
        >>> trainer.strategy.connect(system)
        >>> path = Path(tempfile.mkdtemp()) / "plain.ckpt"
        >>> trainer.save_checkpoint(path)
        >>> load_separator(path).model.sources
        ('vocals', 'other')
    """
    path = Path(checkpoint)
    ckpt = read_checkpoint(path)
    hparams = ckpt["hyper_parameters"]
    node = {"class_path": hparams.get("_class_path", "waveunet_lit.system.Separator"),
            "init_args": {"model": hparams["model"], "loss": hparams.get("loss")}}
    try:
        system = instantiate(node, base=Separator)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
    try:
        system.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, TypeError, AttributeError) as err:
        raise ValueError(f"{path}: the weights do not fit the model its configuration describes: {err}") from err
    return system.to(map_location).eval()
