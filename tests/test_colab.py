"""Every notebook, run the way Colab runs it: a fresh environment, the install cell, the wheel.

See tests/colab_sim.py for how the environment is made. Minutes, not seconds: marked slow.
The broken wheels are in tests/test_colab_broken_wheel.py (a file of their own, so that
`make test` can run them in another worker).
"""

import pytest

from colab_sim import REPO, run_like_colab

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.slow


def test_every_notebook_runs_from_the_wheel_like_on_colab(built_dist, tmp_path, monkeypatch):
    wheel, _ = built_dist
    assert NOTEBOOKS
    failures = run_like_colab(wheel, NOTEBOOKS, tmp_path, monkeypatch)
    assert not failures, "\n\n".join(failures)
