"""The FluidSynth-rendered dataset: MIDI writing, composition, layout, mixture, seeding."""

import shutil
import struct

import numpy as np
import pytest
import soundfile as sf

from waveunet_lit.cli import main
from waveunet_lit.data import MusdbDataModule
from waveunet_lit.data import render
from waveunet_lit.data.render import DRUM_CHANNEL, PPQ, compose, render_dataset, write_midi
from waveunet_lit.models import WaveUNet

needs_fluidsynth = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="needs the fluidsynth program")


def _read_events(data: bytes) -> list[tuple[int, int, int, int]]:
    """A tiny SMF reader for the test: (absolute tick, status, data1, data2) of channel events."""
    assert data[:4] == b"MThd" and struct.unpack(">IHHH", data[4:14]) == (6, 0, 1, PPQ)
    assert data[14:18] == b"MTrk"
    body, i, tick, out = data[22 : 22 + struct.unpack(">I", data[18:22])[0]], 0, 0, []
    while i < len(body):
        delta = 0
        while True:
            delta = (delta << 7) | (body[i] & 0x7F)
            i += 1
            if body[i - 1] < 0x80:
                break
        tick += delta
        status = body[i]
        if status == 0xFF:  # meta: type, length, data
            i += 3 + body[i + 2]
        elif status & 0xF0 == 0xC0:
            out.append((tick, status, body[i + 1], 0))
            i += 2
        else:
            out.append((tick, status, body[i + 1], body[i + 2]))
            i += 3
    return out


def test_midi_file_round_trips(tmp_path):
    notes = [(0, 480, 60, 100), (480, 240, 64, 90), (100_000, 10, 67, 80)]
    write_midi(tmp_path / "a.mid", notes, channel=3, program=33, bpm=120)
    events = _read_events((tmp_path / "a.mid").read_bytes())
    ons = [(t, p, v) for t, s, p, v in events if s == 0x93]
    offs = [(t, p) for t, s, p, _ in events if s == 0x83]
    assert ons == [(0, 60, 100), (480, 64, 90), (100_000, 67, 80)]
    assert offs == [(480, 60), (720, 64), (100_010, 67)]
    assert (0, 0xC3, 33, 0) in events


def test_composition_is_seeded_and_plausible():
    a, b, c = (compose(np.random.default_rng(s), 10.0) for s in (1, 1, 2))
    assert a == b and a != c
    assert 80 <= a["bpm"] <= 150
    parts = a["parts"]
    assert set(parts) == {"vocals", "drums", "bass", "other"}
    assert parts["drums"][1] == DRUM_CHANNEL and len({p[1] for p in parts.values()}) == 4
    melody = sorted(parts["vocals"][0])
    assert all(s1 + d1 <= s2 for (s1, d1, *_), (s2, *_) in zip(melody, melody[1:]))  # monophonic
    bass_pitches = [n[2] for n in parts["bass"][0]]
    assert max(bass_pitches) < min(n[2] for n in melody)  # bass below the melody
    end = 10.0 * a["bpm"] / 60 * PPQ
    assert all(max(n[0] for n in p[0]) >= 0.8 * end for p in parts.values() if p[0])  # parts fill the song


@needs_fluidsynth
def test_rendered_dataset_layout_mixture_and_seed(tmp_path):
    a = render_dataset(tmp_path / "a", train_tracks=1, test_tracks=1, seconds=1.5, sample_rate=16000, seed=5, progress=False)
    folder = a / "train" / "song_000"
    stems = {n: sf.read(folder / f"{n}.wav")[0] for n in ("vocals", "drums", "bass", "other", "mixture")}
    assert stems["mixture"].shape == (24000, 2) and sf.info(folder / "mixture.wav").samplerate == 16000
    total = stems["vocals"] + stems["drums"] + stems["bass"] + stems["other"]
    assert np.max(np.abs(total - stems["mixture"])) < 4 / 2**15  # 16-bit rounding of 5 files
    assert all(np.sqrt(np.mean(x**2)) > 0.005 for x in stems.values())
    assert (a / "test" / "song_000" / "vocals.wav").is_file()
    b = render_dataset(tmp_path / "b", train_tracks=1, test_tracks=0, seconds=1.5, sample_rate=16000, seed=5, progress=False)
    np.testing.assert_array_equal(sf.read(b / "train/song_000/bass.wav")[0], stems["bass"])


@needs_fluidsynth
def test_datamodule_serves_the_rendered_set(tmp_path):
    root = render_dataset(tmp_path, train_tracks=3, test_tracks=0, seconds=1.0, sample_rate=16000, progress=False)
    net = WaveUNet(channels=1, sample_rate=8000, levels=2, features=4)
    dm = MusdbDataModule(str(root), segment=500, batch_size=2, num_workers=0, valid_tracks=1).configure_for(net)
    dm.setup("fit")
    mix, sources = next(iter(dm.train_dataloader()))
    assert mix.shape == (2, 1, net.valid_length(500)) and sources.shape[:3] == (2, 4, 1)


def test_rendered_songs_names_the_quality_set_and_renders_it(tmp_path, monkeypatch):
    """``rendered_songs: N`` trains on ``bench/quality.py --train-songs N``'s set: N songs to
    train, the same 8 test songs of 30 s, in rendered-quality-Nx30s of the data folder."""
    calls = []
    monkeypatch.setattr(render, "render_dataset", lambda root, *counts, **kw: calls.append((root, *counts)) or root)
    monkeypatch.setenv("WAVEUNET_DATA", str(tmp_path))
    dm = MusdbDataModule(generated="rendered", rendered_songs=240, cache=False)
    assert dm.dataset_root == tmp_path / "rendered-quality-240x30s"
    dm.prepare_data()
    assert calls == [(tmp_path / "rendered-quality-240x30s", 240, 8, 30.0)]
    assert MusdbDataModule(generated="rendered").dataset_root == tmp_path / "rendered-musdb"  # the small default set
    assert MusdbDataModule(str(tmp_path / "mine"), generated="rendered", rendered_songs=240).dataset_root == tmp_path / "mine"
    with pytest.raises(ValueError, match="the quality set needs >= 1 training song, got 0"):
        render.quality_root(0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"generated": "rendered", "rendered_songs": 0}, "rendered_songs must be >= 1 training songs, got 0"),
        ({"rendered_songs": 240}, "rendered_songs goes with generated: rendered, got generated: 'toy'"),
    ],
)
def test_bad_rendered_songs_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MusdbDataModule(**kwargs)


def test_missing_fluidsynth_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install fluidsynth"):
        render_dataset(tmp_path / "x", 1, 0, seconds=1.0)


@needs_fluidsynth
def test_render_data_command(tmp_path, capsys):
    from waveunet_lit.data.cli_commands import render_data_command

    args = [str(tmp_path / "r"), "--train-tracks", "1", "--test-tracks", "0", "--seconds", "0.5", "--sample-rate", "8000"]
    assert render_data_command(args) == 0
    assert sf.info(tmp_path / "r/train/song_000/mixture.wav").frames == 4000
    assert not (tmp_path / "r/test").exists()


@needs_fluidsynth
def test_rendering_into_a_root_made_with_other_settings_is_refused(tmp_path):
    render_dataset(tmp_path, train_tracks=1, test_tracks=0, seconds=1.0, sample_rate=8000, progress=False)
    with pytest.raises(ValueError, match=r"other settings \(seconds 1.0 there, 2.0 asked, sample_rate 8000 there, 16000 asked"):
        render_dataset(tmp_path, train_tracks=2, test_tracks=0, seconds=2.0, sample_rate=16000, progress=False)
    assert not (tmp_path / "train" / "song_001").exists()  # nothing was added
    render_dataset(tmp_path, train_tracks=2, test_tracks=0, seconds=2.0, sample_rate=16000, progress=False, rebuild=True)
    rates = {sf.info(p).samplerate for p in tmp_path.glob("train/*/mixture.wav")}
    assert rates == {16000} and len(list(tmp_path.glob("train/song_*"))) == 2


@needs_fluidsynth
def test_a_root_rendered_before_settings_were_recorded_is_checked_from_its_songs(tmp_path):
    render_dataset(tmp_path, train_tracks=1, test_tracks=0, seconds=1.0, sample_rate=8000, progress=False)
    (tmp_path / "render.json").unlink()
    with pytest.raises(ValueError, match="sample_rate 8000 there, 16000 asked"):
        render_dataset(tmp_path, train_tracks=1, test_tracks=0, seconds=1.0, sample_rate=16000, progress=False)
    render_dataset(tmp_path, train_tracks=1, test_tracks=0, seconds=1.0, sample_rate=8000, progress=False)  # same: fine


@needs_fluidsynth
def test_a_soundfont_that_is_not_an_sf2_is_refused(tmp_path, capsys):
    text = tmp_path / "notes.sf2"
    text.write_text("not a soundfont")
    with pytest.raises(ValueError, match="not a SoundFont 2"):
        render_dataset(tmp_path / "out", train_tracks=1, test_tracks=0, seconds=1.0, sample_rate=8000, soundfont=text)
    assert main(["render-data", str(tmp_path / "out"), "--soundfont", str(text)]) == 2
    assert "not a SoundFont 2" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@needs_fluidsynth
def test_render_data_into_a_file_is_a_clear_error(tmp_path, capsys):
    file = tmp_path / "file.txt"
    file.write_text("x")
    assert main(["render-data", str(file), "--train-tracks", "1", "--test-tracks", "0", "--seconds", "1"]) == 2
    assert "is a file" in capsys.readouterr().err


def test_prepare_data_with_a_file_as_cache_dir_or_root_is_a_clear_error(tmp_path, capsys):
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(SystemExit):
        main(["prepare-data", str(tmp_path), "--rate", "8000", "--cache-dir", str(file)])
    assert "is a file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["prepare-data", str(file), "--rate", "8000"])
    assert "is not a folder" in capsys.readouterr().err
