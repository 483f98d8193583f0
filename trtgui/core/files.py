"""The one atomic writer: every file trtgui writes lands through it.

A file is written to a temporary name in its target folder (same file system, so the rename
is atomic), synced to disk, then renamed over the target. A reader never sees half a file,
and a failure leaves the target as it was and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

# What `write_together` writes: bytes, or a buffer such as TensorRT's IHostMemory seen through
# a memoryview (written without a copy).
Data = bytes | memoryview


class TempFile:
    """A temporary file's path and open descriptor (closed before any rename: Windows
    cannot rename an open file)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    def write(self, data: Data) -> None:
        """Unbuffered: from the caller's buffer to the file with no copy (a buffered `write`
        of the 19 MB EfficientNet-Lite0 engine took ~6 ms longer here)."""
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            done += os.write(self.fd, view[done:])

    def sync(self) -> None:
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


@contextlib.contextmanager
def temp_beside(target: Path) -> Iterator[TempFile]:
    """A new empty file in `target`'s folder, open for writing; closed, and removed unless
    the caller renamed it. Created with 0o666 so the umask applies, as for any file the user
    writes (mkstemp would make it 0o600)."""
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{os.urandom(4).hex()}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(f"no free temporary name beside {target}")
    handle = TempFile(tmp, fd)
    try:
        yield handle
    finally:
        handle.close()
        tmp.unlink(missing_ok=True)


def write_atomic(target: str | Path, data: Data) -> None:
    """Write `data` to `target` atomically. Raises OSError; `target` is then unchanged."""
    write_together([(Path(target), data)])


def write_together(
    writes: Sequence[tuple[Path, Data]], copies: Sequence[tuple[Path, Path]] = ()
) -> None:
    """Write each (target, data) and copy each (source, target): all land or none do.

    Every file is on disk (synced) before any is renamed into place; the copies land first,
    then the writes in their order, so the last write (an engine: what people look for)
    appears only once everything beside it is there. Raises OSError after removing whatever
    had landed.
    """
    placed: list[Path] = []
    try:
        with contextlib.ExitStack() as stack:
            temps = [(target, stack.enter_context(temp_beside(target))) for target, _ in writes]
            for (_, tmp), (_, data) in zip(temps, writes, strict=True):
                tmp.write(data)
            # Written first, then synced: the later fsyncs find little left to do.
            for _, tmp in temps:
                tmp.sync()
                tmp.close()
            for source, target in copies:
                with temp_beside(target) as copy:
                    copy.close()
                    shutil.copyfile(source, copy.path)
                    os.replace(copy.path, target)
                placed.append(target)
            for target, tmp in temps:
                os.replace(tmp.path, target)
                placed.append(target)
    except OSError:
        # The last write is the one renamed last: had it landed, nothing could fail after.
        for path in placed:
            path.unlink(missing_ok=True)
        raise
