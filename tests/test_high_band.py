"""fill_high_band shares the band above a model's Nyquist frequency among the stems as they
share the band just below, leaves the band below alone, and refuses bad input by name."""

import re

import pytest
import torch

from waveunet_lit.high_band import fill_high_band
from waveunet_lit.models import WaveUNet
from waveunet_lit.separate import separate

RATE = 44100


def band_energy(x: torch.Tensor, lo: float, hi: float) -> float:
    """Energy of ``x (..., T)`` between ``lo`` and ``hi`` Hz."""
    spec = torch.fft.rfft(x.double(), dim=-1)
    freqs = torch.fft.rfftfreq(x.shape[-1], 1 / RATE)
    return float(spec[..., (freqs >= lo) & (freqs < hi)].abs().square().sum())


def tones(*parts: tuple[float, float], seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(int(seconds * RATE)) / RATE
    return sum(a * torch.sin(2 * torch.pi * f * t) for f, a in parts)


@pytest.fixture
def song():
    """Two stereo sources and what a model at 16 kHz hears of them (everything below 8 kHz)."""
    g = torch.Generator().manual_seed(0)
    hats = torch.randn(2, RATE, generator=g) * 0.05  # broadband: most of it above 8 kHz
    high = torch.fft.rfft(hats)
    high[:, torch.fft.rfftfreq(RATE, 1 / RATE) < 8000] = 0
    drums = torch.stack([tones((200, 0.5)), tones((200, 0.4))]) + hats
    bass = torch.stack([tones((55, 0.8), (110, 0.3))] * 2)
    refs = torch.stack([drums, bass])  # (S, C, T)
    heard = torch.stack([drums - torch.fft.irfft(high, RATE), bass])
    return refs, heard


def test_the_missing_band_goes_to_the_source_that_holds_the_band_below(song):
    refs, heard = song
    mix = refs.sum(0)
    out = fill_high_band(heard, mix, RATE, cutoff=8000)
    assert out.shape == heard.shape and out.dtype == heard.dtype
    # the drums got their band above 8 kHz back, the bass got (next to) nothing of it
    missing = band_energy(refs[0] - heard[0], 8000, RATE / 2)
    assert band_energy(refs[0] - out[0], 8000, RATE / 2) < missing / 100
    assert band_energy(out[1] - heard[1], 0, RATE / 2) < missing / 1000
    # above the filled band's start the stems add up to the mixture; below it nothing changed
    assert band_energy(mix - out.sum(0), 7700, RATE / 2) < missing / 1000
    assert band_energy(out - heard, 0, 7000) < missing / 1e6


def test_a_model_at_the_songs_rate_changes_nothing(song):
    refs, heard = song
    assert fill_high_band(heard, refs.sum(0), RATE, cutoff=RATE / 2) is heard


def test_where_no_source_holds_the_band_below_each_gets_an_equal_share(song):
    refs, _ = song
    mix = refs.sum(0)
    out = fill_high_band(torch.zeros_like(refs), mix, RATE, cutoff=8000)
    assert torch.allclose(out[0], out[1])  # no share to go by: half each
    assert band_energy(mix - out.sum(0), 7700, RATE / 2) < 1e-3 * band_energy(mix, 7700, RATE / 2)


@pytest.mark.parametrize("T", [1, 100, 5000])
def test_short_songs(T):
    mix = torch.randn(2, T)
    out = fill_high_band(torch.stack([mix / 2, mix / 2]), mix, RATE, cutoff=8000)
    assert out.shape == (2, 2, T) and torch.isfinite(out).all()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"estimates": torch.zeros(2, 1, 100)}, "expects estimates (S, C, T) of a mixture (C, T), got (2, 1, 100) and (2, 100)"),
        ({"mix": torch.zeros(2, 100, dtype=torch.int16)}, "expects real float waveforms"),
        ({"cutoff": 0}, "rate and cutoff must be > 0 Hz, got 44100 and 0"),
        ({"n_fft": 1022}, "n_fft must be a multiple of 4 (hop n_fft / 4), got 1022"),
        ({"ref_low": 0.95}, "need 0 < ref_low < start <= 1, got ref_low=0.95 and start=0.95"),
        ({"start": 1.5}, "need 0 < ref_low < start <= 1, got ref_low=0.75 and start=1.5"),
        ({"n_fft": 8}, "no STFT bin between 6000 and 7600 Hz at n_fft=8: raise n_fft"),
        ({"mix": torch.full((2, 100), float("nan"))}, "contain NaN or infinite samples"),
    ],
)
def test_bad_input_is_named(change, message):
    args = {"estimates": torch.zeros(2, 2, 100), "mix": torch.zeros(2, 100), "rate": RATE, "cutoff": 8000, **change}
    with pytest.raises(ValueError, match=re.escape(message)):
        fill_high_band(**args)


def test_separate_fills_the_band_above_a_lower_rate_models_nyquist_only():
    torch.manual_seed(0)
    net = WaveUNet(sources=("vocals", "accompaniment"), channels=2, sample_rate=8000, levels=3, features=4).eval()
    mix = torch.randn(2, RATE) * 0.1
    plain = separate(net, mix, RATE)
    filled = separate(net, mix, RATE, high_band=True)
    assert band_energy(filled - plain, 0, 3500) < 1e-6 * band_energy(plain, 0, 3500)  # below: the model's stems
    assert band_energy(mix - filled.sum(0), 3900, RATE / 2) < 1e-3 * band_energy(mix, 3900, RATE / 2)  # above: all shared
    same_rate = WaveUNet(sources=("vocals", "accompaniment"), channels=2, sample_rate=RATE, levels=3, features=4).eval()
    assert torch.equal(separate(same_rate, mix[:, :8000], RATE, high_band=True), separate(same_rate, mix[:, :8000], RATE))
