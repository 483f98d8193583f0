"""The one atomic writer: the target appears whole or not at all, nothing temporary stays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trtgui.core.files import write_atomic, write_together


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_write_atomic_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    write_atomic(target, b"one")
    assert target.read_bytes() == b"one"
    write_atomic(target, memoryview(b"two, longer"))
    assert target.read_bytes() == b"two, longer"
    assert names(tmp_path) == ["a.json"]  # no temporary file left


def test_new_files_get_the_users_umask_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", b"x")
    finally:
        os.umask(old)
    # 0o666 less the umask 0o022, as `open(..., "w")` would make it.
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "a.json"
    with pytest.raises(OSError):
        write_atomic(target, b"x")
    assert names(tmp_path) == []


def test_write_together_is_all_or_nothing(tmp_path: Path) -> None:
    source = tmp_path / "src.onnx"
    source.write_bytes(b"model")
    out = tmp_path / "out"
    out.mkdir()
    write_together(
        [(out / "e.engine.json", b"{}"), (out / "e.engine", b"plan")],
        [(source, out / "e.fp16.onnx")],
    )
    assert names(out) == ["e.engine", "e.engine.json", "e.fp16.onnx"]
    assert (out / "e.fp16.onnx").read_bytes() == b"model"

    # The copy's source is gone: nothing of this second write lands, the first stays.
    again = tmp_path / "again"
    again.mkdir()
    with pytest.raises(OSError):
        write_together(
            [(again / "e.engine.json", b"{}"), (again / "e.engine", b"plan")],
            [(tmp_path / "gone.onnx", again / "e.fp16.onnx")],
        )
    assert names(again) == []
    assert names(out) == ["e.engine", "e.engine.json", "e.fp16.onnx"]
