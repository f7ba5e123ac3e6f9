"""Write-then-rename: files appear complete under their name, or not at all."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


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
