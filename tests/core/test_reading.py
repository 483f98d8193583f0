"""trtgui.core.reading: only regular files are opened, each kind within its limit, and no read
ever blocks or runs past the limit (issue #12, "Hangs and a frozen window")."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from trtgui.core import reading
from trtgui.core.errors import (
    BuildRecordError,
    EngineLoadError,
    InferenceError,
    ModelLoadError,
    SettingsError,
    TrtGuiError,
)
from trtgui.core.reading import (
    LIMITS,
    check_regular_input,
    open_regular,
    read_regular,
    read_regular_text,
)

posix = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, /dev/zero and sockets")

# A read that blocked (a FIFO opened without O_NONBLOCK) would hang the test: fail it instead.
pytestmark = pytest.mark.timeout(30)


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "labels.txt"
    path.write_bytes(b"\xef\xbb\xbfcat\ndog\n")  # with a UTF-8 BOM, as Notepad writes
    assert read_regular(path, "labels") == b"\xef\xbb\xbfcat\ndog\n"
    assert read_regular_text(path, "labels") == "cat\ndog\n"
    with open_regular(path, "labels") as handle:
        assert handle.read(3) == b"\xef\xbb\xbf"


@posix
@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: os.mkfifo(p), "is a named pipe (FIFO), not a regular file"),
        (lambda p: p.symlink_to("/dev/zero"), "is a device (it links to /dev/zero)"),
        (lambda p: p.symlink_to("/dev/null"), "is a device (it links to /dev/null)"),
        (lambda p: p.mkdir(), "is a folder, not an image: choose a file"),
    ],
    ids=["fifo", "dev_zero", "dev_null", "folder"],
)
def test_special_files_are_refused_before_opening(tmp_path: Path, make, words: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "photo.png"
    make(path)
    for call in (check_regular_input, read_regular, open_regular):
        with pytest.raises(InferenceError) as info:
            call(path, "image")
        message = str(info.value)
        assert words in message and "\n" not in message, message
        assert str(path) in message


@posix
def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        with pytest.raises(SettingsError, match="is a socket, not a regular file"):
            read_regular(path, "settings")
    finally:
        server.close()


def test_each_kind_raises_the_error_its_readers_catch(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    expected = {
        "image": InferenceError,
        "labels": InferenceError,
        "engine": EngineLoadError,
        "onnx": ModelLoadError,
        "record": BuildRecordError,
        "settings": SettingsError,
        "calibration": SettingsError,
        "demo": InferenceError,
        "npy": InferenceError,
    }
    assert set(expected) <= set(LIMITS)
    for kind, error in expected.items():
        with pytest.raises(error, match="does not exist: check the path"):
            read_regular(missing, kind)


def test_a_file_over_its_limit_is_refused_by_its_size_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as handle:  # a sparse file: 200 MiB + 1 byte, no disk used
        handle.truncate(LIMITS["image"].max_bytes + 1)
    with pytest.raises(InferenceError) as info:
        read_regular(path, "image")
    # The size and the limit would both read "200.0 MiB": the size is given in bytes.
    assert "is 209,715,201 bytes, over the 200.0 MiB limit for an image" in str(info.value)
    small = tmp_path / "settings.json"
    small.write_bytes(b"x" * 2000)
    with pytest.raises(SettingsError, match=r"is 2\.0 KiB, over the 1000 B limit"):
        read_regular(small, "settings", max_bytes=1000)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_the_read_is_bounded_even_when_stat_reports_no_size() -> None:
    # /proc files are regular and report 0 bytes: the bounded read still finds the end...
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    assert b"Name:" in read_regular(status, "labels")
    # ... and stops at the limit rather than reading on.
    with pytest.raises(InferenceError, match="is over the 16 B limit for a labels file"):
        read_regular(status, "labels", max_bytes=16)


def test_not_utf8_text_is_named(tmp_path: Path) -> None:
    path = tmp_path / "labels.txt"
    path.write_bytes(b"cat\n\xff\xfedog\n")
    with pytest.raises(InferenceError, match=r"is not UTF-8 text \(byte 4 is 0xff\)"):
        read_regular_text(path, "labels")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_says_so(tmp_path: Path) -> None:
    path = tmp_path / "m.engine"
    path.write_bytes(b"ftrt")
    path.chmod(0)
    try:
        with pytest.raises(EngineLoadError, match="permission denied"):
            read_regular(path, "engine")
    finally:
        path.chmod(0o644)


def test_long_and_hostile_names_are_shown_escaped_and_cut(tmp_path: Path) -> None:
    name = "\x1b[2J" + "a" * 300 + ".png"
    with pytest.raises(TrtGuiError) as info:
        read_regular(tmp_path / name, "image")
    message = str(info.value)
    assert "\x1b" not in message and "\\x1b[2J" in message
    assert len(message) < 300 and "…" in message


@posix
def test_a_fifo_swapped_in_after_the_check_cannot_block_the_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stat says "regular file", then the file is replaced by a FIFO before the open: the
    O_NONBLOCK open returns at once and the descriptor's own check refuses it."""
    path = tmp_path / "race.engine"
    os.mkfifo(path)
    real = os.stat(tmp_path / ".")
    real_stat = os.stat

    def stat_says_regular(p: object, *args: object, **kwargs: object) -> os.stat_result:
        if Path(str(p)) == path:
            fields = list(os.stat_result(real))
            fields[0] = 0o100644  # S_IFREG
            fields[6] = 10  # st_size
            return os.stat_result(fields)
        return real_stat(p, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reading.os, "stat", stat_says_regular)
    with pytest.raises(EngineLoadError, match="is a named pipe"):
        read_regular(path, "engine")


def test_the_limits_table_says_what_each_is() -> None:
    for kind in LIMITS.values():
        assert kind.noun and kind.why and kind.max_bytes > 0
    # The JSON records stay small: they are parsed holding the GIL (see the table).
    for name in ("settings", "record", "demo", "preprocess"):
        assert LIMITS[name].max_bytes <= 1 << 20
