"""Small file helpers shared by every component that writes state."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from .errors import CitycardError


class FileWriteError(CitycardError, OSError):
    """A file that could not be written. It names the caller's path, never the temporary file
    the write went through, and says what to do. Still an OSError (errno and strerror kept) so
    that callers which catch OSError around a write keep working."""

    def __init__(self, path: Path, cause: OSError, advice: str | None = None) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))
        self.path = Path(path)
        self.advice = advice or _advice(cause.errno)

    def __str__(self) -> str:
        return f"Cannot write {self.path} ({self.strerror}); {self.advice}."


class FileReadError(CitycardError):
    """A file given to read that is not a regular file or is larger than it may be."""


def _advice(code: int | None) -> str:
    if code in (errno.EACCES, errno.EPERM):
        return "fix its permissions or choose a directory you can write to"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "free some space there or choose another directory"
    if code == errno.EISDIR:
        return "give a file name, not a directory"
    return "choose a directory you can write to"


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see the old or the new file, never a torn one.

    The new file's mtime is at least one whole second past the old one's: validators built
    from mtime and size (nginx's ETag, Last-Modified) then tell every version apart, even two
    written within one second at the same length.

    FileWriteError (naming `path`) when it cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise FileWriteError(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        _advance_mtime(path, tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FileWriteError(path, exc) from exc
        raise


def _advance_mtime(old: Path, new: str) -> None:
    try:
        old_second = int(os.stat(old).st_mtime)
    except FileNotFoundError:
        return
    st = os.stat(new)
    if int(st.st_mtime) <= old_second:
        os.utime(new, (st.st_atime, old_second + 1))


def read_limited(path: Path, limit: int, what: str, remedy: str) -> bytes:
    """The bytes of the regular file `path`, refusing one larger than `limit` bytes.

    Reads at most `limit + 1` bytes, so a device (/dev/urandom), a FIFO or a huge file cannot
    hang the caller or fill its memory: opened non-blocking (a FIFO without a writer would
    block the open itself), then refused unless fstat says regular file. FileReadError
    ("{what} {path} is ...; {remedy}.") for those; OSError (FileNotFoundError, ...) as raised.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileReadError(f"{what} {path} is not a regular file; {remedy}.")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise FileReadError(f"{what} {path} is larger than {_size(limit)}; {remedy}.")
    return data


def _size(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10} KiB"
    return f"{n} bytes"
