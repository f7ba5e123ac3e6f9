"""The checkpoints a user may choose: ``*.ckpt`` files in the models folder, each described by
its sources, sample rate and where it came from (read from the checkpoint itself)."""

import datetime
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

import waveunet_lit


@dataclass(frozen=True)
class ModelInfo:
    """What the upload page shows about one checkpoint."""

    name: str  # path relative to the models folder: the only thing a form may send back
    path: Path
    architecture: str
    sources: tuple[str, ...]
    sample_rate: int
    channels: int
    origin: str


def models_dirs() -> list[Path]:
    """The models folder from the settings, else the demo runs (``make demo`` writes
    ``runs/demo/lightning_logs/version_N/checkpoints/*.ckpt``) under the current folder or the
    project holding this package. Checkpoints are found at any depth below these folders."""
    if settings.MODELS_DIR:
        return [Path(settings.MODELS_DIR)]
    project = Path(waveunet_lit.__file__).resolve().parent.parent
    found = []
    for root in (Path.cwd(), project):
        folder = (root / "runs" / "demo").resolve()
        if folder not in found:
            found.append(folder)
    return found


_cache: dict[tuple[str, str, float], ModelInfo | None] = {}


def describe(path: Path, root: Path) -> ModelInfo | None:
    """Read a checkpoint's model configuration (None for a file that is not one of ours)."""
    key = (str(path), str(root), path.stat().st_mtime)
    if key not in _cache:
        try:
            from waveunet_lit.checkpoint import model_from, read_checkpoint

            ckpt = read_checkpoint(path)
            model = model_from(ckpt, path)  # the library's reading of it, so what is offered loads
            when = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC).strftime("%Y-%m-%d")
            origin = f"trained {ckpt.get('global_step', '?')} steps ({ckpt.get('epoch', 0) + 1} epochs), {when}"
            _cache[key] = ModelInfo(path.relative_to(root).as_posix(), path, type(model).__name__, tuple(model.sources),
                                    int(model.sample_rate), int(model.channels), origin)
        except Exception:  # noqa: BLE001 - a foreign or broken file is simply not offered
            _cache[key] = None
    return _cache[key]


def available_models() -> list[ModelInfo]:
    """Every usable checkpoint: the ``best.ckpt`` files first, newest first."""
    found: dict[str, ModelInfo] = {}
    for folder in models_dirs():
        for path in folder.rglob("*.ckpt") if folder.is_dir() else []:
            info = describe(path, folder)
            if info is not None and info.name not in found:
                found[info.name] = info
    return sorted(found.values(), key=lambda m: (m.path.name != "best.ckpt", -m.path.stat().st_mtime, m.name))


def find_model(name: str) -> ModelInfo | None:
    """The offered checkpoint called ``name`` (a name from the form, never a path), or None."""
    return next((m for m in available_models() if m.name == name), None)


def missing_models_hint() -> str:
    folders = ", ".join(str(f) for f in models_dirs())
    return (f"No model checkpoints found (looked in {folders}). Train the demo model with `make demo`, "
            "or start with `waveunet web --models FOLDER` pointing at a folder of .ckpt files.")
