"""Our torch BSSEval v4 against museval, the reference implementation, on the same signals."""

import math

import museval
import numpy as np
import pytest
import torch

from waveunet_lit import bsseval
from waveunet_lit.bsseval import METRICS, bss_eval_v4, bss_eval_v4_batch
from waveunet_lit.metrics import bss_eval_v4 as reexported

RATE = 8000  # short, low-rate signals keep museval fast; 1 s frames as in museval's default


def museval_scores(estimates: torch.Tensor, references: torch.Tensor, window: int, hop: int) -> dict:
    """museval.evaluate on (S, C, T) tensors -> {metric: (S, N) array}."""
    ref = references.double().permute(0, 2, 1).numpy()  # museval wants (S, T, C)
    est = estimates.double().permute(0, 2, 1).numpy()
    values = museval.evaluate(ref, est, win=window, hop=hop)
    return dict(zip(METRICS, values))


def assert_matches_museval(estimates, references, window=RATE, hop=RATE, tol=0.01):
    ours = bss_eval_v4(estimates, references, rate=RATE, window=window, hop=hop)
    theirs = museval_scores(estimates, references, window, hop)
    for name in METRICS:
        a, b = ours[name].numpy(), theirs[name]
        assert a.shape == b.shape, name
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{name}: NaN frames differ")
        # the acceptance criterion: per-source median over frames within 0.01 dB ...
        if not np.isnan(b).all():
            np.testing.assert_allclose(np.nanmedian(a, axis=1), np.nanmedian(b, axis=1), atol=tol, err_msg=name)
        # ... and in fact every frame agrees
        np.testing.assert_allclose(a, b, atol=tol, equal_nan=True, err_msg=name)
    return ours, theirs


def music_like(sources: int, channels: int, seconds: float, seed: int) -> torch.Tensor:
    """Generated stems (S, C, T) at RATE: a vibrato voice, noise-burst drums, a bass line and
    chords, panned, with silences, quantised to 16 bits like real recordings."""
    g = torch.Generator().manual_seed(seed)
    T = int(seconds * RATE)
    t = torch.arange(T, dtype=torch.float64) / RATE
    stems = []
    for s in range(sources):
        kind = s % 4
        if kind == 0:  # voice: harmonics of a gliding pitch with vibrato, phrases with pauses
            f0 = 220 * 2 ** (torch.floor(t * 2) % 5 / 12) * (1 + 0.01 * torch.sin(2 * math.pi * 5 * t))
            phase = 2 * math.pi * torch.cumsum(f0, 0) / RATE
            x = sum(torch.sin(k * phase) / k for k in range(1, 8)) * (torch.sin(math.pi * t * 0.7) ** 2)
        elif kind == 1:  # drums: decaying noise bursts every quarter second
            env = torch.exp(-30 * (t % 0.25))
            x = env * torch.randn(T, generator=g, dtype=torch.float64)
        elif kind == 2:  # bass: low notes, a few harmonics
            f = 55 * 2 ** (torch.floor(t) % 3 / 12)
            phase = 2 * math.pi * torch.cumsum(f, 0) / RATE
            x = torch.sin(phase) + 0.3 * torch.sin(2 * phase) + 0.1 * torch.sin(3 * phase)
        else:  # chords with a soft noise floor
            x = sum(torch.sin(2 * math.pi * f * t) for f in (261.6, 329.6, 392.0, 523.3 + s))
            x = x + 0.01 * torch.randn(T, generator=g, dtype=torch.float64)
        pan = torch.rand(channels, generator=g, dtype=torch.float64) * 0.6 + 0.4
        stems.append(0.2 * x[None] * pan[:, None])
    stems = torch.stack(stems)  # (S, C, T)
    return torch.round(stems * 32767) / 32767


def masked_estimates(references: torch.Tensor, seed: int) -> torch.Tensor:
    """Imperfect separation of the mixture: soft masks from noisy source magnitudes (the kind of
    errors a trained model makes: leakage, artifacts, smeared transients)."""
    g = torch.Generator().manual_seed(seed)
    S, C, T = references.shape
    window = torch.hann_window(512, dtype=torch.float64)
    spec = torch.stft(references.reshape(S * C, T), 512, 128, window=window, return_complex=True)
    mix = spec.view(S, C, *spec.shape[-2:]).sum(0)  # (C, F, N)
    power = spec.abs().view(S, C, *spec.shape[-2:]) ** 2 + 1e-3
    power = power * torch.exp(torch.randn(power.shape, generator=g, dtype=torch.float64))  # wrong weights
    masks = power / power.sum(0, keepdim=True)
    est = torch.istft((masks * mix).reshape(S * C, *spec.shape[-2:]), 512, 128, window=window, length=T)
    return est.view(S, C, T)


def test_random_signals_match_museval():
    g = torch.Generator().manual_seed(0)
    ref = torch.randn(2, 2, int(3.5 * RATE), generator=g, dtype=torch.float64)  # partial last frame
    est = ref + 0.5 * torch.randn(ref.shape, generator=g, dtype=torch.float64) + 0.3 * ref.roll(1, dims=0)
    ours, _ = assert_matches_museval(est, ref)
    assert ours["SDR"].shape == (2, 3)


def test_overlapping_frames_and_mono_match_museval():
    g = torch.Generator().manual_seed(1)
    ref = torch.randn(2, 1, 3 * RATE, generator=g, dtype=torch.float64)
    est = 0.8 * ref + 0.2 * torch.randn(ref.shape, generator=g, dtype=torch.float64)
    ours, _ = assert_matches_museval(est, ref, window=RATE, hop=RATE // 2)
    assert ours["SDR"].shape == (2, 5)


def test_music_like_signals_with_imperfect_estimates_match_museval():
    ref = music_like(4, 1, 3.0, seed=2)  # museval's cost grows as (S C)^3: mono keeps it short
    est = masked_estimates(ref, seed=3)
    ours, _ = assert_matches_museval(est, ref)
    assert torch.isfinite(ours["SDR"]).all() and ours["SDR"].median() < 30  # really imperfect


def test_short_tail_and_frames_shorter_than_the_filters_match_museval():
    ref = music_like(2, 2, 3.0, seed=14)
    ref = torch.cat([ref, ref[..., :100]], dim=-1)  # a tail of 100 samples < 511: the last boundary
    est = masked_estimates(ref, seed=15)
    ours, _ = assert_matches_museval(est, ref)
    assert ours["SDR"].shape == (2, 3)
    # frames of 300 samples (< 511 taps) cannot serve as correlation blocks: the other path
    short = slice(0, RATE)
    ours, _ = assert_matches_museval(est[..., short], ref[..., short], window=300, hop=300)
    assert ours["SDR"].shape == (2, RATE // 300)


def test_near_silent_sources_give_nan_exactly_where_museval_does():
    ref = music_like(2, 2, 4.0, seed=4)
    est = masked_estimates(ref, seed=5)
    ref[0, :, : RATE + 100] = 0  # reference silent in frame 0 -> NaN there
    est[1, :, 2 * RATE : 3 * RATE] = 0  # estimate silent in frame 2 -> NaN there
    ref[1, :, 3 * RATE :] *= 1e-5  # quiet but not silent: finite scores
    ours, theirs = assert_matches_museval(est, ref)
    nan_frames = torch.isnan(ours["SDR"]).all(dim=0)
    assert nan_frames.tolist() == [True, False, True, False]


def test_channels_cancelling_in_a_frame_count_as_silent_as_in_museval():
    g = torch.Generator().manual_seed(6)
    ref = torch.randn(2, 2, 2 * RATE, generator=g, dtype=torch.float64)
    ref[0, 1, RATE:] = -ref[0, 0, RATE:]  # the channel sum is zero in frame 1
    est = ref + 0.1 * torch.randn(ref.shape, generator=g, dtype=torch.float64)
    ours, _ = assert_matches_museval(est, ref)
    assert torch.isnan(ours["SIR"][:, 1]).all() and not torch.isnan(ours["SIR"][:, 0]).any()


def test_one_silent_channel_and_single_source_match_museval():
    g = torch.Generator().manual_seed(7)
    ref = torch.randn(2, 2, 2 * RATE, generator=g, dtype=torch.float64)
    ref[1, 1] = 0  # a mono source in a stereo track: a zero block in the Gram matrix
    est = ref + 0.2 * torch.randn(ref.shape, generator=g, dtype=torch.float64)
    assert_matches_museval(est, ref)
    ours, _ = assert_matches_museval(est[:1], ref[:1])  # S = 1: no interference at all
    assert torch.isinf(ours["SIR"]).all()


def test_perfect_estimate_scores_high():
    ref = music_like(2, 2, 2.0, seed=8)
    ours = bss_eval_v4(ref.clone(), ref, rate=RATE)
    assert torch.isinf(ours["SDR"]).all()  # zero error energy, as museval's _safe_db
    assert (ours["SAR"] > 100).all() and (ours["ISR"] > 100).all()


def test_batch_equals_single_tracks_and_float32_input():
    g = torch.Generator().manual_seed(9)
    ref = torch.randn(2, 3, 2, 2 * RATE, generator=g)
    est = ref + 0.3 * torch.randn(ref.shape, generator=g)
    batch = bss_eval_v4_batch(est, ref, rate=RATE)
    for b in range(2):
        single = reexported(est[b], ref[b], rate=RATE)
        for name in METRICS:
            assert single[name].dtype == torch.float64
            torch.testing.assert_close(batch[name][b], single[name], rtol=0, atol=1e-9)


def test_short_signal_gives_one_frame():
    g = torch.Generator().manual_seed(10)
    ref = torch.randn(2, 2, RATE // 2, generator=g, dtype=torch.float64)
    est = ref + 0.1 * ref.flip(0) + 0.1 * torch.randn(ref.shape, generator=g, dtype=torch.float64)
    ours, _ = assert_matches_museval(est, ref)
    assert ours["SDR"].shape == (2, 1)


def test_all_zero_reference_raises_like_museval():
    g = torch.Generator().manual_seed(11)
    ref = torch.randn(2, 2, RATE, generator=g, dtype=torch.float64)
    ref[1] = 0
    with pytest.raises(ValueError):
        museval_scores(ref + 0.1, ref, RATE, RATE)
    with pytest.raises(ValueError, match="reference source 1.*all zeros"):
        bss_eval_v4(ref + 0.1, ref, rate=RATE)
    est = ref + 0.1
    est[0] = 0
    ref[1] = 1.0
    with pytest.raises(ValueError, match="estimate source 0.*all zeros"):
        bss_eval_v4(est, ref, rate=RATE)


@pytest.mark.parametrize(
    "est_shape, ref_shape",
    [((2, 2, 100), (2, 2, 101)), ((2, 100), (2, 100)), ((1, 2, 2, 100), (1, 2, 2, 100)), ((2, 2, 0), (2, 2, 0))],
)
def test_bad_shapes_raise_naming_the_expected_shape(est_shape, ref_shape):
    with pytest.raises(ValueError, match=r"\(S, C, T\)"):
        bss_eval_v4(torch.ones(est_shape), torch.ones(ref_shape))


def test_nan_estimate_and_bad_arguments_raise():
    ref = torch.randn(2, 2, RATE, dtype=torch.float64)
    est = ref.clone()
    est[0, 0, 10] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        bss_eval_v4(est, ref, rate=RATE)
    for kwargs in ({"window": 0}, {"hop": -1}, {"filter_length": 0}, {"rate": 1.5}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            bss_eval_v4(ref, ref, **kwargs)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_equals_cpu():
    ref = music_like(4, 2, 3.0, seed=12)
    est = masked_estimates(ref, seed=13)
    cpu = bss_eval_v4(est, ref, rate=RATE)
    gpu = bss_eval_v4(est.cuda(), ref.cuda(), rate=RATE)
    for name in METRICS:
        assert gpu[name].device.type == "cuda"
        torch.testing.assert_close(gpu[name].cpu(), cpu[name], rtol=0, atol=1e-6, equal_nan=True)


OPS = pytest.mark.parametrize("ops", [bsseval._NumpyOps, bsseval._TorchOps], ids=["numpy", "torch"])


def lag_correlations(x: torch.Tensor, z: torch.Tensor, L: int) -> torch.Tensor:
    """Direct sums r[b, k, p, q] = sum_n x_p[n] z_q[n + k], k < L, of (B, P, T) signals."""
    T = x.shape[-1]
    return torch.stack([torch.einsum("bpn,bqn->bpq", x[..., : max(T - k, 0)], z[..., k:]) for k in range(L)], dim=1)


@pytest.mark.parametrize("size, L", [(3000, 512), (300, 512), (8000, 40), (511, 512)])
@OPS
def test_frame_correlations_equal_direct_sums(size, L, ops, monkeypatch):
    monkeypatch.setattr(bsseval, "_GROUP_BYTES", 1)  # one block per FFT call: the accumulation
    g = torch.Generator().manual_seed(16)
    ref = torch.randn(2, 2, 3, 2 * size + 50, generator=g, dtype=torch.float64)
    est = ref + torch.randn(ref.shape, generator=g, dtype=torch.float64)
    ref[1, 1, :, size + 7 : 2 * size + 7] = 0  # reference 1 of track 1 silent in the frame at size + 7
    starts = [0, size + 7]
    out = list(bsseval._frame_correlations(ops, ops.from_torch(ref), ops.from_torch(est), starts, size, L))
    assert [i for i, *_ in out] == [0, 1]
    for (_, rho, energy, silent), start in zip(out, starts):
        x = ref[..., start : start + size].reshape(2, 6, size)
        d = (est - ref)[..., start : start + size].reshape(2, 6, size)
        direct = lag_correlations(x, torch.cat([x, d], dim=1), L)  # (B, L, P, 2P)
        torch.testing.assert_close(ops.to_torch(rho, "cpu"), direct, rtol=0, atol=1e-9 * size)
        energies = torch.stack([x.square(), d.square()], dim=1).reshape(2, 2, 2, 3, size).sum((3, 4))  # (B, 2, S)
        torch.testing.assert_close(ops.to_torch(energy, "cpu"), energies)
        expected = torch.zeros(2, 2, 2, dtype=torch.bool)
        expected[1, 0, 1] = start > 0
        assert torch.equal(ops.to_torch(silent, "cpu"), expected)


@OPS
def test_straddling_correlations_are_the_pairs_across_boundaries(ops):
    g = torch.Generator().manual_seed(17)
    L, T = 64, 700
    ref = torch.randn(1, 2, 2, T, generator=g, dtype=torch.float64)
    est = torch.randn(1, 2, 2, T, generator=g, dtype=torch.float64)
    boundaries = [100, 300, 680]  # the last one less than L - 1 before the end
    got = bsseval._straddling_correlations(ops, ops.from_torch(ref), ops.from_torch(est), boundaries, L)
    got = ops.to_torch(got, "cpu")
    x, d = ref.reshape(1, 4, T), (est - ref).reshape(1, 4, T)
    z = torch.cat([x, d], dim=1)
    pieces = [0, *boundaries, T]
    within = sum(lag_correlations(x[..., a:b], z[..., a:b], L) for a, b in zip(pieces[:-1], pieces[1:]))
    torch.testing.assert_close(got, lag_correlations(x, z, L) - within, rtol=0, atol=1e-9)


@OPS
def test_metric_weights_give_the_energies_of_the_filtered_frame(ops):
    """The quadratic forms against explicit full convolutions of a frame (zero outside)."""
    g = torch.Generator().manual_seed(18)
    S, C, L, W = 2, 2, 16, 200
    P = S * C
    c_all = torch.randn(1, L, P, P, generator=g, dtype=torch.float64)
    c_own = torch.randn(1, S, L, C, C, generator=g, dtype=torch.float64)
    x = torch.randn(1, P, W, generator=g, dtype=torch.float64)
    d = torch.randn(1, P, W, generator=g, dtype=torch.float64)
    weights = bsseval._metric_weights(ops, ops.from_torch(c_all), ops.from_torch(c_own), S, C)
    weights = ops.to_torch(weights, "cpu")
    rho = lag_correlations(x, torch.cat([x, d], dim=1), L)  # (1, L, P, 2P)
    sums = (rho.reshape(1, -1) @ weights[0]).reshape(6, S)

    def filtered(taps):  # (L, P, Q) taps from channel p to output q -> (Q, W + L - 1)
        return torch.stack([
            sum(torch.from_numpy(np.convolve(taps[:, p, q].numpy(), x[0, p].numpy())) for p in range(P)) for q in range(P)
        ])

    own = torch.zeros(L, S, C, S, C, dtype=torch.float64)
    for j in range(S):
        own[:, j, :, j] = c_own[0, j]
    own = own.reshape(L, P, P)
    y_all, y_own = filtered(c_all[0]), filtered(own)
    s = torch.nn.functional.pad(x[0], (0, L - 1))
    e = s + torch.nn.functional.pad(d[0], (0, L - 1))
    d_full = torch.nn.functional.pad(d[0], (0, L - 1))

    def per_source(v, w=None):  # (P, W + L - 1) -> (S,): sum of v * w over source j's channels
        return (v * (v if w is None else w)).reshape(S, C, -1).sum((1, 2))

    expected = [per_source(y_own), per_source(y_own - s), per_source(y_all - y_own), per_source(y_all)]
    expected += [per_source(y_all - s), per_source(d_full, y_all - s)]
    torch.testing.assert_close(sums, torch.stack(expected), rtol=1e-9, atol=1e-9)
    # and so ||e - P_all||^2 = ||d||^2 - 2 <d, P_all - s> + ||P_all - s||^2
    artif = per_source(d_full) - 2 * sums[5] + sums[4]
    torch.testing.assert_close(artif, per_source(e - y_all), rtol=1e-9, atol=1e-9)


@OPS
def test_block_toeplitz_solver_equals_dense_solve(ops):
    g = torch.Generator().manual_seed(17)
    L, P, Q = 40, 3, 2
    signal = torch.randn(1, P, 400, generator=g, dtype=torch.float64).cumsum(-1)  # coloured: ill-conditioned
    R = lag_correlations(signal, signal, L).contiguous()  # (1, L, P, P), SPD block Toeplitz
    d = torch.randn(1, L, P, Q, generator=g, dtype=torch.float64)
    x = ops.to_torch(bsseval._solve_block_toeplitz(ops, ops.from_torch(R), ops.from_torch(d)), "cpu")
    dense = bsseval._dense_solve(R, d)
    assert x.shape == (1, L, P, Q)
    torch.testing.assert_close(x, dense, rtol=1e-6, atol=1e-9 * dense.abs().max().item())


def test_torch_path_block_groups_and_recomputed_correlations_give_the_same_scores(monkeypatch):
    ref = music_like(3, 2, 3.3, seed=18)[None]
    est = masked_estimates(ref[0], seed=19)[None]

    def scores(ops):
        energies = bsseval._bss_energies(ops, ops.from_torch(est), ops.from_torch(ref), RATE, RATE, 512)
        return bsseval._scores({name: ops.to_torch(value, "cpu") for name, value in energies.items()})

    reference = scores(bsseval._NumpyOps)
    variants = {"torch (the GPU path)": scores(bsseval._TorchOps)}
    monkeypatch.setattr(bsseval, "_KEEP_BYTES", 0)  # the frames' correlations made twice instead of kept
    variants["recomputed"] = scores(bsseval._NumpyOps)
    monkeypatch.setattr(bsseval, "_GROUP_BYTES", 1)  # one block per FFT call
    variants["block by block"] = scores(bsseval._NumpyOps)
    for variant, values in variants.items():
        for name in METRICS:
            assert values[name].shape == (1, 3, 3)
            torch.testing.assert_close(values[name], reference[name], rtol=0, atol=1e-3, msg=f"{variant} {name}")


def test_gapped_frames_silent_estimate_frames_and_a_whole_track_window_match_museval():
    ref = music_like(3, 2, 4.0, seed=20)
    est = masked_estimates(ref, seed=21)
    est[2, :, RATE // 2 : RATE + RATE // 2] = 0  # estimate 2 silent inside the second gapped frame
    ref[0, 1, 3 * RATE :] = -ref[0, 0, 3 * RATE :]  # reference 0's channels cancel in the end
    ours, _ = assert_matches_museval(est, ref, window=RATE // 2, hop=RATE // 2 + 700)  # hop > window
    assert torch.isnan(ours["SDR"]).any() and not torch.isnan(ours["SDR"]).all()
    ours, _ = assert_matches_museval(est[..., : 2 * RATE], ref[..., : 2 * RATE], window=3 * RATE, hop=RATE)
    assert ours["SDR"].shape == (3, 1)


def test_non_finite_values_raise_naming_the_input():
    ref = torch.randn(2, 2, RATE, dtype=torch.float64)
    est = ref + 0.1
    bad = ref.clone()
    bad[1, 0, -1] = float("inf")  # in the tail no frame covers: still checked
    with pytest.raises(ValueError, match="references must be real and finite"):
        bss_eval_v4(est, bad, rate=RATE, window=RATE // 3)
    with pytest.raises(ValueError, match="estimates must be real and finite"):
        bss_eval_v4(bad, ref, rate=RATE, window=RATE // 3)
