"""The one way trtgui reads a file the user named: regular files only, each kind with a limit.

A named pipe (FIFO) blocks its reader until someone writes to it, `/dev/zero` never ends and
a 6 GB "photo" fills memory; before this module every one of them could hang the CLI or
freeze the window. So a user file is read only through `read_regular` / `open_regular`
(or, where a library opens the path itself, after `check_regular_input`):

1. `os.stat` first, following symlinks: a folder, a FIFO, a device or a socket is refused
   with one line naming what it is and what to do, before anything is opened;
2. the size is checked against the limit for that kind of file (`LIMITS`, one table);
3. the file is opened with O_NONBLOCK (a FIFO swapped in after the stat still cannot block
   the open) and checked again on the open descriptor (`fstat`);
4. the read is bounded: it never reads past the limit, even when the size reported by stat
   was wrong (`/proc` files report 0 bytes; a file may grow while it is read).

Each kind raises the error its callers already catch (an image `InferenceError`, an engine
`EngineLoadError`, ...), so a refusal reaches the user through the same funnel as any other
unreadable file.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from trtgui.core.errors import (
    BuildRecordError,
    EngineLoadError,
    InferenceError,
    ModelLoadError,
    PreprocessError,
    SettingsError,
    TrtGuiError,
)
from trtgui.core.text import escape_control, format_bytes

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

# Reads past an unknown or wrong size go in steps of this much.
_CHUNK = 4 * MiB
# A path longer than this is shown cut in messages (a 4,096-byte path is legal on Linux).
_PATH_CHARS = 160


@dataclass(frozen=True)
class FileKind:
    """One kind of file trtgui reads: what people call it, how large it may be, why, and the
    error its readers raise."""

    noun: str  # "image", "labels file": how messages name it
    max_bytes: int
    why: str  # what the limit protects or where it comes from, said in the refusal
    error: type[TrtGuiError]


# The limits, one table. Each is far above any real file of its kind, and far below what
# would exhaust memory or hang the reader.
LIMITS: dict[str, FileKind] = {
    # 100 megapixels of RGB (the decode limit in imaging.images) is 300 MB raw, and PNG or
    # JPEG compress photos far below that; a larger file is no photo trtgui could decode.
    "image": FileKind(
        "image", 200 * MiB, "scale it down or convert it to PNG or JPEG", InferenceError
    ),
    # The same limit, for images found in a calibration folder: refused before the build.
    "calibration": FileKind(
        "calibration image",
        200 * MiB,
        "remove it from the calibration folder or scale it down",
        SettingsError,
    ),
    # ImageNet-21k's 21,841 names take 0.3 MB.
    "labels": FileKind(
        "labels file", 10 * MiB, "a labels file has one class name per line", InferenceError
    ),
    # JSON records are parsed and validated in C and Rust, holding Python's GIL throughout:
    # a 13 MB build record held it for 3 s, freezing the window while a worker read it. So
    # their limits stay near what they really hold, where parsing takes milliseconds.
    "settings": FileKind(
        "settings file", 1 * MiB, "a settings file is a few hundred bytes of JSON", SettingsError
    ),
    "preprocess": FileKind(
        "preprocessing file",
        1 * MiB,
        "a preprocessing file is a few hundred bytes of JSON",
        PreprocessError,
    ),
    # A record lists the engine's settings and I/O tensors: a few KB for real engines, and
    # 1 MiB holds 7,000 tensors.
    "record": FileKind(
        "build record",
        1 * MiB,
        "trtgui writes a few KB; remove or rename this file",
        BuildRecordError,
    ),
    "demo": FileKind(
        "demo description", 1 * MiB, "demo.json is a few hundred bytes", InferenceError
    ),
    # Engines are read whole into memory to be deserialized; LLM engines reach tens of GB.
    "engine": FileKind("engine file", 64 * GiB, "it is too large to load", EngineLoadError),
    # protobuf cannot parse a message over 2 GiB: larger models keep their weights in
    # external data files, which ONNX Runtime and TensorRT open themselves.
    "onnx": FileKind(
        "ONNX model",
        2 * GiB,
        "protobuf reads at most 2 GiB: save the weights as external data",
        ModelLoadError,
    ),
    # TensorRT's timing caches grow with each model built on them: tens of MB in practice.
    "timing_cache": FileKind(
        "timing cache", 1 * GiB, "choose another --timing-cache file", SettingsError
    ),
    "npy": FileKind(
        "input array file", 16 * GiB, "it is too large to load as an input", InferenceError
    ),
}


def shown_path(path: str | Path) -> str:
    """A path as messages show it: control characters escaped (a file name can hold them),
    very long ones cut in the middle so the start and the file name stay readable."""
    text = escape_control(str(path))
    if len(text) <= _PATH_CHARS:
        return text
    half = _PATH_CHARS // 2
    return f"{text[:half]}…{text[-half:]}"


def _kind(kind: str | FileKind) -> FileKind:
    return kind if isinstance(kind, FileKind) else LIMITS[kind]


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def special_kind(mode: int) -> str | None:
    """What a non-regular file is, in words ("a named pipe (FIFO)", "a device"), from its
    `st_mode`; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _refuse(path: Path, kind: FileKind, what: str) -> TrtGuiError:
    shown = shown_path(path)
    target = ""
    if path.is_symlink():
        try:
            target = f" (it links to {shown_path(os.path.realpath(path))})"
        except (OSError, ValueError):
            target = " (through a link)"
    if what == "a folder":
        return kind.error(f"{shown} is a folder, not {_a(kind.noun)}: choose a file.")
    return kind.error(
        f"The {kind.noun} {shown} is {what}{target}, not a regular file: trtgui reads only "
        "regular files; save the data to a file and choose that."
    )


def _too_large(path: Path, kind: FileKind, size: int | None, limit: int) -> TrtGuiError:
    if size is None:
        amount = "is over"
    elif format_bytes(size) == format_bytes(limit):  # "200.0 MiB, over the 200.0 MiB limit"
        amount = f"is {size:,} bytes, over"
    else:
        amount = f"is {format_bytes(size)}, over"
    return kind.error(
        f"The {kind.noun} {shown_path(path)} {amount} the {format_bytes(limit)} limit "
        f"for {_a(kind.noun)}: {kind.why}.",
        details=f"size {size} bytes > limit {limit} bytes",
    )


def _os_error(path: Path, kind: FileKind, exc: OSError) -> TrtGuiError:
    shown = shown_path(path)
    details = repr(exc)
    if isinstance(exc, FileNotFoundError):
        return kind.error(f"The {kind.noun} {shown} does not exist: check the path.", details)
    if isinstance(exc, IsADirectoryError):
        return kind.error(f"{shown} is a folder, not {_a(kind.noun)}: choose a file.", details)
    if isinstance(exc, PermissionError):
        return kind.error(
            f"Cannot read the {kind.noun} {shown}: permission denied; give your user read "
            "access to it.",
            details,
        )
    reason = exc.strerror or str(exc)
    return kind.error(f"Cannot read the {kind.noun} {shown}: {reason}.", details)


def check_regular_input(
    path: str | Path, kind: str | FileKind, max_bytes: int | None = None
) -> os.stat_result:
    """Stat `path` (following symlinks) and refuse anything but a regular file within the
    limit for `kind`; returns the stat result. For paths a library opens itself (ONNX
    Runtime, TensorRT's parser): call this first so it never opens a FIFO or a device."""
    p = Path(path)
    k = _kind(kind)
    limit = k.max_bytes if max_bytes is None else max_bytes
    try:
        st = os.stat(p)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        if isinstance(exc, ValueError):
            raise k.error(f"The {k.noun} path {shown_path(p)} is not a valid path.") from exc
        raise _os_error(p, k, exc) from exc
    what = special_kind(st.st_mode)
    if what is not None:
        raise _refuse(p, k, what)
    if st.st_size > limit:
        raise _too_large(p, k, st.st_size, limit)
    return st


def open_regular(path: str | Path, kind: str | FileKind, max_bytes: int | None = None) -> BinaryIO:
    """`path` opened for binary reading after `check_regular_input`; the caller closes it.

    The open itself cannot block (O_NONBLOCK) and the descriptor is checked again, so a file
    replaced by a FIFO or a device between the stat and the open is still refused. The limit
    is checked against the size at open time only: use `read_regular` for a bounded read.
    """
    p = Path(path)
    k = _kind(kind)
    check_regular_input(p, k, max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOCTTY", 0)
    nonblock = getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(p, flags | nonblock)
    except OSError as exc:
        raise _os_error(p, k, exc) from exc
    try:
        st = os.fstat(fd)
        what = special_kind(st.st_mode)
        if what is not None:
            raise _refuse(p, k, what)
        if nonblock:  # regular files ignore it; cleared so nothing downstream is surprised
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, kind: str | FileKind, max_bytes: int | None = None) -> bytes:
    """The whole of the regular file `path`, at most `max_bytes` (default: the limit for
    `kind`); raises the kind's error for anything else, before reading past the limit."""
    p = Path(path)
    k = _kind(kind)
    limit = k.max_bytes if max_bytes is None else max_bytes
    with open_regular(p, k, limit) as handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            # One read of the expected size (+1 to see whether there is more): a buffered
            # read of n bytes allocates n up front, so n is never the limit itself.
            parts = [handle.read(min(size, limit) + 1)]
            total = len(parts[0])
            while total <= limit and len(parts[-1]) > 0 and total > size:
                parts.append(handle.read(min(_CHUNK, limit + 1 - total)))
                total += len(parts[-1])
        except OSError as exc:
            raise _os_error(p, k, exc) from exc
    if total > limit:
        raise _too_large(p, k, None, limit)  # grew past what stat said: size unknown
    return parts[0] if len(parts) == 1 else b"".join(parts)


def read_regular_text(path: str | Path, kind: str | FileKind, max_bytes: int | None = None) -> str:
    """`read_regular` decoded as UTF-8 (a BOM is dropped); a file that is not UTF-8 raises
    the kind's error saying so."""
    p = Path(path)
    k = _kind(kind)
    data = read_regular(p, k, max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise k.error(
            f"The {k.noun} {shown_path(p)} is not UTF-8 text (byte {exc.start} is "
            f"0x{data[exc.start]:02x}): choose a text file.",
            details=str(exc),
        ) from exc
