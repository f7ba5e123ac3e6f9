"""new_sdr and si_sdr: values from their formulas, invariances, clear errors."""

import pytest
import torch

from waveunet_lit.metrics import new_sdr, si_sdr


@pytest.fixture
def pair():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(2, 4, 2, 2000, generator=g, dtype=torch.float64)
    noise = torch.randn(2, 4, 2, 2000, generator=g, dtype=torch.float64)
    return target, noise


def test_new_sdr_formula_and_shape(pair):
    target, noise = pair
    est = target + 0.1 * noise
    expected = 10 * torch.log10((target**2).sum((-2, -1)) / ((0.1 * noise) ** 2).sum((-2, -1)))
    torch.testing.assert_close(new_sdr(est, target), expected, rtol=1e-6, atol=1e-6)
    assert new_sdr(est, target).shape == (2, 4)
    assert (new_sdr(target, target) > 60).all()
    assert (new_sdr(target + noise, target) < new_sdr(est, target)).all()


def test_si_sdr_large_at_identity_and_invariant_to_rescaling_the_estimate(pair):
    target, noise = pair
    assert (si_sdr(target, target) > 70).all()
    est = target + 0.3 * noise
    base = si_sdr(est, target)
    for k in (0.01, 0.5, 7.0):
        torch.testing.assert_close(si_sdr(k * est, target), base, rtol=0, atol=1e-4)  # up to eps
    # new SDR is not invariant: a quieter estimate is penalised
    assert (new_sdr(0.5 * est, target) < new_sdr(est, target) - 1).all()
    assert (si_sdr(target + noise, target) < base).all()


def test_si_sdr_matches_its_formula(pair):
    target, noise = pair
    est = 0.7 * target + 0.2 * noise
    t, e = target[0, 0], est[0, 0]
    a = (e * t).sum() / (t * t).sum()
    expected = 10 * torch.log10((a * t).pow(2).sum() / (a * t - e).pow(2).sum())
    assert si_sdr(est, target)[0, 0].item() == pytest.approx(expected.item(), abs=1e-6)


def test_all_zero_reference_gives_finite_low_scores():
    target = torch.zeros(1, 1, 2, 100, dtype=torch.float64)
    est = torch.ones(1, 1, 2, 100, dtype=torch.float64)
    assert torch.isfinite(new_sdr(est, target)).all() and (new_sdr(est, target) < -60).all()
    assert torch.isfinite(si_sdr(est, target)).all()


@pytest.mark.parametrize("fn", [new_sdr, si_sdr])
def test_bad_inputs_raise(fn, pair):
    target, _ = pair
    with pytest.raises(ValueError, match=r"\(\.\.\., C, T\)"):
        fn(target[..., :-1], target)
    with pytest.raises(ValueError, match=r"\(\.\.\., C, T\)"):
        fn(torch.ones(5), torch.ones(5))
    est = target.clone()
    est[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        fn(est, target)
