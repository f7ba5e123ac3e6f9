"""bench/bsrnn_step.py times its three variants of a band-split RNN recipe's training step and
refuses configs and arguments it cannot run, by name."""

import contextlib
import importlib.util
import io
from pathlib import Path

import pytest
import yaml

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "bsrnn_step.py"
spec = importlib.util.spec_from_file_location("bench_bsrnn_step", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
CONFIGS = Path(__file__).resolve().parents[1] / "waveunet_lit" / "configs"


def small_recipe(tmp_path: Path) -> Path:
    """cpu_10min with a smaller network and chunks: the same code paths in a fraction of the time."""
    cfg = yaml.safe_load((CONFIGS / "cpu_10min.yaml").read_text())
    cfg["model"]["init_args"]["model"]["init_args"].update(features=8, hidden=8, layers=1, mlp_hidden=8)
    cfg["data"]["init_args"].update(segment=4000, batch_size=2)
    path = tmp_path / "small_bsrnn.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_prints_every_variant_with_its_step_time(tmp_path):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench.main(["--config", str(small_recipe(tmp_path)), "--steps", "1", "--rounds", "1", "--threads", "1"])
    text = out.getvalue()
    rows = {line[:28].strip(): line[28:].split() for line in text.splitlines() if line[:28].strip() in bench.VARIANTS}
    assert set(rows) == set(bench.VARIANTS), text
    for variant, (seconds, speedup) in rows.items():
        assert float(seconds) > 0 and speedup.endswith("x"), (variant, text)
    assert rows[bench.VARIANTS[0]][1] == "1.00x"
    assert "30 bands" in text and "2 x 2 x 4000 samples" in text


def test_refuses_a_config_that_is_not_a_band_split_rnn():
    with pytest.raises(SystemExit, match="demo builds a WaveUNet, not a BandSplitRNN"):
        bench.main(["--config", "demo", "--steps", "1"])


@pytest.mark.parametrize("flag", ["--steps", "--rounds", "--threads"])
def test_refuses_counts_below_one(flag, capsys):
    with pytest.raises(SystemExit):
        bench.main([flag, "0"])
    assert f"{flag} must be >= 1, got 0" in capsys.readouterr().err
