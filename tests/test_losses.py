"""Properties of every training loss: minimum at a perfect estimate, worse for worse
estimates, gradients flow, scale behaviour as the docstring formula says, clear errors."""

import pytest
import torch
from jsonargparse import ArgumentParser
from torch import nn

from waveunet_lit.losses import (
    L1Loss,
    MagnitudePhaseL1Loss,
    MSELoss,
    MultiResolutionSTFTLoss,
    NegSDRLoss,
    NegSISDRLoss,
    WeightedSum,
)

SMALL_STFT = dict(fft_sizes=(128, 64, 32), hop_sizes=(32, 16, 8), win_lengths=(128, 64, 32))


def make_losses():
    return {
        "mse": MSELoss(),
        "l1": L1Loss(),
        "mrstft": MultiResolutionSTFTLoss(**SMALL_STFT),
        "magphase": MagnitudePhaseL1Loss(n_fft=128, hop_length=32),
        "negsdr": NegSDRLoss(),
        "negsdr_frames": NegSDRLoss(frame=300),  # 1024 samples: frames of 300, 300 and 424
        "negsisdr": NegSISDRLoss(),
        "sum": WeightedSum((L1Loss(), MultiResolutionSTFTLoss(**SMALL_STFT)), (1.0, 0.1)),
    }


NAMES = list(make_losses())


@pytest.fixture
def signals():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(2, 3, 2, 1024, generator=g)
    noise = torch.randn(2, 3, 2, 1024, generator=g)
    return target, noise


@pytest.mark.parametrize("name", NAMES)
def test_minimum_at_perfect_estimate_and_monotone_in_noise(name, signals):
    loss = make_losses()[name]
    target, noise = signals
    perfect = loss(target.clone(), target).item()
    slight = loss(target + 0.05 * noise, target).item()
    bad = loss(target + 0.5 * noise, target).item()
    worse = loss(target + 2.0 * noise, target).item()
    assert perfect < slight < bad < worse
    if name in ("mse", "l1", "mrstft", "magphase", "sum"):
        assert perfect == pytest.approx(0.0, abs=1e-6)
    else:  # -SDR family: bounded below by the eps in the ratio
        assert perfect < -60


@pytest.mark.parametrize("name", NAMES)
def test_gradients_flow_and_are_finite(name, signals):
    loss = make_losses()[name]
    target, noise = signals
    estimate = (target + 0.3 * noise).requires_grad_(True)
    value = loss(estimate, target)
    assert value.dim() == 0
    value.backward()
    assert torch.isfinite(estimate.grad).all() and estimate.grad.abs().sum() > 0
    # gradient descent helps
    with torch.no_grad():
        better = estimate - 1e-3 * estimate.grad / estimate.grad.abs().max()
    assert loss(better, target) < value


@pytest.mark.parametrize("name", NAMES)
def test_gradient_at_a_silent_estimate_is_finite(name, signals):
    loss = make_losses()[name]
    target, _ = signals
    estimate = torch.zeros_like(target, requires_grad=True)
    loss(estimate, target).backward()
    assert torch.isfinite(estimate.grad).all()


def test_scale_behaviour_follows_the_formulas(signals):
    target, noise = signals
    est = target + 0.3 * noise
    k = 3.0
    # quadratic and linear losses
    assert MSELoss()(k * est, k * target).item() == pytest.approx(k**2 * MSELoss()(est, target).item(), rel=1e-5)
    assert L1Loss()(k * est, k * target).item() == pytest.approx(k * L1Loss()(est, target).item(), rel=1e-5)
    mag = MagnitudePhaseL1Loss(n_fft=128, hop_length=32)
    assert mag(k * est, k * target).item() == pytest.approx(k * mag(est, target).item(), rel=1e-4)
    # spectral convergence and log magnitude are ratios: unchanged under a common scale
    mr = MultiResolutionSTFTLoss(**SMALL_STFT)
    assert mr(k * est, k * target).item() == pytest.approx(mr(est, target).item(), rel=1e-3)
    assert NegSDRLoss()(k * est, k * target).item() == pytest.approx(NegSDRLoss()(est, target).item(), rel=1e-4)
    # SDR is not invariant to rescaling the estimate alone; SI-SDR is
    assert NegSDRLoss()(0.5 * est, target).item() > NegSDRLoss()(est, target).item() + 1
    assert NegSISDRLoss()(0.5 * est, target).item() == pytest.approx(NegSISDRLoss()(est, target).item(), abs=1e-3)


def test_magnitude_phase_loss_sees_phase_errors(signals):
    target, _ = signals
    flipped = -target  # same magnitude, phase off by pi
    magnitude_only = MagnitudePhaseL1Loss(alpha=1.0, n_fft=128, hop_length=32)
    complex_only = MagnitudePhaseL1Loss(alpha=0.0, n_fft=128, hop_length=32)
    half = MagnitudePhaseL1Loss(alpha=0.5, n_fft=128, hop_length=32)
    assert magnitude_only(flipped, target).item() == pytest.approx(0.0, abs=1e-5)
    assert complex_only(flipped, target).item() > 0.1
    assert half(flipped, target).item() == pytest.approx(0.5 * complex_only(flipped, target).item(), rel=1e-4)


def test_weighted_sum_is_the_weighted_sum(signals):
    target, noise = signals
    est = target + 0.3 * noise
    mr = MultiResolutionSTFTLoss(**SMALL_STFT)
    total = WeightedSum((MSELoss(), mr), (2.0, 0.25))(est, target)
    expected = 2.0 * MSELoss()(est, target) + 0.25 * mr(est, target)
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)


def test_weighted_sum_builds_from_yaml_like_lightning_cli():
    parser = ArgumentParser()
    parser.add_argument("--loss", type=nn.Module)
    config = parser.parse_string(
        """
loss:
  class_path: waveunet_lit.losses.WeightedSum
  init_args:
    losses:
      - class_path: waveunet_lit.losses.L1Loss
      - class_path: waveunet_lit.losses.MagnitudePhaseL1Loss
        init_args: {alpha: 0.5, n_fft: 64, hop_length: 16}
    weights: [1.0, 0.5]
"""
    )
    loss = parser.instantiate(config).loss
    assert isinstance(loss, WeightedSum) and isinstance(loss.losses[1], MagnitudePhaseL1Loss)
    x = torch.randn(1, 2, 2, 256)
    assert loss(x, x).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shapes", [((2, 3, 2, 100), (2, 3, 2, 101)), ((3, 2, 100), (3, 2, 100))])
def test_wrong_shapes_raise_naming_the_expected_shape(name, shapes):
    loss = make_losses()[name]
    with pytest.raises(ValueError, match=r"\(B, S, C, T\)"):
        loss(torch.randn(shapes[0]), torch.randn(shapes[1]))


@pytest.mark.parametrize("name", NAMES)
def test_nan_estimate_raises(name, signals):
    target, _ = signals
    est = target.clone()
    est[0, 1, 0, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        make_losses()[name](est, target)


@pytest.mark.parametrize(
    "build",
    [
        lambda: MultiResolutionSTFTLoss(fft_sizes=(64,), hop_sizes=(16, 8), win_lengths=(64,)),
        lambda: MultiResolutionSTFTLoss(fft_sizes=(64,), hop_sizes=(128,), win_lengths=(64,)),
        lambda: MultiResolutionSTFTLoss(fft_sizes=(), hop_sizes=(), win_lengths=()),
        lambda: MagnitudePhaseL1Loss(alpha=1.5),
        lambda: MagnitudePhaseL1Loss(n_fft=64, hop_length=0),
        lambda: NegSDRLoss(eps=0.0),
        lambda: NegSDRLoss(frame=0),
        lambda: NegSDRLoss(frame=1.5),
        lambda: NegSDRLoss(frame=True),
        lambda: WeightedSum((MSELoss(),), (1.0, 2.0)),
        lambda: WeightedSum((), ()),
        lambda: WeightedSum((MSELoss(),), (float("nan"),)),
    ],
)
def test_bad_arguments_raise_at_construction(build):
    with pytest.raises(ValueError):
        build()


def test_framed_sdr_is_the_mean_of_each_frames_sdr():
    g = torch.Generator().manual_seed(1)
    target = torch.randn(2, 3, 2, 1000, generator=g)
    # frame 1 is 20 dB under its target, frame 2 is 40 dB under: each frame's SDR is known
    noise = torch.randn(2, 3, 2, 1000, generator=g)
    estimate = target + torch.cat([0.1 * noise[..., :500], 0.01 * noise[..., 500:]], -1)
    by_hand = torch.stack([
        10 * torch.log10(target[..., a:b].square().sum((-2, -1)) / noise[..., a:b].mul(k).square().sum((-2, -1)))
        for a, b, k in ((0, 500, 0.1), (500, 1000, 0.01))
    ])  # (2 frames, B, S)
    assert NegSDRLoss(frame=500)(estimate, target).item() == pytest.approx(-by_hand.mean().item(), rel=1e-4)
    # the whole chunk's SDR is set by its worse (louder-error) frame, so it is lower
    assert NegSDRLoss()(estimate, target).item() > NegSDRLoss(frame=500)(estimate, target).item() + 5
    # a frame as long as the chunk (or longer) is the chunk's SDR; the tail joins the last frame
    whole = NegSDRLoss()(estimate, target).item()
    assert NegSDRLoss(frame=1000)(estimate, target).item() == pytest.approx(whole, rel=1e-5)
    assert NegSDRLoss(frame=4096)(estimate, target).item() == pytest.approx(whole, rel=1e-5)
    assert NegSDRLoss(frame=600)(estimate, target).item() == pytest.approx(whole, rel=1e-5)  # 1000 // 600 = one frame


def test_framed_sdr_builds_from_yaml():
    parser = ArgumentParser()
    parser.add_argument("--loss", type=nn.Module)
    config = parser.parse_string("loss: {class_path: waveunet_lit.losses.NegSDRLoss, init_args: {frame: 16000}}")
    loss = parser.instantiate(config).loss
    assert isinstance(loss, NegSDRLoss) and loss.frame == 16000
