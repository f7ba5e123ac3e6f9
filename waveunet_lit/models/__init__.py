"""Separation architectures: plain ``nn.Module`` s, no Lightning. The contract every model
follows is written down in :mod:`waveunet_lit.models.common`."""

from .band_split_rnn import BandSplitRNN
from .common import center_crop
from .dilated import DilatedWaveUNet
from .mask_unet import MaskUNet
from .nmf import NMF
from .port import PortWaveUNet
from .spec_unet import SpecUNet
from .stft import STFT
from .strided import StridedWaveUNet
from .wave_u_net import PRESETS, WaveUNet

__all__ = [
    "BandSplitRNN", "center_crop", "DilatedWaveUNet", "MaskUNet", "NMF", "PortWaveUNet",
    "PRESETS", "SpecUNet", "STFT", "StridedWaveUNet", "WaveUNet",
]
