"""Reading museval JSON folders and the published-table statistics, on generated files.

The same code path reproduces the Wave-U-Net paper's Table 2 and the SiSEC 2018 averages
from the real submission folder (notebook 08); here the files are generated in museval's own
format (``museval.TrackStore``) and every number is compared with a hand computation."""

import json
import math
import statistics

import museval
import pytest

from waveunet_lit.lessons.sdr_tables import EXAMPLE_METHODS, write_example_results
from waveunet_lit.museval_json import read_museval_folder, read_track_json, sisec_average, summary
from waveunet_lit.report import frames_table, pooled_stats


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return write_example_results(tmp_path_factory.mktemp("results"), tracks=5, sources=("vocals", "drums"), seed=3)


def _by_hand(folder, method, target):
    """Read the JSON files with the json module only and aggregate with the statistics module."""
    tracks = {}
    for path in sorted((folder / method / "test").glob("*.json")):
        data = json.loads(path.read_text())
        [t] = [t for t in data["targets"] if t["name"] == target]
        tracks[path.stem] = [f["metrics"]["SDR"] for f in t["frames"] if not math.isnan(f["metrics"]["SDR"])]
    pool = [v for vals in tracks.values() for v in vals]
    med = statistics.median(pool)
    return {
        "sisec": statistics.median(statistics.median(v) for v in tracks.values()),
        "median": med,
        "mad": statistics.median(abs(v - med) for v in pool),
        "mean": statistics.fmean(pool),
        "sd": statistics.pstdev(pool),
        "frames": len(pool),
        "mean_of_means": statistics.fmean(statistics.fmean(v) for v in tracks.values()),
    }


def test_summary_equals_a_hand_computation(results):
    methods = list(EXAMPLE_METHODS)
    frames = read_museval_folder(results)
    assert sorted(frames.method.unique()) == sorted(methods)
    table = summary(frames, methods, ("vocals", "drums")).set_index(["method", "target"])
    for method in methods:
        for target in ("vocals", "drums"):
            want = _by_hand(results, method, target)
            got = table.loc[(method, target)]
            for key, value in want.items():
                assert got[key] == pytest.approx(value, abs=1e-9), (method, target, key)
    # the example is one where the aggregations disagree, as on real vocals
    vocals = table.loc[("model", "vocals")]
    assert abs(vocals["sisec"] - vocals["mean_of_means"]) > 1.0


def test_sisec_average_is_the_mean_of_the_sisec_medians(results):
    table = summary(read_museval_folder(results), list(EXAMPLE_METHODS), ("vocals", "drums"))
    want = statistics.fmean(_by_hand(results, "model", t)["sisec"] for t in ("vocals", "drums"))
    assert sisec_average(table, "model", ("vocals", "drums")) == pytest.approx(want, abs=1e-9)
    with pytest.raises(ValueError, match="bass"):
        sisec_average(table, "model", ("vocals", "bass"))


def test_reads_files_written_by_museval_itself(tmp_path):
    store = museval.TrackStore(track_name="a", win=1, hop=1)
    store.add_target(target_name="vocals", values={"SDR": [1.0, math.nan, 3.0], "SIR": [1, 2, 3], "SAR": [1, 2, 3], "ISR": [1, 2, 3]})
    (tmp_path / "m" / "test").mkdir(parents=True)
    (tmp_path / "m" / "test" / "a.json").write_text(store.json)
    frames = read_track_json(tmp_path / "m" / "test" / "a.json", "m")
    sdr = frames[frames.metric == "SDR"].score.tolist()
    assert sdr[0] == 1.0 and math.isnan(sdr[1]) and sdr[2] == 3.0
    assert pooled_stats(sdr)["frames"] == 2


def test_bad_inputs_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="results folder not found"):
        read_museval_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="no <method>/test/ folders"):
        read_museval_folder(tmp_path)
    (tmp_path / "m" / "test").mkdir(parents=True)
    with pytest.raises(ValueError, match="no .json files"):
        read_museval_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="'other'"):
        read_museval_folder(tmp_path, ["other"])
    bad = tmp_path / "m" / "test" / "broken.json"
    bad.write_text('{"tracks": []}')
    with pytest.raises(ValueError, match="broken.json is not a museval JSON"):
        read_museval_folder(tmp_path)
    with pytest.raises(ValueError, match="metric must be"):
        summary(frames_table([]), ["m"], ("vocals",), metric="sdr")


def test_pooled_stats_of_nothing():
    assert pooled_stats([math.nan]) == {"median": None, "mad": None, "mean": None, "sd": None, "frames": 0}
