"""The weights files an ONNX model stores outside itself: which it names, how many bytes it
expects in each, and whether each is a usable regular file inside the model's folder.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from onnx import TensorProto

from trtgui.core.model.onnx_proto import checked_name, proto_text, tensor_nbytes


@dataclass(frozen=True)
class ExternalDataFile:
    """A weights file the model refers to. `expected_bytes` is the sum of the lengths of the
    tensors stored in it; `actual_bytes` is its size on disk (None when missing). `problem`
    says why a name that is there cannot be used ("is a folder", "is outside the model's
    folder"); `exists` is true only for a usable regular file."""

    location: str
    path: Path
    exists: bool
    expected_bytes: int
    actual_bytes: int | None = None
    problem: str = ""

    @property
    def truncated(self) -> bool:
        """The file exists but is smaller than the data the model expects in it."""
        return self.actual_bytes is not None and self.actual_bytes < self.expected_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "path": str(self.path),
            "exists": self.exists,
            "expected_bytes": self.expected_bytes,
            "actual_bytes": self.actual_bytes,
            "problem": self.problem,
        }


def _external_location(tensor: TensorProto, model: Path) -> tuple[str, int] | None:
    """(location, length in bytes) of a tensor stored outside the model file."""
    if tensor.data_location != TensorProto.EXTERNAL:
        return None
    entries = {proto_text(e.key): e.value for e in tensor.external_data}
    where = f"initializer {proto_text(tensor.name)!r} external data location"
    location = checked_name(entries.get("location", ""), "a weights file name", model, where)
    try:
        length = int(entries["length"])
    except (KeyError, ValueError):
        length = tensor_nbytes(tensor)  # "length" is optional: the whole tensor follows offset
    return location, length


def external_files(model: Path, tensors: list[TensorProto]) -> tuple[ExternalDataFile, ...]:
    model_dir = model.parent
    expected: dict[str, int] = {}
    for tensor in tensors:
        loc = _external_location(tensor, model)
        if loc is not None:
            expected[loc[0]] = expected.get(loc[0], 0) + loc[1]
    files = []
    for location, nbytes in expected.items():
        path = model_dir / location
        try:
            st: os.stat_result | None = path.stat()
        except (OSError, ValueError):
            st = None
        problem = _weights_problem(location, path, model_dir, st)
        exists = st is not None and not problem
        actual = st.st_size if exists and st is not None else None
        files.append(ExternalDataFile(location, path, exists, nbytes, actual, problem))
    return tuple(files)


def _weights_problem(location: str, path: Path, model_dir: Path, st: os.stat_result | None) -> str:
    """Why the weights file a model names cannot be used, in words ("" when it can, or when
    it is simply not there). The model is someone else's file: its weights may only come
    from a regular file in its own folder, the rule ONNX Runtime applies too, so a model
    cannot make trtgui read /etc/passwd, /proc/self/environ or a device."""
    link = f" (it links to {os.path.realpath(path)})" if path.is_symlink() else ""
    if st is not None and stat.S_ISDIR(st.st_mode):
        return f"is a folder{link}, not a weights file"
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISFIFO(st.st_mode):
            what = "a named pipe (FIFO)"
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            what = "a device"
        else:
            what = "a special file"
        return f"is {what}{link}, not a weights file"
    if PurePath(location).is_absolute() or ".." in PurePath(location).parts:
        return "is outside the model's folder"
    if st is not None:
        try:
            inside = Path(os.path.realpath(path)).is_relative_to(os.path.realpath(model_dir))
        except (OSError, ValueError):
            inside = False
        if not inside:
            return f"is outside the model's folder{link}"
    return ""
