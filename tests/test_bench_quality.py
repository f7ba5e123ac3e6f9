"""bench/quality.py runs its whole pipeline tiny (train for a budget, evaluate, one table with
the mixture and IRM rows) and refuses bad arguments by name."""

import contextlib
import importlib.util
import io
import json
from pathlib import Path

import pytest

from waveunet_lit.data import generate_toy_musdb

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "quality.py"
SOURCES = ("vocals", "drums", "bass", "other")
spec = importlib.util.spec_from_file_location("bench_quality", SCRIPT)
quality = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quality)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quality")
    root = generate_toy_musdb(tmp / "data", train_tracks=3, test_tracks=1, seconds=3.0)
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.chdir(tmp)
        code = quality.main(["--smoke", "--budget-minutes", "0.5", "--max-steps", "3", "--root", str(root), "--configs", "demo", "spec_unet",
                             "--out", str(tmp / "runs"), "--wiener", "1", "--shifts", "2", "--seed", "5"])
    assert code == 0
    return out.getvalue(), tmp / "runs" / "run_0"


def test_smoke_prints_one_row_per_config_and_both_references(smoke):
    stdout, run_dir = smoke
    scored = ("", " +shifts2", " +wiener1", " +shifts2 +wiener1")
    names = (*(c + s for c in ("demo", "spec_unet") for s in scored), "mixture", "oracle-irm")
    rows = {line[:28].strip(): line.split() for line in stdout.splitlines() if line[:28].strip() in names}
    assert set(rows) == set(names), stdout
    assert "median over 1 s frames, median over 1 test songs" in stdout and "SMOKE" in stdout
    for name in ("demo", "spec_unet"):  # each trained, and the config it trained was kept
        assert (run_dir / name / "config.yaml").is_file() and (run_dir / name / "eval" / "results.json").is_file()
        assert "3 steps," in " ".join(rows[name])  # --max-steps stops before the budget
        assert (run_dir / name / "weights.pt").is_file()  # the scored weights, kept


def test_wiener_row_scores_the_same_weights_post_filtered(smoke):
    _, run_dir = smoke
    rows = {r["name"]: r for r in json.loads((run_dir / "quality.json").read_text())["rows"]}
    plain = json.loads((run_dir / "demo" / "eval" / "results.json").read_text())["median"]["model"]
    filtered = json.loads((run_dir / "demo" / "eval_wiener1" / "results.json").read_text())["median"]["model"]
    assert rows["demo +wiener1"]["sdr"] == pytest.approx(filtered)
    assert rows["demo"]["sdr"] == pytest.approx(plain)
    assert filtered != plain  # the post-filter changed the stems
    assert rows["demo +wiener1"]["info"] == rows["demo"]["info"]  # one training, two scorings


def test_shift_rows_score_the_same_weights_shift_averaged(smoke):
    _, run_dir = smoke
    rows = {r["name"]: r for r in json.loads((run_dir / "quality.json").read_text())["rows"]}
    for name, folder in (("demo +shifts2", "eval_shifts2"), ("demo +shifts2 +wiener1", "eval_shifts2_wiener1")):
        stored = json.loads((run_dir / "demo" / folder / "results.json").read_text())
        assert rows[name]["sdr"] == pytest.approx(stored["median"]["model"])
        track = json.loads(next((run_dir / "demo" / folder / "model" / "test").glob("*.json")).read_text())
        assert track["waveunet"]["settings"]["shifts"] == 2 and rows[name]["info"] == rows["demo"]["info"]
    assert rows["demo +shifts2"]["sdr"] != rows["demo"]["sdr"]  # the averaged passes changed the stems
    assert rows["demo +shifts2 +wiener1"]["sdr"] != rows["demo +wiener1"]["sdr"]


def test_table_numbers_follow_from_the_stored_scores(smoke):
    _, run_dir = smoke
    report = json.loads((run_dir / "quality.json").read_text())
    rows = {r["name"]: r for r in report["rows"]}
    evaluated = json.loads((run_dir / "demo" / "eval" / "results.json").read_text())["median"]
    irm = rows["oracle-irm"]
    for name, method in (("demo", "model"), ("mixture", "mixture"), ("oracle-irm", "oracle-irm")):
        r = rows[name]
        assert r["sdr"] == pytest.approx({s: evaluated[method][s] for s in SOURCES})
        assert r["avg"] == pytest.approx(sum(r["sdr"].values()) / 4)
        assert r["gap_to_irm"] == pytest.approx(r["avg"] - irm["avg"])
    # the oracle reads the true sources: far above the mixture on toy data
    assert irm["avg"] > rows["mixture"]["avg"] + 10
    assert irm["gap_to_irm"] == 0


def test_checkpoint_and_early_stopping_callbacks_are_dropped_and_the_seed_recorded(smoke):
    import yaml

    _, run_dir = smoke
    cfg = yaml.safe_load((run_dir / "demo" / "config.yaml").read_text())
    assert not [c for c in cfg["trainer"]["callbacks"] if c["class_path"].endswith(("ModelCheckpoint", "EarlyStopping"))]
    assert cfg["seed_everything"] == 5  # --seed, not the shipped config's 42


@pytest.mark.parametrize(
    "args, message",
    [
        (["--budget-minutes", "0"], "--budget-minutes must be > 0, got 0.0"),
        (["--configs", "no_such_recipe"], "no_such_recipe is no file here and not a shipped config"),
        (["--root", "missing-folder"], "--root missing-folder has no test/ folder"),
        (["--max-tracks", "0"], "--max-tracks must be >= 1, got 0"),
        (["--max-steps", "0"], "--max-steps must be >= 1 (or -1: no limit), got 0"),
        (["--wiener", "-1"], "--wiener must be >= 0 EM iterations, got -1"),
        (["--shifts", "1"], "--shifts must be 0 (none) or >= 2 passes, got 1"),
        (["--wiener-fft", "4095"], "--wiener-fft must be a multiple of 4 samples (the hop is a quarter of it), got 4095"),
        (["--train-songs", "0"], "--train-songs must be >= 1, got 0"),
        (["--train-songs", "240", "--smoke"], "--train-songs sets the default rendered set: it does not go with --root or --smoke"),
        (["--train-songs", "240", "--root", "."], "--train-songs sets the default rendered set: it does not go with --root or --smoke"),
    ],
)
def test_bad_arguments_are_named(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        quality.parse_args([*args, "--out", str(tmp_path)])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("train_songs, folder, songs", [(None, "rendered-quality-60x30s", 60), (240, "rendered-quality-240x30s", 240)])
def test_default_dataset_folder_and_songs_follow_train_songs(train_songs, folder, songs, tmp_path, monkeypatch):
    import waveunet_lit.data.render as render

    calls = []
    monkeypatch.setattr(render, "render_dataset", lambda root, *counts, **kw: calls.append((Path(root), *counts)) or Path(root))
    monkeypatch.setenv("WAVEUNET_DATA", str(tmp_path))
    flags = [] if train_songs is None else ["--train-songs", str(train_songs)]
    args = quality.parse_args([*flags, "--out", str(tmp_path)])
    assert quality.dataset(args, tmp_path / "run_0") == tmp_path / folder
    assert calls == [(tmp_path / folder, songs, 8, 30.0)]  # the same 8 test songs of 30 s for any number


def test_high_band_rows_score_the_same_weights_with_the_band_shared_out(tmp_path, monkeypatch):
    # the toy songs are at 44.1 kHz, the smoke demo model at 8 kHz: a band to share out
    root = generate_toy_musdb(tmp_path / "data", train_tracks=3, test_tracks=1, seconds=3.0)
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()):
        code = quality.main(["--smoke", "--max-steps", "2", "--root", str(root), "--configs", "demo",
                             "--out", str(tmp_path / "runs"), "--wiener", "1", "--high-band"])
    assert code == 0
    run_dir = tmp_path / "runs" / "run_0" / "demo"
    rows = {r["name"]: r for r in json.loads((tmp_path / "runs" / "run_0" / "quality.json").read_text())["rows"]}
    assert {"demo", "demo +highband", "demo +wiener1", "demo +highband +wiener1"} <= set(rows)
    for name, folder in (("demo +highband", "eval_highband"), ("demo +highband +wiener1", "eval_highband_wiener1")):
        stored = json.loads((run_dir / folder / "results.json").read_text())
        assert rows[name]["sdr"] == pytest.approx(stored["median"]["model"])
        track = json.loads(next((run_dir / folder / "model" / "test").glob("*.json")).read_text())
        assert track["waveunet"]["settings"]["high_band"] is True
    assert rows["demo +highband"]["sdr"] != rows["demo"]["sdr"]  # the band was shared out: other stems
    assert rows["demo +highband +wiener1"]["sdr"] != rows["demo +wiener1"]["sdr"]


def test_rescore_scores_the_saved_weights_again_without_training(smoke, tmp_path, monkeypatch):
    _, run_dir = smoke
    before = {r["name"]: r for r in json.loads((run_dir / "quality.json").read_text())["rows"]}
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert quality.main(["--rescore", str(run_dir), "--out", str(tmp_path / "again"), "--wiener", "1"]) == 0
    assert "training" not in out.getvalue()
    rows = {r["name"]: r for r in json.loads((tmp_path / "again" / "run_0" / "quality.json").read_text())["rows"]}
    assert set(rows) == {"demo", "demo +wiener1", "spec_unet", "spec_unet +wiener1", "mixture", "oracle-irm"}
    for name in rows:  # the same weights and songs: the same scores
        assert rows[name]["sdr"] == pytest.approx(before[name]["sdr"])
    assert rows["demo"]["info"].startswith(before["demo"]["info"]) and str(run_dir / "demo") in rows["demo"]["info"]


def test_rescore_with_another_wiener_frame_names_its_rows(smoke, tmp_path, monkeypatch):
    _, run_dir = smoke
    before = {r["name"]: r for r in json.loads((run_dir / "quality.json").read_text())["rows"]}
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()):
        assert quality.main(["--rescore", str(run_dir), "--out", str(tmp_path / "again"), "--wiener", "1",
                             "--wiener-fft", "1024", "--max-tracks", "1"]) == 0
    again = tmp_path / "again" / "run_0"
    rows = {r["name"]: r for r in json.loads((again / "quality.json").read_text())["rows"]}
    assert {"demo +wiener1fft1024", "spec_unet +wiener1fft1024"} <= set(rows) and "demo +wiener1" not in rows
    track = json.loads(next((again / "demo" / "eval_wiener1fft1024" / "model" / "test").glob("*.json")).read_text())
    assert track["waveunet"]["settings"]["wiener_fft"] == 1024
    assert rows["demo +wiener1fft1024"]["sdr"] != before["demo +wiener1"]["sdr"]


def test_rescore_needs_a_run_folder(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        quality.parse_args(["--rescore", str(tmp_path), "--out", str(tmp_path)])
    assert exit_.value.code == 2 and f"--rescore {tmp_path} has no quality.json" in capsys.readouterr().err
