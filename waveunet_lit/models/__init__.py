"""Separation architectures: plain ``nn.Module`` s, no Lightning. The contract every model
follows is written down in :mod:`waveunet_lit.models.common`."""

from .band_split_rnn import BandSplitRNN
from .common import center_crop
from .nmf import NMF
from .spec_unet import SpecUNet
from .stft import STFT
from .wave_u_net import PRESETS, WaveUNet

__all__ = ["BandSplitRNN", "center_crop", "NMF", "PRESETS", "SpecUNet", "STFT", "WaveUNet"]
