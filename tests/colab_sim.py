"""Build the package the way a release does, and run notebooks the way Colab runs them.

Used by tests/test_packaging.py and tests/test_colab.py (no tests in here).

* :func:`build_dist`: copy the working tree's files (tracked, and untracked ones git does not
  ignore) to a temporary folder and run ``python -m build`` there, offline (``--no-isolation``:
  the dev extra carries setuptools), so nothing is written into the repository.
* :func:`make_colab_env`: a fresh virtual environment holding only what Colab preinstalls that
  matters here (torch, torchaudio, numpy, matplotlib, ipywidgets, an IPython kernel, pip) and,
  standing in for what pip would download on Colab, the dependencies the wheel declares (with
  theirs). Installing torch afresh would take many minutes and gigabytes, so those packages are
  not copied: a folder of links to exactly these distributions in this interpreter's
  site-packages is put on the new environment's path. The folder's own ``.pth`` files are not
  run, so the editable install of the repository stays invisible; a stub ``google.colab``,
  imported at start-up like on Colab, makes the install cell take its Colab branch.
* :func:`run_like_colab`: run notebooks top to bottom in that environment with ``CI=true`` and
  ``WAVEUNET_LIT_SOURCE`` set to a wheel, from an empty working folder, then the console
  commands a student types; returns what went wrong.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from importlib.metadata import Distribution, distributions
from pathlib import Path
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]

#: What Colab ships that the notebooks rely on (pip included: the install cell runs it).
COLAB_PREINSTALLED = ("torch", "torchaudio", "numpy", "matplotlib", "ipywidgets", "ipykernel", "pip")

#: Commands a student runs on Colab once the package is installed (a shipped config by name).
COMMANDS = (
    ("waveunet", "--help"),
    ("waveunet", "info", "-c", "m4"),
    ("lightning", "fit", "-c", "demo", "--print_config"),
)


#: Seconds of one wait for a cell's reply (see :class:`PollingNotebookClient`).
POLL_SECONDS = 1.0


class PollingNotebookClient(NotebookClient):
    """nbclient's client, waiting for a cell's reply in polls of :data:`POLL_SECONDS` instead of
    one poll of the whole cell timeout.

    That one long poll sometimes does not wake although the reply has come: the kernel sits
    idle, the cell is done, and the client waits out its 600 s (jupyter/nbclient#312, on the
    widget cells; seen here on 2026-12-06). A fresh poll sees a message that is waiting, so a
    missed wake-up costs at most a second; the cell's timeout is kept (Empty at its deadline).
    """

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        get_msg = kc.shell_channel.get_msg

        async def polled(timeout: float | None = None):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = POLL_SECONDS if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    return await get_msg(timeout=min(POLL_SECONDS, left))
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        kc.shell_channel.get_msg = polled
        return kc


def source_files(root: Path = REPO) -> list[str]:
    """Paths (relative to ``root``) of the files a fresh clone plus the uncommitted work holds."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=root, capture_output=True, text=True, check=True).stdout
    return [p for p in out.split("\0") if p and (root / p).is_file()]


def build_dist(out: Path, root: Path = REPO) -> tuple[Path, Path]:
    """``(wheel, sdist)`` of the working tree, built in a copy below ``out``."""
    src = out / "src"
    for rel in source_files(root):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, src / rel)
    dist = out / "dist"
    run = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)],
                         capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"python -m build failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return next(dist.glob("*.whl")), next(dist.glob("*.tar.gz"))


def without(wheel: Path, out: Path, pattern: str) -> Path:
    """A copy of ``wheel`` in folder ``out`` lacking the files whose path matches ``pattern``
    (a broken build, as when package data or a subpackage is left out); RECORD is kept true."""
    out.mkdir(parents=True, exist_ok=True)
    broken = out / wheel.name
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as zout:
        names = [n for n in zin.namelist() if not re.search(pattern, n)]
        if len(names) == len(zin.namelist()):
            raise ValueError(f"{pattern!r} matches nothing in {wheel.name}")
        for name in names:
            data = zin.read(name)
            if name.endswith(".dist-info/RECORD"):
                lines = data.decode().splitlines()
                data = "".join(f"{line}\n" for line in lines if not re.search(pattern, line.split(",")[0])).encode()
            zout.writestr(name, data)
    return broken


def requires_closure(roots: list[str], site: Path) -> dict[str, Distribution]:
    """The distributions in ``site`` that ``roots`` (requirement strings) need, transitively.

    A requirement missing from ``site`` is left out: pip then fails on it, offline, by name.
    """
    found = {canonicalize_name(d.metadata["Name"]): d for d in distributions(path=[str(site)])}
    need, todo = {}, [Requirement(r) for r in roots]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        dist = found.get(name)
        if dist is None or (name in need and not req.extras):
            continue
        need[name] = dist
        for line in dist.requires or []:
            sub = Requirement(line)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in ("", *req.extras)):
                todo.append(sub)
    return need


def wheel_requirements(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel that apply without extras."""
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    reqs = [Requirement(line.split(":", 1)[1].strip()) for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    return [str(r) for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def make_colab_env(root: Path, wheel: Path) -> Path:
    """A virtual environment in ``root`` as described above; returns its python."""
    site = Path(sysconfig.get_paths()["purelib"])
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    venv_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                    capture_output=True, text=True, check=True).stdout.strip())
    links = root / "preinstalled"
    links.mkdir()
    for dist in requires_closure([*COLAB_PREINSTALLED, *wheel_requirements(wheel)], site).values():
        tops = {Path(f).parts[0] for f in dist.files or []}
        for top in tops - {"..", "__pycache__"}:
            if not top.endswith(".pth") and (site / top).exists() and not (links / top).exists():
                (links / top).symlink_to(site / top)
    stub = venv_site / "google" / "colab"  # no google/__init__.py: google stays a namespace (protobuf)
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab (tests only)."""\n')
    # A path line appends the folder to sys.path without running its .pth files; the import
    # line is what Colab's kernel does at start-up.
    (venv_site / "colab_sim.pth").write_text(f"{links}\nimport google.colab\n")
    return python


def colab_environ(python: Path, wheel: Path) -> dict[str, str]:
    """The environment the simulated kernel and commands run with (no PYTHONPATH, offline pip)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(CI="true", WAVEUNET_LIT_SOURCE=str(wheel), VIRTUAL_ENV=str(python.parents[1]),
               PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}", PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_ROOT_USER_ACTION="ignore", PIP_NO_CACHE_DIR="1",
               MPLBACKEND="agg", OMP_NUM_THREADS="1")
    return env


PROBE = "import waveunet_lit, sys\nprint(waveunet_lit.__file__)\nprint(sys.path)"


def run_like_colab(wheel: Path, notebooks: list[Path], root: Path, monkeypatch) -> list[str]:
    """Run ``notebooks`` and :data:`COMMANDS` in a fresh simulated Colab environment below
    ``root`` with ``wheel`` as the package source; returns one line per failure (none: all ran)."""
    python = make_colab_env(root, wheel)
    env = colab_environ(python, wheel)
    before = subprocess.run([str(python), "-c", "import waveunet_lit"], env=env, capture_output=True, text=True, cwd=root)
    if before.returncode == 0 or "No module named 'waveunet_lit'" not in before.stderr:
        raise AssertionError(f"waveunet_lit must not import before the install cell ran: {before.stderr[-500:]}")
    kernels = root / "jupyter" / "kernels" / "colab-sim"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "simulated Colab", "language": "python", "env": env}))
    monkeypatch.setenv("JUPYTER_PATH", str(root / "jupyter"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    work = root / "content"  # Colab's working folder: nothing of the repository in it
    work.mkdir()
    failures = []
    for path in notebooks:
        for _ in range(2):  # a second, fresh kernel only after a timeout
            nb = nbformat.read(path, as_version=4)
            nb.cells.append(nbformat.v4.new_code_cell(PROBE))
            client = PollingNotebookClient(nb, kernel_name="colab-sim", timeout=600, allow_errors=False,
                                           resources={"metadata": {"path": str(work)}})
            try:
                client.execute()
                error = None
                break
            except CellTimeoutError as err:  # 600 s in one cell (or a hang the polls missed): once more, fresh kernel
                error = f"timed out twice: {_last_lines(str(err))}"  # kept if the fresh kernel times out too
            except CellExecutionError as err:
                error = _last_lines(str(err))
                break
        if error:
            failures.append(f"{path.name}: {error}")
            continue
        where = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
        if str(python.parents[1]) not in where.splitlines()[0] or str(REPO) in where:
            failures.append(f"{path.name}: waveunet_lit came from outside the simulated Colab: {where[:500]}")
    for command in COMMANDS:
        if not (python.parent / command[0]).exists():
            failures.append(f"{' '.join(command)}: not installed (no notebook's install cell installed the wheel)")
            continue
        run = subprocess.run([str(python.parent / command[0]), *command[1:]], env=env, cwd=work,
                             capture_output=True, text=True)
        if run.returncode:
            failures.append(f"{' '.join(command)}: exit {run.returncode}: {_last_lines(run.stderr + run.stdout)}")
    return failures


def _last_lines(text: str, n: int = 12) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # IPython's colours
    return "\n".join(text.strip().splitlines()[-n:])
