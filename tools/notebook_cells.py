"""The notebooks' shared Colab pieces, written in one place: the install cell and the badge.

    python tools/notebook_cells.py           # rewrite them in every notebooks/*.ipynb (and the
                                             # book's repository URL in book/_config.yml)
    python tools/notebook_cells.py --check   # exit 1 and name every file that differs

Both pieces come from ``pyproject.toml``: the badge from ``[project.urls] Repository`` (a fork
changes that one line, then runs this script), the package the install cell installs from
``[tool.waveunet-lit] colab-source`` (on the day, ``WAVEUNET_LIT_SOURCE`` overrides it: see
notebooks/COLAB.md). ``tests/test_notebook_cells.py`` fails when a notebook's cells differ.

The install cell is the first code cell; a notebook's first markdown cell holds the badge.
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

# What runs first in every notebook. On Colab: pip installs the package (no --upgrade, and the
# torch and torchaudio that Colab ships are named at their installed versions, so pip keeps
# them or stops with an error instead of swapping in another build), pip's output is printed,
# and the import is checked. Anywhere else it only sets SMALL.
INSTALL_CELL = '''\
# Setup (the same in every notebook; written by tools/notebook_cells.py)
import os, sys

SMALL = os.environ.get("CI") == "true"  # small-data mode for CI

if "google.colab" in sys.modules:  # install only on Colab; torch is already there and stays
    import importlib.metadata, importlib.util, subprocess
    source = os.environ.get("WAVEUNET_LIT_SOURCE", "{source}")  # name, wheel, or git+URL
    keep = [f"{{name}}=={{importlib.metadata.version(name)}}" for name in ("torch", "torchaudio")
            if importlib.util.find_spec(name)]
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", source, *keep],
                         capture_output=True, text=True)
    print(pip.stdout + pip.stderr, end="")
    importlib.invalidate_caches()
    try:
        import waveunet_lit
        problem = f"pip exited with status {{pip.returncode}}" if pip.returncode else ""
    except ImportError as err:
        problem = str(err)
    if problem:
        raise RuntimeError(
            f"waveunet-lit did not install from {{source!r}} ({{problem}}); pip's messages are above. "
            "Fix or unset WAVEUNET_LIT_SOURCE (a package name, a .whl path or URL, or "
            "git+https://github.com/OWNER/REPO), then Runtime > Restart session and run this cell again."
        ) from None
    print("waveunet-lit", waveunet_lit.__version__, "installed from", source)'''

BADGE = ('<a href="https://colab.research.google.com/github/{repo}/blob/main/notebooks/{notebook}">'
         '<img src="https://colab.research.google.com/assets/colab-badge.svg" alt="Open In Colab"/></a>')
BADGE_PATTERN = re.compile(r'<a href="https://colab\.research\.google\.com/[^"]*">\s*<img src="https://colab\.research\.google\.com/assets/colab-badge\.svg"[^>]*/?>\s*</a>')
BOOK_URL_PATTERN = re.compile(r"(?m)^(repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*)(\S+)")


def settings(pyproject: Path = ROOT / "pyproject.toml") -> tuple[str, str]:
    """``(repository URL, install source)`` from pyproject.toml.

    Raises:
        ValueError: a setting is missing, or the URL is not ``https://github.com/OWNER/REPO``
            (Colab opens notebooks from GitHub only).

    Example:
        >>> url, source = settings()
        >>> url.startswith("https://github.com/"), source != ""
        (True, True)
    """
    data = tomllib.loads(pyproject.read_text())
    url = data.get("project", {}).get("urls", {}).get("Repository", "")
    source = data.get("tool", {}).get("waveunet-lit", {}).get("colab-source", "")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"{pyproject}: [project.urls] Repository must be https://github.com/OWNER/REPO, got {url!r}")
    if not source:
        raise ValueError(f"{pyproject}: [tool.waveunet-lit] colab-source is missing (e.g. \"waveunet-lit\")")
    return url, source


def install_cell(source: str) -> str:
    """The install cell's text for a package source.

    Example:
        >>> cell = install_cell("waveunet-lit")
        >>> 'os.environ.get("WAVEUNET_LIT_SOURCE", "waveunet-lit")' in cell, "--upgrade" in cell
        (True, False)
    """
    return INSTALL_CELL.format(source=source)


def badge(url: str, notebook: str) -> str:
    """The Colab badge of one notebook of the repository at ``url``.

    Example:
        >>> badge("https://github.com/me/fork", "01_x.ipynb")[:80]
        '<a href="https://colab.research.google.com/github/me/fork/blob/main/notebooks/01'
    """
    return BADGE.format(repo=url.removeprefix("https://github.com/"), notebook=notebook)


def rewrite_notebook(nb: nbformat.NotebookNode, name: str, url: str, source: str) -> list[str]:
    """Put the canonical install cell and badge into ``nb`` (in place).

    Returns:
        What was changed, one phrase each (empty: already canonical).

    Raises:
        ValueError: the notebook has no code cell, or no markdown cell before it for the badge.
    """
    changes = []
    code = next((c for c in nb.cells if c.cell_type == "code"), None)
    if code is None:
        raise ValueError(f"{name}: no code cell, expected the install cell first")
    if code.source != install_cell(source):
        if "pip" in code.source or "google.colab" in code.source or "SMALL" in code.source:
            code.source = install_cell(source)  # an older install cell: replace it
            code.outputs = []
        else:  # the first code cell is the notebook's own: put the install cell before it
            nb.cells.insert(nb.cells.index(code), nbformat.v4.new_code_cell(install_cell(source)))
        changes.append("install cell")
    first = nb.cells[0]
    if first.cell_type != "markdown":
        raise ValueError(f"{name}: the first cell must be markdown with the title and the Colab badge")
    want = badge(url, name)
    if BADGE_PATTERN.search(first.source):
        new = BADGE_PATTERN.sub(want, first.source, count=1)
    else:  # no badge yet: below the title line
        title, _, rest = first.source.partition("\n")
        new = f"{title}\n\n{want}\n{rest}".rstrip("\n") if rest.strip() else f"{title}\n\n{want}"
    if new != first.source:
        first.source = new
        changes.append("badge")
    return changes


def rewrite_book_config(text: str, url: str) -> str:
    """``book/_config.yml`` with ``repository: url:`` set to ``url`` (the launch buttons use it).

    Example:
        >>> rewrite_book_config("title: x\\nrepository:\\n  url: https://github.com/a/b\\n", "https://github.com/me/fork")
        'title: x\\nrepository:\\n  url: https://github.com/me/fork\\n'
    """
    if not BOOK_URL_PATTERN.search(text):
        raise ValueError("book/_config.yml has no 'repository:' block with a 'url:' line")
    return BOOK_URL_PATTERN.sub(lambda m: m.group(1) + url, text, count=1)


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file differs")
    args = p.parse_args(argv)
    url, source = settings(root / "pyproject.toml")
    differ = []
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        changes = rewrite_notebook(nb, path.name, url, source)
        if changes:
            differ.append(f"{path.relative_to(root)}: {', '.join(changes)}")
            if not args.check:
                nbformat.write(nb, path)
    book = root / "book" / "_config.yml"
    if book.is_file():
        text = book.read_text()
        if rewrite_book_config(text, url) != text:
            differ.append(f"{book.relative_to(root)}: repository url")
            if not args.check:
                book.write_text(rewrite_book_config(text, url))
    for line in differ:
        print(("differs: " if args.check else "rewrote: ") + line)
    if args.check and differ:
        print("run: python tools/notebook_cells.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
