"""The multichannel Wiener post-filter: exact STFT round trip, estimates that add up to the
mixture, leakage moved back where it belongs, the spatial model used, and bad input refused."""

import pytest
import torch

from waveunet_lit import wiener as wiener_module
from waveunet_lit.separate import separate
from waveunet_lit.wiener import wiener

RATE = 8000


def tones(*freqs, seconds=2.0, gains=None):
    t = torch.arange(int(seconds * RATE)) / RATE
    gains = gains or [1.0] * len(freqs)
    return [g * torch.sin(2 * torch.pi * f * t) for f, g in zip(freqs, gains)]


def stereo(signal, left, right):
    return torch.stack([left * signal, right * signal])  # (2, T)


def sq_error(est, ref):
    return float(((est - ref) ** 2).sum())


def test_without_the_em_step_the_stft_round_trip_is_exact(monkeypatch):
    est = torch.randn(3, 2, 5003, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    monkeypatch.setattr(wiener_module, "_em_step", lambda y, x, eps: y)
    for frames in (1, 7, 300):  # chunks of every size give the same overlap-add
        out = wiener(est, est.sum(0), n_fft=256, frames=frames)
        assert torch.allclose(out, est, atol=1e-12, rtol=0)


def test_zero_iterations_change_nothing():
    est = torch.randn(2, 1, 1000)
    assert wiener(est, est.sum(0), iterations=0) is est


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_the_estimates_add_up_to_the_mixture(channels):
    g = torch.Generator().manual_seed(1)
    sources = torch.randn(3, channels, 6000, generator=g)
    est = sources + 0.5 * torch.randn(3, channels, 6000, generator=g)  # far from adding up
    mix = sources.sum(0)
    out = wiener(est, mix, iterations=2, n_fft=512)
    assert out.shape == est.shape and out.dtype == est.dtype
    assert (out.sum(0) - mix).abs().max() < 1e-4 * mix.abs().max()
    assert (est.sum(0) - mix).abs().max() > 0.5  # the check above could fail


def test_leakage_between_sources_of_different_spectra_goes_back():
    low, high = tones(200, 1500, gains=[1.0, 0.5])
    ref = torch.stack([stereo(low, 1, 1), stereo(high, 1, 1)])  # (S, C, T)
    leaky = torch.stack([ref[0] + 0.3 * ref[1], ref[1] + 0.3 * ref[0]])
    mix = ref.sum(0)
    one, two = (wiener(leaky, mix, iterations=n, n_fft=512) for n in (1, 2))
    assert sq_error(one, ref) < sq_error(leaky, ref) / 5
    assert sq_error(two, ref) < sq_error(one, ref) / 5  # each EM step sharpens the masks


def test_sources_of_one_spectrum_are_told_apart_by_where_they_sit():
    # two noises with the same spectrum, one hard left, one hard right: the estimates' powers
    # are about equal in every bin, so the spatial covariances do the splitting
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(2, 16000, generator=g)
    ref = torch.stack([stereo(a, 1.0, 0.0), stereo(b, 0.0, 1.0)])
    mix = ref.sum(0)
    est = torch.stack([ref[0] + 0.5 * ref[1], ref[1] + 0.5 * ref[0]])  # each leaks into the other's channel
    errors = [sq_error(wiener(est, mix, iterations=n, n_fft=512), ref) for n in (1, 3)]
    assert errors[0] < sq_error(est, ref) / 4 and errors[1] < sq_error(est, ref) / 30


def test_a_silent_estimate_stays_silent_and_the_others_take_the_mixture():
    (tone,) = tones(440)
    mix = stereo(tone, 1, 0.5)
    est = torch.stack([0.8 * mix, torch.zeros_like(mix)])
    out = wiener(est, mix, n_fft=512)
    assert torch.isfinite(out).all() and out[1].abs().max() == 0
    assert torch.allclose(out[0], mix, atol=1e-4)


def test_separate_applies_it_at_the_songs_rate():
    from waveunet_lit.models import WaveUNet

    net = WaveUNet(sources=("vocals", "accompaniment"), channels=2, sample_rate=8000, levels=3, features=4).eval()
    mix = torch.randn(2, 11025, generator=torch.Generator().manual_seed(3))
    plain = separate(net, mix, rate=11025)
    filtered = separate(net, mix, rate=11025, wiener=1)
    assert filtered.shape == plain.shape == (2, 2, 11025)
    assert torch.allclose(filtered, wiener(plain, mix))
    assert (filtered.sum(0) - mix).abs().max() < 1e-3 < (plain.sum(0) - mix).abs().max()
    with pytest.raises(ValueError, match="wiener must be >= 0 iterations, got -1"):
        separate(net, mix, rate=11025, wiener=-1)


def test_separate_passes_the_filters_frame_on_and_checks_it_first(monkeypatch):
    from waveunet_lit.models import WaveUNet

    net = WaveUNet(sources=("vocals", "accompaniment"), channels=2, sample_rate=8000, levels=3, features=4).eval()
    mix = torch.randn(2, 11025, generator=torch.Generator().manual_seed(3))
    plain = separate(net, mix, rate=11025)
    short = separate(net, mix, rate=11025, wiener=1, wiener_fft=512)
    assert torch.allclose(short, wiener(plain, mix, n_fft=512))
    assert not torch.allclose(short, wiener(plain, mix))  # not the default 4096 frame
    monkeypatch.setattr(net, "forward", lambda x: pytest.fail("the model ran before the frame was checked"))
    for bad in (0, 6, -4):
        with pytest.raises(ValueError, match=f"wiener_fft must be a multiple of 4 samples .*, got {bad}"):
            separate(net, mix, rate=11025, wiener=1, wiener_fft=bad)


@pytest.mark.parametrize(
    "estimates, mix, kwargs, message",
    [
        (torch.zeros(2, 2, 100), torch.zeros(1, 100), {}, r"estimates \(S, C, T\) of a mixture \(C, T\), got \(2, 2, 100\) and \(1, 100\)"),
        (torch.zeros(2, 100), torch.zeros(100), {}, r"got \(2, 100\) and \(100,\)"),
        (torch.zeros(2, 1, 100), torch.zeros(1, 100), {"iterations": -1}, "iterations must be >= 0, got -1"),
        (torch.zeros(2, 1, 100), torch.zeros(1, 100), {"n_fft": 255}, "n_fft must be an even number >= 2, got 255"),
        (torch.zeros(2, 1, 100), torch.zeros(1, 100), {"n_fft": 256, "hop_length": 200}, "hop_length must divide n_fft = 256"),
        (torch.zeros(2, 1, 100), torch.zeros(1, 100), {"n_fft": 256, "hop_length": 256}, "at most n_fft / 2, got 256"),
        (torch.zeros(2, 1, 100), torch.zeros(1, 100), {"frames": 0}, "frames must be >= 1, got 0"),
        (torch.zeros(2, 1, 100), torch.zeros(1, 100), {"eps": 0.0}, "eps must be > 0, got 0.0"),
        (torch.full((2, 1, 100), float("nan")), torch.zeros(1, 100), {}, "NaN or infinite"),
        (torch.zeros(2, 1, 100, dtype=torch.complex64), torch.zeros(1, 100), {}, "real waveforms"),
    ],
)
def test_bad_input_is_named(estimates, mix, kwargs, message):
    with pytest.raises(ValueError, match=message):
        wiener(estimates, mix, **kwargs)
