"""BSSEval v4 in torch: the numbers ``museval.evaluate`` gives, batched, on CPU or GPU.

BSSEval (Vincent, Gribonval & Févotte, IEEE TASLP 14(4), 2006) splits an estimate ``e`` of
the image ``s_j`` of source ``j`` into ``e = s_j + e_spat + e_interf + e_artif`` by least
squares on delayed copies of the references. Version 4 (Liutkus, Stöter & Ito, "The 2018
Signal Separation Evaluation Campaign", LVA/ICA 2018) estimates the distortion filters once per
track instead of once per frame; this is the default of ``museval.evaluate`` and of every
SiSEC/MUSDB18 table. What museval computes, and so what this module computes:

1. For each estimate ``j`` two multichannel FIR filter banks with ``L = 512`` taps, found on
   the *whole* track by least squares (the normal equations ``G c = D``, with ``G`` the Gram
   matrix of all delayed reference channels, plus ``eps * I`` as museval adds):
   ``C_all``, from every reference channel to every channel of ``e_j``, and ``C_own``, from
   the channels of reference ``j`` only.
2. Frames of ``window`` samples every ``hop`` samples (1 s and 1 s by default); only whole
   frames (a trailing partial frame is dropped, as in museval), or one frame with the whole
   track when it is not longer than ``window``.
3. In each frame, with the references cut to the frame (zero outside) and filtered (full
   convolution, ``W + L - 1`` samples), ``P_own = C_own * s_j`` and ``P_all = C_all * s``::

       SDR = 10 log10(||s_j||^2 / ||e - s_j||^2)
       ISR = 10 log10(||s_j||^2 / ||P_own - s_j||^2)
       SIR = 10 log10(||P_own||^2 / ||P_all - P_own||^2)
       SAR = 10 log10(||P_all||^2 / ||e - P_all||^2)

   sums over channels and the ``W + L - 1`` samples; a zero denominator gives ``+inf``.
4. A frame where any reference or any estimate is silent (its sum over channels is exactly
   zero at every sample of the frame) is NaN for all metrics and sources.

How it is fast (museval takes 25-40 s per 30-s track and 3 minutes per 4-minute track here;
this module 20-40x less, see ``bench/bsseval_speed.py``):

- One FFT per frame and channel serves both passes. With the default ``hop == window`` the
  frames tile the track, so the whole-track correlations that fill ``G`` and ``D`` are the
  sum over frames of the frames' cross-spectra (one batched matrix product per frequency bin)
  plus, for the pairs of samples that straddle two frames, the same sum over short FFTs of
  the ``L - 1`` samples on each side of every frame boundary. The frame spectra are kept
  (up to 2 GiB) and reused for the metrics.
- ``G`` is block Toeplitz (block ``(a, b)`` is ``R[a - b]``, ``R[-k] = R[k]^T``) and
  symmetric, so the normal equations are solved with the block Levinson recursion (Whittle
  1963; Wiggins & Robinson 1965) in ``O(L^2 (SC)^3)`` instead of a dense ``O((L S C)^3)`` LU;
  symmetry makes the backward reflection the transpose of the forward one, so each of the
  ``L`` steps is one long matrix product and a few ``SC x SC`` ones (a dense solve is the
  fallback if the recursion breaks down).
- The metrics use Parseval's theorem on the frames' spectra: per frequency bin, one
  ``4SC x SC`` matrix times the references' spectra gives ``P_all``, ``P_own``, the spatial
  error and the interference; the products run over blocks of bins that stay in cache.
- On CPU the arrays are numpy's: pocketfft (``scipy.fft``, with torch's thread count as
  workers) and OpenBLAS batched products are 2-3x faster here than torch's, and the
  recursion's thousands of small-matrix calls cost a few microseconds each instead of tens.

Everything runs in float64.

Example:
    >>> g = torch.Generator().manual_seed(0)
    >>> references = torch.randn(2, 2, 3 * 8000, generator=g, dtype=torch.float64)
    >>> estimates = references + 0.1 * torch.randn(2, 2, 3 * 8000, generator=g, dtype=torch.float64)
    >>> scores = bss_eval_v4(estimates, references, rate=8000)
    >>> scores["SDR"].shape  # (S, frames)
    torch.Size([2, 3])
    >>> bool((scores["SDR"] - 20).abs().max() < 0.5)  # error energy is 1% of the signal's
    True
"""

import math

import numpy as np
import scipy.fft
import torch

__all__ = ["bss_eval_v4", "bss_eval_v4_batch", "METRICS"]

#: Names of the four BSSEval metrics, in museval's order.
METRICS = ("SDR", "ISR", "SIR", "SAR")

# numpy's float64 machine epsilon, which museval adds to the diagonal of the Gram matrix.
_EPS = torch.finfo(torch.float64).eps
# Spectra are made and used in chunks of frames of about this many bytes ...
_CHUNK_BYTES = 1 << 26
# ... and kept between the filter pass and the metric pass up to this many bytes in all
# (2 GiB: 6 minutes of a 4-source stereo track at 44.1 kHz); longer tracks are transformed twice.
_KEEP_BYTES = 1 << 31


def bss_eval_v4(
    estimates: torch.Tensor,
    references: torch.Tensor,
    rate: int = 44100,
    window: int | None = None,
    hop: int | None = None,
    filter_length: int = 512,
) -> dict[str, torch.Tensor]:
    """BSSEval v4 of one track, as ``museval.evaluate(references, estimates)`` computes it.

    Args:
        estimates: ``(S, C, T)`` estimated source images, in the order of ``references``.
        references: ``(S, C, T)`` true source images. No source may be all zeros (museval
            raises for that too: the decomposition would be ambiguous).
        rate: sample rate in Hz; only used for the default ``window`` and ``hop``.
        window: frame length in samples; default one second (``rate``).
        hop: frame hop in samples; default one second (``rate``).
        filter_length: taps of the distortion filters (museval: 512).

    Returns:
        ``{"SDR", "ISR", "SIR", "SAR"}`` -> float64 tensors ``(S, N)`` in dB on the input's
        device, ``N`` frames; NaN in frames where a reference or an estimate is silent.

    Raises:
        ValueError: shapes differ or are not ``(S, C, T)``, values are not finite, a source is
            all zeros, or a bad ``window``/``hop``/``filter_length``.
    """
    _check_inputs(estimates, references, 3, "(S, C, T)")
    scores = bss_eval_v4_batch(estimates[None], references[None], rate, window, hop, filter_length)
    return {name: value[0] for name, value in scores.items()}  # (S, N) each


def bss_eval_v4_batch(
    estimates: torch.Tensor,
    references: torch.Tensor,
    rate: int = 44100,
    window: int | None = None,
    hop: int | None = None,
    filter_length: int = 512,
) -> dict[str, torch.Tensor]:
    """:func:`bss_eval_v4` for a batch of equally long tracks: ``(B, S, C, T)`` inputs,
    ``(B, S, N)`` outputs. Each track gets its own filters, exactly as if scored alone.

    Example:
        >>> g = torch.Generator().manual_seed(1)
        >>> ref = torch.randn(3, 2, 2, 4000, generator=g, dtype=torch.float64)
        >>> bss_eval_v4_batch(ref + 0.01 * ref.flip(1), ref, window=1000, hop=500)["SIR"].shape
        torch.Size([3, 2, 7])
    """
    _check_inputs(estimates, references, 4, "(B, S, C, T)")
    window = rate if window is None else window
    hop = rate if hop is None else hop
    for name, value in (("rate", rate), ("window", window), ("hop", hop), ("filter_length", filter_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"bss_eval_v4: {name} must be a positive int, got {value!r}")
    ops = _NumpyOps if estimates.device.type == "cpu" else _TorchOps
    est = ops.from_torch(estimates)  # (B, S, C, T) float64, contiguous
    ref = ops.from_torch(references)
    for name, x in (("estimates", est), ("references", ref)):
        if not ops.all_finite(x):
            raise ValueError(f"bss_eval_v4: {name} must be real and finite (found NaN, inf or complex)")
    for what, x in (("reference", ref), ("estimate", est)):
        silent = ops.to_torch(ops.zero_channel_sum(x), "cpu")  # (B, S), museval's _any_source_silent
        if silent.any():
            b, s = (int(i) for i in silent.nonzero()[0])
            raise ValueError(
                f"bss_eval_v4: {what} source {s} (track {b}) is all zeros; BSSEval is undefined "
                "for silent sources (museval raises here too)"
            )
    energies = _bss_energies(ops, est, ref, window, hop, filter_length)
    return _scores({name: ops.to_torch(value, estimates.device) for name, value in energies.items()})


def _check_inputs(estimates: torch.Tensor, references: torch.Tensor, dims: int, shape: str) -> None:
    if not isinstance(estimates, torch.Tensor) or not isinstance(references, torch.Tensor):
        raise ValueError("bss_eval_v4 expects torch tensors for estimates and references")
    if estimates.shape != references.shape or estimates.dim() != dims or estimates.shape[-1] == 0:
        raise ValueError(
            f"bss_eval_v4 expects estimates and references of the same shape {shape}, "
            f"got {tuple(estimates.shape)} and {tuple(references.shape)}"
        )
    if estimates.is_complex() or references.is_complex():
        raise ValueError("bss_eval_v4: estimates and references must be real and finite (found complex)")


# ---------------------------------------------------------------------------------------------
# 1. the whole computation, on numpy arrays (CPU) or torch tensors (GPU); see the two Ops below


def _bss_energies(ops, est, ref, window: int, hop: int, L: int) -> dict:
    """The energies behind the four metrics, per source and frame, and the silent frames.

    ``est``, ``ref``: ``(B, S, C, T)`` float64 arrays of ``ops``. Returns ``(B, S, N)`` arrays
    ``"target"`` (``||s_j||^2``), ``"error"`` (``||e - s_j||^2``), ``"own"``, ``"spat"``,
    ``"interf"``, ``"all"``, ``"artif"`` (``||P_own||^2``, ``||P_own - s_j||^2``,
    ``||P_all - P_own||^2``, ``||P_all||^2``, ``||e - P_all||^2``) and ``"silent"`` ``(B, N)``.
    """
    B, S, C, T = ref.shape
    P = S * C
    x, y = ref, est
    # museval's Framing: whole frames only, or one frame with the whole signal.
    n_frames = (T - window + hop) // hop if window < T else 1
    W = min(window, T)
    n_fft = _fast_length(W + L - 1)  # a frame's full linear convolution with a filter
    F = n_fft // 2 + 1
    frame_bytes = 16 * B * F * 2 * P  # one frame's spectra of all references and estimates
    # With hop == window the frames tile the track and serve as the correlation blocks.
    reuse = window >= T or (hop == window and W >= L - 1)
    if reuse:
        block, block_fft = W, n_fft
        keep = n_frames * frame_bytes <= _KEEP_BYTES
    else:
        block_fft = max(16384, _pow2(4 * L))
        block_fft = min(block_fft, _pow2(T + L - 1))
        block, keep = block_fft - L + 1, False
    r, kept = _correlations(ops, x, y, L, block, block_fft, keep)  # (B, P, 2P, L)
    c_all, c_own = _distortion_filters(ops, r, S, C)

    # One filter bank for the four signals that are linear in the frame of the references:
    # P_all = C_all * s, P_own = C_own * s_j (block diagonal: source j to source j), the
    # spatial error P_own - s_j and the interference P_all - P_own; taps[a, p, (k, q)] from
    # reference channel p to estimate channel q.
    own = ops.zeros((B, L, S, C, S, C), like=x)
    for j in range(S):
        own[:, :, j, :, j, :] = c_own[:, j]
    own = own.reshape(B, L, P, P)
    spatial = ops.concat([own[:, :1] - ops.eye(P, like=x), own[:, 1:]], axis=1)  # minus a unit impulse
    taps = ops.concat([c_all, own, spatial, c_all - own], axis=-1)  # (B, L, P, 4P)
    filters = ops.rfft(ops.permute(taps, (0, 3, 2, 1)), n_fft)  # (B, 4P, P, F)
    filters = ops.contiguous(ops.permute(filters, (0, 3, 1, 2)))  # (B, F, 4P, P)
    weight = ops.parseval_weights(n_fft, like=x)  # (F,)

    per_chunk = max(1, _CHUNK_BYTES // frame_bytes)
    chunks = kept or [(i, min(per_chunk, n_frames - i), None) for i in range(0, n_frames, per_chunk)]
    projected = ("all", "own", "spat", "interf", "artif")
    out = {name: [] for name in ("target", "error", *projected, "silent")}
    # The products run over blocks of frequency bins small enough to stay in the CPU's cache.
    bins = max(1, ops.cache_bytes // (16 * B * 5 * P * chunks[0][1]))
    buffer = ops.empty((B * min(bins, F) * 5 * P * chunks[0][1],), like=x, complex=True)
    for first, count, spec in chunks:
        if spec is None:
            spec = _spectra(ops, (x, y), first * hop, count, hop, W, n_fft)  # (B, F, 2P, n)
        energy = 0
        for f0 in range(0, F, bins):
            f1 = min(F, f0 + bins)
            z = buffer[: B * (f1 - f0) * 5 * P * count].reshape(B, f1 - f0, 5 * P, count)
            ops.matmul(filters[:, f0:f1], spec[:, f0:f1, :P], out=z[:, :, : 4 * P])  # P_all, P_own, spat, interf
            ops.subtract(spec[:, f0:f1, P:], z[:, :, :P], out=z[:, :, 4 * P :])  # artifacts: e - P_all
            # Parseval: sum over bins of weight * (re^2 + im^2)
            parts = ops.real_view(z).reshape(B, f1 - f0, -1)  # (B, f, 5 P n 2)
            ops.square_(parts)
            energy = energy + weight[f0:f1] @ parts  # (B, 5 P n 2)
        energy = energy.reshape(B, 5, S, C, count, 2).sum(axis=(3, 5))  # (B, 5, S, n): sum over channels
        for k, name in enumerate(projected):
            out[name].append(energy[:, k])
        # SDR and silence in the time domain, as museval (exact zeros stay exact: SDR = inf)
        r_frames = _frames(ops, x, first * hop, count, hop, W)  # (B, S, C, n, W)
        e_frames = _frames(ops, y, first * hop, count, hop, W)  # (B, S, C, n, W)
        out["target"].append(ops.sum_squares(r_frames).sum(axis=2))  # (B, S, n)
        out["error"].append(ops.sum_squares(e_frames - r_frames).sum(axis=2))  # (B, S, n)
        # A frame where any reference or estimate is silent (channel sum zero at every sample).
        silent = ops.zero_channel_sum(r_frames).any(axis=1) | ops.zero_channel_sum(e_frames).any(axis=1)
        out["silent"].append(silent)  # (B, n)
    return {name: ops.concat(values, axis=-1) for name, values in out.items()}


def _scores(energy: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """SDR, ISR, SIR, SAR ``(B, S, N)`` from :func:`_bss_energies` (as torch tensors)."""
    scores = {
        "SDR": _db(energy["target"], energy["error"]),
        "ISR": _db(energy["target"], energy["spat"]),
        "SIR": _db(energy["own"], energy["interf"]),
        "SAR": _db(energy["all"], energy["artif"]),
    }
    silent = energy["silent"][:, None, :]  # (B, 1, N)
    return {name: scores[name].masked_fill(silent, float("nan")) for name in METRICS}


def _db(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``10 log10(num / den)``, ``+inf`` where ``den == 0`` (museval's ``_safe_db``)."""
    return torch.where(den == 0, torch.inf, 10 * torch.log10(num / den))


# ---------------------------------------------------------------------------------------------
# 2. correlations over the whole track, from block spectra


def _correlations(ops, x, y, L: int, block: int, n_fft: int, keep: bool):
    """``r[b, p, q, k] = sum_n x_p[n] z_q[n + k]`` for ``z = (x, y)`` and lags ``k < L``.

    ``x``, ``y``: ``(B, P, T)``. The track is cut into blocks of ``block >= L - 1`` samples
    (the last one shorter); with ``n_fft >= block + L - 1``, the inverse FFT of the sum over
    blocks of ``conj(X_b) Z_b`` holds every pair of samples in the same block without
    wrap-around. The pairs that straddle blocks ``b`` and ``b + 1`` are the correlations of
    the last ``L - 1`` samples of ``x`` in block ``b`` with the first ``L - 1`` of ``z`` in
    block ``b + 1``, summed the same way with short FFTs.

    Returns ``r`` ``(B, P, 2P, L)`` and, if ``keep``, the spectra of the whole blocks as
    ``[(first block, count, (B, F, 2P, count)), ...]`` (else an empty list).
    """
    B, T = x.shape[0], x.shape[-1]
    P = math.prod(x.shape[1:-1])
    F = n_fft // 2 + 1
    n_whole, tail = divmod(T, block)
    per_chunk = max(1, _CHUNK_BYTES // (16 * B * F * 2 * P))
    chunks = [(i, min(per_chunk, n_whole - i)) for i in range(0, n_whole, per_chunk)]
    chunks += [(n_whole, 1)] if tail else []  # the last, partial block (zero-padded)
    cross = ops.zeros((B, F, P, 2 * P), like=x, complex=True)
    kept = []
    for first, count in chunks:
        spec = _spectra(ops, (x, y), first * block, count, block, block, n_fft)  # (B, F, 2P, n)
        bins = max(1, ops.cache_bytes // (16 * B * 3 * P * count))  # blocks of bins that stay in cache
        for f0 in range(0, F, bins):
            block_spec = spec[:, f0 : f0 + bins]  # (B, f, 2P, n)
            cross[:, f0 : f0 + bins] += ops.conj(block_spec[:, :, :P]) @ block_spec.swapaxes(-1, -2)  # (B, f, P, 2P)
        if keep and first < n_whole:
            kept.append((first, count, spec))
    r = ops.irfft(ops.permute(cross, (0, 2, 3, 1)), n_fft)[..., :L]  # (B, P, 2P, L)
    m = L - 1
    n_blocks = n_whole + (tail > 0)
    if n_blocks > 1 and m > 0:
        n_edge = _pow2(2 * m)  # circular correlation of two length-m signals at lags -m..0
        u = _spectra(ops, (x,), block - m, n_blocks - 1, block, m, n_edge)  # (B, F', P, n_blocks - 1)
        v = _spectra(ops, (x, y), block, n_blocks - 1, block, m, n_edge)  # (B, F', 2P, n_blocks - 1)
        edge = ops.conj(u) @ v.swapaxes(-1, -2)  # (B, F', P, 2P)
        edge = ops.irfft(ops.permute(edge, (0, 2, 3, 1)), n_edge)  # (B, P, 2P, n_edge)
        # lag k of the straddling pairs is lag k - m of (u, v): indices n_edge - m .. n_edge - 1, 0
        r = r + ops.concat([edge[..., n_edge - m :], edge[..., :1]], axis=-1)  # (B, P, 2P, L)
    return r, kept


def _spectra(ops, signals: tuple, first: int, count: int, step: int, size: int, n_fft: int):
    """One-sided spectra ``(B, F, K, count)`` of ``count`` frames of ``size`` samples every
    ``step`` samples from sample ``first`` on (zero-padded past the end), of the channels of
    ``signals`` (arrays ``(B, ..., T)`` of ``K_i`` channels, ``K = sum K_i``) one after the other."""
    B = signals[0].shape[0]
    K = sum(math.prod(s.shape[1:-1]) for s in signals)
    out = ops.empty((B, n_fft // 2 + 1, K, count), like=signals[0], complex=True)
    start = 0
    for signal in signals:
        k = math.prod(signal.shape[1:-1])
        frames = _frames(ops, signal, first, count, step, size)  # (B, ..., count, size)
        spectra = ops.rfft(frames, n_fft).reshape(B, k, count, -1)  # (B, K_i, count, F)
        out[:, :, start : start + k] = ops.permute(spectra, (0, 3, 1, 2))  # (B, F, K_i, count)
        start += k
    return out


def _frames(ops, x, first: int, count: int, step: int, size: int):
    """``(..., count, size)`` frames of ``x`` ``(..., T)``: views where they lie inside the
    signal, zero-padded copies for those that run past its end."""
    T = x.shape[-1]
    inside = min(count, max(0, (T - first - size) // step + 1))
    parts = []
    if inside:
        parts.append(ops.frames(x[..., first : first + (inside - 1) * step + size], size, step))
    if inside < count:
        start = first + inside * step
        need = (count - inside - 1) * step + size
        parts.append(ops.frames(ops.pad(x[..., start : start + need], need), size, step))
    return parts[0] if len(parts) == 1 else ops.concat(parts, axis=-2)


# ---------------------------------------------------------------------------------------------
# 3. distortion filters, estimated once per track


def _distortion_filters(ops, r, S: int, C: int):
    """Least-squares FIR filters from the references onto each estimate, on the whole track.

    ``r``: :func:`_correlations` of references and (references, estimates), ``(B, P, 2P, L)``.
    Returns ``c_all`` ``(B, L, P, P)``: tap ``a`` from reference channel ``p = (i, ci)`` to
    estimate channel ``q = (j, c)``; and ``c_own`` ``(B, S, L, C, C)``: tap ``a`` from channel
    ``ci`` of reference ``j`` to channel ``c`` of estimate ``j``.
    """
    B, P, _, L = r.shape
    # Gram matrix G[(a, p), (b, q)] = <ref_p delayed by a, ref_q delayed by b> = R[a - b][p, q]
    gram = ops.contiguous(ops.permute(r[:, :, :P], (0, 3, 1, 2)))  # (B, L, P, P): R[k], k >= 0
    gram[:, 0] += _EPS * ops.eye(P, like=r)
    # right-hand sides D[(a, p), q] = <ref_p delayed by a, est_q> = r[p, P + q, a]
    rhs = ops.permute(r[:, :, P:], (0, 3, 1, 2))  # (B, L, P, P)
    c_all = _solve_block_toeplitz(ops, gram, rhs)  # (B, L, P, P)
    if S == 1:  # the same system: reuse it so that P_all == P_own exactly (SIR = inf, as museval)
        return c_all, c_all[:, None]
    # The diagonal source blocks: reference j's channels only, estimate j's channels only.
    gram = gram.reshape(B, L, S, C, S, C)
    rhs = rhs.reshape(B, L, S, C, S, C)
    gram_own = ops.stack([gram[:, :, j, :, j] for j in range(S)], axis=1)  # (B, S, L, C, C)
    rhs_own = ops.stack([rhs[:, :, j, :, j] for j in range(S)], axis=1)  # (B, S, L, C, C)
    return c_all, _solve_block_toeplitz(ops, gram_own, rhs_own)  # (B, L, P, P), (B, S, L, C, C)


def _solve_block_toeplitz(ops, R, d):
    """Solve ``sum_b R[a - b] x[b] = d[a]`` for ``a, b = 0 .. L-1``, where ``R[-k] = R[k]^T``
    and ``R[0]`` is symmetric (a symmetric block Toeplitz matrix).

    ``R``: ``(..., L, P, P)`` blocks for lags ``k >= 0``; ``d``: ``(..., L, P, Q)``. Returns
    ``x`` ``(..., L, P, Q)``. Block Levinson recursion: forward and backward predictors ``A``
    and ``Bk`` of growing order ``n`` with ``T_n A = [Ef, 0, ..., 0]`` and
    ``T_n Bk = [0, ..., 0, Eb]`` (``T_n`` the leading ``n x n`` blocks), and the solution of
    ``T_n x = d[:n]`` updated with ``Bk``. For a symmetric ``T`` the backward mismatch
    ``[A, 0]^T T [0, Bk]`` is the transpose of the forward one, so one product per step gives
    both. Everything is kept transposed (rows of ``L P`` columns) so that the long products
    read contiguous rows. A singular leading block (e.g. a track shorter than ``L P`` samples)
    falls back to a dense solve.
    """
    try:
        x = _block_levinson(ops, R, d)
    except (np.linalg.LinAlgError, RuntimeError):  # torch's LinAlgError is a RuntimeError
        x = None
    if x is None or not ops.all_finite(x):
        x = ops.from_torch(_dense_solve(ops.to_torch(R), ops.to_torch(d)))
    return x


def _block_levinson(ops, R, d):
    """The recursion of :func:`_solve_block_toeplitz` (raises if a leading block is singular)."""
    *batch, L, P, _ = R.shape
    Q = d.shape[-1]
    # [R[L-1]^T; ...; R[1]^T; R[0]^T] as (..., L P, P); rows (L-1-n) P .. (L-1) P are
    # [R[n]^T; ...; R[1]^T], which multiply blocks 0 .. n-1 of a predictor.
    past = ops.contiguous(ops.flip(R.swapaxes(-1, -2), axis=-3)).reshape(*batch, L * P, P)
    # rows [x^T; A^T] (both from block 0 on) and Bk^T (right-aligned: block k of n at L - n + k)
    xa = ops.zeros((*batch, Q + P, L * P), like=R)
    xt, at = xa[..., :Q, :], xa[..., Q:, :]
    bt = ops.zeros((*batch, P, L * P), like=R)
    eye = ops.eye(P, like=R)
    at[..., :P] = eye
    bt[..., (L - 1) * P :] = eye
    ef = eb = R[..., 0, :, :]
    xt[..., :P] = ops.solve(ef, d[..., 0, :, :]).swapaxes(-1, -2)
    for n in range(1, L):  # from n blocks to n + 1
        m = n * P
        mismatch = xa[..., :m] @ past[..., (L - 1 - n) * P : (L - 1) * P, :]  # (..., Q + P, P)
        px_t, df_t = mismatch[..., :Q, :], mismatch[..., Q:, :]  # (T_{n+1} [x, 0])[n]^T, delta_f^T
        df = df_t.swapaxes(-1, -2)  # delta_f; delta_b = delta_f^T
        # k_f = Eb^-1 delta_f, k_b = Ef^-1 delta_b (solves: inverses lose digits when T is
        # ill-conditioned, e.g. a nearly silent source)
        k = ops.solve(ops.stack([eb, ef], axis=-3), ops.stack([df, df_t], axis=-3))  # (..., 2, P, P)
        kf, kb = k[..., 0, :, :], k[..., 1, :, :]
        ef = ef - df_t @ kf
        eb = eb - df @ kb
        a_old = at[..., : m + P]  # (..., P, (n + 1) P), last block zero
        b_old = bt[..., (L - n - 1) * P :]  # (..., P, (n + 1) P), first block zero
        a_step = kf.swapaxes(-1, -2) @ b_old
        b_old -= kb.swapaxes(-1, -2) @ a_old
        a_old -= a_step
        gain = ops.solve(eb, d[..., n, :, :] - px_t.swapaxes(-1, -2))  # (..., P, Q)
        xt[..., : m + P] += gain.swapaxes(-1, -2) @ b_old
    return ops.permute(xt.reshape(*batch, Q, L, P), (*range(len(batch)), -2, -1, -3))  # (..., L, P, Q)


def _dense_solve(R: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Fallback of :func:`_solve_block_toeplitz`: build the dense matrix and solve it (LU as
    museval, least squares if singular)."""
    *batch, L, P, Q = d.shape
    lag = torch.arange(L, device=R.device)
    diff = lag[:, None] - lag[None, :]  # (L, L): a - b
    blocks = torch.where(
        (diff >= 0)[:, :, None, None],
        R[..., diff.clamp(min=0), :, :],
        R[..., (-diff).clamp(min=0), :, :].transpose(-1, -2),
    )  # (..., L, L, P, P)
    G = blocks.transpose(-3, -2).reshape(*batch, L * P, L * P)  # rows (a, p), columns (b, q)
    rhs = d.reshape(*batch, L * P, Q)
    try:
        sol = torch.linalg.solve(G, rhs)
    except RuntimeError:  # exactly singular
        sol = torch.linalg.lstsq(G.cpu(), rhs.cpu(), driver="gelsd").solution.to(G.device)
    return sol.reshape(*batch, L, P, Q)


# ---------------------------------------------------------------------------------------------
# 4. the array operations of the two paths


class _NumpyOps:
    """CPU path: numpy arrays. pocketfft (``scipy.fft``) and OpenBLAS' batched products are
    2-3x faster here than torch's MKL on AMD processors, and numpy's small-matrix calls cost a
    few microseconds where torch's cost tens (the recursion makes about 15 per tap)."""

    @staticmethod
    def from_torch(x: torch.Tensor) -> np.ndarray:
        # contiguous: numpy's reductions over strided arrays are several times slower than a copy
        return np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float64)

    @staticmethod
    def to_torch(x: np.ndarray, device="cpu") -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x)).to(device)

    @staticmethod
    def zeros(shape, like, complex=False):
        return np.zeros(shape, dtype=np.complex128 if complex else np.float64)

    @staticmethod
    def empty(shape, like, complex=False):
        return np.empty(shape, dtype=np.complex128 if complex else np.float64)

    @staticmethod
    def eye(n, like):
        return np.eye(n)

    @staticmethod
    def rfft(x, n):
        return scipy.fft.rfft(x, n=n, axis=-1, workers=torch.get_num_threads())

    @staticmethod
    def irfft(x, n):
        return scipy.fft.irfft(x, n=n, axis=-1, workers=torch.get_num_threads())

    @staticmethod
    def frames(x, size, step):
        return np.lib.stride_tricks.sliding_window_view(x, size, axis=-1)[..., ::step, :]

    @staticmethod
    def pad(x, length):
        out = np.zeros((*x.shape[:-1], length))
        out[..., : x.shape[-1]] = x
        return out

    cache_bytes = 1 << 21
    matmul = staticmethod(np.matmul)
    subtract = staticmethod(np.subtract)
    permute = staticmethod(np.transpose)
    contiguous = staticmethod(np.ascontiguousarray)
    conj = staticmethod(np.conj)
    solve = staticmethod(np.linalg.solve)
    stack = staticmethod(np.stack)
    concat = staticmethod(np.concatenate)
    flip = staticmethod(np.flip)

    @staticmethod
    def real_view(z):
        return z.view(np.float64)

    @staticmethod
    def square_(x):
        np.square(x, out=x)

    @staticmethod
    def sum_squares(x):
        return np.einsum("...i,...i->...", x, x)

    @staticmethod
    def zero_channel_sum(x):
        """``(B, S, C, ..., W) -> (B, S, ...)``: the sum over channels is zero at every sample."""
        return ~np.any(x.sum(axis=2) != 0, axis=-1)

    @staticmethod
    def all_finite(x):
        return bool(np.isfinite(x.sum()))

    @staticmethod
    def parseval_weights(n_fft, like):
        """Weights of ``|X_f|^2`` whose sum is the energy of a real signal (one-sided spectrum)."""
        weight = np.full(n_fft // 2 + 1, 2.0 / n_fft)
        weight[0] = 1.0 / n_fft
        if n_fft % 2 == 0:
            weight[-1] = 1.0 / n_fft
        return weight


class _TorchOps:
    """GPU path: torch tensors on the inputs' device."""

    cache_bytes = 1 << 28  # no cache to fit: large blocks, few kernels

    @staticmethod
    def from_torch(x: torch.Tensor) -> torch.Tensor:
        return x.detach().to(torch.float64).contiguous()

    @staticmethod
    def to_torch(x: torch.Tensor, device=None) -> torch.Tensor:
        return x if device is None else x.to(device)

    @staticmethod
    def zeros(shape, like, complex=False):
        return torch.zeros(shape, dtype=torch.complex128 if complex else torch.float64, device=like.device)

    @staticmethod
    def empty(shape, like, complex=False):
        return torch.empty(shape, dtype=torch.complex128 if complex else torch.float64, device=like.device)

    @staticmethod
    def eye(n, like):
        return torch.eye(n, dtype=torch.float64, device=like.device)

    @staticmethod
    def rfft(x, n):
        return torch.fft.rfft(x, n=n)

    @staticmethod
    def irfft(x, n):
        return torch.fft.irfft(x, n=n)

    @staticmethod
    def frames(x, size, step):
        return x.unfold(-1, size, step)

    @staticmethod
    def pad(x, length):
        return torch.nn.functional.pad(x, (0, length - x.shape[-1]))

    @staticmethod
    def permute(x, dims):
        return x.permute(dims)

    @staticmethod
    def contiguous(x):
        return x.contiguous()

    @staticmethod
    def conj(x):
        return x.conj()

    solve = staticmethod(torch.linalg.solve)

    @staticmethod
    def stack(xs, axis):
        return torch.stack(xs, dim=axis)

    @staticmethod
    def concat(xs, axis):
        return torch.cat(xs, dim=axis)

    @staticmethod
    def flip(x, axis):
        return x.flip(axis)

    @staticmethod
    def real_view(z):
        return torch.view_as_real(z)

    @staticmethod
    def square_(x):
        x.square_()

    @staticmethod
    def matmul(a, b, out):
        out.copy_(a @ b)

    @staticmethod
    def subtract(a, b, out):
        torch.sub(a, b, out=out)

    @staticmethod
    def sum_squares(x):
        return torch.linalg.vector_norm(x, dim=-1) ** 2

    @staticmethod
    def zero_channel_sum(x):
        return (x.sum(dim=2) == 0).all(dim=-1)

    @staticmethod
    def all_finite(x):
        return bool(torch.isfinite(x.sum()))

    @staticmethod
    def parseval_weights(n_fft, like):
        weight = torch.full((n_fft // 2 + 1,), 2.0 / n_fft, dtype=torch.float64, device=like.device)
        weight[0] = 1.0 / n_fft
        if n_fft % 2 == 0:
            weight[-1] = 1.0 / n_fft
        return weight


def _pow2(n: int) -> int:
    """Smallest power of two ``>= n`` (at least 2)."""
    return max(2, 1 << (n - 1).bit_length())


def _fast_length(n: int) -> int:
    """Smallest even number ``>= n`` with no prime factor above 5 (fast FFT sizes)."""
    m = n + (n % 2)
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 2
