"""Full-length separation: any length, rate, channel count and format; tiling rules, shift
averaging, the stems of a difference output adding up to the song; atomic writes."""

import os
import shutil
import subprocess

import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF
from torch import nn

from waveunet_lit.models import PortWaveUNet, WaveUNet
from waveunet_lit.audio import write_audio
from waveunet_lit.separate import separate, separate_file, tile_plan


def net(channels=2, context=True):
    torch.manual_seed(0)
    return WaveUNet(sources=("vocals", "accompaniment"), channels=channels, sample_rate=8000, levels=3, features=4, context=context).eval()


@pytest.mark.parametrize("context", [True, False])
@pytest.mark.parametrize("channels_in", [1, 2, 3])
@pytest.mark.parametrize("length", [1, 37, 5000, 23456])
def test_any_length_and_channel_count(context, channels_in, length):
    model = net(channels=1 if channels_in == 3 else 2, context=context)
    out = separate(model, torch.randn(channels_in, length), rate=8000, segment=2000)
    assert out.shape == (2, channels_in, length)


def test_tiling_equals_one_big_forward_pass():
    """Tiles carry their own context, so tiling changes nothing for a 'valid' model."""
    model = net()
    song = torch.randn(2, 9000)
    n_out = 9000
    n_in = model.valid_length(n_out)
    offset = (n_in - model.output_length(n_in)) // 2
    padded = torch.nn.functional.pad(song, (offset, n_in - offset - 9000))
    with torch.no_grad():
        whole = model(padded[None])[0, ..., :9000]
    tiled = separate(model, song, rate=8000, segment=1000)
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)


def test_resampling_round_trip_keeps_difference_output_sum():
    model = net()
    t = torch.arange(22050) / 22050
    song = torch.stack([0.3 * torch.sin(2 * torch.pi * 220 * t), 0.2 * torch.sin(2 * torch.pi * 1500 * t)])
    stems = separate(model, song, rate=22050)  # 22.05 kHz -> 8 kHz model -> 22.05 kHz
    assert stems.shape == (2, 2, 22050)
    # below the model's Nyquist frequency the stems add up to the song, up to the resampler
    assert (stems.sum(0) - song)[:, 200:-200].abs().max() < 0.01


def test_nan_input_is_rejected():
    song = torch.zeros(2, 100)
    song[0, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        separate(net(), song, rate=8000)


def test_unwritable_output_folder(tmp_path):
    song = tmp_path / "song.wav"
    write_audio(song, torch.zeros(1, 800), 8000)
    blocker = tmp_path / "out"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(OSError, match="out"):
        separate_file(net(), song, blocker)


# ------------------------------------------------------------------ tiling rules


class Pointwise(nn.Module):
    """A shift-equivariant toy model: per-sample gains, 'valid' (crops ``crop`` samples each
    side) or 'same'; the last source is the mixture minus the others (difference output)."""

    sources, channels, sample_rate, period = ("vocals", "drums", "other"), 2, 8000, 1

    def __init__(self, crop=0):
        super().__init__()
        self.crop = crop
        self.mix = nn.Conv1d(2, 4, 1 + 2 * crop)  # sees 2 * crop + 1 samples: a real context
        torch.nn.init.normal_(self.mix.weight, std=0.3)

    def forward(self, mix):
        B, C, T = mix.shape
        first = self.mix(mix).reshape(B, 2, C, -1)  # (B, 2, C, T_out)
        rest = mix[..., self.crop : T - self.crop] - first.sum(1)  # (B, C, T_out)
        return torch.cat([first, rest[:, None]], 1)  # (B, S, C, T_out)

    def output_length(self, n):
        if n <= 2 * self.crop:
            raise ValueError("too short")
        return n - 2 * self.crop

    def valid_length(self, n):
        return n + 2 * self.crop


@pytest.mark.parametrize("crop", [0, 3])  # 'same' (overlap-add) and 'valid' (context tiles)
@pytest.mark.parametrize("shifts, mode", [(0, "fixed"), (3, "fixed"), (2, "random")])
def test_tiles_and_shifts_of_a_shift_equivariant_model_equal_one_pass(crop, shifts, mode):
    """For a model that commutes with shifts, neither the tile borders, the cross-fade
    weights nor the shift averaging may change anything: they must equal one big pass."""
    torch.manual_seed(0)
    model = Pointwise(crop).eval()
    song = torch.randn(2, 5003)
    with torch.no_grad():
        whole = model(torch.nn.functional.pad(song, (crop, crop))[None])[0]  # (S, C, T)
    tiled = separate(model, song, rate=8000, segment=700, batch_size=3, shifts=shifts, shift_mode=mode)
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)


def test_overlap_add_is_used_for_same_models_and_context_tiles_for_valid_ones():
    same = tile_plan(net(context=False), segment=1000, overlap=0.25)
    valid = tile_plan(net(context=True), segment=1000)
    assert same["overlap_add"] and same["n_in"] == same["n_out"] and same["hop"] < same["n_in"]
    assert not valid["overlap_add"] and valid["hop"] % 8 == 0 and valid["n_in"] > valid["n_out"]


@pytest.mark.parametrize("context", [True, False])
@pytest.mark.parametrize("shifts, mode", [(0, "fixed"), (3, "random")])
def test_difference_output_stems_sum_to_the_mixture(context, shifts, mode):
    model = net(context=context)
    song = 0.5 * torch.randn(2, 7777)
    stems = separate(model, song, rate=8000, segment=1024, shifts=shifts, shift_mode=mode)
    torch.testing.assert_close(stems.sum(0), song, atol=1e-5, rtol=0)


def whole_pass(model, song):
    """One forward pass over the song, zero context at both ends: ``(S, C, T)``."""
    T = song.shape[-1]
    n_in = model.valid_length(T)
    offset = (n_in - model.output_length(n_in)) // 2
    with torch.no_grad():
        return model(torch.nn.functional.pad(song, (offset, n_in - offset - T))[None])[0, ..., :T]


def shift_average_error(model, song, shifts=4):
    """Largest difference between separate(shifts=4) and the mean of the song delayed by
    0, 2, 4, 6 samples (a period of 8 in 4 steps), each separated in one pass and moved back:
    computed here without separate()."""
    T = song.shape[-1]
    delays = [k * model.period // shifts for k in range(shifts)]
    expected = torch.stack([whole_pass(model, torch.nn.functional.pad(song, (d, 0)))[..., d : d + T] for d in delays]).mean(0)
    return float((separate(model, song, rate=8000, segment=500, shifts=shifts) - expected).abs().max())


def test_shift_averaging_is_the_mean_of_the_delayed_passes():
    model, song = net(), torch.randn(2, 4000)
    assert model.period == 8 and shift_average_error(model, song) < 1e-5
    plain, shifted = separate(model, song, rate=8000, segment=500), separate(model, song, rate=8000, segment=500, shifts=4)
    assert (plain - shifted).abs().max() > 1e-3  # sub-period shifts do change a decimating U-Net


def test_shift_averaging_check_catches_wrong_offsets(monkeypatch):
    import waveunet_lit.separate as sep

    monkeypatch.setattr(sep, "_shift_offsets", lambda shifts, period, mode, seed: list(range(shifts)))  # 0, 1, 2, 3
    assert shift_average_error(net(), torch.randn(2, 4000)) > 1e-3


def port(resampling):
    torch.manual_seed(0)
    return PortWaveUNet(sources=("vocals", "accompaniment"), channels=2, sample_rate=8000, features=8, levels=3,
                        strides=4, norm="none", resampling=resampling).eval()


@pytest.mark.parametrize("resampling, tolerance", [("learned", 1e-6), ("fixed", 1e-5)])
def test_port_tiles_start_on_its_period_and_equal_one_pass(resampling, tolerance):
    """The port's output follows shifts by strides ** (levels - 1) = 16 only; tiles one hop of
    1001 samples apart gave 5e-4 relative error. Its fixed resampler reflect-pads, which
    reaches the first output samples of a tile: there tiling is exact to ~1e-6 relative."""
    model, song = port(resampling), 0.3 * torch.randn(2, 9000)
    assert tile_plan(model, segment=1000)["hop"] % model.period == 0
    tiled, whole = separate(model, song, rate=8000, segment=1000), whole_pass(model, song)
    assert ((tiled - whole).norm() / whole.norm()) < tolerance


def test_port_tiles_off_its_period_are_caught(monkeypatch):
    """The same check on tiles that ignore the period (a period of 1) fails."""
    model, song = port("fixed"), 0.3 * torch.randn(2, 9000)
    monkeypatch.setattr(PortWaveUNet, "period", property(lambda self: 1))
    assert tile_plan(model, segment=1000)["hop"] % 16 != 0
    tiled, whole = separate(model, song, rate=8000, segment=1000), whole_pass(model, song)
    assert ((tiled - whole).norm() / whole.norm()) > 1e-4


def test_bad_separation_arguments():
    song = torch.randn(2, 100)
    for kwargs, word in (({"batch_size": 0}, "batch_size"), ({"shifts": -1}, "shifts"), ({"overlap": 1.0}, "overlap"),
                         ({"segment": 0}, "segment"), ({"shifts": 2, "shift_mode": "sideways"}, "shift_mode")):
        with pytest.raises(ValueError, match=word):
            separate(net(), song, rate=8000, **kwargs)
    with pytest.raises(ValueError, match="4 channels to a 2-channel"):
        separate(net(), torch.randn(4, 100), rate=8000)


def test_progress_bar_runs(capsys):
    out = separate(net(), torch.randn(2, 3000), rate=8000, segment=500, progress=True)
    assert out.shape == (2, 2, 3000)


def tone(seconds=0.5, rate=8000, channels=2):
    t = torch.arange(int(seconds * rate)) / rate
    return torch.stack([0.3 * torch.sin(2 * torch.pi * 440 * (c + 1) * t) for c in range(channels)])


def test_separate_file_writes_flac_stems_at_the_song_rate(tmp_path):
    song = tmp_path / "song.ogg"
    sf.write(song, tone(0.5, 11025, channels=1).T.numpy(), 11025)
    paths = separate_file(net(), song, tmp_path / "out", ext="flac", shifts=2)
    assert [p.name for p in paths] == ["vocals.flac", "accompaniment.flac"]
    for p in paths:
        info = sf.info(p)
        assert info.samplerate == 11025 and info.channels == 1 and abs(info.frames - 5512) <= 1


def test_cross_fade_window_is_positive_and_sums_to_one_where_tiles_overlap():
    from waveunet_lit.separate import _fade_window

    n, hop = 100, 70
    w = _fade_window(n, hop)
    assert (w > 0).all() and w.max() == 1
    total = torch.zeros(3 * hop + n)
    for k in range(4):
        total[k * hop : k * hop + n] += w
    torch.testing.assert_close(total[n - hop : 3 * hop], torch.ones(3 * hop - n + hop))  # interior: partition of unity
