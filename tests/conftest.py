"""Shared fixtures: tiny generated datasets and a trained-for-a-moment checkpoint."""

import os
from pathlib import Path

import pytest

# `make test` runs the suite in one worker per core (pytest-xdist): each worker, and the notebook
# kernels and commands it starts, then gets its share of the cores instead of all of them.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
THREADS = max(1, min(2, (os.cpu_count() or 1) // WORKERS))
if WORKERS > 1:
    os.environ["OMP_NUM_THREADS"] = str(THREADS)

import torch  # noqa: E402  (after the thread count is set for the whole process)

from waveunet_lit.data import generate_toy_musdb  # noqa: E402

torch.set_num_threads(THREADS)

try:  # property tests keep no example database and cache nothing inside the repository
    import tempfile

    from hypothesis import settings as _hypothesis_settings
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-"))
    _hypothesis_settings.register_profile("no-database", database=None)
    _hypothesis_settings.load_profile("no-database")
except ImportError:  # hypothesis is a dev dependency; tests that use it import it themselves
    pass


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory) -> Path:
    """A MUSDB18-HQ-layout folder: 3 train and 2 test tracks of 3 s at 44.1 kHz."""
    return generate_toy_musdb(tmp_path_factory.mktemp("toy"), train_tracks=3, test_tracks=2, seconds=3.0)


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `musdb` without MUSDB_PATH and `gpu` without CUDA."""
    has_musdb = bool(os.environ.get("MUSDB_PATH")) and Path(os.environ["MUSDB_PATH"]).is_dir()
    for item in items:
        if "musdb" in item.keywords and not has_musdb:
            item.add_marker(pytest.mark.skip(reason="set MUSDB_PATH to a MUSDB18 folder to run"))
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))


# --- The suite leaves the repository as it found it --------------------------------------
# Every file below the repository root (except .git, .venv and Python's own __pycache__
# bytecode) is hashed before the first test and after the last; any file added, removed or
# changed fails the run and is named. Tests write below tmp_path, never here.

import hashlib

REPO = Path(__file__).resolve().parents[1]
UNTRACKED_BY_DESIGN = {".git", ".venv", "__pycache__"}


def tree_digest(root: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every file below ``root``, skipping UNTRACKED_BY_DESIGN."""
    digest = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if UNTRACKED_BY_DESIGN.intersection(rel.parts) or not path.is_file():
            continue
        digest[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def tree_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Lines ``added|removed|changed: path`` between two digests."""
    return ([f"added: {p}" for p in sorted(after.keys() - before.keys())]
            + [f"removed: {p}" for p in sorted(before.keys() - after.keys())]
            + [f"changed: {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]])


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # once, in the process that runs (or directs) the suite
        session.config._repo_digest = tree_digest(REPO)


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_repo_digest", None)
    if before is None:
        return
    changes = tree_changes(before, tree_digest(REPO))
    if changes:
        print("\nthe test suite wrote inside the repository (tests must use tmp_path):\n  " + "\n  ".join(changes[:50]))
        session.exitstatus = 1


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory) -> tuple[Path, Path]:
    """``(wheel, sdist)`` of the working tree, built offline in a temporary copy (tests/colab_sim.py)."""
    from colab_sim import build_dist

    return build_dist(tmp_path_factory.mktemp("build"))
