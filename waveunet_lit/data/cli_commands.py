"""Console subcommands of the data layer (wired into ``waveunet`` by :mod:`waveunet_lit.cli`).

* ``waveunet render-data DIR [--train-tracks N --test-tracks N --seconds S --sample-rate R --seed K]``
* ``waveunet prepare-data ROOT --rate R --channels C [--cache-dir DIR --dtype float16 --rebuild]``
  (``ROOT`` may be ``previews`` to download MUSDB18's 7-second previews first)

Each returns a process exit status.
"""

import argparse
from pathlib import Path

__all__ = ["render_data_command", "prepare_data_command"]


def render_data_command(argv: list[str]) -> int:
    """``waveunet render-data``: compose and render the FluidSynth dataset."""
    from .render import default_rendered_root, render_dataset

    p = argparse.ArgumentParser(
        prog="waveunet render-data",
        description="Render a multitrack dataset (MUSDB18-HQ layout) from procedurally composed MIDI with FluidSynth.",
    )
    p.add_argument("root", nargs="?", default=None, help=f"output folder (default: {default_rendered_root()})")
    p.add_argument("--train-tracks", type=int, default=16)
    p.add_argument("--test-tracks", type=int, default=4)
    p.add_argument("--seconds", type=float, default=20.0, help="length of each song")
    p.add_argument("--sample-rate", type=int, default=44100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--soundfont", default=None, help="a General MIDI .sf2 (default: FluidR3_GM from fluid-soundfont-gm)")
    p.add_argument("--rebuild", action="store_true", help="replace songs that ROOT holds if they were rendered with other settings")
    a = p.parse_args(argv)
    root = render_dataset(
        a.root or default_rendered_root(), a.train_tracks, a.test_tracks, a.seconds, a.sample_rate, a.seed, a.soundfont,
        rebuild=a.rebuild,
    )
    print(root)
    return 0


def prepare_data_command(argv: list[str]) -> int:
    """``waveunet prepare-data``: decode and resample a dataset once into the training cache."""
    from .cache import prepare_cache
    from .tracks import default_previews_root, download_previews

    p = argparse.ArgumentParser(
        prog="waveunet prepare-data",
        description="Decode and resample every track of a MUSDB18 / MUSDB18-HQ folder once, for training.",
    )
    p.add_argument("root", help="dataset folder, or 'previews' to download MUSDB18's 7-second previews")
    p.add_argument("--rate", type=int, required=True, help="the model's sample rate")
    p.add_argument("--channels", type=int, choices=(1, 2), default=2)
    p.add_argument("--cache-dir", default=None, help="default: ROOT/.waveunet-cache/<rate>hz-<C>ch-<dtype>")
    p.add_argument("--dtype", choices=("float32", "float16"), default="float32")
    p.add_argument("--rebuild", action="store_true", help="replace a cache written with other settings")
    a = p.parse_args(argv)
    if a.cache_dir is not None and Path(a.cache_dir).exists() and not Path(a.cache_dir).is_dir():
        p.error(f"--cache-dir {a.cache_dir} is a file: expected a folder (new, or a cache made by prepare-data)")
    if a.root != "previews" and not Path(a.root).is_dir():
        p.error(f"ROOT {a.root} is not a folder: expected a MUSDB18 / MUSDB18-HQ dataset folder, or 'previews'")
    root = download_previews(default_previews_root()) if a.root == "previews" else a.root
    print(prepare_cache(root, a.rate, a.channels, a.cache_dir, a.dtype, rebuild=a.rebuild))
    return 0
