"""The one atomic writer, and the one check of where it may write.

A file is written to a temporary name in its target folder (same file system, so the rename
is atomic), synced to disk, then renamed over the target. A reader never sees half a file,
and a failure (a full disk included) leaves the target as it was and no temporary file behind.

Before any work, `check_output_path` / `check_outputs` say whether a file can go where asked:
never onto a file the job reads (same resolved path or same inode: `sub/../m.onnx`, a hard
link), only over a regular file or nothing (a folder, a FIFO, a device is refused: "writing"
`-o /dev/null` as root would replace the device), into an existing folder that takes new
files, with a name the file system takes. A symbolic link is followed: the file it points to
is checked and replaced atomically, and the link stays (as `cp` writes through a link).

Temporary files are named `.NAME.trtgui-<host>-<pid>-<random>.tmp`. A writer killed mid-write
(SIGKILL, power loss) leaves one behind; the next write to that folder removes those of a
process that is gone, and any nobody touched for an hour (`remove_stale_temps`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import stat
import tempfile
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from trtgui.core.errors import OutputPathError

# What `write_together` writes: bytes, or a buffer such as TensorRT's IHostMemory seen through
# a memoryview (written without a copy).
Data = bytes | memoryview

# The longest file name (one path component) Linux and macOS file systems take: NAME_MAX.
NAME_MAX_BYTES = 255
# A temporary file nobody touched for this long is stale even when a process of its number
# runs (process numbers are reused).
STALE_SECONDS = 3600.0

_HOST = f"{zlib.crc32(socket.gethostname().encode()):08x}"
_TEMP_NAME = re.compile(r"\..*\.trtgui-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}\.tmp", re.S)
# trtgui before issue #12 named them `.NAME.<random>.tmp`, with no owner: removed by age only.
_OLD_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{8}\.tmp", re.S)


class WriteCancelled(Exception):
    """The caller's cancel was set before anything landed: nothing was written."""


# -- where a file may go --------------------------------------------------------------------------

# A file the job reads: its path, or (path, what to call it in a refusal: "the ONNX model").
InputFile = str | Path | tuple[str | Path, str]


@dataclass(frozen=True)
class Output:
    """One file a job will write: where, what to call it ("engine file"), and what the user
    should do when it cannot go there (a build record is named after its engine, so the fix
    is another engine name)."""

    path: str | Path  # as given: "out/" (a folder meant) would lose its slash in a Path
    kind: str
    fix: str = "choose another file name"


def check_output_path(
    path: str | Path,
    *,
    inputs: Iterable[InputFile] = (),
    kind: str = "output file",
    fix: str = "choose another file name",
) -> Path:
    """Check, before any work, that a `kind` file can be written at `path`; the path the
    writer will replace (a symbolic link followed). Raises OutputPathError saying why not and
    what to do (`fix`)."""
    text = os.fspath(path)
    if not text.strip():
        raise OutputPathError(f"No name is given for the {kind}: choose a file name.")
    if "\x00" in text:
        raise OutputPathError(
            f"The {kind} name holds a NUL character, which no file name can: {fix}."
        )
    target = Path(text)
    for part in target.parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX_BYTES:
            raise OutputPathError(
                f"The {kind} name {part[:40]}… is {size} bytes long; a file name may have at "
                f"most {NAME_MAX_BYTES}: {fix}."
            )
    if text.endswith(("/", os.sep)) or target.name in ("", ".", ".."):
        raise OutputPathError(f"The {kind} {text} names a folder, not a file: choose a file name.")
    real = target
    try:
        real = _follow(target)
        info: os.stat_result | None = os.stat(real)
    except (FileNotFoundError, NotADirectoryError):
        info = None  # nothing there yet; the folder check says if it cannot be made
    except OSError as exc:  # a link loop, a folder we may not enter, a 5,000-byte path
        raise OutputPathError(
            f"The {kind} {text} cannot be reached ({os_reason(exc)}): {fix}.", details=repr(exc)
        ) from exc
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise OutputPathError(
            f"The {kind} {text} is {_what_it_is(info.st_mode)}, not a file: {fix}."
        )
    _check_not_read(text, real, info, inputs, kind, fix)
    _check_folder(real, kind)
    return real


def check_outputs(outputs: Sequence[Output], *, inputs: Iterable[InputFile] = ()) -> None:
    """Check a job's output files as one unit (an engine and its build record): each as
    `check_output_path` does, and no two the same file."""
    inputs = tuple(inputs)
    seen: dict[str, Output] = {}
    for out in outputs:
        real = os.path.realpath(
            check_output_path(out.path, inputs=inputs, kind=out.kind, fix=out.fix)
        )
        first = seen.setdefault(real, out)
        if first is not out:
            raise OutputPathError(
                f"The {first.kind} and the {out.kind} would both be {out.path}: {out.fix}."
            )


def _follow(path: Path) -> Path:
    """The file a write to `path` replaces: the target of a symbolic link (the link stays)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _what_it_is(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _check_not_read(
    text: str,
    real: Path,
    info: os.stat_result | None,
    inputs: Iterable[InputFile],
    kind: str,
    fix: str,
) -> None:
    """Refuse a target that is one of `inputs`, by resolved path or by inode (a hard link,
    another spelling on a case-insensitive disk)."""
    where = os.path.realpath(real)
    for item in inputs:
        source, words = item if isinstance(item, tuple) else (item, "")
        same = os.path.realpath(source) == where
        if not same and info is not None:
            with contextlib.suppress(OSError):  # an input that is not there is not overwritten
                other = os.stat(source)
                same = (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino)
        if same:
            named = os.fspath(source)
            what = words or (
                "a file this job reads" if named == text else f"{named}, which this job reads"
            )
            raise OutputPathError(f"The {kind} {text} is {what}: {fix}.")


def _check_folder(target: Path, kind: str) -> None:
    """The folder exists and takes a new file: tried by creating (and removing) one of the
    writer's temporary files, which says the truth where permission bits do not (root, a
    read-only mount, ACLs)."""
    folder = target.parent
    try:
        info = os.stat(folder)
    except (FileNotFoundError, NotADirectoryError):
        info = None
    except OSError as exc:
        raise OutputPathError(
            f"The folder {folder} for the {kind} cannot be reached ({os_reason(exc)}): choose "
            "another folder.",
            details=repr(exc),
        ) from exc
    if info is None or not stat.S_ISDIR(info.st_mode):
        raise OutputPathError(
            f"The output folder {folder} does not exist: create it or choose another."
            if info is None
            else f"The output folder {folder} is not a folder: choose another."
        )
    try:
        with temp_beside(target):
            pass
    except OSError as exc:
        raise OutputPathError(
            f"The {kind} cannot be written in {folder} ({os_reason(exc)}): choose another folder.",
            details=repr(exc),
        ) from exc


_REASONS = {
    errno.ENOSPC: "the disk is full",
    getattr(errno, "EDQUOT", errno.ENOSPC): "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENAMETOOLONG: "the path is too long",
    errno.ELOOP: "a loop of symbolic links",
}


def os_reason(exc: OSError) -> str:
    """Why a file operation failed, in words (not "[Errno 28] ...")."""
    return _REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__


def write_failure(exc: OSError, path: str | Path, kind: str) -> OutputPathError:
    """The one-line error for a write through this module that failed: the target is as it
    was and no temporary file is left, so it says nothing was changed."""
    return OutputPathError(
        f"Could not write the {kind} {os.fspath(path)}: {os_reason(exc)}; nothing was changed.",
        details=repr(exc),
    )


# -- stale temporary files ------------------------------------------------------------------------


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Remove trtgui's own temporary files in `folder` that no writer will rename any more
    (its process is gone, or nobody touched it for STALE_SECONDS); the paths removed. Only
    names of the writer's own pattern, only regular files, only this folder."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed  # a folder we cannot list: the write itself will say why
    now = time.time()
    for entry in entries:
        if entry.name.startswith(".") and entry.name.endswith(".tmp") and _is_stale(entry, now):
            with contextlib.suppress(OSError):  # gone already, or not ours to remove
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _is_stale(entry: os.DirEntry[str], now: float) -> bool:
    ours = _TEMP_NAME.fullmatch(entry.name)
    if ours is None and _OLD_TEMP_NAME.fullmatch(entry.name) is None:
        return False
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    if now - info.st_mtime > STALE_SECONDS:
        return True
    # Process numbers mean something only on the machine that wrote it (a shared folder).
    return ours is not None and ours["host"] == _HOST and not _process_alive(int(ours["pid"]))


def _process_alive(pid: int) -> bool:
    if os.name == "nt" or pid == os.getpid():
        return True  # on Windows os.kill(pid, 0) would end the process: age decides there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's process, running
        return True
    return True


# -- temporary files in flight --------------------------------------------------------------------
# A hard exit (the CLI's second Ctrl-C: os._exit, so TensorRT's threads never see a dying
# interpreter) skips every `finally`, so the temporary files being written now are listed here
# for it to remove first. One lock covers creating a temporary file (so none exists unlisted)
# and renaming a unit into place (so a hard exit or a cancel comes before all of its renames
# or after all of them, never between).
_IN_FLIGHT: set[Path] = set()
_LANDING = threading.RLock()
_ABANDONED = threading.Event()


def abandon_writes(timeout: float = 2.0) -> None:
    """Remove every temporary file and folder being written, and keep every writer from
    creating or renaming another: call it only right before `os._exit`."""
    _LANDING.acquire(timeout=timeout)  # never released: the process is about to end
    _ABANDONED.set()
    for path in list(_IN_FLIGHT):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()


@contextlib.contextmanager
def landing_paused(timeout: float = 2.0) -> Iterator[None]:
    """No write lands while the body runs: a cancel set inside it is seen by a write that has
    not begun renaming, and a write that has already renamed everything is done."""
    locked = _LANDING.acquire(timeout=timeout)
    try:
        yield
    finally:
        if locked:
            _LANDING.release()


@contextlib.contextmanager
def temp_folder(prefix: str) -> Iterator[Path]:
    """A new private folder in the system's temporary folder, removed at the end (and by
    `abandon_writes`)."""
    with _LANDING:
        folder = Path(tempfile.mkdtemp(prefix=prefix))
        _IN_FLIGHT.add(folder)
    try:
        yield folder
    finally:
        _IN_FLIGHT.discard(folder)
        shutil.rmtree(folder, ignore_errors=True)


class TempFile:
    """A temporary file's path and open descriptor (closed before any rename: Windows
    cannot rename an open file)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.identity: tuple[int, int] | None = None  # (st_dev, st_ino), once synced

    def write(self, data: Data) -> None:
        """Unbuffered: from the caller's buffer to the file with no copy (a buffered `write`
        of the 19 MB EfficientNet-Lite0 engine took ~6 ms longer here)."""
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            done += os.write(self.fd, view[done:])

    def sync(self) -> None:
        os.fsync(self.fd)
        info = os.fstat(self.fd)
        self.identity = (info.st_dev, info.st_ino)

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


def _temp_name(target: Path) -> Path:
    """`.NAME.trtgui-<host>-<pid>-<random>.tmp` beside `target`, its name cut so the whole
    stays within NAME_MAX_BYTES."""
    token = f"trtgui-{_HOST}-{os.getpid()}-{os.urandom(4).hex()}"
    room = NAME_MAX_BYTES - len(token) - len("...tmp")
    name = os.fsdecode(os.fsencode(target.name)[:room])
    return target.with_name(f".{name}.{token}.tmp")


@contextlib.contextmanager
def temp_beside(target: Path) -> Iterator[TempFile]:
    """A new empty file in `target`'s folder, open for writing; closed, and removed unless
    the caller renamed it. Created with 0o666 so the umask applies, as for any file the user
    writes (mkstemp would make it 0o600)."""
    for _ in range(100):
        tmp = _temp_name(target)
        try:
            with _LANDING:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                fd = os.open(tmp, flags, 0o666)
                _IN_FLIGHT.add(tmp)
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
        _IN_FLIGHT.discard(tmp)


def write_atomic(target: str | Path, data: Data) -> None:
    """Write `data` to `target` atomically. Raises OSError; `target` is then unchanged."""
    write_together([(Path(target), data)])


def write_together(
    writes: Sequence[tuple[Path, Data]],
    copies: Sequence[tuple[Path, Path]] = (),
    cancel: threading.Event | None = None,
) -> None:
    """Write each (target, data) and copy each (source, target): all land or none do.

    Every file is on disk (synced) before any is renamed into place; the copies land first,
    then the writes in their order, so the last write (an engine: what people look for)
    appears only once everything beside it is there. A target that is a symbolic link is
    followed (the file it points to is replaced; the link stays). Raises OSError with every
    target as it was (a replaced file is put back); WriteCancelled, having written nothing,
    when `cancel` is set before the renames begin (a cancel during the file writes still wins).
    """
    writes = [(_follow(Path(target)), data) for target, data in writes]
    copies = [(Path(source), _follow(Path(target))) for source, target in copies]
    for folder in dict.fromkeys(
        t.parent for t in (*(t for t, _ in writes), *(t for _, t in copies))
    ):
        remove_stale_temps(folder)
    with contextlib.ExitStack() as stack:
        staged: list[tuple[Path, TempFile]] = []
        for source, target in copies:
            copy = stack.enter_context(temp_beside(target))
            _copy_into(source, copy)
            staged.append((target, copy))
        temps = [(target, stack.enter_context(temp_beside(target))) for target, _ in writes]
        for (_, tmp), (_, data) in zip(temps, writes, strict=True):
            tmp.write(data)
        staged += temps
        # Written first, then synced: the later fsyncs find little left to do.
        for _, tmp in staged:
            tmp.sync()
            tmp.close()
        # Only renames under the lock: a hard exit waits for them (microseconds), never
        # for a copy or a write.
        with _LANDING:
            if (cancel is not None and cancel.is_set()) or _ABANDONED.is_set():
                raise WriteCancelled
            _land(staged)


def _copy_into(source: Path, tmp: TempFile) -> None:
    with open(source, "rb") as src:  # our own conversion, in our own temporary folder
        while chunk := src.read(8 << 20):
            tmp.write(chunk)


def _land(staged: Sequence[tuple[Path, TempFile]]) -> None:
    """Rename each temporary file over its target, in order. On a failure every target is
    put back as it was: a replaced file from a hard link made just before (none where the
    file system has no hard links: the new, whole file then stays), a new one removed, and
    only if it is still the file renamed there. Nothing else is ever touched."""
    landed: list[tuple[Path, TempFile, bool, Path | None]] = []
    backups: list[Path] = []
    try:
        for target, tmp in staged:
            existed, backup = _link_old(target)
            if backup is not None:
                backups.append(backup)
            os.replace(tmp.path, target)
            landed.append((target, tmp, existed, backup))
    except OSError:
        for target, tmp, existed, backup in reversed(landed):
            with contextlib.suppress(OSError):  # best effort; the error raised says what failed
                if backup is not None:
                    os.replace(backup, target)
                elif not existed and _identity(target) == tmp.identity:
                    target.unlink()
        raise
    finally:
        for backup in backups:
            with contextlib.suppress(OSError):  # a second name of a file that is in place
                backup.unlink(missing_ok=True)
            _IN_FLIGHT.discard(backup)


def _link_old(target: Path) -> tuple[bool, Path | None]:
    """(whether `target` exists, a hard link to it under a temporary name, or None)."""
    if _identity(target) is None:
        return False, None
    backup = _temp_name(target)
    try:
        os.link(target, backup)
    except OSError:
        return True, None
    _IN_FLIGHT.add(backup)
    return True, backup


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)
