"""waveunet-lit: music source separation for teaching, built on PyTorch Lightning.

The names below are loaded on first use (PEP 562), so ``import waveunet_lit.separate`` or
``waveunet separate`` does not import Lightning (about 250 MB): separating a song needs torch and
the model, not the trainer. ``from waveunet_lit import Separator`` works as usual.

Example:
    >>> import waveunet_lit
    >>> waveunet_lit.WaveUNet.__name__
    'WaveUNet'
"""

import importlib

__version__ = "0.1.0"

# name -> the submodule that defines it
_LAZY = {
    "MusdbDataModule": "data", "generate_toy_musdb": "data", "WaveUNet": "models", "center_crop": "models",
    "NMFSeparator": "nmf_system", "Separator": "system", "load_separator": "system", "load_model": "checkpoint",
}
__all__ = [*sorted(_LAZY), "__version__"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'waveunet_lit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
