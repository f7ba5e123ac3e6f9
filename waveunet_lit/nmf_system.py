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

from torch import nn

from .models.nmf import NMF
from .system import Separator

__all__ = ["NMFSeparator"]


class NMFSeparator(Separator):
    """Fit and run a supervised NMF separator under Lightning.

    Args:
        model: the :class:`~waveunet_lit.models.nmf.NMF` to train.
        loss: ``loss(estimate, target)`` logged as ``val/loss`` (not optimised); MSE by default.

    Example:
        >>> import torch
        >>> from waveunet_lit.models import NMF
        >>> nmf = NMF(sources=("a", "b"), channels=1, n_fft=64, hop_length=16, components=4)
        >>> system = NMFSeparator(nmf)
        >>> stems = torch.rand(2, 2, 1, 640)
        >>> _ = system.training_step((stems.sum(1), stems), 0)
        >>> bool(system.model.fitted.all())
        True
    """

    def __init__(self, model: NMF, loss: nn.Module | None = None):
        if not isinstance(model, NMF):
            raise ValueError(f"NMFSeparator: model must be a waveunet_lit.models.nmf.NMF, got {type(model).__name__}")
        super().__init__(model, loss)  # records the config for `load_separator`, as Separator does
        self.automatic_optimization = False  # multiplicative updates, no optimizer

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

    def validation_step(self, batch, batch_idx: int) -> None:
        if not bool(self.model.fitted.all()):
            return None  # Lightning's sanity check runs before any dictionary is learned
        super().validation_step(batch, batch_idx)  # the model sees the mixture alone

    def configure_optimizers(self) -> None:
        return None
