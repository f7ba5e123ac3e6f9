"""A rendered multitrack dataset: procedurally composed MIDI played by FluidSynth.

For courses without MUSDB18 access. Each song is composed from a seed: a tempo (80-150
BPM), a key and mode, a four-chord progression, and one part per MUSDB stem:

* ``drums``: a groove from a few kick / snare / hi-hat patterns with fills, on one of the
  General MIDI drum kits;
* ``bass``: the chord roots (and fifths, approach notes) in one of several rhythms;
* ``other``: the chords, sustained, stabbed or arpeggiated, on a piano, organ, guitar,
  strings or pad;
* ``vocals``: a monophonic melody in phrases with rests, on a voice-like instrument (choir,
  voice, synth voice, flute, sax, trumpet ...).

Every part is written to its own Standard MIDI File (by :func:`write_midi`, a minimal SMF
writer) and rendered alone with the ``fluidsynth`` program and a General MIDI soundfont
(Debian: ``fluidsynth`` + ``fluid-soundfont-gm``), so the stems are exact: the mixture is
their sum. Stems get random gains; the result is in MUSDB18-HQ layout with ``train`` and
``test`` splits::

    waveunet render-data DIR --train-tracks 24 --test-tracks 6 --seconds 20
"""

import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from ..atomic import atomic_path, exclusive
from ..audio import default_data_root
from .tracks import STEMS

__all__ = ["render_dataset", "compose", "write_midi", "default_rendered_root", "quality_root", "render_quality_set", "find_soundfont"]

PPQ = 480  # MIDI ticks per quarter note
STEP = PPQ // 4  # one 16th note
DRUM_CHANNEL = 9
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2")

SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
PROGRESSIONS = {  # scale degrees, 0-based: (0, 4, 5, 3) is I-V-vi-IV
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 4), (1, 4, 0, 0), (0, 3, 0, 4), (5, 3, 0, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4)),
}
PROGRAMS = {  # General MIDI programs, 0-based
    "bass": (32, 33, 34, 35, 36, 37, 38, 39),
    "other": (0, 1, 2, 4, 5, 16, 18, 24, 25, 26, 27, 48, 49, 50, 88, 89, 90),
    "vocals": (52, 53, 54, 56, 64, 65, 66, 68, 71, 73, 80, 81, 85),
}
DRUM_KITS = (0, 8, 16, 24, 25, 32)  # standard, room, power, electronic, TR-808, jazz
KICK, SNARE, CLOSED_HAT, OPEN_HAT, CRASH, RIDE, TOMS = 36, 38, 42, 46, 49, 51, (50, 47, 45, 43)
GROOVES = (  # (kick steps, snare steps, hat steps) in 16ths of one bar
    ((0, 8), (4, 12), tuple(range(0, 16, 2))),
    ((0, 6, 8), (4, 12), tuple(range(0, 16, 2))),
    ((0, 4, 8, 12), (4, 12), (2, 6, 10, 14)),
    ((0, 7, 10), (4, 12), tuple(range(16))),
    ((0, 10), (8,), tuple(range(0, 16, 2))),
    ((0, 3, 8, 11), (4, 12), tuple(range(0, 16, 2))),
)


def default_rendered_root() -> Path:
    """``$WAVEUNET_DATA/rendered-musdb`` or ``~/.cache/waveunet-lit/rendered-musdb``."""
    return default_data_root() / "rendered-musdb"


#: The held-out quality set that ``bench/quality.py`` scores and the ``cpu_*`` recipes train on:
#: 60 training songs by default, always the same 8 test songs, 30 s at 44.1 kHz, seed 0.
QUALITY_TRAIN_SONGS, QUALITY_TEST_SONGS, QUALITY_SECONDS = 60, 8, 30.0


def quality_root(train_songs: int = QUALITY_TRAIN_SONGS) -> Path:
    """The folder of the quality set with ``train_songs`` training songs, in the data folder.

    Song ``i`` comes from the seed ``[0, i]``, so a larger set starts with the songs of a
    smaller one and has the same test songs: scores on any of them compare.

    Example:
        >>> quality_root().name, quality_root(240).name
        ('rendered-quality-60x30s', 'rendered-quality-240x30s')
    """
    if train_songs < 1:
        raise ValueError(f"the quality set needs >= 1 training song, got {train_songs}")
    return default_data_root() / f"rendered-quality-{train_songs}x{QUALITY_SECONDS:.0f}s"


def render_quality_set(train_songs: int = QUALITY_TRAIN_SONGS, progress: bool = True) -> Path:
    """Render (on first use; about 1.3 s a song on a 2-core CPU) and return :func:`quality_root`."""
    return render_dataset(quality_root(train_songs), train_songs, QUALITY_TEST_SONGS, QUALITY_SECONDS, progress=progress)


def find_soundfont(soundfont: str | Path | None = None) -> Path:
    """The given soundfont, or the first General MIDI soundfont installed."""
    candidates = [Path(soundfont)] if soundfont else [Path(p) for p in SOUNDFONTS]
    for path in candidates:
        if path.is_file():
            check_soundfont(path)
            return path
    raise FileNotFoundError(
        f"no General MIDI soundfont at {', '.join(map(str, candidates))}: install one "
        "(Debian/Ubuntu: apt-get install fluid-soundfont-gm) or pass soundfont=PATH"
    )


def check_soundfont(path: str | Path) -> None:
    """Raise ``ValueError`` unless ``path`` is a SoundFont 2 file (a RIFF file of form ``sfbk``).

    FluidSynth given a file it cannot load falls back to its default soundfont and says
    nothing, so the check is ours.
    """
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise ValueError(f"{path} is not a SoundFont 2 (.sf2) file: expected a RIFF 'sfbk' header")


SETTINGS = "render.json"  # what a rendered root was made with; a mismatch is refused


def _check_settings(root: Path, settings: dict, rebuild: bool) -> None:
    """Refuse to add tracks made with other settings to ``root`` (or clear it, ``rebuild``)."""
    path = root / SETTINGS
    if path.is_file():
        old = json.loads(path.read_text())
    else:  # rendered before settings were recorded: read them from the first song, if any
        songs = sorted(root.glob("*/song_*/mixture.wav"))
        old = None
        if songs:
            info = sf.info(songs[0])
            old = {**settings, "sample_rate": info.samplerate, "seconds": round(info.frames / info.samplerate, 6)}
    differ = {k: (old[k], v) for k, v in settings.items() if old is not None and k in old and old[k] != v}
    if differ and not rebuild:
        listed = ", ".join(f"{k} {a!r} there, {b!r} asked" for k, (a, b) in differ.items())
        raise ValueError(
            f"{root} holds songs rendered with other settings ({listed}): render into another "
            "folder, or pass --rebuild (rebuild=True) to replace them"
        )
    if differ:
        for subset in ("train", "test"):
            shutil.rmtree(root / subset, ignore_errors=True)


def _vlq(n: int) -> bytes:
    """MIDI variable-length quantity.

    Example:
        >>> _vlq(0).hex(), _vlq(127).hex(), _vlq(128).hex(), _vlq(0x0FFFFFFF).hex()
        ('00', '7f', '8100', 'ffffff7f')
    """
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def write_midi(path: str | Path, notes: list[tuple[int, int, int, int]], channel: int, program: int, bpm: float, pan: int = 64) -> None:
    """Write a format-0 Standard MIDI File.

    Args:
        path: output ``.mid`` file.
        notes: ``(start_tick, duration_ticks, pitch, velocity)``, ``PPQ`` ticks per quarter.
        channel: MIDI channel 0-15 (9 is the drum channel).
        program: General MIDI program 0-127 (a drum kit on channel 9).
        bpm: tempo.
        pan: 0 (left) .. 127 (right).
    """
    events = []  # (tick, order, bytes): note-offs (order 0) before note-ons (order 1) at a tick
    for start, dur, pitch, vel in notes:
        events.append((start, 1, bytes((0x90 | channel, pitch, vel))))
        events.append((start + max(dur, 1), 0, bytes((0x80 | channel, pitch, 0))))
    events.sort(key=lambda e: (e[0], e[1]))
    tempo = round(60_000_000 / bpm)
    data = bytearray()
    data += _vlq(0) + b"\xff\x51\x03" + tempo.to_bytes(3, "big")
    data += _vlq(0) + bytes((0xC0 | channel, program))
    data += _vlq(0) + bytes((0xB0 | channel, 7, 100)) + _vlq(0) + bytes((0xB0 | channel, 10, pan))
    now = 0
    for tick, _, message in events:
        data += _vlq(tick - now) + message
        now = tick
    data += _vlq(0) + b"\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big") + PPQ.to_bytes(2, "big")
    Path(path).write_bytes(header + b"MTrk" + len(data).to_bytes(4, "big") + bytes(data))


def compose(rng: np.random.Generator, seconds: float) -> dict:
    """One song: ``{"bpm", "parts": {stem: (notes, channel, program, pan)}}`` (notes as in
    :func:`write_midi`), long enough for ``seconds``."""
    bpm = float(rng.uniform(80, 150))
    mode = "major" if rng.random() < 0.6 else "minor"
    scale, key = SCALES[mode], int(rng.integers(12))
    progression = PROGRESSIONS[mode][rng.integers(len(PROGRESSIONS[mode]))]
    bar = 16 * STEP
    bars = int(np.ceil(seconds * bpm / 240)) + 1
    vel = lambda lo, hi: int(rng.integers(lo, hi))  # noqa: E731

    def pitch(degree: int, base: int) -> int:  # scale degree -> MIDI pitch near ``base``
        octave, step = divmod(degree, 7)
        return base + key + 12 * octave + scale[step]

    # drums
    kicks, snares, hats = GROOVES[rng.integers(len(GROOVES))]
    ride = rng.random() < 0.25
    drums = []
    for b in range(bars):
        t0 = b * bar
        fill = b % 4 == 3 and rng.random() < 0.7
        for s in kicks:
            drums.append((t0 + s * STEP, STEP, KICK, vel(90, 120)))
        for s in snares:
            if not (fill and s >= 12):
                drums.append((t0 + s * STEP, STEP, SNARE, vel(85, 115)))
        for s in hats:
            if not (fill and s >= 12):
                drums.append((t0 + s * STEP, STEP, RIDE if ride else CLOSED_HAT, vel(50, 90)))
        if fill:
            for k, s in enumerate(range(12, 16)):
                drums.append((t0 + s * STEP, STEP, TOMS[k] if rng.random() < 0.6 else SNARE, vel(80, 120)))
        if b % 8 == 0:
            drums.append((t0, 4 * STEP, CRASH, vel(80, 110)))

    # bass, chords, melody follow the progression, one chord per bar
    bass_rhythm = [(0, 4), (4, 4), (8, 4), (12, 4)] if rng.random() < 0.4 else (
        [(s, 2) for s in range(0, 16, 2)] if rng.random() < 0.5 else [(0, 3), (3, 3), (6, 2), (8, 3), (11, 3), (14, 2)]
    )
    chord_style = rng.choice(["sustain", "half", "stabs", "arpeggio"])
    bass, chords, melody = [], [], []
    degree = int(rng.integers(0, 5))  # melody position, in scale degrees above ``base``
    melody_base = int(rng.integers(58, 66))
    for b in range(bars):
        t0 = b * bar
        root = progression[b % len(progression)]
        for k, (s, d) in enumerate(bass_rhythm):
            choice = rng.random()
            note = root + (4 if choice < 0.2 and k % 2 else 0) + (7 if choice > 0.9 else 0)
            bass.append((t0 + s * STEP, d * STEP - 20, pitch(note, 33 if key < 7 else 21), vel(80, 115)))
        triad = [pitch(root + i, 52) for i in (0, 2, 4)] + ([pitch(root + 6, 52)] if rng.random() < 0.3 else [])
        if chord_style == "sustain":
            chords += [(t0, bar - 30, p, vel(55, 80)) for p in triad]
        elif chord_style == "half":
            chords += [(t0 + h, 8 * STEP - 30, p, vel(55, 85)) for h in (0, 8 * STEP) for p in triad]
        elif chord_style == "stabs":
            chords += [(t0 + s * STEP, 2 * STEP, p, vel(60, 95)) for s in (0, 3, 6, 10, 12) for p in triad]
        else:
            chords += [(t0 + s * STEP, 2 * STEP, triad[(s // 2) % len(triad)], vel(55, 85)) for s in range(0, 16, 2)]
        # melody: two-bar phrases; a quarter of them rest (vocals are not always on)
        if b % 2 == 0:
            resting = rng.random() < 0.25
        if resting:
            continue
        s = 0
        while s < 16:
            dur = int(rng.choice([2, 2, 4, 4, 4, 6, 8]))
            if rng.random() < 0.15:  # a short rest
                s += dur
                continue
            if s % 8 == 0:  # strong beats prefer a chord tone
                degree = root + 2 * int(rng.integers(0, 3)) + 7 * (degree // 7)
            else:
                degree += int(rng.choice([-2, -1, -1, 1, 1, 2]))
            degree = int(np.clip(degree, 0, 12))
            melody.append((t0 + s * STEP, min(dur, 16 - s) * STEP - 15, pitch(degree, melody_base), vel(70, 110)))
            s += dur

    pick = lambda name: int(rng.choice(PROGRAMS[name]))  # noqa: E731
    pan = lambda: int(rng.integers(34, 94))  # noqa: E731
    return {
        "bpm": bpm,
        "parts": {
            "vocals": (melody, 0, pick("vocals"), pan()),
            "drums": (drums, DRUM_CHANNEL, int(rng.choice(DRUM_KITS)), 64),
            "bass": (bass, 1, pick("bass"), pan()),
            "other": (chords, 2, pick("other"), pan()),
        },
    }


def _render_part(midi: Path, wav: Path, soundfont: Path, rate: int) -> np.ndarray:
    """Play one MIDI file with FluidSynth: ``(2, T)`` float32."""
    cmd = ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(rate), "-F", str(wav), "-T", "wav", "-O", "float", str(soundfont), str(midi)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not wav.is_file():
        raise RuntimeError(f"fluidsynth failed on {midi}: {result.stderr.strip() or result.stdout.strip()}")
    audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    return audio.T  # (2, T)


def render_dataset(
    root: str | Path,
    train_tracks: int = 16,
    test_tracks: int = 4,
    seconds: float = 20.0,
    sample_rate: int = 44100,
    seed: int = 0,
    soundfont: str | Path | None = None,
    progress: bool = True,
    rebuild: bool = False,
) -> Path:
    """Compose and render a dataset in MUSDB18-HQ layout under ``root``; return ``root``.

    Track folders are written under a temporary name and renamed when complete; existing
    tracks are kept, so an interrupted run resumes. Everything follows from ``seed``. The
    settings are recorded in ``root/render.json``; rendering into a root made with other
    ``seconds`` / ``sample_rate`` / ``seed`` is refused unless ``rebuild`` (which replaces its songs).

    Raises:
        FileNotFoundError: the ``fluidsynth`` program or a soundfont is missing.
        ValueError: bad counts or lengths, ``root`` is a file, the soundfont is not an .sf2,
            or ``root`` holds songs rendered with other settings.
    """
    from tqdm.auto import tqdm

    if shutil.which("fluidsynth") is None:
        raise FileNotFoundError(
            "the fluidsynth program is not installed (Debian/Ubuntu: apt-get install fluidsynth fluid-soundfont-gm; "
            "`make install` does it); or use generated: toy"
        )
    if train_tracks < 0 or test_tracks < 0 or seconds <= 0 or sample_rate < 8000:
        raise ValueError(
            f"need train_tracks, test_tracks >= 0, seconds > 0, sample_rate >= 8000; got "
            f"{train_tracks}, {test_tracks}, {seconds}, {sample_rate}"
        )
    sf2 = find_soundfont(soundfont)
    root = Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root} is a file: render-data needs a folder (new or made by render-data)")
    settings = {"seconds": float(seconds), "sample_rate": int(sample_rate), "seed": int(seed)}
    with exclusive(root):  # a second process rendering the same folder waits, then finds the songs there
        _check_settings(root, settings, rebuild)
        with atomic_path(root / SETTINGS) as tmp:
            Path(tmp).write_text(json.dumps(settings, indent=1))
        todo = [
            (subset, f"song_{i:03d}", offset + i)
            for subset, count, offset in (("train", train_tracks, 0), ("test", test_tracks, 10_000))
            for i in range(count)
            if not (root / subset / f"song_{i:03d}").is_dir()
        ]
        for subset, name, index in tqdm(todo, desc="rendering songs", unit="song", disable=not progress or not todo):
            _render_song(root / subset / name, np.random.default_rng([seed, index]), seconds, sample_rate, sf2)
    return root


def _render_song(folder: Path, rng: np.random.Generator, seconds: float, sample_rate: int, sf2: Path) -> None:
    """Compose one song with ``rng`` and write its stems and mixture into ``folder`` (under a
    temporary name, renamed when complete)."""
    T = int(seconds * sample_rate)
    song = compose(rng, seconds)
    partial = folder.parent / f".{folder.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        jobs = {}
        for stem in STEMS:  # the four FluidSynth processes run side by side
            notes, channel, program, pan = song["parts"][stem]
            write_midi(Path(tmp) / f"{stem}.mid", notes, channel, program, song["bpm"], pan)
            jobs[stem] = pool.submit(_render_part, Path(tmp) / f"{stem}.mid", Path(tmp) / f"{stem}.wav", sf2, sample_rate)
        stems = {}
        for stem in STEMS:
            audio = jobs[stem].result()[:, :T]
            audio = np.pad(audio, ((0, 0), (0, T - audio.shape[1])))
            rms = np.sqrt(np.mean(audio**2)) + 1e-9
            stems[stem] = audio * (10 ** (rng.uniform(-20, -14) / 20) / rms)  # random level: -20..-14 dB RMS
    mixture = sum(stems.values())
    peak = float(np.max(np.abs(mixture)))
    scale = 0.9 / peak if peak > 0.9 else 1.0  # keep the mixture inside [-1, 1]
    for stem, audio in {**stems, "mixture": mixture}.items():
        sf.write(partial / f"{stem}.wav", (audio * scale).T, sample_rate, subtype="PCM_16")
    partial.rename(folder)
