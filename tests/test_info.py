"""Model report: exact MAC counts, lengths, receptive fields, and the report for every config."""

from pathlib import Path

import pytest
import torch
from torch import nn

import waveunet_lit
from waveunet_lit.info import build_from_config, count_macs, format_info, info_from_config, model_info
from waveunet_lit.models.band_split_rnn import BandSplitRNN
from waveunet_lit.models.port import PortWaveUNet
from waveunet_lit.models.strided import StridedWaveUNet
from waveunet_lit.models.wave_u_net import WaveUNet
from waveunet_lit.receptive_field import measure_receptive_field, waveunet_receptive_field

CONFIG_DIR = Path(waveunet_lit.__file__).parent / "configs"
OURS = ["strided", "dilated", "mask_unet", "port"]


class Wrap(nn.Module):
    """Lets a single layer be counted by count_macs, which feeds (1, channels, n)."""

    def __init__(self, layer: nn.Module, channels: int):
        super().__init__()
        self.layer, self.channels = layer, channels

    def forward(self, x):
        if isinstance(self.layer, nn.LSTM):
            return self.layer(x.transpose(1, 2))[0]
        if isinstance(self.layer, nn.Linear):
            return self.layer(x.transpose(1, 2))
        return self.layer(x)


@pytest.mark.parametrize(
    "layer,channels,n,expected",
    [
        (nn.Conv1d(3, 5, 7), 3, 20, 14 * 5 * 3 * 7),
        (nn.Conv1d(4, 8, 3, stride=2, padding=1, groups=2), 4, 10, 5 * 8 * 2 * 3),
        (nn.ConvTranspose1d(3, 5, 4, stride=2), 3, 10, 10 * 3 * 5 * 4),
        (nn.Linear(6, 9), 6, 11, 11 * 6 * 9),
        (nn.LSTM(6, 4), 6, 11, 11 * 4 * 4 * (6 + 4)),
        (nn.LSTM(6, 4, num_layers=2, bidirectional=True, batch_first=True), 6, 11, 11 * 2 * 4 * 4 * ((6 + 4) + (8 + 4))),
    ],
)
def test_count_macs_is_exact_per_layer(layer, channels, n, expected):
    assert count_macs(Wrap(layer, channels), n) == expected


def test_count_macs_of_a_whole_model_by_arithmetic():
    net = StridedWaveUNet(sources=("a", "b"), channels=1, levels=1, features=2, kernel_size=4, stride=2, padding=1, bottleneck_kernel=3)
    n = 100  # x1: 50 samples; down 2x1x4 per output, bottleneck 4x2x3, up (4+2)->2 x4, heads (2+1)->1
    expected = 50 * 2 * 1 * 4 + 50 * 4 * 2 * 3 + 50 * 6 * 2 * 4 + 2 * (100 * 1 * 3)
    assert count_macs(net, n) == expected


def test_count_macs_of_a_band_split_rnn_counts_every_band_layer():
    S, C, D, H, M, r = 2, 2, 4, 3, 5, 2  # sources, channels, features, BLSTM units, mask MLP units, SE reduction
    net = BandSplitRNN(sources=("a", "b"), channels=C, sample_rate=8000, n_fft=64, hop_length=16,
                       band_edges=(0, 500, 1000, 2000, 4000), features=D, hidden=H, layers=1, mlp_hidden=M,
                       se_reduction=r)
    n = 160
    N = net.stft(torch.zeros(1, C, n)).shape[-1]
    widths, K = net.band_widths, len(net.band_widths)
    band_in = sum(N * 2 * C * w * D for w in widths)
    masks = S * K * N * D * M + S * sum(N * M * 2 * 2 * C * w for w in widths)
    lstm = 2 * 4 * H * (D + H) * K * N  # both directions, every step of every sequence, twice (time, bands)
    proj = K * N * 2 * H * D  # Linear(2 H, D) after each BLSTM
    se = D * (D // r) + (D // r) * D  # one squeezed vector per SE layer
    assert count_macs(net, n) == band_in + masks + 2 * (lstm + proj + se)


def test_model_info_is_consistent_with_the_model():
    net = PortWaveUNet(sources=("a", "b"), channels=2, features=8, levels=3, strides=2, norm="none", sample_rate=8000)
    info = model_info(net, seconds=0.25)
    assert info["output_length"] == 2000
    assert info["input_length"] == net.valid_length(2000)
    assert info["actual_output"] == net.output_length(info["input_length"]) >= 2000
    assert info["parameters"] == sum(p.numel() for p in net.parameters())
    assert info["receptive_field"] == net.receptive_field()
    assert info["receptive_field_seconds"] == pytest.approx(info["receptive_field"] / 8000)
    assert info["macs_per_second"] == pytest.approx(info["macs"] * 8000 / info["actual_output"])
    text = format_info(info)
    assert "PortWaveUNet" in text and f"{info['parameters']:,}" in text


def test_macs_per_second_hardly_depends_on_the_segment():
    net = StridedWaveUNet(levels=3, features=4, sample_rate=8000)
    one, four = model_info(net, 1.0)["macs_per_second"], model_info(net, 4.0)["macs_per_second"]
    assert one == pytest.approx(four, rel=1e-3)


def test_waveunet_receptive_field_matches_probe_for_paper_like_settings():
    net = WaveUNet(sources=("a", "b"), channels=2, levels=4, features=2)
    rf = waveunet_receptive_field(net)
    assert measure_receptive_field(net, net.valid_length(64), outputs=16) == rf


@pytest.mark.parametrize("name", OURS)
def test_info_for_our_configs(name):
    text = info_from_config(CONFIG_DIR / f"{name}.yaml")
    for key in ("parameters", "receptive field", "input length", "output length", "MACs per second"):
        assert key in text
    model = build_from_config(CONFIG_DIR / f"{name}.yaml")
    assert f"{sum(p.numel() for p in model.parameters()):,}" in text


def test_info_for_the_classic_configs():
    text = info_from_config(CONFIG_DIR / "m4.yaml", seconds=16384 / 22050)
    assert "WaveUNet" in text and "147443" in text  # M4's input for 16384 outputs


def test_info_rejects_a_config_without_a_model(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("trainer: {max_epochs: 1}\n")
    with pytest.raises(ValueError, match="model"):
        info_from_config(path)
