"""The LightningModule that trains the supervised NMF baseline (no gradients, no optimizer).

:class:`~waveunet_lit.models.nmf.NMF` learns by multiplicative updates, not by gradient
descent, so it cannot go through :class:`waveunet_lit.Separator`; this module gives it the same
interface: ``lightning fit -c waveunet_lit/configs/nmf.yaml`` trains it, its checkpoints load
with :func:`waveunet_lit.system.load_separator`, and ``waveunet separate`` / ``evaluate`` use
its ``model`` like any other.

* **training** (manual optimisation): each batch's *stems* update each source's dictionary
  (:meth:`NMF.fit_batch`); the mixture is not used. ``train/loss`` is the NMF divergence of
  the stems after the update.
* **validation / test**: the model separates the *mixture alone*; only then are the
  references used, to score it. Logged like :class:`waveunet_lit.Separator`: ``val/loss``,
  ``val/sdr`` (MDX "new SDR", mean over sources) and ``val/sdr_<source>``.
"""

import lightning as L
import torch
from torch import nn

from .losses import MSELoss
from .metrics import new_sdr
from .models.common import center_crop
from .models.nmf import NMF
from .system import _from_cli

__all__ = ["NMFSeparator"]


class NMFSeparator(L.LightningModule):
    """Fit and run a supervised NMF separator under Lightning.

    Args:
        model: the :class:`~waveunet_lit.models.nmf.NMF` to train.
        loss: ``loss(estimate, target)`` logged as ``val/loss`` (not optimised); MSE by default.

    Example:
        >>> nmf = NMF(sources=("a", "b"), channels=1, n_fft=64, hop_length=16, components=4)
        >>> system = NMFSeparator(nmf)
        >>> stems = torch.rand(2, 2, 1, 640)
        >>> _ = system.training_step((stems.sum(1), stems), 0)
        >>> system.validation_step((stems.sum(1), stems), 0).shape
        torch.Size([2, 2, 1, 640])
    """

    def __init__(self, model: NMF, loss: nn.Module | None = None):
        super().__init__()
        # As in Separator: under LightningCLI the config (class paths, arguments) is recorded so
        # that `load_separator` can rebuild the model from the checkpoint alone.
        self.save_hyperparameters(ignore=["model", "loss"] if not _from_cli() else None)
        if not isinstance(model, NMF):
            raise ValueError(f"NMFSeparator: model must be a waveunet_lit.models.nmf.NMF, got {type(model).__name__}")
        self.model = model
        self.loss = loss if loss is not None else MSELoss()
        self.automatic_optimization = False  # multiplicative updates, no optimizer

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.model.sources)

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, S, C, T)``."""
        return self.model(mix)

    def training_step(self, batch, batch_idx: int) -> None:
        _, sources = batch  # the mixture is not needed: dictionaries come from the stems
        divergence = self.model.fit_batch(sources)  # (B, S, C, T) -> float
        self.log("train/loss", divergence, prog_bar=True, batch_size=sources.shape[0])
        self._count_step()

    def _count_step(self) -> None:
        """Count the dictionary update as an optimizer step.

        Lightning's ``global_step`` counts optimizer steps, and without one it stays at 0: then
        ModelCheckpoint never saves (it skips "when no steps were taken"), ``max_steps`` never
        stops and every log lands on step 0. One fitted batch is our optimizer step.
        """
        if self._trainer is None:
            return
        progress = self.trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress
        progress.increment_ready()
        progress.increment_completed()

    def _separate(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        mix, sources = batch  # (B, C, T_in), (B, S, C, T_in)
        estimates = self.model(mix)  # (B, S, C, T_out): the mixture is all it sees
        return estimates, center_crop(sources, estimates.shape[-1])  # (B, S, C, T_out)

    def validation_step(self, batch, batch_idx: int) -> torch.Tensor | None:
        if not bool(self.model.fitted.all()):
            return None  # Lightning's sanity check runs before any dictionary is learned
        estimates, targets = self._separate(batch)
        B = estimates.shape[0]
        sdr = new_sdr(estimates.float(), targets.float())  # (B, S)
        self.log("val/loss", self.loss(estimates, targets), prog_bar=True, batch_size=B, sync_dist=True)
        self.log("val/sdr", sdr.mean(), prog_bar=True, batch_size=B, sync_dist=True)
        for name, value in zip(self.sources, sdr.mean(0)):
            self.log(f"val/sdr_{name}", value, batch_size=B, sync_dist=True)
        return estimates

    def test_step(self, batch, batch_idx: int) -> None:
        estimates, targets = self._separate(batch)
        sdr = new_sdr(estimates.float(), targets.float())  # (B, S)
        self.log("test/loss", self.loss(estimates, targets), batch_size=sdr.shape[0], sync_dist=True)
        self.log("test/sdr", sdr.mean(), batch_size=sdr.shape[0], sync_dist=True)

    def predict_step(self, batch, batch_idx: int) -> torch.Tensor:
        mix = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.model(mix)

    def configure_optimizers(self) -> None:
        return None
