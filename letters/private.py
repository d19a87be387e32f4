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
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

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


@contextlib.contextmanager
def atomic_file(path: Path, *, private: bool = True, sync: bool = False) -> Iterator[BinaryIO]:
    """A file to write that becomes ``path`` only when the block ends without an exception:
    a temporary file beside it (``.NAME.XXXXXXXX.tmp``, created exclusively), then a rename,
    so a reader never sees half a file and a failure leaves the old one in place (and no
    temporary file). ``private``: 0600 whatever the umask (records); False: 0666 narrowed by
    the umask (outputs the user asked for). ``sync``: on disk before the rename. The
    directory must exist."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_EXCL
    if private:
        fd = open_private(tmp, flags)
    else:
        fd = os.open(tmp, flags | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_private(path: Path, data: bytes, *, sync: bool = False) -> Path:
    """Write ``data`` to ``path`` with :func:`atomic_file`, 0600, its directory made with
    :func:`private_dir`."""
    path = Path(path)
    private_dir(path.parent)
    with atomic_file(path, sync=sync) as f:
        f.write(data)
    return path


def make_private(path: Path) -> None:
    """chmod 0600 a file that exists (missing: nothing to do)."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, FILE_MODE)
