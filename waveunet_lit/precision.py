"""Lightning's precision names, the autocast dtype behind each, and whether bfloat16 is fast here.

``bf16-mixed`` runs convolutions, matrix products and LSTMs in bfloat16 under
``torch.autocast`` and keeps the weights, normalisations and loss in float32. Where the hardware
multiplies bfloat16 natively (CPUs with AVX512-BF16 or AMX through oneDNN; NVIDIA GPUs from
Ampere on) that about halves the time of a convolution-heavy training step: the port recipe's
step took 6.6 s instead of 15.9 s on one core of the 2-core AVX512-BF16 machine these recipes
were measured on (``bench/port_vs_f90.py``, with :mod:`waveunet_lit.models.polyphase`).
Elsewhere bfloat16 is emulated and *slower* than float32, so :func:`precision_warning` says so
before a run starts. On a CPU without it, :func:`train_precision` trains in ``32-true`` instead:
there emulation is not only slower, oneDNN's LSTM refuses bfloat16 input beside float32 weights
("could not create a primitive descriptor for the LSTM forward propagation primitive", torch
2.11 on an AVX2 AMD EPYC), so the band-split recipes could not train at all.

Example:
    >>> autocast_dtype("bf16-mixed"), autocast_dtype("32-true")
    (torch.bfloat16, None)
"""

import torch

__all__ = ["AUTOCAST_DTYPES", "autocast_dtype", "bf16_is_native", "device_type", "precision_warning", "train_precision"]

#: Lightning precision -> the dtype ``torch.autocast`` computes in (``None``: no autocast).
AUTOCAST_DTYPES = {
    "32-true": None, "32": None, 32: None,
    "16-mixed": torch.float16, "16": torch.float16, 16: torch.float16,
    "bf16-mixed": torch.bfloat16, "bf16": torch.bfloat16,
}


def autocast_dtype(precision) -> torch.dtype | None:
    """The autocast dtype of a Lightning ``precision`` (``ValueError`` for a name it does not take)."""
    try:
        return AUTOCAST_DTYPES[precision]
    except (KeyError, TypeError):
        raise ValueError(f"precision {precision!r}: expected one of 32-true, 16-mixed, bf16-mixed") from None


def bf16_is_native(device_type: str) -> bool:
    """Whether ``device_type`` (``"cpu"`` or ``"cuda"``) multiplies bfloat16 in hardware.

    Example:
        >>> bf16_is_native("tpu")
        False
    """
    if device_type == "cpu":
        try:  # oneDNN's own test: AVX512-BF16 / AVX512 with AMX
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    return False


def precision_warning(precision, device_type: str) -> str | None:
    """A warning for ``bf16-mixed`` on hardware that only emulates bfloat16, else ``None``.

    Example:
        >>> precision_warning("32-true", "cpu") is None
        True
        >>> print(precision_warning("bf16-mixed", "tpu"))  # doctest: +ELLIPSIS
        precision bf16-mixed: this tpu has no native bfloat16, ...
    """
    if autocast_dtype(precision) is not torch.bfloat16 or bf16_is_native(device_type):
        return None
    better = "16-mixed (a GPU before Ampere, e.g. a T4) or 32-true" if device_type == "cuda" else "32-true"
    return (
        f"precision {precision}: this {device_type} has no native bfloat16, so bf16-mixed is emulated "
        f"and slower than float32; pass --trainer.precision {better}"
    )


def device_type(accelerator) -> str:
    """The device a Lightning ``accelerator`` setting (a name or an ``Accelerator`` object)
    trains on: ``"cuda"`` or ``"cpu"`` (others by their name).

    Example:
        >>> from lightning.pytorch.accelerators import CPUAccelerator
        >>> device_type("cpu"), device_type("gpu"), device_type(CPUAccelerator())
        ('cpu', 'cuda', 'cpu')
    """
    if accelerator is not None and not isinstance(accelerator, str):  # CPUAccelerator(), CUDAAccelerator()
        accelerator = type(accelerator).__name__.removesuffix("Accelerator")
    name = (accelerator or "auto").lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if name in ("gpu", "cuda") else name


def train_precision(precision, accelerator) -> tuple[object, str | None]:
    """The precision to train in and a warning to print (``None``: none).

    ``bf16-mixed`` on a CPU without native bfloat16 becomes ``32-true`` (emulated bfloat16 is
    slower there, and oneDNN's LSTM refuses it); on a GPU without it the precision is kept and
    :func:`precision_warning` suggests another. Every other precision is kept as given.

    Example:
        >>> train_precision("32-true", "cpu")
        ('32-true', None)
    """
    device = device_type(accelerator)
    warning = precision_warning(precision, device)
    if warning is None or device != "cpu":
        return precision, warning
    return "32-true", (f"precision {precision}: this cpu has no native bfloat16 (emulated bfloat16 is slower "
                       "than float32 and oneDNN's LSTM refuses it), so this run trains in 32-true")
