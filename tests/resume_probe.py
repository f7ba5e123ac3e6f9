"""A callback for tests/test_resume.py: what the trainer holds when training (re)starts."""

import copy

import lightning as L


class StartProbe(L.Callback):
    """Records ``(global_step, optimizer state)`` at ``on_train_start``, after any restore."""

    seen: list = []

    def on_train_start(self, trainer, pl_module):
        StartProbe.seen.append((trainer.global_step, copy.deepcopy(trainer.optimizers[0].state_dict())))
