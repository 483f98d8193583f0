"""Saving a picture trtgui drew (`predict --save`, the demo's annotated photo).

The file name's suffix picks the format from a short list, checked before any work; the
picture is encoded in memory and lands through the one atomic writer, so a full disk leaves
an existing file whole (Pillow writing straight to the path left 4,096 bytes of garbage).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from trtgui.core.errors import OutputPathError
from trtgui.core.files import InputFile, check_output_path, write_atomic, write_failure

# Suffix -> Pillow's format name: what people open pictures with.
PICTURE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
# Formats without an alpha channel: an RGBA picture is flattened for them.
_NO_ALPHA = ("JPEG", "BMP")


def picture_format(path: str | Path) -> str:
    """Pillow's format for `path`'s suffix. Raises OutputPathError for any other suffix."""
    fmt = PICTURE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise OutputPathError(
            f"Cannot save the picture as {Path(path).name}: use a .png or .jpg name "
            "(.bmp, .webp and .tif work too)."
        )
    return fmt


def check_picture_path(path: str | Path, *, inputs: Iterable[InputFile] = ()) -> Path:
    """Before any work: `path` names a picture format and can take a file (not one of
    `inputs`, such as the photo itself). Raises OutputPathError."""
    picture_format(path)
    return check_output_path(path, inputs=inputs, kind="picture")


def save_picture(image: Image.Image, path: str | Path) -> None:
    """Encode `image` in the format `path` names and write it atomically. Raises
    OutputPathError (an existing file is then as it was)."""
    fmt = picture_format(path)
    picture = image.convert("RGB") if fmt in _NO_ALPHA and image.mode not in ("RGB", "L") else image
    buffer = io.BytesIO()
    try:
        picture.save(buffer, format=fmt)
    except (OSError, ValueError) as exc:  # e.g. WebP's 16,383-pixel limit
        raise OutputPathError(
            f"The picture cannot be saved as {fmt} ({exc}): use a .png name.", details=repr(exc)
        ) from exc
    try:
        write_atomic(Path(path), buffer.getbuffer())
    except OSError as exc:
        raise write_failure(exc, path, "picture") from exc
