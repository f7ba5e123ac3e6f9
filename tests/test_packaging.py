"""The release: one version, a changelog entry, every package file in the wheel, twine's check."""

import re
import subprocess
import sys
import tarfile
import zipfile

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from colab_sim import REPO, source_files

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def source_version() -> str:
    """``__version__`` as written in waveunet_lit/__init__.py (read, not imported)."""
    text = (REPO / "waveunet_lit" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"$', text, re.M).group(1)


def metadata(wheel) -> str:
    with zipfile.ZipFile(wheel) as z:
        return z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()


def test_the_version_is_written_once():
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "waveunet_lit.__version__"}


def test_the_wheel_has_the_version_and_the_changelog_an_entry(built_dist):
    wheel, sdist = built_dist
    version = source_version()
    assert f"\nVersion: {version}\n" in metadata(wheel)
    assert wheel.name.startswith(f"waveunet_lit-{version}-") and sdist.name == f"waveunet_lit-{version}.tar.gz"
    assert re.search(rf"^## {re.escape(version)}\b", (REPO / "CHANGELOG.md").read_text(), re.M), \
        f"CHANGELOG.md has no '## {version}' section"


def test_the_wheel_carries_every_file_of_the_package(built_dist):
    """Every file under waveunet_lit/ in the tree (configs, templates, static files ...) is in
    the wheel and the sdist; no bytecode is."""
    wheel, sdist = built_dist
    want = {p for p in source_files() if p.startswith("waveunet_lit/") and "__pycache__" not in p}
    assert "waveunet_lit/configs/demo.yaml" in want
    with zipfile.ZipFile(wheel) as z:
        in_wheel = set(z.namelist())
    with tarfile.open(sdist) as t:
        in_sdist = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert not want - in_wheel, f"missing from the wheel (add a pattern to [tool.setuptools.package-data]): {sorted(want - in_wheel)}"
    assert not want - in_sdist, f"missing from the sdist: {sorted(want - in_sdist)}"
    assert not [n for n in in_wheel if n.endswith(".pyc") or "__pycache__" in n]


def test_the_wheel_names_the_repository_and_the_commands(built_dist):
    wheel, _ = built_dist
    meta = metadata(wheel)
    assert f"Project-URL: Repository, {PYPROJECT['project']['urls']['Repository']}" in meta
    with zipfile.ZipFile(wheel) as z:
        scripts = z.read(next(n for n in z.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "waveunet = waveunet_lit.cli:main" in scripts and "lightning = waveunet_lit.cli:main" in scripts


def test_no_dependency_forces_a_torch_build(built_dist):
    """Colab ships torch and torchaudio: the wheel asks only for a minimum, never a pin or a cap."""
    reqs = [line.split(":", 1)[1].strip() for line in metadata(built_dist[0]).splitlines() if line.startswith("Requires-Dist:")]
    torch_reqs = [r for r in reqs if re.match(r"torch(audio)?\b", r)]
    assert sorted(torch_reqs) == ["torch>=2.4", "torchaudio>=2.4"], torch_reqs


def test_twine_accepts_both(built_dist):
    run = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, built_dist)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("PASSED") == 2
