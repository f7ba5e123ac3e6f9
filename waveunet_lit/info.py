"""What a model costs: parameters, receptive field, lengths and multiply-accumulates.

``waveunet info -c CONFIG`` prints :func:`info_from_config` for any shipped config::

    >>> from waveunet_lit.models.strided import StridedWaveUNet
    >>> info = model_info(StridedWaveUNet(levels=2, features=4, sample_rate=8000), seconds=0.5)
    >>> info["output_length"], info["receptive_field"] == StridedWaveUNet(levels=2, features=4).receptive_field()
    (4000, True)

Multiply-accumulates (MACs) are counted exactly, layer by layer, by forward hooks on a forward
pass of a batch of one: ``Conv1d``/``Conv2d`` (output elements x input channels per group x
kernel), ``ConvTranspose1d``/``2d`` (input elements x output channels per group x kernel),
``Linear`` (output elements x input features), ``LSTM`` (per step, layer and direction
``4 H (I + H)``, plus ``H P`` with a projection) and the fixed sinc resamplers of the port
(elements x taps). Normalisations, activations and interpolation are not counted. Per second of
audio means per second of *output*.
"""

import copy
from pathlib import Path

import torch
from torch import nn

from .config import instantiate, load_config, model_node
from .models.grouped import GroupedLinear
from .models.port import SincResample
from .receptive_field import receptive_field

__all__ = ["count_macs", "model_info", "format_info", "info_from_config", "build_from_config"]


def _layer_macs(module: nn.Module, inputs: tuple, output) -> int:
    x = inputs[0]
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return output.numel() * (module.in_channels // module.groups) * _prod(module.kernel_size)
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
        return x.numel() * (module.out_channels // module.groups) * _prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return output.numel() // module.out_features * module.in_features * module.out_features
    if isinstance(module, GroupedLinear):  # every output value of every group: in_features MACs
        return output.numel() * module.in_features
    if isinstance(module, nn.LSTM):
        steps = x.shape[1 if module.batch_first else 0] if x.dim() == 3 else x.shape[0]
        batch = x.shape[0 if module.batch_first else 1] if x.dim() == 3 else 1
        H, P = module.hidden_size, module.proj_size
        out_size = P or H
        total = 0
        for layer in range(module.num_layers):
            I = module.input_size if layer == 0 else out_size * (2 if module.bidirectional else 1)
            per_step = 4 * H * (I + out_size) + (H * P if P else 0)
            total += per_step * (2 if module.bidirectional else 1)
        return total * steps * batch
    if isinstance(module, SincResample):  # x: (B, D, n) or (B, D, 1, n)
        B, D, n = x.shape[0], x.shape[1], x.shape[-1]
        if module.transpose:
            return B * D * (n + module.taps - 1) * module.taps
        return output.numel() * module.taps
    return 0


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


COUNTED = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear, GroupedLinear, nn.LSTM, SincResample)


def count_macs(model: nn.Module, n_in: int) -> int:
    """Multiply-accumulates of one forward pass on a mono/stereo input ``(1, C, n_in)``.

    Example:
        >>> conv = nn.Sequential(nn.Conv1d(2, 3, 5))
        >>> conv.channels = 2
        >>> count_macs(conv, 14)  # 10 outputs x 3 channels x (2 x 5) taps
        300
    """
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        out = output[0] if isinstance(output, tuple) else output
        total += _layer_macs(module, inputs, out)

    probe = copy.deepcopy(model).eval()
    handles = [m.register_forward_hook(hook) for m in probe.modules() if isinstance(m, COUNTED)]
    try:
        with torch.no_grad():
            probe(torch.zeros(1, getattr(model, "channels", 1), n_in))
    finally:
        for h in handles:
            h.remove()
    return total


def model_info(model: nn.Module, seconds: float = 1.0) -> dict:
    """Parameters, receptive field, lengths and MACs of a model, for an output of ``seconds``.

    Returns:
        a dict with ``name``, ``parameters``, ``sample_rate``, ``receptive_field`` (samples or
        None when the model has no formula), ``receptive_field_seconds``, ``output_length`` (the
        chosen output segment), ``input_length`` (``valid_length`` of it), ``actual_output``
        (``output_length(input_length)``), ``macs`` (one forward pass) and ``macs_per_second``
        (both None when the model cannot run yet, e.g. an unfitted NMF).
    """
    rate = int(model.sample_rate)
    segment = max(1, round(seconds * rate))
    n_in = model.valid_length(segment)
    n_out = model.output_length(n_in)
    try:
        rf = receptive_field(model)
    except TypeError:
        rf = None
    try:
        macs = count_macs(model, n_in)
    except (ValueError, RuntimeError):  # e.g. an NMF model whose dictionaries are not fitted yet
        macs = None
    return {
        "name": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "sample_rate": rate,
        "receptive_field": rf,
        "receptive_field_seconds": None if rf is None else rf / rate,
        "output_length": segment,
        "input_length": n_in,
        "actual_output": n_out,
        "macs": macs,
        "macs_per_second": None if macs is None else macs * rate / n_out,
    }


def format_info(info: dict) -> str:
    """The report of :func:`model_info` as aligned text lines."""
    rf = info["receptive_field"]
    rf_text = "n/a" if rf is None else f"{rf} samples = {info['receptive_field_seconds'] * 1000:.1f} ms"
    rows = [
        ("model", info["name"]),
        ("parameters", f"{info['parameters']:,}"),
        ("sample rate", f"{info['sample_rate']} Hz"),
        ("receptive field", rf_text),
        ("output segment", f"{info['output_length']} samples"),
        ("input length", f"{info['input_length']} samples (valid_length)"),
        ("output length", f"{info['actual_output']} samples (output_length of the input)"),
    ]
    if info["macs"] is None:
        rows.append(("MACs", "n/a (the model cannot run a forward pass yet)"))
    else:
        rows.append(("MACs per pass", f"{info['macs'] / 1e9:.3f} G"))
        rows.append(("MACs per second", f"{info['macs_per_second'] / 1e9:.3f} G per second of audio"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def build_from_config(path: str | Path) -> nn.Module:
    """The separation ``nn.Module`` of a LightningCLI config (``model.init_args.model``), built
    the way ``lightning fit`` builds it (:func:`waveunet_lit.config.instantiate`)."""
    return instantiate(model_node(load_config(path), str(path)))


def info_from_config(path: str | Path, seconds: float = 1.0) -> str:
    """The printed report of ``waveunet info -c CONFIG``.

    Example:
        >>> import waveunet_lit
        >>> config = Path(waveunet_lit.__file__).parent / "configs" / "strided.yaml"
        >>> "receptive field" in info_from_config(config)
        True
    """
    return f"config: {path}\n" + format_info(model_info(build_from_config(path), seconds))
