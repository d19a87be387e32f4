"""Files and directories that only the engine's own user may read (README "Data protection").

The data directory holds personal data (names and addresses in the journal and the outbox
copies, the committees' own documents), so every file the engine writes is 0600 and every
directory it creates 0700, whatever the caller's umask: the modes are set explicitly after
creation (``chmod``), not left to the umask, because a mode given to ``open``/``mkdir`` is
only ever narrowed by it. The service units also set ``UMask=0077`` for what a library
writes on its own (SQLite's -wal and -shm files are set by ``models.db`` as well).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``mkdir -p`` where every directory it creates is 0700 (existing ones are left)."""
    path = Path(path)
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process was first
            d.mkdir(mode=DIR_MODE)
            os.chmod(d, DIR_MODE)
    if not path.is_dir():
        raise NotADirectoryError(20, "not a directory", str(path))
    return path


def open_private(path: Path, flags: int) -> int:
    """``os.open(path, flags | O_CREAT, 0600)``, the file made 0600 whatever the umask."""
    fd = os.open(path, flags | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private(path: Path, data: bytes, *, sync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (a temporary file beside it, then a rename),
    0600, its directory made with :func:`private_dir`."""
    path = Path(path)
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = open_private(tmp, os.O_WRONLY | os.O_TRUNC)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def make_private(path: Path) -> None:
    """chmod 0600 a file that exists (missing: nothing to do)."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, FILE_MODE)
