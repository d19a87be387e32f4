"""Reading a file a person names on the command line: a regular file only, bounded, and
never blocking (README "Submissions and imports": odd file arguments).

A symlink is followed, and what it points at must be a regular file too: a symlink to
``/dev/zero`` would otherwise be read for ever, a FIFO would block the verb, and a directory
would fail half-way. The kind is checked with ``os.stat`` before anything is read, the file
is opened with ``O_NONBLOCK`` (so a FIFO swapped in after the check cannot block the open),
checked again on the open descriptor, and read to at most ``limit + 1`` bytes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

# the kinds of file that are refused, as the message names them
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device (such as /dev/zero)"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class FileRefused(ValueError):
    """The file is not read: ``reason`` says why (without the file's name)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FileTooLarge(FileRefused):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the file is {size:,} bytes, over the limit of {limit:,}")
        self.size = size
        self.limit = limit


def _regular(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    what = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise FileRefused(f"it is {what}, not a regular file")


def refuse_odd(path: Path) -> None:
    """:class:`FileRefused` if ``path`` exists but is not a regular file (symlinks followed);
    a missing or unreadable path is left to the reader, which says so in its own words."""
    try:
        info = os.stat(path)
    except OSError:
        return
    _regular(info.st_mode)


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed), at most ``limit``;
    :class:`FileRefused` (or :class:`FileTooLarge`) before reading anything else."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise FileRefused(f"cannot read it: {exc.strerror}") from None
    _regular(info.st_mode)
    if info.st_size > limit:
        raise FileTooLarge(info.st_size, limit)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise FileRefused(f"cannot read it: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        opened = os.fstat(f.fileno())
        _regular(opened.st_mode)  # changed between the check and the open
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(max(len(data), opened.st_size), limit)
    return data
