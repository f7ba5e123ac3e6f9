"""Write-then-rename: files appear complete under their name, or not at all; and one writer
at a time for folders that several processes may fill at once."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one process at a time is then the user's job
    fcntl = None

__all__ = ["atomic_path", "exclusive"]


@contextmanager
def atomic_path(path: str | Path) -> Iterator[str]:
    """Give a temporary file name beside ``path`` to write to; when the block ends without an
    error it is renamed over ``path`` (with the usual permissions), otherwise removed, so an
    interrupted write never leaves a half-written file under ``path``.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "scores.json"
        >>> with atomic_path(target) as tmp:
        ...     _ = Path(tmp).write_text("{}")
        >>> target.read_text()
        '{}'
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, dir=path.parent, prefix=f".{path.stem}.")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def exclusive(folder: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (made if missing; the lock is its ``.lock`` file)
    for the block. Two processes filling the same folder (two trainings started at once, each
    decoding or rendering the same dataset) then take turns: the second waits here and, when
    it gets in, finds the first one's work in place instead of racing it.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp()) / "cache"
        >>> with exclusive(folder):
        ...     _ = (folder / "done").write_text("1")
        >>> sorted(p.name for p in folder.iterdir())
        ['.lock', 'done']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _umask() -> int:
    """The process umask (read from /proc on Linux: setting it to query it is not thread-safe)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
