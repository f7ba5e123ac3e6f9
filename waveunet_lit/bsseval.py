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

How it is fast (museval takes about 3 minutes per 4-minute track): the correlations that fill
``G`` and ``D`` are accumulated block by block in the frequency domain (one batched matrix
product per block of frequency bins instead of one full-length inverse FFT per pair of
channels); ``G`` is block Toeplitz (block ``(a, b)`` is ``R[a - b]``, ``R[-k] = R[k]^T``), so
the normal equations are solved with the block Levinson recursion (Whittle 1963; Wiggins &
Robinson 1965) in ``O(L^2 (SC)^3)`` instead of a dense ``O((L S C)^3)`` LU (a dense solve is
the fallback if the recursion breaks down); the frame metrics use Parseval's theorem on the
frames' spectra. Everything runs in float64.

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
import torch

__all__ = ["bss_eval_v4", "bss_eval_v4_batch", "METRICS"]

#: Names of the four BSSEval metrics, in museval's order.
METRICS = ("SDR", "ISR", "SIR", "SAR")

# numpy's float64 machine epsilon, which museval adds to the diagonal of the Gram matrix.
_EPS = torch.finfo(torch.float64).eps


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
        >>> ref = torch.randn(3, 4, 2, 2000, generator=g, dtype=torch.float64)
        >>> bss_eval_v4_batch(ref + 0.01 * ref.flip(1), ref, window=1000, hop=500)["SIR"].shape
        torch.Size([3, 4, 3])
    """
    _check_inputs(estimates, references, 4, "(B, S, C, T)")
    window = rate if window is None else window
    hop = rate if hop is None else hop
    for name, value in (("rate", rate), ("window", window), ("hop", hop), ("filter_length", filter_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"bss_eval_v4: {name} must be a positive int, got {value!r}")
    est = estimates.to(torch.float64)
    ref = references.to(torch.float64)
    for what, x in (("reference", ref), ("estimate", est)):
        silent = (x.sum(dim=2) == 0).all(dim=-1)  # (B, S), museval's _any_source_silent
        if silent.any():
            b, s = (int(i) for i in silent.nonzero()[0])
            raise ValueError(
                f"bss_eval_v4: {what} source {s} (track {b}) is all zeros; BSSEval is undefined "
                "for silent sources (museval raises here too)"
            )
    c_all, c_own = _distortion_filters(est, ref, filter_length)
    return _frame_metrics(est, ref, c_all, c_own, window, hop)


def _check_inputs(estimates: torch.Tensor, references: torch.Tensor, dims: int, shape: str) -> None:
    if not isinstance(estimates, torch.Tensor) or not isinstance(references, torch.Tensor):
        raise ValueError("bss_eval_v4 expects torch tensors for estimates and references")
    if estimates.shape != references.shape or estimates.dim() != dims or estimates.shape[-1] == 0:
        raise ValueError(
            f"bss_eval_v4 expects estimates and references of the same shape {shape}, "
            f"got {tuple(estimates.shape)} and {tuple(references.shape)}"
        )
    for name, x in (("estimates", estimates), ("references", references)):
        # one pass: any NaN or inf makes the sum non-finite
        if x.is_complex() or not torch.isfinite(x.sum(dtype=torch.float64)):
            raise ValueError(f"bss_eval_v4: {name} must be real and finite (found NaN, inf or complex)")


# ---------------------------------------------------------------------------------------------
# 1. distortion filters, estimated once per track


def _distortion_filters(est: torch.Tensor, ref: torch.Tensor, L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Least-squares FIR filters from the references onto each estimate, on the whole track.

    Returns ``c_all`` ``(B, L, P, P)``: tap ``a`` from reference channel ``p = (i, ci)`` to
    estimate channel ``q = (j, c)``; and ``c_own`` ``(B, S, L, C, C)``: tap ``a`` from channel
    ``ci`` of reference ``j`` to channel ``c`` of estimate ``j``.
    """
    B, S, C, T = ref.shape
    P = S * C
    # r[p, q, k] = sum_n ref_p[n] y_q[n + k] for y = (references, estimates), k = 0..L-1.
    r = _correlations(ref.reshape(B, P, T), (ref.reshape(B, P, T), est.reshape(B, P, T)), L)
    # Gram matrix G[(a, p), (b, q)] = <ref_p delayed by a, ref_q delayed by b> = R[a - b][p, q]
    gram = r[:, :, :P].permute(0, 3, 1, 2).contiguous()  # (B, L, P, P): R[k], k >= 0
    gram[:, 0] += _EPS * torch.eye(P, dtype=gram.dtype, device=gram.device)
    # right-hand sides D[(a, p), q] = <ref_p delayed by a, est_q> = r[p, P + q, a]
    rhs = r[:, :, P:].permute(0, 3, 1, 2)  # (B, L, P, P)
    c_all = _solve_block_toeplitz(gram, rhs)  # (B, L, P, P)
    if S == 1:  # the same system: reuse it so that P_all == P_own exactly (SIR = inf, as museval)
        return c_all, c_all[:, None]
    # The diagonal source blocks: reference j's channels only, estimate j's channels only.
    gram_own = torch.diagonal(gram.view(B, L, S, C, S, C), dim1=2, dim2=4)  # (B, L, C, C, S)
    rhs_own = torch.diagonal(rhs.reshape(B, L, S, C, S, C), dim1=2, dim2=4)  # (B, L, C, C, S)
    c_own = _solve_block_toeplitz(gram_own.permute(0, 4, 1, 2, 3), rhs_own.permute(0, 4, 1, 2, 3))
    return c_all, c_own  # (B, L, P, P), (B, S, L, C, C)


def _correlations(x: torch.Tensor, ys: tuple[torch.Tensor, ...], n_lags: int) -> torch.Tensor:
    """Cross-correlations at lags ``0 .. n_lags - 1``: ``r[..., p, q, k] = sum_n x_p[n] y_q[n + k]``.

    ``x``: ``(B, P, T)``; ``ys``: tensors ``(B, Q_i, T)``, taken together as ``y`` with
    ``Q = sum Q_i`` channels. Returns ``(B, P, Q, n_lags)``. The sum over ``n`` is split into
    blocks of ``M`` samples of ``x``; each block meets ``M + n_lags - 1`` samples of ``y``, so an
    FFT of that length holds every needed lag without wrap-around, and the blocks' cross-spectra
    add up before one inverse FFT per pair of channels.
    """
    B, P, T = x.shape
    n_fft = max(16384, 1 << math.ceil(math.log2(4 * n_lags)))
    n_fft = min(n_fft, 1 << math.ceil(math.log2(T + n_lags - 1)))
    M = n_fft - n_lags + 1  # samples of x per block
    n_blocks = -(-T // M)
    Q = sum(y.shape[1] for y in ys)
    F = n_fft // 2 + 1
    # The sum over blocks is one matrix product per frequency bin: conj(X) (P, nb) @ Y (nb, Q).
    cross = torch.zeros(B, F, P, Q, dtype=torch.complex128, device=x.device)
    per_chunk = max(1, (1 << 24) // (n_fft * (P + Q) * B))  # about 256 MB of spectra per chunk
    for start in range(0, n_blocks, per_chunk):
        stop = min(start + per_chunk, n_blocks)
        seg = slice(start * M, min(stop * M + n_lags - 1, T))
        xb = _blocks(x[..., seg], stop - start, M, M)  # (B, P, nb, M)
        X = _rfft(xb, n=n_fft).permute(0, 3, 1, 2).contiguous()  # (B, F, P, nb)
        X.imag.neg_()  # conj, in place
        Y = torch.cat(
            [_rfft(_blocks(y[..., seg], stop - start, M, n_fft), n=n_fft) for y in ys], dim=1
        )  # (B, Q, nb, F)
        cross += X @ Y.permute(0, 3, 2, 1).contiguous()  # (B, F, P, Q)
    cross = cross.permute(0, 2, 3, 1)  # (B, P, Q, F)
    return torch.fft.irfft(cross, n=n_fft)[..., :n_lags]  # (B, P, Q, n_lags)


def _rfft(x: torch.Tensor, n: int, dim: int = -1) -> torch.Tensor:
    """``torch.fft.rfft``; on CPU through numpy's pocketfft, which is 2-3x faster here than
    torch's MKL FFT on AMD processors (the values agree to rounding)."""
    if x.device.type != "cpu":
        return torch.fft.rfft(x, n=n, dim=dim)
    return torch.from_numpy(np.fft.rfft(x.numpy(), n=n, axis=dim))


def _blocks(x: torch.Tensor, n_blocks: int, hop: int, size: int) -> torch.Tensor:
    """``n_blocks`` frames of ``size`` samples every ``hop`` samples, zero-padded at the end."""
    need = (n_blocks - 1) * hop + size
    x = torch.nn.functional.pad(x, (0, need - x.shape[-1]))
    return x.unfold(-1, size, hop)  # (..., n_blocks, size)


def _solve_block_toeplitz(R: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Solve ``sum_b R[a - b] x[b] = d[a]`` for ``a, b = 0 .. L-1``, where ``R[-k] = R[k]^T``.

    ``R``: ``(..., L, P, P)`` blocks for lags ``k >= 0``; ``d``: ``(..., L, P, Q)``. Returns
    ``x`` ``(..., L, P, Q)``. Block Levinson recursion: forward and backward predictors ``A``
    and ``Bk`` of growing order ``n`` with ``T_n A = [Ef, 0, ..., 0]`` and
    ``T_n Bk = [0, ..., 0, Eb]`` (``T_n`` the leading ``n x n`` blocks), and the solution of
    ``T_n x = d[:n]`` updated with ``Bk``. A non-finite result (a singular leading block) falls
    back to a dense solve.
    """
    *batch, L, P, _ = R.shape
    Q = d.shape[-1]
    # Rows of blocks, so that each sum over blocks below is one matrix product:
    # rev = [R[L-1], ..., R[1], R[0]] and fwd_t = [R[1]^T, ..., R[L-1]^T], both (..., P, L P).
    rev = R.flip(-3).transpose(-3, -2).reshape(*batch, P, L * P)
    fwd_t = R[..., 1:, :, :].transpose(-1, -2).transpose(-3, -2).reshape(*batch, P, (L - 1) * P)
    # A is stored from block 0 on; Bk is stored right-aligned (its block k of n at L - n + k),
    # so that the shifted [0, Bk] of the update is the view Bk[L - n - 1:].
    A = R.new_zeros(*batch, L, P, P)
    Bk = R.new_zeros(*batch, L, P, P)
    eye = torch.eye(P, dtype=R.dtype, device=R.device)
    A[..., 0, :, :] = eye
    Bk[..., L - 1, :, :] = eye
    Ef = R[..., 0, :, :].clone()
    Eb = R[..., 0, :, :].clone()
    x = torch.zeros_like(d)
    x[..., 0, :, :] = torch.linalg.solve(R[..., 0, :, :], d[..., 0, :, :])
    for n in range(1, L):  # from n blocks to n + 1
        past = rev[..., (L - 1 - n) * P : (L - 1) * P]  # [R[n], ..., R[1]]
        delta_f = past @ A[..., :n, :, :].reshape(*batch, n * P, P)
        delta_b = fwd_t[..., : n * P] @ Bk[..., L - n :, :, :].reshape(*batch, n * P, P)
        k_f = torch.linalg.solve_ex(Eb, delta_f)[0]
        k_b = torch.linalg.solve_ex(Ef, delta_b)[0]
        a_old = A[..., : n + 1, :, :].reshape(*batch, (n + 1) * P, P)  # last block still zero
        b_old = Bk[..., L - n - 1 :, :, :].reshape(*batch, (n + 1) * P, P)  # first block zero
        a_new = a_old - b_old @ k_f
        b_new = b_old - a_old @ k_b
        a_old.copy_(a_new)
        b_old.copy_(b_new)
        Ef = Ef - delta_b @ k_f
        Eb = Eb - delta_f @ k_b
        residual = d[..., n, :, :] - past @ x[..., :n, :, :].reshape(*batch, n * P, Q)
        gain = torch.linalg.solve_ex(Eb, residual)[0]
        x[..., : n + 1, :, :] += (b_new @ gain).view(*batch, n + 1, P, Q)
    if not torch.isfinite(x.sum()):
        x = _dense_solve(R, d)
    return x


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
# 2. metrics per frame


def _frame_metrics(
    est: torch.Tensor, ref: torch.Tensor, c_all: torch.Tensor, c_own: torch.Tensor, window: int, hop: int
) -> dict[str, torch.Tensor]:
    """SDR, ISR, SIR, SAR ``(B, S, N)`` per frame, given the filters of
    :func:`_distortion_filters`."""
    B, S, C, T = ref.shape
    P = S * C
    L = c_all.shape[1]
    # museval's Framing: whole frames only, or one frame with the whole signal.
    n_frames = (T - window + hop) // hop if window < T else 1
    W = min(window, T)
    n_fft = _fast_length(W + L - 1)  # full linear convolution, no wrap-around
    # One filter bank for every signal whose energy is needed (each is linear in the frame of
    # the references): rows (q = estimate channel) of P_all = C_all * s, P_own = C_own * s_j
    # (block diagonal: source j to source j), P_own - s_j (the spatial error) and
    # P_all - P_own (the interference).
    own = torch.zeros(B, L, S, C, S, C, dtype=c_own.dtype, device=c_own.device)
    for j in range(S):
        own[:, :, j, :, j, :] = c_own[:, j]
    own = own.view(B, L, P, P)
    identity = torch.zeros_like(own)
    identity[:, 0] = torch.eye(P, dtype=own.dtype, device=own.device)
    taps = torch.cat([c_all, own, own - identity, c_all - own], dim=-1)  # (B, L, P_in, 4 P)
    filters = _rfft(taps, n=n_fft, dim=1).transpose(-1, -2).contiguous()  # (B, F, 4P, P)
    F = n_fft // 2 + 1
    # Parseval for a real signal from its one-sided spectrum.
    weight = torch.full((F,), 2.0 / n_fft, dtype=torch.float64, device=ref.device)
    weight[0] = 1.0 / n_fft
    if n_fft % 2 == 0:
        weight[-1] = 1.0 / n_fft
    ref_frames = ref.reshape(B, P, T).unfold(-1, W, hop)[..., :n_frames, :]  # (B, P, N, W)
    est_frames = est.reshape(B, P, T).unfold(-1, W, hop)[..., :n_frames, :]  # (B, P, N, W)

    def energy(spectrum: torch.Tensor) -> torch.Tensor:
        """Sum of squares over time (Parseval) and over each source's channels:
        ``(B, F, K P, n) -> (B, K, S, n)``."""
        K = spectrum.shape[2] // P
        power = torch.view_as_real(spectrum).square().reshape(B, F, -1)  # (B, F, K P n 2)
        total = (weight @ power).view(B, K, S, C, -1, 2)  # (B, K, S, C, n, re/im)
        return total.sum(dim=(3, 5))  # (B, K, S, n)

    out = {name: [] for name in METRICS}
    per_chunk = max(1, (1 << 21) // (F * P * B))  # about 256 MB for the projections
    for start in range(0, n_frames, per_chunk):
        r = ref_frames[..., start : start + per_chunk, :]  # (B, P, n, W)
        e = est_frames[..., start : start + per_chunk, :]  # (B, P, n, W)
        R = _rfft(r, n=n_fft).permute(0, 3, 1, 2).contiguous()  # (B, F, P, n)
        E = _rfft(e, n=n_fft).permute(0, 3, 1, 2)  # (B, F, P, n)
        proj = filters @ R  # (B, F, 4P, n): P_all, P_own, P_own - s, P_all - P_own
        all_own_spat_interf = energy(proj)  # (B, 4, S, n)
        p_all, p_own, spat, interf = all_own_spat_interf.unbind(1)  # (B, S, n) each
        artif = energy(E - proj[:, :, :P])[:, 0]  # (B, S, n)
        # SDR in the time domain, as museval (exact zeros stay exact: SDR = inf)
        s_energy = (torch.linalg.vector_norm(r, dim=-1) ** 2).view(B, S, C, -1).sum(dim=2)  # (B, S, n)
        err_energy = (torch.linalg.vector_norm(e - r, dim=-1) ** 2).view(B, S, C, -1).sum(dim=2)
        scores = {
            "SDR": _db(s_energy, err_energy),
            "ISR": _db(s_energy, spat),
            "SIR": _db(p_own, interf),
            "SAR": _db(p_all, artif),
        }
        # A frame where any reference or estimate is silent is NaN everywhere (museval).
        silent = torch.zeros(B, r.shape[2], dtype=torch.bool, device=r.device)  # (B, n)
        for x in (r, e):
            silent |= (x.view(B, S, C, *x.shape[2:]).sum(dim=2) == 0).all(dim=-1).any(dim=1)
        for name in METRICS:
            out[name].append(scores[name].masked_fill(silent[:, None, :], float("nan")))
    return {name: torch.cat(out[name], dim=-1) for name in METRICS}  # (B, S, N)


def _db(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``10 log10(num / den)``, ``+inf`` where ``den == 0`` (museval's ``_safe_db``)."""
    return torch.where(den == 0, torch.inf, 10 * torch.log10(num / den))


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
