"""`waveunet evaluate`: museval-format JSON, three aggregations, baselines, resuming, bad input."""

import json
import shutil
from pathlib import Path

import jsonschema
import museval
import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

import waveunet_lit.evaluate as ev
from waveunet_lit.cli import main
from waveunet_lit.data import generate_toy_musdb
from waveunet_lit.evaluate import check_estimates, evaluate, ideal_ratio_mask, score_track
from waveunet_lit.models import WaveUNet
from waveunet_lit.report import aggregate, format_table, frames_table

RATE = 8000  # 1 s BSSEval frames of 8000 samples keep every test fast
SOURCES = ("vocals", "drums", "bass", "other")


def net(sources=SOURCES, seed=0):
    torch.manual_seed(seed)
    return WaveUNet(sources=sources, channels=2, sample_rate=RATE, levels=3, features=4).eval()


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Two 3 s test tracks at 8 kHz in MUSDB18-HQ layout."""
    return generate_toy_musdb(tmp_path_factory.mktemp("toy8k"), train_tracks=0, test_tracks=2, seconds=3.0, sample_rate=RATE)


@pytest.fixture(scope="module")
def scored(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    return evaluate(net(), root, out_dir=out, oracle="irm"), out


def copy_root(root, tmp_path):
    return shutil.copytree(root, tmp_path / "data")


# ------------------------------------------------------------------ files and formats


def test_json_is_museval_format_and_evalstore_reads_it(scored):
    result, out = scored
    schema = json.loads((Path(museval.__path__[0]) / "musdb.schema.json").read_text())
    for method in ("model", "mixture", "oracle-irm"):
        files = sorted((out / method / "test").glob("*.json"))
        assert [f.stem for f in files] == ["toy_000", "toy_001"]
        for f in files:
            data = json.loads(f.read_text())
            jsonschema.validate(data, schema)
            assert [t["name"] for t in data["targets"]] == list(SOURCES)
            assert len(data["targets"][0]["frames"]) == 3  # 3 s -> three 1 s frames
        store = museval.EvalStore()
        store.add_eval_dir(out / method)
        sisec = store.agg_frames_tracks_scores()  # median over frames, then over tracks
        for s in SOURCES:
            assert sisec[(s, "SDR")] == pytest.approx(result["median"][method][s], abs=1e-6)
            assert sisec[(s, "SIR")] == pytest.approx(result["aggregates"]["sisec"][method][s]["SIR"], abs=1e-6)


def test_csv_plots_and_results_are_written(scored):
    result, out = scored
    import pandas as pd

    frames = pd.read_csv(out / "frames.csv")
    assert list(frames.columns) == ["method", "track", "target", "metric", "time", "score"]
    assert len(frames) == 3 * 2 * 4 * 4 * 3  # methods x tracks x sources x metrics x frames
    summary = pd.read_csv(out / "summary.csv")
    assert {"sisec_median", "pooled_median", "pooled_mad", "pooled_mean", "pooled_sd", "mean_of_track_means"} <= set(summary.aggregation)
    for s in SOURCES:
        png = out / "plots" / f"sdr_{s}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "results.json").read_text())["methods"] == ["model", "mixture", "oracle-irm"]


def test_table_shows_model_mixture_oracle_and_three_aggregations(scored):
    result, _ = scored
    table = format_table(result)
    assert "model SDR" in table and "mixture SDR" in table and "oracle-irm SDR" in table
    for word in ("SiSEC", "pooled med", "MAD", "SD"):
        assert word in table
    assert "upper bound" in table  # the oracle is labelled as one


def test_oracle_beats_the_mixture(scored):
    result, _ = scored
    for s in SOURCES:
        assert result["median"]["oracle-irm"][s] > result["median"]["mixture"][s] + 5


# ------------------------------------------------------------------ scoring


def signals(seed=0, S=2, T=3 * RATE):
    g = torch.Generator().manual_seed(seed)
    ref = torch.randn(S, 2, T, generator=g, dtype=torch.float64)
    est = ref + 0.3 * torch.randn(S, 2, T, generator=g, dtype=torch.float64) + 0.2 * ref.flip(0)
    return est, ref


def test_torch_and_museval_scorers_agree():
    est, ref = signals()
    ours = score_track(est, ref, ("vocals", "drums"), RATE, metric="torch")
    theirs = score_track(est, ref, ("vocals", "drums"), RATE, metric="museval")
    for s in ("vocals", "drums"):
        for m in ev.METRICS:
            assert np.allclose(ours[s][m], theirs[s][m], atol=0.01), (s, m)


def test_vocals_and_accompaniment_are_scored_as_museval_does():
    """museval scores the vocals/accompaniment pair on its own, and the rest together."""
    est, ref = signals(S=3)
    three = score_track(est, ref, ("vocals", "drums", "accompaniment"), RATE)
    pair = score_track(est[[0, 2]], ref[[0, 2]], ("vocals", "accompaniment"), RATE)
    joint = score_track(est[:2], ref[:2], ("vocals", "drums"), RATE)
    assert three["vocals"] == pair["vocals"] and three["accompaniment"] == pair["accompaniment"]
    assert three["drums"] == joint["drums"]
    assert three["vocals"] != joint["vocals"]  # the check can fail: the groups differ


def test_ideal_ratio_mask_of_one_source_is_the_mixture():
    ref = torch.randn(2, 2, 8000)
    est = ideal_ratio_mask(ref.sum(0), ref, n_fft=512, hop=128)
    assert est.shape == ref.shape
    torch.testing.assert_close(est.sum(0), ref.sum(0), atol=1e-4, rtol=0)
    only = ideal_ratio_mask(ref[0], ref[:1], n_fft=512, hop=128)  # one source that is the mix
    torch.testing.assert_close(only[0], ref[0], atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda e, r: (e[..., :-1], r), "shape"),
        (lambda e, r: (e[:, :1], r), "shape"),
        (lambda e, r: (e.index_put((torch.tensor(1), torch.tensor(0), torch.tensor(5)), torch.tensor(float("nan"), dtype=e.dtype)), r), "'drums' contains NaN"),
        (lambda e, r: (e, r * torch.tensor([1.0, 0.0], dtype=r.dtype)[:, None, None]), "reference of 'drums' is all zeros"),
        (lambda e, r: (e * 0, r), "estimate of 'vocals' is all zeros"),
    ],
)
def test_bad_estimates_are_clear_errors(change, message):
    est, ref = signals()
    est, ref = change(est, ref)
    with pytest.raises(ValueError, match=message):
        score_track(est, ref, ("vocals", "drums"), RATE)


def test_rate_mismatch_and_bad_arguments():
    est, ref = signals()
    with pytest.raises(ValueError, match="16000 Hz but the references at 8000 Hz"):
        check_estimates(est, ref, ("vocals", "drums"), RATE, estimates_rate=16000)
    with pytest.raises(ValueError, match="metric"):
        score_track(est, ref, ("vocals", "drums"), RATE, metric="bsseval")
    with pytest.raises(ValueError, match="at least two sources"):
        score_track(est[:1], ref[:1], ("vocals",), RATE)


# ------------------------------------------------------------------ aggregation


def test_three_aggregations_by_hand():
    """Track a: frames 0, 0, 30; track b: 10, 11, NaN. They give three different answers."""
    rows = [
        {"method": "model", "track": t, "target": "vocals", "metric": "SDR", "time": i, "score": v}
        for t, values in (("a", [0.0, 0.0, 30.0]), ("b", [10.0, 11.0, float("nan")]))
        for i, v in enumerate(values)
    ]
    agg = aggregate(frames_table(rows), ["model"], ("vocals",))
    assert agg["median"]["model"]["vocals"] == pytest.approx(np.median([0.0, 10.5]))  # SiSEC
    pooled = agg["aggregates"]["pooled"]["model"]["vocals"]["SDR"]
    assert pooled["median"] == pytest.approx(10.0) and pooled["frames"] == 5  # NaN left out
    assert pooled["mad"] == pytest.approx(np.median(np.abs(np.array([0, 0, 30, 10, 11]) - 10)))
    assert pooled["mean"] == pytest.approx(10.2) and pooled["sd"] == pytest.approx(np.std([0, 0, 30, 10, 11]))
    assert agg["aggregates"]["mean_of_means"]["model"]["vocals"]["SDR"] == pytest.approx((10 + 10.5) / 2)


def test_aggregates_use_only_tracks_every_method_scored():
    rows = [
        {"method": m, "track": t, "target": "vocals", "metric": "SDR", "time": 0, "score": v}
        for m, t, v in (("model", "a", 1.0), ("mixture", "a", -1.0), ("model", "b", 50.0))
    ]
    agg = aggregate(frames_table(rows), ["model", "mixture"], ("vocals",))
    assert agg["median"]["model"]["vocals"] == 1.0 and list(agg["tracks"]) == ["a"]


# ------------------------------------------------------------------ resuming


def test_scored_tracks_are_not_redone(scored, root, monkeypatch):
    result, out = scored
    calls = []
    monkeypatch.setattr(ev, "separate", lambda *a, **k: calls.append(1) / 0)
    monkeypatch.setattr(ev, "score_track", lambda *a, **k: calls.append(1) / 0)
    again = evaluate(net(), root, out_dir=out, oracle="irm")
    assert calls == [] and again["reused"] == ["toy_000", "toy_001"] and not again["failed"]
    assert again["aggregates"] == result["aggregates"]


def test_changed_weights_redo_the_model_but_not_the_mixture(root, tmp_path, monkeypatch):
    evaluate(net(seed=0), root, out_dir=tmp_path, max_tracks=1)
    separated, scored_methods = [], []
    real_separate, real_score = ev.separate, ev.score_track
    monkeypatch.setattr(ev, "separate", lambda *a, **k: separated.append(1) or real_separate(*a, **k))
    monkeypatch.setattr(ev, "score_track", lambda *a, **k: scored_methods.append(1) or real_score(*a, **k))
    result = evaluate(net(seed=1), root, out_dir=tmp_path, max_tracks=1)
    assert separated == [1] and scored_methods == [1]  # the model again, the mixture read back
    assert not result["failed"]
    data = json.loads((tmp_path / "model" / "test" / "toy_000.json").read_text())
    assert data["waveunet"]["settings"]["weights"] == ev.weights_digest(net(seed=1))


# ------------------------------------------------------------------ bad input: the others go on


class NaNModel(nn.Module):
    """A 'same' model that returns NaN: its estimates must be refused, not scored."""

    sources, channels, sample_rate = SOURCES, 2, RATE

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, mix):
        return (mix[:, None] * self.scale).expand(-1, 4, -1, -1) * float("nan")  # (B, S, C, T)

    def output_length(self, n):
        return n

    def valid_length(self, n):
        return max(n, 1)


def test_broken_tracks_are_listed_and_the_others_scored(root, tmp_path):
    data = copy_root(root, tmp_path)
    generate_toy_musdb(data, train_tracks=0, test_tracks=4, seconds=3.0, sample_rate=RATE)
    (data / "test" / "toy_001" / "vocals.wav").write_text("not audio")  # unreadable file
    bass = data / "test" / "toy_002" / "bass.wav"
    sf.write(bass, np.zeros((3 * RATE, 2)), RATE, subtype="PCM_16")  # silent reference
    short = data / "test" / "toy_003" / "drums.wav"
    sf.write(short, np.zeros((RATE, 2)), RATE, subtype="PCM_16")  # stems differ in length
    result = evaluate(net(), data, out_dir=tmp_path / "out")
    assert sorted(result["failed"]) == ["toy_001", "toy_002", "toy_003"]
    assert "vocals.wav" in result["failed"]["toy_001"]
    assert "reference of 'bass' is all zeros" in result["failed"]["toy_002"]
    assert "drums.wav" in result["failed"]["toy_003"]
    assert list(result["tracks"]) == ["toy_000"]
    assert "FAILED toy_002" in format_table(result)


def test_nan_estimates_fail_the_track_with_a_reason(root):
    result = evaluate(NaNModel(), root, max_tracks=1)
    assert "contains NaN" in result["failed"]["toy_000"] and result["tracks"] == {}


def test_unwritable_output_folder_and_missing_root(root, tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(PermissionError, match="not writable"):
        evaluate(net(), root, out_dir=blocker)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        evaluate(net(), tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no reference in MUSDB"):
        evaluate(net(sources=("vocals", "piano")), root)
    with pytest.raises(ValueError, match="exactly one"):
        evaluate(None, root)


# ------------------------------------------------------------------ stems separated elsewhere


def write_estimates(root, folder, noise=0.05, skip=()):
    for track in sorted((root / "test").iterdir()):
        for s in SOURCES:
            if (track.name, s) in skip:
                continue
            audio, r = sf.read(track / f"{s}.wav")
            audio = audio + noise * np.random.default_rng(0).standard_normal(audio.shape)
            (folder / "test" / track.name).mkdir(parents=True, exist_ok=True)
            sf.write(folder / "test" / track.name / f"{s}.flac", audio, r)


def test_estimates_folder_is_scored_and_bad_files_reported(root, tmp_path, capsys):
    write_estimates(root, tmp_path / "est")
    result = evaluate(None, root, estimates_dir=tmp_path / "est")
    assert result["methods"] == ["estimates", "mixture"] and not result["failed"]
    for s in SOURCES:
        assert result["median"]["estimates"][s] > result["median"]["mixture"][s] + 5

    write_estimates(root, tmp_path / "bad", skip={("toy_000", "bass")})
    for s in SOURCES:  # every stem of toy_001 at twice the references' rate
        sf.write(tmp_path / "bad" / "test" / "toy_001" / f"{s}.flac", np.zeros((6 * RATE, 2)) + 0.1, 2 * RATE)
    code = main(["evaluate", "--estimates", str(tmp_path / "bad"), "--root", str(root), "--quiet"])
    captured = capsys.readouterr()
    assert code == 1
    assert "no estimate file for 'bass'" in captured.out
    assert "estimates are at 16000 Hz but the references at 8000 Hz" in captured.out
    assert "2 track(s) failed: toy_000, toy_001" in captured.err


def test_cli_unwritable_out_and_min_gain(root, tmp_path, capsys):
    write_estimates(root, tmp_path / "est", noise=0.01)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert main(["evaluate", "--estimates", str(tmp_path / "est"), "--root", str(root), "--out", str(blocker)]) == 2
    assert "not writable" in capsys.readouterr().err
    args = ["evaluate", "--estimates", str(tmp_path / "est"), "--root", str(root), "--quiet", "--max-tracks", "1"]
    assert main(args + ["--min-gain", "3"]) == 0
    assert main(args + ["--min-gain", "1000"]) == 1
    assert "does not beat the mixture" in capsys.readouterr().err
