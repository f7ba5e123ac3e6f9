"""Checks of notebook 12 (the Wave-U-Net family).

``predictions``: for each pair of configs in :data:`PAIRS`, which one has the larger receptive
field, ``"A"``, ``"B"`` or ``"same"``. The check computes both with
:func:`waveunet_lit.receptive_field.receptive_field`.
"""

from ..models import StridedWaveUNet, WaveUNet
from ..receptive_field import receptive_field
from . import expect

__all__ = ["CHECKS", "PAIRS", "build", "check_predictions"]

#: name -> (config A, config B): a model class and the arguments that differ from its defaults
#: (every model here is mono, with 2 features per level: neither changes the receptive field).
PAIRS = {
    "depth_or_kernel": ((WaveUNet, dict(levels=6, down_kernel=5)), (WaveUNet, dict(levels=4, down_kernel=15))),
    "context": ((WaveUNet, dict(levels=5, context=True)), (WaveUNet, dict(levels=5, context=False))),
    "strided": (
        (StridedWaveUNet, dict(levels=4, kernel_size=8, stride=4, padding=2)),
        (StridedWaveUNet, dict(levels=6, kernel_size=4, stride=2, padding=1)),
    ),
}


def build(config) -> object:
    """The model of one side of a pair.

    Example:
        >>> build(PAIRS["context"][0]).levels
        5
    """
    cls, kwargs = config
    return cls(channels=1, features=2, **kwargs)


def _truth(name: str) -> tuple[str, int, int]:
    a, b = (receptive_field(build(c)) for c in PAIRS[name])
    return ("A" if a > b else "B" if b > a else "same"), a, b


def check_predictions(predictions) -> str:
    """Every pair predicted right, as ``"A"``, ``"B"`` or ``"same"``."""
    expect(isinstance(predictions, dict), "predictions must be a dict: pair name -> 'A', 'B' or 'same'")
    missing = [n for n in PAIRS if predictions.get(n) not in ("A", "B", "same")]
    expect(not missing, f"predict every pair with 'A', 'B' or 'same'; still to do: {missing}")
    for name in PAIRS:
        want, a, b = _truth(name)
        expect(
            predictions[name] == want,
            f"{name}: you said {predictions[name]!r}, but A sees {a} samples and B {b}. Each level multiplies what "
            "the layers below it see by the resampling factor; padding changes lengths, not what an output sees",
        )
    return "all predictions right: " + ", ".join(f"{n} {_truth(n)[0]}" for n in PAIRS)


CHECKS = {"predictions": check_predictions}
