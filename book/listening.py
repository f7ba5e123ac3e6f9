"""Make the book's listening examples: one rendered test song separated by each model family.

    OMP_NUM_THREADS=2 python book/listening.py --budget-seconds 120   # about 10 minutes on a CPU

Each family's recipe (shrunk to its CPU size by ``bench/compare_variants.py``'s ``SMALL``, at 8 kHz;
BandSplitRNN at its 16 kHz) is trained for the same wall-clock budget on the FluidSynth-rendered training songs,
then separates the first rendered test song with :func:`waveunet_lit.separate.separate`.
Scores are BSSEval v4 SDR (:func:`waveunet_lit.evaluate.score_track`), median over the
song's one-second frames, beside the mixture baseline and the IRM oracle of the same song.
It writes short mono FLAC clips (3 s at 8 kHz) and ``examples.json`` into ``book/listening/``;
the book build turns them into a page. These are tiny models trained for minutes: the point
is to hear how the families fail differently, not their final quality.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from compare_variants import build  # noqa: E402  (the recipes and their CPU sizes: one place)

from waveunet_lit.data.render import default_rendered_root, render_dataset  # noqa: E402
from waveunet_lit.evaluate import ideal_ratio_mask, score_track  # noqa: E402
from waveunet_lit.separate import separate  # noqa: E402

RATE = 8000
CLIP_SECONDS = 3.0
SOURCES = ("vocals", "drums", "bass", "other")
FAMILIES = {"wave_u_net": "Wave-U-Net", "spec_unet": "spectrogram U-Net",
            "band_split_rnn": "BandSplitRNN", "nmf": "supervised NMF"}


def load_song(folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The mixture ``(C, T)`` and the stems ``(S, C, T)`` of a MUSDB18-HQ-layout track, at RATE."""
    def read(name: str) -> torch.Tensor:
        x, rate = sf.read(folder / f"{name}.wav", dtype="float32", always_2d=True)  # (T, C)
        return torchaudio.functional.resample(torch.from_numpy(x.T.copy()), rate, RATE)  # (C, T)

    return read("mixture"), torch.stack([read(s) for s in SOURCES])


def train(recipe: str, root: Path, seconds: float) -> torch.nn.Module:
    """A recipe's model trained for ``seconds`` of wall time on the rendered songs, built as
    ``bench/compare_variants.py`` builds it (the config's recipe at its CPU size)."""
    torch.manual_seed(0)
    # BandSplitRNN's band edges are set in Hz up to 8 kHz: it keeps its config's 16 kHz, and
    # separate() resamples the song to it and back
    args = argparse.Namespace(root=root, budget_seconds=seconds, accelerator="cpu", segment=8192, batch_size=8,
                              full=False, sample_rate=None if recipe == "band_split_rnn" else RATE)
    cli = build(recipe, args)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return cli.model.model.eval()


def median_sdr(estimates: torch.Tensor, references: torch.Tensor) -> dict[str, float]:
    """Median over one-second frames of BSSEval v4 SDR, per source (silent frames skipped)."""
    scores = score_track(estimates, references, SOURCES, RATE)
    return {s: round(float(np.nanmedian(scores[s]["SDR"])), 2) for s in SOURCES}


def write_clip(path: Path, audio: torch.Tensor, start: int) -> str:
    """Write ``audio`` ``(C, T)`` from ``start``, CLIP_SECONDS long, as mono 16-bit FLAC."""
    clip = audio[:, start:start + int(CLIP_SECONDS * RATE)].mean(0).clamp(-1, 1).numpy()  # (T,)
    sf.write(path, clip, RATE, subtype="PCM_16")
    return path.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-seconds", type=float, default=120.0, help="training wall time per family")
    parser.add_argument("--out", type=Path, default=REPO / "book" / "listening")
    args = parser.parse_args()
    root = default_rendered_root()
    render_dataset(root)  # made once; kept tracks are reused
    song = sorted((root / "test").iterdir())[0]
    mix, refs = load_song(song)  # (C, T), (S, C, T)
    # the excerpt: the 3 s where the vocals are loudest, so every stem is audible
    hop, n = RATE // 2, int(CLIP_SECONDS * RATE)
    energy = [float(refs[0, :, i:i + n].pow(2).sum()) for i in range(0, refs.shape[-1] - n, hop)]
    start = hop * int(np.argmax(energy))
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.flac"):
        old.unlink()

    rows = [{"label": "true stems", "sdr": {}, "clips": {s: write_clip(args.out / f"true_{s}.flac", refs[i], start) for i, s in enumerate(SOURCES)}}]
    mix_clip = write_clip(args.out / "mixture.flac", mix, start)
    rows.append({"label": "mixture (baseline)", "sdr": median_sdr(mix.expand_as(refs).clone(), refs), "clips": {s: mix_clip for s in SOURCES}})
    irm = ideal_ratio_mask(mix, refs, n_fft=1024, hop=256)
    rows.append({"label": "IRM oracle (reads the true stems)", "sdr": median_sdr(irm, refs),
                 "clips": {s: write_clip(args.out / f"irm_{s}.flac", irm[i], start) for i, s in enumerate(SOURCES)}})
    for recipe, label in FAMILIES.items():
        t0 = time.perf_counter()
        model = train(recipe, root, args.budget_seconds)
        with torch.inference_mode():
            est = separate(model, mix, RATE)  # (S, C, T)
        rows.append({"label": f"{label} ({recipe})", "sdr": median_sdr(est, refs),
                     "clips": {s: write_clip(args.out / f"{recipe}_{s}.flac", est[i], start) for i, s in enumerate(SOURCES)}})
        print(f"{recipe}: {rows[-1]['sdr']} ({time.perf_counter() - t0:.0f} s)", flush=True)

    meta = {
        "sources": list(SOURCES),
        "description": (
            f"The rendered test song `{song.name}` (FluidSynth, made by `waveunet render-data`), "
            f"separated by one small model of each family, each trained for "
            f"{args.budget_seconds:.0f} s on a CPU at {RATE} Hz on the rendered training songs. "
            "SDR: BSSEval v4, median over the song's one-second frames. The clips are a "
            f"{CLIP_SECONDS:.0f}-second mono excerpt (the vocals' loudest), not normalised."
        ),
        "how": "Made by `python book/listening.py` (the clips and scores are committed; the book build only lays them out).",
        "rows": rows,
    }
    (args.out / "examples.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
