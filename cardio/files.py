"""Small file helpers shared by every component that writes state."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see the old or the new file, never a torn one.

    The new file's mtime is at least one whole second past the old one's: validators built
    from mtime and size (nginx's ETag, Last-Modified) then tell every version apart, even two
    written within one second at the same length.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        _advance_mtime(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _advance_mtime(old: Path, new: str) -> None:
    try:
        old_second = int(os.stat(old).st_mtime)
    except FileNotFoundError:
        return
    st = os.stat(new)
    if int(st.st_mtime) <= old_second:
        os.utime(new, (st.st_atime, old_second + 1))
