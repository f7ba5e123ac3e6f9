"""Wheels that lack files fail the simulated Colab run, each the way it would on Colab (see
tests/colab_sim.py and tests/test_colab.py)."""

import pytest

from colab_sim import REPO, run_like_colab, without

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("left_out, notebooks, fails", [
    # package data forgotten: the shipped configs are missing, `-c m4` / `-c demo` cannot find them
    (r"^waveunet_lit/configs/.*\.yaml$", NOTEBOOKS[:1], ["waveunet info -c m4", "lightning fit -c demo"]),
    # a subpackage forgotten (packages.find with "waveunet_lit" instead of "waveunet_lit*"): the
    # notebook's install cell stops with its message, the commands that build a model do not
    # start (`waveunet --help` still prints: the command line loads models on first use)
    (r"^waveunet_lit/models/", NOTEBOOKS[:1], [NOTEBOOKS[0].name, "waveunet info -c m4", "lightning fit -c demo"]),
])
def test_a_wheel_that_lacks_files_fails(built_dist, tmp_path, monkeypatch, left_out, notebooks, fails):
    wheel = without(built_dist[0], tmp_path / "broken", left_out)
    failures = run_like_colab(wheel, notebooks, tmp_path, monkeypatch)
    for name in fails:
        assert any(f.startswith(name) for f in failures), f"expected {name} to fail, got:\n" + "\n".join(failures)
