"""Separation architectures: plain ``nn.Module`` s, no Lightning. The contract every model
follows is written down in :mod:`waveunet_lit.models.common`."""

from .common import center_crop
from .wave_u_net import PRESETS, WaveUNet

__all__ = ["center_crop", "PRESETS", "WaveUNet"]
