"""One way to turn a configuration into objects, and objects back into a configuration.

A configuration node is what a YAML config holds: ``{"class_path": ..., "init_args": {...}}``.
:func:`instantiate` builds it with jsonargparse, the parser LightningCLI uses for
``lightning fit -c``, so ``fit``, ``waveunet info``, the benches, checkpoints and the web app
build objects the same way (types checked, defaults filled in, callables such as an
``optimizer`` made into partials).

:func:`describe` goes the other way: every model and loss of this package records its
constructor arguments in ``init_args`` (:func:`waveunet_lit.models.common.record_init`), so a
model built in plain Python, ``Separator(WaveUNet(levels=6))``, writes a checkpoint that
:func:`waveunet_lit.load_separator` rebuilds from the checkpoint alone.

Example:
    >>> from waveunet_lit.models import WaveUNet
    >>> node = describe(WaveUNet(sources=("vocals", "other"), levels=2, features=4))
    >>> node["class_path"], node["init_args"]["levels"]
    ('waveunet_lit.models.wave_u_net.WaveUNet', 2)
    >>> instantiate(node).output_length(200) == WaveUNet(sources=("vocals", "other"), levels=2, features=4).output_length(200)
    True
"""

import copy
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import ArgumentParser
from torch import nn

__all__ = ["describe", "instantiate", "load_config", "model_flags", "model_node", "shrink", "small_args", "SMALL"]


def instantiate(node: dict, base: type = nn.Module) -> Any:
    """Build the object a ``{class_path, init_args}`` node describes.

    Args:
        node: the node, as in a YAML config (nested nodes are built too).
        base: the class the result must be an instance of (``nn.Module``, a LightningModule ...).

    Raises:
        ValueError: the node is not a dict with a ``class_path``, names a class that does not
            exist or is not a ``base``, or has an argument the class does not take or of the
            wrong type (the message names it).
    """
    if not isinstance(node, dict) or "class_path" not in node:
        raise ValueError(f"expected a {{class_path, init_args}} configuration, got {node!r}")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--object", type=base)
    try:
        config = parser.parse_object({"object": node})
    except Exception as err:  # noqa: BLE001 - jsonargparse raises argparse and type errors
        raise ValueError(f"cannot build {node.get('class_path')!r}: {_first_lines(err)}") from err
    return parser.instantiate(config).object


def _first_lines(err: Exception, n: int = 4) -> str:
    text = " ".join(line.strip() for line in str(err).splitlines()[:n] if line.strip())
    return text.replace('Parser key "object": ', "")


def _plain(value: Any) -> Any:
    """Tuples and lists of plain values stay; modules become nodes (recursively)."""
    if isinstance(value, nn.Module):
        return describe(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def describe(obj: nn.Module) -> dict:
    """The ``{class_path, init_args}`` node that :func:`instantiate` rebuilds ``obj`` from.

    Raises:
        ValueError: ``obj`` did not record its constructor arguments (``init_args``).
    """
    cls = type(obj)
    if cls.__init__ is nn.Module.__init__:  # e.g. MSELoss: no arguments to record
        return {"class_path": f"{cls.__module__}.{cls.__qualname__}", "init_args": {}}
    if not isinstance(getattr(obj, "init_args", None), dict):
        raise ValueError(
            f"{cls.__module__}.{cls.__qualname__} did not record its constructor arguments: call "
            "`self.init_args = record_init(locals())` first thing in its __init__ "
            "(waveunet_lit.models.common)"
        )
    return {"class_path": f"{cls.__module__}.{cls.__qualname__}", "init_args": _plain(obj.init_args)}


def load_config(path: str | Path) -> dict:
    """A YAML config file as a dict, with a clear error when it is not one.

    Raises:
        FileNotFoundError: no such file. ValueError: a directory, bad YAML, or not a mapping.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, expected a YAML config file")
    if not path.is_file():
        raise FileNotFoundError(f"config not found: {path}")
    try:
        config = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a mapping (model:, data:, trainer:), got {type(config).__name__}")
    return config


def model_node(config: dict, source: str = "config") -> dict:
    """The separation model's node of a LightningCLI config: ``model.init_args.model``
    (or ``model`` itself when it is a bare ``nn.Module`` config).

    Raises:
        ValueError: the config has no ``model`` with a ``class_path``.
    """
    node = config.get("model")
    if not isinstance(node, dict) or "class_path" not in node:
        raise ValueError(f"{source}: no 'model' with a class_path")
    inner = (node.get("init_args") or {}).get("model")
    return inner if isinstance(inner, dict) and "class_path" in inner else node


#: CPU-sized model arguments per architecture: the same families, small enough to train for
#: seconds (tests, ``bench/compare_variants.py``, notebooks). Keys are class names.
SMALL: dict[str, dict] = {
    "WaveUNet": dict(levels=4, features=8),
    "StridedWaveUNet": dict(levels=3, features=8),
    "DilatedWaveUNet": dict(levels=3, features=8, depth=2),
    "MaskUNet": dict(levels=4, features=8),
    "PortWaveUNet": dict(levels=3, features=8, separate=False),
    "SpecUNet": dict(),  # the recipe is already small (60 k parameters)
    "BandSplitRNN": dict(features=16, hidden=32, layers=1, mlp_hidden=32),
    "NMF": dict(),
}


def small_args(node: dict) -> dict:
    """The :data:`SMALL` arguments of a model node's class (a copy).

    Raises:
        ValueError: the class has no entry in :data:`SMALL` (add one).

    Example:
        >>> small_args({"class_path": "waveunet_lit.models.WaveUNet"})
        {'levels': 4, 'features': 8}
    """
    name = node["class_path"].rpartition(".")[2]
    if name not in SMALL:
        raise ValueError(f"{name} has no CPU sizes: add it to waveunet_lit.config.SMALL")
    return dict(SMALL[name])


def model_flags(args: dict) -> list[str]:
    """``lightning fit`` flags that set the separation model's ``init_args`` of a Separator
    config (the model inside ``model.init_args.model``).

    Example:
        >>> model_flags({"levels": 4, "features": 8})
        ['--model.init_args.model.init_args.levels=4', '--model.init_args.model.init_args.features=8']
    """
    return [f"--model.init_args.model.init_args.{k}={v}" for k, v in args.items()]


def shrink(node: dict, **extra) -> dict:
    """A copy of a model node with the :data:`SMALL` arguments of its class (and ``extra``).

    Example:
        >>> shrink({"class_path": "waveunet_lit.models.WaveUNet", "init_args": {"levels": 12}})["init_args"]
        {'levels': 4, 'features': 8}
    """
    node = copy.deepcopy(node)
    name = node["class_path"].rpartition(".")[2]
    node.setdefault("init_args", {}).update(SMALL.get(name, {}), **extra)
    return node
