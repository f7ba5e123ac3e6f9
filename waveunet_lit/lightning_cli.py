"""``waveunet fit|validate|test|predict``: Lightning's CLI over any module and datamodule by class path.

Kept apart from :mod:`waveunet_lit.cli`, which dispatches every command: only these commands
load Lightning, so ``waveunet separate`` runs with torch and the model alone.
"""

import sys
from pathlib import Path

import lightning as L
from lightning.pytorch.cli import LightningCLI

from .precision import train_precision

__all__ = ["WaveUNetCLI", "find_last_checkpoint"]


class WaveUNetCLI(LightningCLI):
    """LightningCLI accepting any LightningModule / LightningDataModule by class path."""

    def __init__(self, args: list[str] | None = None, run: bool = True):
        super().__init__(
            L.LightningModule,
            L.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_kwargs={"overwrite": True},
            args=args,
            run=run,
        )

    def before_instantiate_classes(self) -> None:
        """``bf16-mixed`` where this hardware only emulates bfloat16: ``32-true`` on a CPU, a
        warning on a GPU (:func:`waveunet_lit.precision.train_precision`), said on stderr."""
        trainer = self._get(self.config, "trainer")
        if trainer is None or trainer.get("precision") is None:
            return
        trainer["precision"], warning = train_precision(trainer["precision"], trainer.get("accelerator"))
        if warning:
            print(f"warning: {warning}", file=sys.stderr)

    def before_fit(self) -> None:
        """``--ckpt_path last``: resume from the newest ``last*.ckpt`` below the run's folder.

        Lightning looks only in the checkpoint folder of the *new* run (a new ``version_N``),
        and when it finds nothing it warns and starts again from step 0; here a missing
        checkpoint is an error that names the folder searched.
        """
        config = self.config_init[self.subcommand]
        if config.get("ckpt_path") == "last":
            config["ckpt_path"] = str(find_last_checkpoint(self.trainer))


def find_last_checkpoint(trainer: L.Trainer) -> Path:
    """The newest ``last*.ckpt`` below the trainer's ``default_root_dir`` and the folders its
    ``ModelCheckpoint`` callbacks were given.

    Raises:
        FileNotFoundError: there is none (the message names the folders searched).
    """
    folders = {Path(trainer.default_root_dir)}
    folders |= {Path(cb.dirpath) for cb in trainer.checkpoint_callbacks if getattr(cb, "dirpath", None)}
    found = [p for folder in folders if folder.is_dir() for p in folder.rglob("last*.ckpt")]
    if not found:
        where = ", ".join(sorted(str(f.resolve()) for f in folders))
        raise FileNotFoundError(
            f"--ckpt_path last: no last.ckpt below {where}; nothing to resume (start without "
            "--ckpt_path, or pass the path of a checkpoint)"
        )
    return max(found, key=lambda p: p.stat().st_mtime)
