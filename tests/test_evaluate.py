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
from waveunet_lit.evaluate import (
    check_estimates, estimate, evaluate, evaluation_sources, frame_rows, ideal_ratio_mask, method_settings, read_references,
    score_and_store, score_track, stored_scores, summarize,
)
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


def test_changed_settings_redo_the_model_but_not_the_mixture(root, tmp_path, monkeypatch):
    evaluate(net(seed=0), root, out_dir=tmp_path, max_tracks=1)
    separated, scored_methods = [], []
    real_separate, real_score = ev.separate, ev.score_track
    monkeypatch.setattr(ev, "separate", lambda *a, **k: separated.append(1) or real_separate(*a, **k))
    monkeypatch.setattr(ev, "score_track", lambda *a, **k: scored_methods.append(1) or real_score(*a, **k))
    result = evaluate(net(seed=0), root, out_dir=tmp_path, max_tracks=1, shifts=2)
    assert separated == [1] and scored_methods == [1]  # the model again, the mixture read back
    assert not result["failed"]
    data = json.loads((tmp_path / "model" / "test" / "toy_000.json").read_text())
    assert data["waveunet"]["settings"]["shifts"] == 2


def test_the_wiener_post_filter_is_a_setting_of_its_own(root, tmp_path, monkeypatch):
    plain = evaluate(net(seed=0), root, out_dir=tmp_path, max_tracks=1)
    seen = []
    real_separate = ev.separate
    monkeypatch.setattr(ev, "separate", lambda *a, **k: seen.append(k["wiener"]) or real_separate(*a, **k))
    filtered = evaluate(net(seed=0), root, out_dir=tmp_path, max_tracks=1, wiener=1)
    assert seen == [1] and not filtered["failed"]  # not the plain scores read back
    assert filtered["median"]["model"] != plain["median"]["model"]
    data = json.loads((tmp_path / "model" / "test" / "toy_000.json").read_text())
    assert data["waveunet"]["settings"]["wiener"] == 1
    with pytest.raises(ValueError, match="shifts and wiener must be >= 0, got 0 and -1"):
        evaluate(net(seed=0), root, out_dir=tmp_path / "bad", max_tracks=1, wiener=-1)
    assert not (tmp_path / "bad").exists()


def test_the_wiener_frame_is_a_setting_of_its_own(root, tmp_path, monkeypatch):
    evaluate(net(seed=0), root, out_dir=tmp_path, max_tracks=1, wiener=1)
    stored = json.loads((tmp_path / "model" / "test" / "toy_000.json").read_text())["waveunet"]["settings"]
    assert "wiener_fft" not in stored  # the default frame: filtered scores stored before the option stay valid
    seen = []
    real_separate = ev.separate
    monkeypatch.setattr(ev, "separate", lambda *a, **k: seen.append(k["wiener_fft"]) or real_separate(*a, **k))
    longer = evaluate(net(seed=0), root, out_dir=tmp_path, max_tracks=1, wiener=1, wiener_fft=8192)
    assert seen == [8192] and not longer["failed"]  # separated again, not read back
    data = json.loads((tmp_path / "model" / "test" / "toy_000.json").read_text())
    assert data["waveunet"]["settings"]["wiener_fft"] == 8192
    with pytest.raises(ValueError, match="wiener_fft must be a multiple of 4 samples .*, got 1000.5"):
        evaluate(net(seed=0), root, out_dir=tmp_path / "bad", max_tracks=1, wiener=1, wiener_fft=1000.5)
    assert not (tmp_path / "bad").exists()


def test_the_high_band_fill_is_a_setting_of_its_own(root, tmp_path, monkeypatch):
    half = WaveUNet(sources=SOURCES, channels=2, sample_rate=RATE // 2, levels=3, features=4).eval()  # hears up to 2 kHz
    plain = evaluate(half, root, out_dir=tmp_path, max_tracks=1)
    seen = []
    real_separate = ev.separate
    monkeypatch.setattr(ev, "separate", lambda *a, **k: seen.append(k["high_band"]) or real_separate(*a, **k))
    filled = evaluate(half, root, out_dir=tmp_path, max_tracks=1, high_band=True)
    assert seen == [True] and not filled["failed"]  # not the plain scores read back
    assert filled["median"]["model"] != plain["median"]["model"]
    data = json.loads((tmp_path / "model" / "test" / "toy_000.json").read_text())
    assert data["waveunet"]["settings"]["high_band"] is True


def test_another_checkpoint_into_the_same_out_is_refused_not_overwritten(root, tmp_path):
    first = tmp_path / "first.ckpt"
    evaluate(net(seed=0), root, out_dir=tmp_path / "out", max_tracks=1, checkpoint=first)
    stored = tmp_path / "out" / "model" / "test" / "toy_000.json"
    before = stored.read_bytes()
    assert json.loads(before)["waveunet"]["checkpoint"] == str(first.resolve())
    with pytest.raises(ValueError) as err:
        evaluate(net(seed=1), root, out_dir=tmp_path / "out", max_tracks=1, checkpoint=tmp_path / "second.ckpt")
    assert str(tmp_path / "out" / "model" / "test") in str(err.value) and str(first.resolve()) in str(err.value)
    assert stored.read_bytes() == before  # the first model's scores are intact
    # estimates from another folder are refused the same way
    write_estimates(root, tmp_path / "est1")
    write_estimates(root, tmp_path / "est2")
    evaluate(None, root, estimates_dir=tmp_path / "est1", out_dir=tmp_path / "e", max_tracks=1)
    evaluate(None, root, estimates_dir=tmp_path / "est1", out_dir=tmp_path / "e", max_tracks=1)  # same: fine
    with pytest.raises(ValueError, match="est1"):
        evaluate(None, root, estimates_dir=tmp_path / "est2", out_dir=tmp_path / "e", max_tracks=1)


def test_out_is_created_only_after_the_inputs_are_checked(root, tmp_path):
    with pytest.raises(ValueError, match="no 'test' subset"):
        (tmp_path / "empty").mkdir()
        evaluate(net(), tmp_path / "empty", out_dir=tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="estimates folder not found"):
        evaluate(None, root, estimates_dir=tmp_path / "nothing", out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ bad input: the others go on


class NaNModel(nn.Module):
    """A 'same' model that returns NaN: its estimates must be refused, not scored."""

    sources, channels, sample_rate, period = SOURCES, 2, RATE, 1

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
    assert "2 track(s) failed:" in captured.err  # each with its reason, on its own line
    assert "  toy_000: estimates: ValueError: no estimate file for 'bass'" in captured.err
    assert "  toy_001: estimates: ValueError: estimates are at 16000 Hz" in captured.err


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


# ------------------------------------------------------------------ the jobs of evaluate(), one by one


def test_evaluation_sources_come_from_the_model_or_the_default_and_are_checked():
    assert evaluation_sources(net(sources=("vocals", "accompaniment")), ("drums",)) == ("vocals", "accompaniment")
    assert evaluation_sources(None, None) == SOURCES
    with pytest.raises(ValueError, match="no reference in MUSDB"):
        evaluation_sources(None, ("vocals", "piano"))
    with pytest.raises(ValueError, match="at least two sources"):
        evaluation_sources(None, ("vocals",))


def test_method_settings_change_with_the_weights_and_never_match_for_folders(tmp_path):
    a, b = method_settings(net(seed=0), None, SOURCES), method_settings(net(seed=1), None, SOURCES)
    assert list(a) == ["model", "mixture"] and a["mixture"] == b["mixture"] and a["model"] != b["model"]
    assert method_settings(net(), None, SOURCES, segment=100)["model"] != a["model"]
    assert list(method_settings(net(), None, SOURCES, oracle="irm")) == ["model", "mixture", "oracle-irm"]
    first, second = method_settings(None, tmp_path, SOURCES), method_settings(None, tmp_path, SOURCES)
    assert first["estimates"]["estimates_dir"] == str(tmp_path.resolve()) and first["estimates"] != second["estimates"]


def test_stored_scores_are_found_only_for_the_same_settings(root, tmp_path):
    track = ev._open_tracks(root, "test", SOURCES)[0][1]
    settings = method_settings(net(), None, SOURCES)
    assert stored_scores(None, "test", track.name, track, settings) == {"model": None, "mixture": None}
    evaluate(net(), root, out_dir=tmp_path, max_tracks=1)
    found = stored_scores(tmp_path, "test", track.name, track, settings)
    assert set(found["model"]) == set(SOURCES) and set(found["mixture"]["vocals"]) == {"SDR", "ISR", "SIR", "SAR"}
    other = stored_scores(tmp_path, "test", track.name, track, method_settings(net(seed=3), None, SOURCES))
    assert other["model"] is None and other["mixture"] is not None


def test_read_references_sums_the_stems_of_each_source(root):
    track = ev._open_tracks(root, "test", SOURCES)[0][1]
    mix, refs = read_references(track, ("vocals", "accompaniment"))
    assert refs.shape == (2, *mix.shape)
    acc = sum(torch.from_numpy(track.load(s)) for s in ("drums", "bass", "other"))
    torch.testing.assert_close(refs[1], acc)
    torch.testing.assert_close(refs.sum(0), mix, atol=1e-4, rtol=0)  # the toy mixture is the sum of its stems


def test_estimate_gives_each_method_its_estimates(tmp_path):
    torch.manual_seed(0)
    refs = torch.randn(4, 2, 3000)
    mix = refs.sum(0)
    est, rate = estimate("mixture", mix, refs, RATE, SOURCES)
    assert rate == RATE and all(torch.equal(e, mix) for e in est)
    est, _ = estimate("oracle-irm", mix, refs, RATE, SOURCES)
    assert ((est - refs).norm() / refs.norm()) < ((mix - refs).norm() / refs.norm())  # the oracle beats the mixture
    est, _ = estimate("model", mix, refs, RATE, SOURCES, model=net(), separate_args={"segment": 1000})
    torch.testing.assert_close(est, ev.separate(net(), mix, RATE, segment=1000))
    for s, name in enumerate(SOURCES):
        sf.write(tmp_path / f"{name}.wav", refs[s].T.numpy(), 2 * RATE, subtype="FLOAT")
    est, rate = estimate("estimates", mix, refs, RATE, SOURCES, estimates_folder=tmp_path)
    assert rate == 2 * RATE and torch.equal(est, refs)
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        estimate("magic", mix, refs, RATE, SOURCES)


def test_score_and_store_writes_museval_json_only_when_given_a_path(tmp_path):
    refs = torch.randn(2, 1, 2 * RATE)
    est = refs + 0.1 * torch.randn_like(refs)
    sources = ("vocals", "drums")
    kept = score_and_store(est, RATE, refs, sources, RATE, None, "song", {})
    assert list(kept) == list(sources) and len(kept["vocals"]["SDR"]) == 2 and not list(tmp_path.iterdir())
    stored = score_and_store(est, RATE, refs, sources, RATE, tmp_path / "m" / "song.json", "song", {"x": 1})
    assert stored == kept
    assert json.loads((tmp_path / "m" / "song.json").read_text())["waveunet"]["settings"] == {"x": 1}
    with pytest.raises(ValueError, match="16000 Hz but the references at 8000 Hz"):
        score_and_store(est, 2 * RATE, refs, sources, RATE, None, "song", {})


def test_frame_rows_and_summarize_give_the_tables():
    scores = {s: {m: [float(i), float(i + 1)] for m in ev.METRICS} for i, s in enumerate(("vocals", "drums"))}
    rows = frame_rows("model", "a", scores) + frame_rows("mixture", "a", scores)
    assert len(rows) == 2 * 2 * 4 * 2 and rows[0] == {"method": "model", "track": "a", "target": "vocals",
                                                      "metric": "SDR", "time": 0.0, "score": 0.0}
    result, frames = summarize(rows, ["model", "mixture"], ("vocals", "drums"), {"subset": "test"})
    assert result["subset"] == "test" and result["median"]["model"] == {"vocals": 0.5, "drums": 1.5}
    assert len(frames) == len(rows)
