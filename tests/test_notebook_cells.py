"""Every notebook carries the one install cell and the Colab badge of tools/notebook_cells.py."""

import importlib.util
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("notebook_cells", REPO / "tools" / "notebook_cells.py")
cells = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cells)

OLD_CELL = '''import os, sys

if "google.colab" in sys.modules:  # install only on Colab
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "waveunet-lit @ git+https://github.com/waveunet-lit/waveunet-lit"], check=True)

SMALL = os.environ.get("CI") == "true"  # small-data mode for CI'''


def test_every_notebook_has_the_canonical_cells(capsys):
    status = cells.main(["--check"])
    assert status == 0, capsys.readouterr().out + "\nrun: python tools/notebook_cells.py"
    assert sorted(REPO.glob("notebooks/*.ipynb")), "no notebooks found"


@pytest.fixture
def fork(tmp_path) -> Path:
    """A copy of the repository's pyproject, book config and first notebook."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copy(REPO / "book" / "_config.yml", tmp_path / "book")
    for nb in sorted(REPO.glob("notebooks/*.ipynb"))[:1]:
        shutil.copy(nb, tmp_path / "notebooks")
    return tmp_path


def test_an_old_install_cell_is_found_and_replaced(fork, capsys):
    path = next((fork / "notebooks").glob("*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells[index].source = OLD_CELL
    n_cells = len(nb.cells)
    nbformat.write(nb, path)
    assert cells.main(["--check"], root=fork) == 1
    assert f"differs: notebooks/{path.name}: install cell" in capsys.readouterr().out
    assert cells.main([], root=fork) == 0 and cells.main(["--check"], root=fork) == 0
    nb = nbformat.read(path, as_version=4)
    assert len(nb.cells) == n_cells and nb.cells[index].source == cells.install_cell("waveunet-lit")


def test_a_notebook_without_install_cell_gets_one_first(fork):
    path = next((fork / "notebooks").glob("*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    own = [c for c in nb.cells if c.cell_type == "code"]
    nb.cells.remove(own[0])
    nbformat.write(nb, path)
    cells.main([], root=fork)
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert code[0].source == cells.install_cell(cells.settings(fork / "pyproject.toml")[1])
    assert code[1].source == own[1].source


def test_one_line_of_pyproject_moves_every_badge_and_the_book(fork, capsys):
    text = (fork / "pyproject.toml").read_text()
    url, _ = cells.settings(fork / "pyproject.toml")
    (fork / "pyproject.toml").write_text(text.replace(f'Repository = "{url}"', 'Repository = "https://github.com/a-course/fork"'))
    assert cells.main(["--check"], root=fork) == 1
    out = capsys.readouterr().out
    assert "badge" in out and "book/_config.yml: repository url" in out
    cells.main([], root=fork)
    path = next((fork / "notebooks").glob("*.ipynb"))
    title = nbformat.read(path, as_version=4).cells[0].source
    assert f"colab.research.google.com/github/a-course/fork/blob/main/notebooks/{path.name}" in title
    assert url.removeprefix("https://") not in title
    assert "url: https://github.com/a-course/fork" in (fork / "book" / "_config.yml").read_text()


def test_the_install_source_is_one_setting(fork):
    text = (fork / "pyproject.toml").read_text()
    (fork / "pyproject.toml").write_text(text.replace('colab-source = "waveunet-lit"', 'colab-source = "git+https://github.com/a-course/fork"'))
    assert cells.main(["--check"], root=fork) == 1
    cells.main([], root=fork)
    nb = nbformat.read(next((fork / "notebooks").glob("*.ipynb")), as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert 'os.environ.get("WAVEUNET_LIT_SOURCE", "git+https://github.com/a-course/fork")' in first_code.source


@pytest.mark.parametrize("bad, match", [
    ('Repository = "https://gitlab.com/a/b"', "must be https://github.com/OWNER/REPO"),
    ('colab-source = ""', "colab-source is missing"),
])
def test_bad_settings_are_named(fork, bad, match):
    text = (fork / "pyproject.toml").read_text()
    key = bad.split(" = ")[0]
    line = next(line for line in text.splitlines() if line.startswith(key + " = "))
    (fork / "pyproject.toml").write_text(text.replace(line, bad))
    with pytest.raises(ValueError, match=match):
        cells.main(["--check"], root=fork)


# --- what the cell does ------------------------------------------------------------------

def run_cell(monkeypatch, on_colab: bool, pip_status: int = 0, importable: bool = True) -> tuple[dict, list]:
    """Execute the install cell with pip replaced by a recorder; returns (namespace, pip calls)."""
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, pip_status, stdout="", stderr="ERROR: no such package\n" if pip_status else "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("WAVEUNET_LIT_SOURCE", "/somewhere/waveunet_lit-9-py3-none-any.whl")
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    if not importable:
        monkeypatch.setitem(sys.modules, "waveunet_lit", None)  # import raises ImportError
    namespace = {}
    exec(cells.install_cell("waveunet-lit"), namespace)
    return namespace, calls


def test_outside_colab_it_installs_nothing(monkeypatch):
    namespace, calls = run_cell(monkeypatch, on_colab=False)
    assert calls == [] and namespace["SMALL"] is True


def test_on_colab_it_installs_the_source_and_keeps_torch(monkeypatch, capsys):
    import torch
    import torchaudio

    _, calls = run_cell(monkeypatch, on_colab=True)
    assert len(calls) == 1
    cmd = calls[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"] and "/somewhere/waveunet_lit-9-py3-none-any.whl" in cmd
    assert f"torch=={importlib.metadata.version('torch')}" in cmd and f"torchaudio=={importlib.metadata.version('torchaudio')}" in cmd
    assert not {"-U", "--upgrade", "--force-reinstall"} & set(cmd)
    assert torch.__version__.split("+")[0] in " ".join(cmd) and torchaudio  # the running torch, not another
    assert "installed from /somewhere/waveunet_lit-9-py3-none-any.whl" in capsys.readouterr().out


def test_a_failed_pip_is_an_error_that_says_what_to_do(monkeypatch, capsys):
    with pytest.raises(RuntimeError, match=r"did not install from '/somewhere/.*\.whl' \(pip exited with status 1\).*WAVEUNET_LIT_SOURCE.*Restart session"):
        run_cell(monkeypatch, on_colab=True, pip_status=1)
    assert "ERROR: no such package" in capsys.readouterr().out  # pip's own message is shown


def test_an_install_that_does_not_import_is_an_error(monkeypatch):
    with pytest.raises(RuntimeError, match=r"did not install from .*waveunet_lit"):
        run_cell(monkeypatch, on_colab=True, importable=False)
