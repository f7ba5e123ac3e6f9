"""Test-set evaluation with BSSEval v4, the numbers MUSDB18 papers report.

For every track of a MUSDB18 folder (HQ WAV layout or ``.stem.mp4``): separate the mixture
(or read stems someone else separated), score the estimates with BSSEval v4 as
``museval.eval_mus_track`` does (1 s windows and hops, SDR/ISR/SIR/SAR per frame), and write
one JSON file per track and method in museval's format (``<out>/<method>/<subset>/<track>.json``,
readable by ``museval.EvalStore().add_eval_dir(<out>/<method>)`` and the sigsep tools).
Scored beside the model, always: the **mixture** as every source's estimate (the floor a model
must beat); on request the **ideal ratio mask oracle** (``oracle-irm``: masks computed from
the true sources, a ceiling for masking methods, not a method).

Two scorers give the same numbers: ``metric="torch"`` (:func:`waveunet_lit.bsseval.bss_eval_v4`,
batched, on the model's device; the default) and ``metric="museval"`` (the reference code).

Resumable: a track whose JSON exists and was written with the same settings (same weights,
tiling, scorer ...; a fingerprint is stored in the JSON under ``"waveunet"``) is read back, not
scored again. A track that fails (unreadable file, wrong shape or rate, silent reference, NaN
in an estimate) is reported with its reason and the others go on. The aggregated tables and
plots are in :mod:`waveunet_lit.report`.
"""

import hashlib
import json
import tempfile
import time
from pathlib import Path

import museval
import numpy as np
import simplejson
import torch
from torch import nn
from tqdm.auto import tqdm

from .data import STEMS_OF, Track, find_tracks
from .report import aggregate, format_table, frames_table, write_report
from .atomic import atomic_path
from .audio import model_device, read_audio
from .separate import separate
from .wiener import FRAME, frame_problem

__all__ = [
    "evaluate", "format_table", "score_track", "check_estimates", "ideal_ratio_mask", "METRICS",
    "evaluation_sources", "method_settings", "check_same_method", "stored_scores", "read_references", "estimate", "score_and_store",
    "frame_rows", "summarize",
]

#: BSSEval's four metrics, in museval's order.
METRICS = ("SDR", "ISR", "SIR", "SAR")
#: Bump when stored scores would differ for the same settings (forces a re-run).
FORMAT_VERSION = 1
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac")


# ---------------------------------------------------------------------------------------------
# checks and scoring


def check_estimates(
    estimates: torch.Tensor,
    references: torch.Tensor,
    sources: tuple[str, ...],
    rate: int,
    estimates_rate: int | None = None,
) -> None:
    """Raise ``ValueError`` naming the source and the problem unless ``estimates`` can be
    scored against ``references``: same shape ``(S, C, T)`` and rate, finite, nothing silent.

    Example:
        >>> ref = torch.randn(2, 2, 100)
        >>> check_estimates(ref.clone(), ref, ("vocals", "accompaniment"), 8000)  # passes
        >>> check_estimates(ref[..., :99], ref, ("vocals", "accompaniment"), 8000)
        Traceback (most recent call last):
        ...
        ValueError: estimates have shape (2, 2, 99) but the references (2, 2, 100) (sources, channels, samples) ...
    """
    if estimates_rate is not None and estimates_rate != rate:
        raise ValueError(f"estimates are at {estimates_rate} Hz but the references at {rate} Hz; resample them first")
    if estimates.shape != references.shape or references.dim() != 3 or references.shape[0] != len(sources):
        raise ValueError(
            f"estimates have shape {tuple(estimates.shape)} but the references {tuple(references.shape)} "
            f"(sources, channels, samples) for sources {list(sources)}; they must match"
        )
    for s, name in enumerate(sources):
        if not torch.isfinite(estimates[s]).all():
            raise ValueError(f"the estimate of {name!r} contains NaN or infinite samples")
        if not torch.isfinite(references[s]).all():
            raise ValueError(f"the reference of {name!r} contains NaN or infinite samples")
        if not references[s].any():
            raise ValueError(
                f"the reference of {name!r} is all zeros: BSSEval is undefined for a silent source "
                "(museval raises too); leave this track or source out"
            )
        if not estimates[s].any():
            raise ValueError(f"the estimate of {name!r} is all zeros: BSSEval is undefined for a silent estimate (museval raises too)")


def _groups(sources: tuple[str, ...]) -> list[tuple[list[str], list[str]]]:
    """Which sources museval scores together, and which of those it keeps.

    ``museval.eval_mus_track`` scores all targets jointly, except that with both ``vocals``
    and ``accompaniment`` it scores that pair on its own (and vocals from the pair only)."""
    targets = list(sources)
    has_acc = "vocals" in targets and "accompaniment" in targets
    main = [t for t in targets if t != "accompaniment"] if has_acc else targets
    groups = []
    if len(main) >= 2:
        groups.append((main, [t for t in main if not (has_acc and t == "vocals")]))
    elif not has_acc:
        raise ValueError(f"BSSEval (as museval runs it) needs at least two sources, got {targets}")
    if has_acc:
        groups.append((["vocals", "accompaniment"], ["vocals", "accompaniment"]))
    return groups


def score_track(
    estimates: torch.Tensor,
    references: torch.Tensor,
    sources: tuple[str, ...],
    rate: int,
    metric: str = "torch",
    device: str | torch.device | None = None,
    estimates_rate: int | None = None,
) -> dict[str, dict[str, list[float]]]:
    """BSSEval v4 of one track, frame by frame, as ``museval.eval_mus_track`` computes it.

    Args:
        estimates: ``(S, C, T)`` estimated sources, in the order of ``sources``.
        references: ``(S, C, T)`` true sources.
        sources: the S source names.
        rate: sample rate of the references (frames are ``rate`` samples, 1 s, apart).
        metric: ``"torch"`` (:func:`waveunet_lit.bsseval.bss_eval_v4`) or ``"museval"``.
        device: where the torch scorer runs (default: the references' device).
        estimates_rate: the estimates' rate when it is known separately (checked).

    Returns:
        ``{source: {"SDR": [...], "ISR": [...], "SIR": [...], "SAR": [...]}}`` in dB, one value
        per 1 s frame; NaN where a frame is silent; sources in the order of ``sources``.

    Raises:
        ValueError: see :func:`check_estimates`; an unknown ``metric``.
    """
    if metric not in ("torch", "museval"):
        raise ValueError(f"metric must be 'torch' or 'museval', got {metric!r}")
    check_estimates(estimates, references, sources, rate, estimates_rate)
    index = {name: s for s, name in enumerate(sources)}
    result: dict[str, dict[str, list[float]]] = {}
    for group, keep in _groups(tuple(sources)):
        rows = [index[t] for t in group]
        est, ref = estimates[rows], references[rows]  # (S', C, T)
        if metric == "torch":
            from .bsseval import bss_eval_v4

            dev = device if device is not None else ref.device
            scores = bss_eval_v4(est.to(dev, torch.float64), ref.to(dev, torch.float64), rate=rate)
            values = {m: scores[m].cpu().numpy() for m in METRICS}  # (S', N) each
        else:
            # museval wants (S, T, C) arrays
            sdr, isr, sir, sar = museval.evaluate(
                ref.transpose(1, 2).double().cpu().numpy(), est.transpose(1, 2).double().cpu().numpy(), win=rate, hop=rate
            )
            values = {"SDR": sdr, "ISR": isr, "SIR": sir, "SAR": sar}
        for i, target in enumerate(group):
            if target in keep:
                result[target] = {m: values[m][i].tolist() for m in METRICS}
    return {name: result[name] for name in sources}


def ideal_ratio_mask(
    mix: torch.Tensor, references: torch.Tensor, n_fft: int = 4096, hop: int = 1024, power: float = 2.0
) -> torch.Tensor:
    """The ideal ratio mask oracle: the mixture's STFT masked by ``|R_j|^p / sum_k |R_k|^p``.

    An *oracle*: it reads the true sources, so it bounds what a time-frequency mask of this
    resolution can reach; it is no separation method. Whatever the references do not cover
    (``mix - sum(references)``) competes as one more source, so masks of a partial set of
    sources do not claim the rest. ``power=2`` is the "IRM2" of the sigsep oracles.

    Args:
        mix: ``(C, T)`` mixture.
        references: ``(S, C, T)`` true sources.
        n_fft, hop: STFT size and hop (Hann window).
        power: exponent ``p`` of the magnitudes.

    Returns:
        ``(S, C, T)`` estimates; they add up to the mixture up to the uncovered rest.

    Example:
        >>> refs = torch.randn(2, 1, 8000)
        >>> est = ideal_ratio_mask(refs.sum(0), refs, n_fft=512, hop=128)
        >>> est.shape, bool((est.sum(0) - refs.sum(0)).abs().max() < 1e-3)
        (torch.Size([2, 1, 8000]), True)
    """
    S, C, T = references.shape
    window = torch.hann_window(n_fft, device=mix.device, dtype=mix.dtype)

    def stft(x: torch.Tensor) -> torch.Tensor:
        return torch.stft(x, n_fft, hop, window=window, return_complex=True)  # (C, F, N)

    rest = mix - references.sum(0)  # (C, T)
    total = stft(rest).abs() ** power  # (C, F, N)
    for s in range(S):
        total += stft(references[s]).abs() ** power
    mix_spec = stft(mix)  # (C, F, N)
    out = torch.empty_like(references)  # (S, C, T)
    for s in range(S):
        mask = stft(references[s]).abs() ** power / total.clamp_min(1e-20)  # (C, F, N)
        out[s] = torch.istft(mask * mix_spec, n_fft, hop, window=window, length=T)  # (C, T)
    return out


# ---------------------------------------------------------------------------------------------
# stored scores (museval's JSON, plus our settings)


def weights_digest(model: nn.Module) -> str:
    """A short hash of a model's class and state (parameters and buffers)."""
    h = hashlib.sha256(type(model).__qualname__.encode())
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def _fingerprint(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _json_path(out_dir: Path, method: str, subset: str, track: str) -> Path:
    return out_dir / method / subset / f"{track}.json"


def _load_scores(path: Path, fingerprint: str) -> dict[str, dict[str, list[float]]] | None:
    """The frames stored in ``path`` when they were written with ``fingerprint``, else None."""
    if not path.is_file():
        return None
    try:
        data = simplejson.loads(path.read_text(), allow_nan=True)
        if data.get("waveunet", {}).get("fingerprint") != fingerprint:
            return None
        return {
            t["name"]: {m: [float(f["metrics"][m]) for f in t["frames"]] for m in METRICS} for t in data["targets"]
        }
    except (ValueError, KeyError, TypeError, OSError):
        return None  # damaged or foreign file: score again


def _save_scores(path: Path, track: str, scores: dict[str, dict[str, list[float]]], settings: dict,
                 checkpoint: str | None = None) -> dict:
    """Write museval's TrackStore JSON (plus ``"waveunet"``: settings and fingerprint)
    atomically; returns the frames as stored (rounded to 1e-5 dB as museval does)."""
    store = museval.TrackStore(track_name=track, win=1, hop=1)
    for target, values in scores.items():
        store.add_target(target_name=target, values=values)
    store.validate()
    store.scores["waveunet"] = {"settings": settings, "fingerprint": _fingerprint(settings)}
    if checkpoint is not None:  # who made the scores, for a reader; not part of the fingerprint
        store.scores["waveunet"]["checkpoint"] = checkpoint
    text = store.json
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    stored = simplejson.loads(text, allow_nan=True)
    return {t["name"]: {m: [float(f["metrics"][m]) for f in t["frames"]] for m in METRICS} for t in stored["targets"]}


def _rounded(scores: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, list[float]]]:
    """Scores as museval stores them (5 decimals, inf -> NaN), when nothing is written."""
    def q(v: float) -> float:
        return float("nan") if not np.isfinite(v) else round(v, 5)

    return {t: {m: [q(v) for v in vals] for m, vals in ms.items()} for t, ms in scores.items()}


def _require_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".probe."):
            pass
    except OSError as err:
        raise PermissionError(f"output folder {out_dir} is not writable ({err.strerror or err})") from err


# ---------------------------------------------------------------------------------------------
# tracks


def _open_tracks(root: Path, subset: str, sources: tuple[str, ...]) -> list[tuple[str, object]]:
    """``[(name, track or the error that opening it raised)]``: one broken track folder does
    not stop the others (``find_tracks`` raises on the first)."""
    stems = ("mixture",) + tuple(dict.fromkeys(stem for s in sources for stem in STEMS_OF[s]))
    folder = root / subset
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root not found: {root}")
    if not folder.is_dir():
        raise ValueError(f"no {subset!r} subset under {root} (expected {folder}/<track>/<stem>.wav)")
    if any(folder.glob("*.stem.mp4")):
        return [(t.name, t) for t in find_tracks(root, subset, None, sources=sources, stems=stems)]
    entries = []
    for path in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            entries.append((path.name, Track(path.name, path, stems)))
        except (ValueError, OSError) as err:
            entries.append((path.name, err))
    if not entries:
        raise ValueError(f"no tracks under {folder} (expected <track>/<stem>.wav folders or <track>.stem.mp4 files)")
    return entries


def _read_estimates(folder: Path, sources: tuple[str, ...]) -> tuple[torch.Tensor, int]:
    """Stems separated elsewhere: ``folder/<source>.<wav|flac|...>`` -> ``((S, C, T), rate)``."""
    audio, rates = [], set()
    for name in sources:
        files = [folder / f"{name}{ext}" for ext in AUDIO_SUFFIXES if (folder / f"{name}{ext}").is_file()]
        if not files:
            raise ValueError(f"no estimate file for {name!r} in {folder} (expected {name}.wav or .flac)")
        x, r = read_audio(files[0])
        audio.append(x)
        rates.add(r)
        if len(rates) > 1:
            raise ValueError(f"estimate files in {folder} differ in sample rate ({sorted(rates)} Hz)")
        if x.shape != audio[0].shape:
            raise ValueError(f"estimate {files[0]} has shape {tuple(x.shape)} (channels, samples), {sources[0]!r} {tuple(audio[0].shape)}")
    return torch.stack(audio), rates.pop()  # (S, C, T)


# ---------------------------------------------------------------------------------------------
# the jobs of one evaluation, each on its own


def evaluation_sources(model: nn.Module | None, sources: tuple[str, ...] | None) -> tuple[str, ...]:
    """The sources to score: the model's, else ``sources`` (default MUSDB's four), checked.

    Raises:
        ValueError: a source MUSDB has no reference for, or a single source (BSSEval needs two).

    Example:
        >>> evaluation_sources(None, ("vocals", "accompaniment"))
        ('vocals', 'accompaniment')
    """
    sources = tuple(model.sources) if model is not None else tuple(sources or ("vocals", "drums", "bass", "other"))
    unknown = [s for s in sources if s not in STEMS_OF]
    if unknown:
        raise ValueError(f"source(s) {unknown} have no reference in MUSDB, which provides {sorted(STEMS_OF)}")
    _groups(sources)  # fails early for a single source
    return sources


def method_settings(
    model: nn.Module | None,
    estimates_dir: str | Path | None,
    sources: tuple[str, ...],
    metric: str = "torch",
    oracle: str | None = None,
    segment: int | None = None,
    shifts: int = 0,
    wiener: int = 0,
    high_band: bool = False,
    wiener_fft: int = FRAME,
) -> dict[str, dict]:
    """What every scored method's numbers depend on, by method, in table order: the model (or
    the estimates folder), the mixture baseline, and the oracle when asked for. A stored score
    is reused only when these settings match (see :func:`stored_scores`).

    Example:
        >>> list(method_settings(None, "stems", ("vocals", "drums"), oracle="irm"))
        ['estimates', 'mixture', 'oracle-irm']
    """
    common = {"version": FORMAT_VERSION, "metric": metric, "sources": list(sources), "window_s": 1.0, "hop_s": 1.0}
    if model is not None:
        first = {"method": "model", "model": type(model).__name__, "weights": weights_digest(model),
                 "segment": segment, "shifts": shifts}
        if wiener:  # only when used: scores stored before the post-filter existed stay valid
            first["wiener"] = wiener
            if wiener_fft != FRAME:  # likewise: the frame every earlier filtered score used
                first["wiener_fft"] = wiener_fft
        if high_band:  # likewise
            first["high_band"] = True
    else:
        # files on disk may change: a nonce means never reuse
        first = {"method": "estimates", "estimates_dir": str(Path(estimates_dir).resolve()), "nonce": time.time()}
    settings = {first["method"]: {**common, **first}, "mixture": {**common, "method": "mixture"}}
    if oracle == "irm":
        settings["oracle-irm"] = {**common, "method": "oracle-irm", "n_fft": 4096, "hop": 1024, "power": 2.0}
    return settings


def track_settings(settings: dict, name: str, track) -> dict:
    """One method's settings for one track (its name, length and rate join them)."""
    return {**settings, "track": name, "length": track.length, "rate": track.rate}


#: The settings that say *which* model (or estimates) a method folder scores: scores of another
#: one in the same folder are refused, never overwritten (other settings just re-score).
IDENTITY = {"model": ("model", "weights"), "estimates": ("estimates_dir",)}


def check_same_method(out: Path | None, subset: str, settings: dict[str, dict]) -> None:
    """Raise ``ValueError`` when ``out`` already holds scores of another model (other weights)
    or other estimates than ``settings`` describe, naming the folder and what made it: each
    checkpoint's scores go to their own ``--out``.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp())
        >>> check_same_method(out, "test", {"model": {"model": "WaveUNet", "weights": "ab"}})  # empty: fine
    """
    if out is None:
        return
    for method, keys in IDENTITY.items():
        if method not in settings:
            continue
        folder = out / method / subset
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                stored = simplejson.loads(path.read_text(), allow_nan=True).get("waveunet", {})
                theirs = stored.get("settings", {})
            except (ValueError, OSError, AttributeError):
                continue  # damaged or foreign file: scored again, as before
            if not isinstance(theirs, dict):
                continue
            differ = {k: theirs.get(k) for k in keys if theirs.get(k) != settings[method].get(k)}
            if differ:
                made_by = stored.get("checkpoint") or ", ".join(f"{k} {v}" for k, v in differ.items())
                raise ValueError(
                    f"{folder} holds the scores of another {method} ({made_by}; {path.name} and maybe more); "
                    f"this one has {', '.join(f'{k} {settings[method].get(k)}' for k in keys)}. "
                    "Give each checkpoint its own --out (or remove that folder to score again)"
                )


def stored_scores(out: Path | None, subset: str, name: str, track, settings: dict[str, dict]) -> dict[str, dict | None]:
    """Scores already stored under ``out`` for this track with the same settings, by method
    (None: score it)."""
    if out is None:
        return {method: None for method in settings}
    return {
        method: _load_scores(_json_path(out, method, subset, name), _fingerprint(track_settings(s, name, track)))
        for method, s in settings.items()
    }


def read_references(track, sources: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """A track's mixture ``(C, T)`` and the references of ``sources`` ``(S, C, T)`` (each the
    sum of its MUSDB stems)."""
    mix = torch.from_numpy(track.load("mixture"))  # (C, T)
    refs = torch.stack([torch.from_numpy(sum(track.load(stem) for stem in STEMS_OF[s])) for s in sources])  # (S, C, T)
    return mix, refs


def estimate(
    method: str,
    mix: torch.Tensor,
    refs: torch.Tensor,
    rate: int,
    sources: tuple[str, ...],
    model: nn.Module | None = None,
    estimates_folder: Path | None = None,
    separate_args: dict | None = None,
) -> tuple[torch.Tensor, int]:
    """One method's estimates of one track: ``((S, C, T), their rate)``.

    ``"model"`` separates ``mix (C, T)`` at ``rate`` with ``model`` (``separate_args`` go to
    :func:`~waveunet_lit.separate.separate`); ``"estimates"`` reads ``estimates_folder``;
    ``"mixture"`` is the mixture for every source; ``"oracle-irm"`` the ideal ratio mask of
    the references ``refs (S, C, T)``, on the model's device.

    Example:
        >>> refs = torch.randn(2, 1, 100)
        >>> est, r = estimate("mixture", refs.sum(0), refs, 8000, ("vocals", "drums"))
        >>> est.shape, r, bool(torch.equal(est[1], refs.sum(0)))
        (torch.Size([2, 1, 100]), 8000, True)
    """
    if method == "model":
        return separate(model, mix, rate, **(separate_args or {})), rate
    if method == "estimates":
        return _read_estimates(estimates_folder, sources)
    if method == "mixture":
        return mix.expand(len(sources), -1, -1), rate  # (S, C, T)
    if method == "oracle-irm":
        device = model_device(model) if model is not None else torch.device("cpu")
        return ideal_ratio_mask(mix.to(device), refs.to(device)).cpu(), rate  # (S, C, T)
    raise ValueError(f"unknown method {method!r}; choose 'model', 'estimates', 'mixture' or 'oracle-irm'")


def score_and_store(
    est: torch.Tensor,
    est_rate: int,
    refs: torch.Tensor,
    sources: tuple[str, ...],
    rate: int,
    path: Path | None,
    name: str,
    settings: dict,
    metric: str = "torch",
    device: torch.device | None = None,
    checkpoint: str | None = None,
) -> dict[str, dict[str, list[float]]]:
    """Score one method's estimates of one track and, with a ``path``, store them there as
    museval JSON (with ``checkpoint``, the file the model came from, when given); returns the
    frames as museval stores them (rounded to 1e-5 dB)."""
    raw = score_track(est, refs, sources, rate, metric=metric, device=device, estimates_rate=est_rate)
    if path is None:
        return _rounded(raw)
    return _save_scores(path, name, raw, settings, checkpoint)


def frame_rows(method: str, track: str, scores: dict[str, dict[str, list[float]]]) -> list[dict]:
    """One row per method, track, target, metric and 1 s frame: the input of
    :func:`waveunet_lit.report.frames_table`.

    Example:
        >>> rows = frame_rows("model", "song", {"vocals": {"SDR": [1.0, 2.0], "SIR": [3.0, 4.0]}})
        >>> len(rows), rows[1]
        (4, {'method': 'model', 'track': 'song', 'target': 'vocals', 'metric': 'SDR', 'time': 1.0, 'score': 2.0})
    """
    return [
        {"method": method, "track": track, "target": target, "metric": m, "time": float(i), "score": v}
        for target, metrics in scores.items()
        for m, values in metrics.items()
        for i, v in enumerate(values)
    ]


def summarize(rows: list[dict], methods: list[str], sources: tuple[str, ...], extra: dict) -> tuple[dict, object]:
    """The JSON-ready result (aggregates of ``rows`` plus ``extra``) and the frames table."""
    frames = frames_table(rows)
    return {"methods": methods, "sources": list(sources), **extra, **aggregate(frames, methods, sources)}, frames


# ---------------------------------------------------------------------------------------------
# the evaluation


def evaluate(
    model: nn.Module | None,
    root: str | Path,
    out_dir: str | Path | None = None,
    subset: str = "test",
    max_tracks: int | None = None,
    segment: int | None = None,
    batch_size: int = 4,
    shifts: int = 0,
    wiener: int = 0,
    high_band: bool = False,
    wiener_fft: int = FRAME,
    metric: str = "torch",
    oracle: str | None = None,
    estimates_dir: str | Path | None = None,
    sources: tuple[str, ...] | None = None,
    progress: bool = False,
    checkpoint: str | Path | None = None,
) -> dict:
    """Separate and score every track of ``root/<subset>``, beside the mixture baseline.

    Args:
        model: a separation model in eval mode (on the device to use), or None to score the
            stems in ``estimates_dir`` instead.
        root: a MUSDB18 folder (HQ WAV layout or ``.stem.mp4`` files).
        out_dir: where museval JSON goes (``out_dir/<method>/<subset>/<track>.json``), with
            ``frames.csv``, ``summary.csv``, ``results.json`` and box plots; scores found there
            for the same settings are reused. None writes nothing and reuses nothing.
        subset: ``"test"`` or ``"train"``.
        max_tracks: score only the first tracks (quick looks).
        segment: tile size for :func:`waveunet_lit.separate.separate`.
        batch_size: tiles per forward pass.
        shifts: test-time shift averaging passes (see :func:`~waveunet_lit.separate.separate`).
        wiener: EM iterations of the multichannel Wiener post-filter (see
            :func:`~waveunet_lit.separate.separate`); 0: none.
        high_band: share the band above the model's Nyquist frequency among the stems (see
            :func:`~waveunet_lit.separate.separate`).
        wiener_fft: the post-filter's STFT frame in samples (see
            :func:`~waveunet_lit.separate.separate`).
        metric: ``"torch"`` (fast, on the model's device) or ``"museval"`` (the reference).
        oracle: ``"irm"`` adds the ideal ratio mask oracle; None leaves it out.
        estimates_dir: without a model, score stems separated elsewhere, laid out as museval's
            ``eval_dir`` expects: ``estimates_dir/<subset>/<track>/<source>.wav``.
        sources: the sources of ``estimates_dir`` (default: MUSDB's four); ignored with a model.
        progress: show progress bars.
        checkpoint: the file ``model`` was loaded from, recorded in the JSON and named when
            another model's scores are found in ``out_dir``.

    Returns:
        JSON-ready ``dict``: ``"methods"``, ``"sources"``, ``"tracks"`` (per-track median SDR per
        method and source), ``"median"`` (SiSEC: median over tracks of per-track medians, SDR,
        per method and source), ``"aggregates"`` (the three aggregations, every metric, see
        :func:`waveunet_lit.report.aggregate`), ``"failed"`` (``{track: reason}``), ``"reused"``
        (tracks read back from ``out_dir``). Aggregates use the tracks every method scored.

    Raises:
        FileNotFoundError, ValueError: no dataset, no tracks, bad arguments.
        PermissionError: ``out_dir`` is not writable.
        ValueError: ``out_dir`` holds scores of another model or other estimates (see
            :func:`check_same_method`); nothing is written then.
    """
    if (model is None) == (estimates_dir is None):
        raise ValueError("evaluate needs exactly one of a model and an estimates_dir")
    if metric not in ("torch", "museval"):
        raise ValueError(f"metric must be 'torch' or 'museval', got {metric!r}")
    if oracle not in (None, "irm"):
        raise ValueError(f"oracle must be None or 'irm', got {oracle!r}")
    if shifts < 0 or wiener < 0:
        raise ValueError(f"shifts and wiener must be >= 0, got {shifts} and {wiener}")
    if problem := frame_problem(wiener_fft):
        raise ValueError(f"wiener_fft {problem}")
    sources = evaluation_sources(model, sources)
    root = Path(root).expanduser()
    out = Path(out_dir) if out_dir is not None else None
    if estimates_dir is not None and not Path(estimates_dir, subset).is_dir():
        raise FileNotFoundError(f"estimates folder not found: {Path(estimates_dir, subset)} (expected <track>/<source>.wav inside)")
    entries = _open_tracks(root, subset, sources)[:max_tracks]
    device = model_device(model) if model is not None else None
    settings = method_settings(model, estimates_dir, sources, metric, oracle, segment, shifts, wiener, high_band, wiener_fft)
    check_same_method(out, subset, settings)
    if out is not None:  # only now that every input is checked
        _require_writable(out)
    checkpoint = str(Path(checkpoint).resolve()) if checkpoint is not None else None
    methods = list(settings)
    separate_args = {"segment": segment, "batch_size": batch_size, "shifts": shifts, "wiener": wiener, "high_band": high_band,
                     "wiener_fft": wiener_fft, "progress": progress}

    rows: list[dict] = []
    failed: dict[str, str] = {}
    reused: list[str] = []
    for name, track in tqdm(entries, unit="track", disable=not progress):
        if isinstance(track, Exception):
            failed[name] = f"{type(track).__name__}: {track}"
            continue
        scored = stored_scores(out, subset, name, track, settings)
        try:
            mix, refs = read_references(track, sources) if any(v is None for v in scored.values()) else (None, None)
        except Exception as err:  # noqa: BLE001 - a broken file must not stop the others
            failed[name] = f"reading the track: {type(err).__name__}: {err}"
            continue
        errors = []
        for method in (m for m in methods if scored[m] is None):
            try:
                folder = Path(estimates_dir) / subset / name if estimates_dir is not None else None
                est, est_rate = estimate(method, mix, refs, track.rate, sources, model, folder, separate_args)
                path = _json_path(out, method, subset, name) if out is not None else None
                meta = track_settings(settings[method], name, track)
                made_by = checkpoint if method == "model" else None
                scored[method] = score_and_store(est, est_rate, refs, sources, track.rate, path, name, meta, metric, device, made_by)
            except Exception as err:  # noqa: BLE001 - one broken track must not stop the others
                errors.append(f"{method}: {type(err).__name__}: {err}")
        if errors:
            failed[name] = "; ".join(errors)
            continue
        if mix is None:
            reused.append(name)
        for method, scores in scored.items():
            rows += frame_rows(method, name, scores)

    extra = {"metric": metric, "subset": subset, "root": str(root)}
    result, frames = summarize(rows, methods, sources, extra)
    result.update(failed=failed, reused=reused)
    if out is not None:
        write_report(result, frames, out)
    return result
