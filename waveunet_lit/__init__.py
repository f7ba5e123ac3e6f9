"""waveunet-lit: music source separation for teaching, built on PyTorch Lightning."""

from .data import MusdbDataModule, generate_toy_musdb
from .models import WaveUNet, center_crop
from .nmf_system import NMFSeparator
from .system import Separator, load_separator

__version__ = "0.1.0"
__all__ = ["MusdbDataModule", "NMFSeparator", "Separator", "WaveUNet", "center_crop", "generate_toy_musdb", "load_separator", "__version__"]
