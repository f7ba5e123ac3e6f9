"""Read a checkpoint that ``waveunet fit`` wrote and rebuild its model: no Lightning needed.

A checkpoint of a waveunet-lit system holds, beside the weights (``state_dict``), the
``{class_path, init_args}`` of its model in ``hyper_parameters["model"]`` (the system records
it: :func:`waveunet_lit.config.describe`). :func:`load_model` builds that model with
:func:`waveunet_lit.config.instantiate` and loads its weights (the ``model.`` entries of the
state dict) strictly. This is what separation needs: ``waveunet separate``, ``waveunet
evaluate`` and the web app run the model alone, so they never import Lightning and its
trainer (about 250 MB of memory). :func:`waveunet_lit.system.load_separator` rebuilds the
whole LightningModule from the same reading, to train or test it further.

The file is read with ``torch.load(weights_only=True)`` (tensors, dicts, numbers, strings: what
Lightning writes for this package's systems); a checkpoint holding other Python objects (a
callback's custom state, say) is read with full unpickling, as Lightning itself reads it: only
load checkpoints you trust.

Example:
    >>> import tempfile, torch
    >>> from waveunet_lit.config import describe
    >>> from waveunet_lit.models import WaveUNet
    >>> net = WaveUNet(sources=("vocals", "other"), channels=1, levels=2, features=4)
    >>> path = Path(tempfile.mkdtemp()) / "tiny.ckpt"
    >>> torch.save({"hyper_parameters": {"model": describe(net)},
    ...             "state_dict": {f"model.{k}": v for k, v in net.state_dict().items()}}, path)
    >>> load_model(path).sources
    ('vocals', 'other')
"""

import pickle
from pathlib import Path

import torch
from torch import nn

from .config import instantiate

__all__ = ["load_model", "model_from", "read_checkpoint"]


def read_checkpoint(checkpoint: str | Path) -> dict:
    """The checkpoint's dictionary, checked to hold a waveunet-lit model configuration and weights.

    Raises:
        FileNotFoundError: the checkpoint does not exist.
        ValueError: the file is not a PyTorch checkpoint, or not one of a waveunet-lit system
            (no ``hyper_parameters["model"]`` or no ``state_dict``).
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:  # other Python objects in it: unpickle fully, as Lightning does
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means "not a checkpoint"
        raise ValueError(f"{path} is not a readable PyTorch checkpoint: {err}") from err
    hparams = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    if not isinstance(hparams, dict) or not isinstance(hparams.get("model"), dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise ValueError(
            f"{path} holds no waveunet-lit model configuration: it must be a checkpoint written while "
            "training a waveunet_lit.Separator (`waveunet fit -c CONFIG`, or a Lightning Trainer in Python)"
        )
    return ckpt


def load_model(checkpoint: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """The trained model of a checkpoint (the system's ``model``), in eval mode on ``map_location``.

    Raises:
        FileNotFoundError: the checkpoint does not exist.
        ValueError: not a checkpoint of a waveunet-lit system, or its model configuration or
            weights do not fit (the message says which).
    """
    path = Path(checkpoint)
    return model_from(read_checkpoint(path), path).to(map_location).eval()


def model_from(ckpt: dict, path: str | Path) -> nn.Module:
    """The model of a checkpoint that :func:`read_checkpoint` read from ``path`` (named in errors),
    on the CPU: for a caller that also reads the checkpoint's other entries.

    Raises:
        ValueError: its model configuration or weights do not fit (the message says which).
    """
    try:
        model = instantiate(ckpt["hyper_parameters"]["model"], base=nn.Module)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
    weights = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    try:
        model.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as err:
        raise ValueError(f"{path}: the weights do not fit the model its configuration describes: {err}") from err
    return model
