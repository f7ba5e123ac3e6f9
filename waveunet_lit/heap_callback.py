"""Training with freed memory reused from step to step: :func:`waveunet_lit.heap.reuse_freed_memory`
for the length of a ``fit`` (or ``validate``, ``test``, ``predict``).

Every training step allocates the same activations, gradients and workspaces as the last and
frees them again. Where glibc gives such blocks fresh pages from the kernel each time, every
step pays page faults for them: ``cpu_2h``'s band-split RNN in float32 faulted in 160 000-200 000
pages a step (2-core AMD EPYC with AVX2, 2 threads, batch 4 of 3 s), and a step took 1.8-1.9 s;
with the freed memory reused, none from the third step on and 1.3 s (scratch script: the
recipe's model, loss and Adam on a random batch, six steps each way, twice).

:class:`~waveunet_lit.system.Separator` adds this callback to every trainer it runs under
(``configure_callbacks``), so configs need not name it.
"""

from contextlib import ExitStack

import lightning as L

from .heap import reuse_freed_memory

__all__ = ["ReuseFreedMemory"]


class ReuseFreedMemory(L.Callback):
    """Freed memory stays in the process's heap for the next step while the trainer runs
    (glibc; elsewhere nothing changes). glibc's defaults are back when the run ends, after an
    error too, and its free memory is returned to the system.

    Example:
        >>> import torch
        >>> from waveunet_lit import Separator
        >>> from waveunet_lit.models import WaveUNet
        >>> system = Separator(WaveUNet(sources=("vocals", "other"), channels=1, levels=2, features=4))
        >>> [type(c).__name__ for c in system.configure_callbacks()]
        ['ReuseFreedMemory']
    """

    def __init__(self) -> None:
        self._open: ExitStack | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self._open is None:
            self._open = ExitStack()
            self._open.enter_context(reuse_freed_memory())

    def _close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._close()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._close()
