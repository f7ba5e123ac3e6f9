"""A learning rate that decays with the wall time spent, for recipes stopped by wall time.

The CPU recipes (``cpu_10min``, ``cpu_2h``) train for a fixed wall time (``trainer.max_time``).
A schedule counted in steps or epochs (``StepLR``: 0.9 every epoch of 500 steps) decays as far
as the machine gets: ``cpu_2h`` took 0.66 s a step on one 2-core machine (26 epochs, the
rate ends at 0.9 ** 26 = 0.065 of its start) and 0.80 s on another (17 epochs, it ends at
0.17), so the slower machine stops before the schedule's quiet end. :class:`WallTimeDecay`
counts time instead::

    lr(t) = lr_0 * final ** (t / max_time)        t: wall time trained (Lightning's Timer)

so every machine ends the run at ``final * lr_0``; a slower one takes fewer steps on the way.
It sets the rate of every parameter group before each training step; it replaces the model's
``lr_scheduler`` (a run with both is refused) and needs ``trainer.max_time``. A config adds it
as a callback::

    trainer:
      max_time: "00:02:00:00"
      callbacks:
        - class_path: waveunet_lit.time_decay.WallTimeDecay
          init_args: {final: 0.065}

Resuming (``--ckpt_path last``) goes on where the run stopped: Lightning's Timer keeps the
time trained in the checkpoint, and this callback the starting rates.

Example:
    >>> decay = WallTimeDecay(final=0.1)
    >>> [round(decay.factor(t, budget=100.0), 4) for t in (0.0, 50.0, 100.0, 150.0)]
    [1.0, 0.3162, 0.1, 0.1]
"""

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, Timer

__all__ = ["WallTimeDecay"]


class WallTimeDecay(Callback):
    """Exponential decay of the learning rate over the trainer's ``max_time``.

    Args:
        final: the rate at the end of the time budget, as a fraction of the starting rate
            (0 < final <= 1; 1 keeps the rate constant).
    """

    def __init__(self, final: float = 0.065):
        if not 0 < final <= 1:
            raise ValueError(f"WallTimeDecay: final must be a fraction of the starting rate in (0, 1], got {final}")
        self.final = float(final)
        self.base_lrs: list[list[float]] | None = None  # per optimizer, per parameter group

    def factor(self, elapsed: float, budget: float) -> float:
        """The rate's multiplier after ``elapsed`` of ``budget`` seconds (``final`` from then on)."""
        return self.final ** min(max(elapsed / budget, 0.0), 1.0)

    @staticmethod
    def _timer(trainer: L.Trainer) -> Timer:
        timers = [cb for cb in trainer.callbacks if isinstance(cb, Timer)]
        if not timers or timers[0].time_remaining() is None:
            raise ValueError("WallTimeDecay decays over the training's wall time: set trainer.max_time "
                             '(e.g. "00:02:00:00"), or use a step schedule (the model\'s lr_scheduler) instead')
        return timers[0]

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._timer(trainer)
        if trainer.lr_scheduler_configs:
            names = ", ".join(type(c.scheduler).__name__ for c in trainer.lr_scheduler_configs)
            raise ValueError(f"WallTimeDecay sets the learning rate itself: remove the model's lr_scheduler ({names})")
        if self.base_lrs is None:  # not restored from a checkpoint
            self.base_lrs = [[group["lr"] for group in opt.param_groups] for opt in trainer.optimizers]

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        timer = self._timer(trainer)
        elapsed = timer.time_elapsed()
        scale = self.factor(elapsed, elapsed + timer.time_remaining())
        for opt, bases in zip(trainer.optimizers, self.base_lrs):
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = base * scale

    def state_dict(self) -> dict[str, Any]:
        return {"final": self.final, "base_lrs": self.base_lrs}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.base_lrs = state_dict["base_lrs"]
