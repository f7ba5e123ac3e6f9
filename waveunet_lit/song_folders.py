"""Where ``separate`` puts each song's stems: one folder per song, named before any work
starts, replaced as a whole, with a manifest saying which model made the stems.

* :func:`plan_folders`: distinct folder names for the input files. A file gets its stem
  (``song.wav`` -> ``song``); when several files share a stem, each gets its stem and its
  extension (``song.wav`` -> ``song-wav``, ``song.mp3`` -> ``song-mp3``) and, when that still
  collides (``a/song.wav``, ``b/song.wav``), a counter in command-line order (``song-wav``,
  ``song-wav-2``). The same file given twice is separated once.
* :func:`replace_folder`: stems and manifest are written to a hidden sibling folder
  (``.song.partial-<pid>-<random>``), which is renamed over the song's folder when complete:
  a run killed midway leaves the old folder as it was (or nothing), never a mix of two models'
  stems.
* :func:`remove_stale_partials`: the hidden folders of runs that were killed (their process
  is gone) are removed by the next run.
* :func:`file_digest` / :func:`write_manifest`: ``manifest.json`` in each song folder.
"""

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .atomic import _umask

__all__ = ["plan_folders", "replace_folder", "remove_stale_partials", "pid_alive", "file_digest", "write_manifest", "MANIFEST"]

#: File name of the manifest in each song folder.
MANIFEST = "manifest.json"
_PARTIAL = ".partial-"  # marks the hidden folders being written: .<name>.partial-<pid>-<random>
_OLD = ".old-"  # marks a replaced folder between the two renames


def plan_folders(files: list[str | Path]) -> dict[Path, str]:
    """Distinct output folder names for ``files``, by the rule of the module docstring, in
    command-line order (a file listed twice appears once).

    Example:
        >>> plan_folders(["a/song.wav", "b/song.wav", "song.mp3", "other.flac", "a/song.wav"])
        {PosixPath('a/song.wav'): 'song-wav', PosixPath('b/song.wav'): 'song-wav-2', PosixPath('song.mp3'): 'song-mp3', PosixPath('other.flac'): 'other'}
    """
    unique: dict[str, Path] = {}
    for f in files:
        unique.setdefault(os.path.realpath(f), Path(f))
    paths = list(unique.values())
    stems = [p.stem for p in paths]
    taken: set[str] = set()
    plan: dict[Path, str] = {}
    for p in paths:
        if not p.stem or p.stem.startswith("."):
            raise ValueError(f"{p}: cannot name an output folder after this file (its name has no stem)")
        base = p.stem if stems.count(p.stem) == 1 else f"{p.stem}-{p.suffix.lstrip('.') or 'noext'}"
        name, k = base, 2
        while name in taken:
            name, k = f"{base}-{k}", k + 1
        taken.add(name)
        plan[p] = name
    return plan


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (a leftover of a dead one may be removed).

    Example:
        >>> pid_alive(os.getpid())
        True
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale_partials(out_dir: str | Path) -> list[Path]:
    """Remove the hidden partial/old folders that killed runs left in ``out_dir`` (those whose
    process is gone); returns what was removed.

    Example:
        >>> out = Path(tempfile.mkdtemp())
        >>> (out / ".song.partial-999999999-abc").mkdir()
        >>> [p.name for p in remove_stale_partials(out)]
        ['.song.partial-999999999-abc']
    """
    out_dir = Path(out_dir)
    removed = []
    if not out_dir.is_dir():
        return removed
    for p in out_dir.iterdir():
        for mark in (_PARTIAL, _OLD):
            if p.name.startswith(".") and mark in p.name and p.is_dir():
                pid = p.name.rsplit(mark, 1)[1].split("-", 1)[0]
                if pid.isdigit() and not pid_alive(int(pid)):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p)
    return removed


@contextmanager
def replace_folder(folder: str | Path) -> Iterator[Path]:
    """Give a hidden empty sibling folder of ``folder`` to write into; when the block ends
    without an error it replaces ``folder`` (renames only), otherwise it is removed.

    Example:
        >>> out = Path(tempfile.mkdtemp()) / "song"
        >>> out.mkdir(); _ = (out / "vocals.wav").write_text("old model")
        >>> with replace_folder(out) as tmp:
        ...     _ = (tmp / "drums.wav").write_text("new model")
        >>> sorted(p.name for p in out.iterdir()), len(list(out.parent.iterdir()))
        (['drums.wav'], 1)
    """
    folder = Path(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}{_PARTIAL}{os.getpid()}-"))
    except OSError as err:
        raise OSError(f"cannot create output folder {folder}: {err.strerror or err}") from err
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders; give the usual mode
        if folder.exists():
            if not folder.is_dir():
                raise NotADirectoryError(f"cannot write stems to {folder}: a file of that name is in the way")
            old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}{_OLD}{os.getpid()}-"))
            os.replace(folder, old / folder.name)  # the old folder leaves in one rename ...
            os.replace(tmp, folder)  # ... and the new one arrives in another
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def file_digest(path: str | Path) -> str:
    """The sha256 of a file's bytes, in hex.

    Example:
        >>> p = Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"abc")
        >>> file_digest(p)[:16]
        'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: str | Path, **fields) -> Path:
    """Write ``folder/manifest.json``: ``fields`` plus the time and the package version."""
    from . import __version__

    path = Path(folder) / MANIFEST
    data = {**fields, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "waveunet_lit": __version__}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path
