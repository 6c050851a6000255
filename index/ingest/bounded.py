"""Reading a source's bytes without hanging and without reading more than a limit: regular files only (a FIFO, a
device such as /dev/zero or a folder is refused by its stat before it is opened), opened non-blocking in case it
was swapped for one after the stat, and at most the limit read whatever the stat said."""

from __future__ import annotations

import os
import stat
from pathlib import Path

BLOCK = 1 << 20


class NotRegular(OSError):
    """A source that cannot be read as a file: why, as a phrase that follows its name ("is a FIFO, ...")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, as a phrase ("a FIFO", "a character device")."""
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def not_regular(mode: int) -> str:
    """The reason a file of this mode is not read."""
    return f"is {kind_of(mode)}, not a regular file"


def over_limit(size: int, max_bytes: int) -> str:
    """The reason a file of size bytes is not read (the build's words, so a check and a build say the same)."""
    return f"is {size:,} bytes, over the limit of {max_bytes:,} (raise [ingest] max_file_bytes to index it)"


def within_size(path: Path, max_bytes: int) -> bool:
    """True when the file at path is at most max_bytes long (False when it cannot be stat'ed)."""
    try:
        return os.stat(path).st_size <= max_bytes
    except OSError:
        return False


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file at path (symlinks followed), at most max_bytes of them.

    Raises NotRegular for a file that is not a regular file or is over max_bytes, OSError when it cannot be read.
    """
    before = os.stat(path)
    if not stat.S_ISREG(before.st_mode):
        raise NotRegular(not_regular(before.st_mode))
    if before.st_size > max_bytes:
        raise NotRegular(over_limit(before.st_size, max_bytes))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # swapped between the stat and the open
            raise NotRegular(not_regular(opened.st_mode))
        blocks: list[bytes] = []
        size = 0
        while size <= max_bytes and (block := os.read(fd, min(BLOCK, max_bytes + 1 - size))):
            blocks.append(block)
            size += len(block)
        if size > max_bytes:  # grew after the stat
            raise NotRegular(over_limit(max(size, os.fstat(fd).st_size), max_bytes))
        return b"".join(blocks)
    finally:
        os.close(fd)
