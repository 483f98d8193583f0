"""Opening an ONNX file: the checks and plain-language errors every reader of one shares.

`inspect_onnx` (through the `onnx` package) and the graph pre-check (its own wire-format
reader) both start here, so a folder, a special file, an empty or oversized file, a picture
or a PyTorch checkpoint gets the same words whichever reads it first. No `onnx` import: the
pre-check must stay cheap.
"""

from __future__ import annotations

import stat
from pathlib import Path

from trtgui.core.errors import ModelLoadError
from trtgui.core.reading import special_kind

# Protobuf (and so ONNX) cannot parse a single message of 2 GiB or more.
PROTOBUF_LIMIT = 2**31 - 1
# Enough of the file's start to recognise the formats `foreign_format` knows.
HEAD_BYTES = 64


def checked_size(path: Path) -> int:
    """The size of `path`, a regular, non-empty file protobuf can parse; else ModelLoadError."""
    name = path.name or str(path)
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise ModelLoadError(
            f"Model file {path} does not exist: check the path.", details=repr(exc)
        ) from None
    except PermissionError as exc:
        raise ModelLoadError(
            f"Cannot open {path}: permission denied. Give your user access to its folder.",
            details=repr(exc),
        ) from None
    except OSError as exc:
        raise ModelLoadError(
            f"Cannot open {path}: {exc.strerror or exc}. Check the path.", details=repr(exc)
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelLoadError(
            f"{path} is a folder, not an ONNX file: choose the .onnx file inside it.",
            details=f"stat mode {st.st_mode:o}",
        )
    if not stat.S_ISREG(st.st_mode):
        raise ModelLoadError(
            f"{path} is {special_kind(st.st_mode) or 'a special file'}, not a regular file: "
            "choose an .onnx model file.",
            details=f"stat mode {st.st_mode:o}",
        )
    size = st.st_size
    if size == 0:
        raise ModelLoadError(
            f"{name} is empty (0 bytes): export or download the model again.",
            details=f"{path}: 0 bytes",
        )
    if size > PROTOBUF_LIMIT:
        raise ModelLoadError(
            f"{name} is larger than 2 GB, which ONNX cannot read as one file: save it with its "
            "weights as external data (onnx.save(..., save_as_external_data=True)).",
            details=f"{path}: {size} bytes; protobuf limit {PROTOBUF_LIMIT}",
        )
    return size


def read_error(path: Path, exc: OSError) -> ModelLoadError:
    """The error for a file that opened (or stat'ed) but could not be read."""
    name = path.name or str(path)
    if isinstance(exc, PermissionError):
        return ModelLoadError(
            f"Cannot read {name}: permission denied. Give your user read access to the file.",
            details=repr(exc),
        )
    return ModelLoadError(
        f"Cannot read {name}: {exc.strerror or exc}. Check the file and the disk.",
        details=repr(exc),
    )


def foreign_format(head: bytes) -> tuple[str, str] | None:
    """(what the file is, what to do) when its first bytes show it is not ONNX at all."""
    text = head.lstrip().lower()
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "a PNG image", "choose the .onnx model file"
    if head.startswith(b"\xff\xd8\xff"):
        return "a JPEG image", "choose the .onnx model file"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image", "choose the .onnx model file"
    if head.startswith(b"PK\x03\x04"):
        return (
            "a ZIP archive (a PyTorch checkpoint is one)",
            "export the model to ONNX first, or unzip it and choose the .onnx file",
        )
    if head.startswith(b"\x1f\x8b"):
        return "a gzip archive", "decompress it and choose the .onnx file"
    if head.startswith(b"\x93NUMPY"):
        return "a NumPy array file", "choose the .onnx model file"
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return (
            "a Python pickle (a PyTorch .pt/.pth file is one)",
            "export the model to ONNX first",
        )
    if text.startswith(b"version https://git-lfs"):
        return "a Git LFS pointer, not the model itself", "run `git lfs pull` to get the real file"
    if text.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML), probably a failed download", "download the model again"
    if head[4:8] == b"TFL3":
        return "a TensorFlow Lite model", "convert it to ONNX first (for example with tf2onnx)"
    return None


def check_not_foreign(path: Path, head: bytes) -> None:
    """ModelLoadError naming the format when the file's first bytes are another kind of file."""
    foreign = foreign_format(head[:HEAD_BYTES])
    if foreign is not None:
        what, todo = foreign
        raise ModelLoadError(
            f"{path.name or path} is {what}, not an ONNX model: {todo}.",
            details=f"{path}: first bytes {head[:16]!r}",
        )


def damaged(path: Path, details: str) -> ModelLoadError:
    """The error for bytes that do not parse as an ONNX model."""
    return ModelLoadError(
        f"{path.name or path} is not a valid ONNX model (damaged, truncated or another format): "
        "export or download it again.",
        details=f"{path}: {details}",
    )


def no_graph(path: Path, details: str) -> ModelLoadError:
    """The error for a well-formed protobuf message that holds no graph."""
    return ModelLoadError(
        f"{path.name or path} is not an ONNX model (it holds no graph): choose an exported "
        ".onnx model.",
        details=f"{path}: {details}",
    )
