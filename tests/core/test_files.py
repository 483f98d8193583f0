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


# -- issue #12: the output check, the rollback, full disks, stale temporary files --------------


def test_check_output_path_refuses_what_it_must(tmp_path: Path) -> None:
    from trtgui.core.errors import OutputPathError
    from trtgui.core.files import check_output_path

    model = tmp_path / "m.onnx"
    model.write_bytes(b"model")
    (tmp_path / "sub").mkdir()
    os.link(model, tmp_path / "hard.engine")
    cases = {
        str(model): "a file this job reads",
        str(tmp_path / "sub" / ".." / "m.onnx"): "which this job reads",
        str(tmp_path / "hard.engine"): "which this job reads",  # the same inode
        str(tmp_path / "sub"): "is a folder, not a file",
        str(tmp_path / "new") + "/": "names a folder",
        "/dev/null": "is a device, not a file",  # refused by type; never written
        str(tmp_path / "missing" / "e.engine"): "does not exist",
        str(model / "e.engine"): "is not a folder",
        str(tmp_path / ("e" * 256)): "at most 255",
        str(tmp_path / "e\x00.engine"): "NUL character",
        str(tmp_path.joinpath(*["d" * 200] * 25, "e.engine")): "the path is too long",
        "": "No name is given",
    }
    for path, words in cases.items():
        with pytest.raises(OutputPathError) as info:
            check_output_path(path, inputs=[model], kind="engine file")
        assert words in info.value.message and "\n" not in info.value.message, path
    assert model.read_bytes() == b"model"
    assert names(tmp_path) == ["hard.engine", "m.onnx", "sub"]  # the probe left nothing
    # Named inputs are called by their name: "the ONNX model itself".
    with pytest.raises(OutputPathError, match="is the ONNX model itself: choose"):
        check_output_path(model, inputs=[(model, "the ONNX model itself")], kind="engine file")


def test_read_only_folder_is_refused_before_writing(tmp_path: Path) -> None:
    """Permission bits do not stop root, so the check tries a real file: a read-only mount."""
    import subprocess

    from trtgui.core.errors import OutputPathError
    from trtgui.core.files import check_output_path

    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        os.chmod(folder, 0o555)  # not root: the permission bits do stop us
        if os.access(folder, os.W_OK):
            pytest.skip("neither a read-only mount nor a read-only folder is possible here")
    try:
        with pytest.raises(OutputPathError, match=r"cannot be written in .*(read-only|permission)"):
            check_output_path(folder / "e.engine", kind="engine file")
    finally:
        if mounted.returncode == 0:
            subprocess.run(["umount", str(folder)], check=False)
        os.chmod(folder, 0o755)


def test_check_outputs_as_one_unit(tmp_path: Path) -> None:
    from trtgui.core.errors import OutputPathError
    from trtgui.core.files import Output, check_outputs

    engine = tmp_path / "e.engine"
    with pytest.raises(OutputPathError, match="The engine file and the settings file would both"):
        check_outputs([Output(engine, "engine file"), Output(engine, "settings file")])
    (tmp_path / "e.engine.json").mkdir()  # the record's name is a folder: refused up front
    with pytest.raises(OutputPathError, match=r"build record .* is a folder"):
        check_outputs(
            [Output(engine, "engine file"), Output(tmp_path / "e.engine.json", "build record")]
        )


def test_a_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    """Decision: a link is written through (its target replaced atomically), as `cp` does;
    the link stays a link. A link to a file the job reads is refused like the file."""
    from trtgui.core.errors import OutputPathError
    from trtgui.core.files import check_output_path

    real = tmp_path / "engines" / "real.engine"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "current.engine"
    link.symlink_to(real)
    assert check_output_path(link, kind="engine file") == real
    write_atomic(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new"
    assert names(real.parent) == ["real.engine"]  # the temporary file went beside the target
    with pytest.raises(OutputPathError, match=r"(a file|which) this job reads"):
        check_output_path(link, inputs=[real], kind="engine file")


def test_a_failed_rename_puts_back_every_old_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The record lands, then the engine's rename fails: the old record comes back (the
    rollback of issue #12 deleted it), a new file that was not there is removed, nothing else."""
    record, engine, other = tmp_path / "e.engine.json", tmp_path / "e.engine", tmp_path / "e.txt"
    record.write_bytes(b"old record")
    real_replace = os.replace
    calls: list[str] = []

    def flaky_replace(src, dst):  # type: ignore[no-untyped-def]
        calls.append(os.fspath(dst))
        if os.fspath(dst) == str(engine):
            raise IsADirectoryError(21, "Is a directory")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OSError):
        write_together([(other, b"new"), (record, b"new record"), (engine, b"plan")])
    monkeypatch.undo()
    assert record.read_bytes() == b"old record"
    assert names(tmp_path) == ["e.engine.json"]  # e.txt (new) removed, no temporary file
    assert calls[:3] == [str(other), str(record), str(engine)]


def test_full_disk_mid_write_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """ENOSPC after the first 4 KiB (a monkeypatched os.write: runs anywhere)."""
    import errno

    from trtgui.core.files import write_failure

    target = tmp_path / "s.json"
    target.write_bytes(b"old settings")
    real_write = os.write

    def full(fd: int, data) -> int:  # type: ignore[no-untyped-def]
        if os.fstat(fd).st_size >= 4096:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, bytes(data[:4096]))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError) as info:
        write_atomic(target, b"x" * 100_000)
    monkeypatch.undo()
    assert target.read_bytes() == b"old settings"
    assert names(tmp_path) == ["s.json"]
    message = write_failure(info.value, target, "settings file").message
    assert message.endswith(": the disk is full; nothing was changed.")
    assert "Errno" not in message and ".png" not in message


def test_real_full_disk(tmp_path: Path) -> None:
    from tests.robustness import corpus

    with corpus.full_disk(tmp_path / "full") as full:
        target = full / "e.engine"
        target.write_bytes(b"old engine")
        corpus.fill(full)
        with pytest.raises(OSError) as info:
            write_together([(full / "e.engine.json", b"{}" * 1000), (target, b"p" * 100_000)])
        assert info.value.errno == 28  # ENOSPC
        assert target.read_bytes() == b"old engine"
        assert names(full) == ["e.engine", "filler"]


def test_stale_temporary_files_are_removed_on_the_next_write(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from trtgui.core import files

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(gone.stdout)
    host = files._HOST
    hour_ago = time.time() - 2 * files.STALE_SECONDS
    made = {
        f".e.engine.trtgui-{host}-{dead_pid}-0123abcd.tmp": False,  # its process is gone
        f".e.engine.trtgui-{host}-{os.getpid()}-0123abcd.tmp": True,  # ours, in flight
        f".e.engine.trtgui-0000beef-{dead_pid}-0123abcd.tmp": True,  # another machine's
        ".e.engine.0123abcd.tmp": True,  # the old naming, fresh: maybe in flight
        ".old.engine.4567cdef.tmp": False,  # the old naming, untouched for hours
        ".notes.tmp": True,  # not our pattern
        "e.engine.0123abcd.tmp": True,  # no leading dot: not ours
    }
    for name in made:
        (tmp_path / name).write_bytes(b"half")
    os.utime(tmp_path / ".old.engine.4567cdef.tmp", (hour_ago, hour_ago))
    link = tmp_path / f".l.trtgui-{host}-{dead_pid}-0123abcd.tmp"
    link.symlink_to(tmp_path / "notes.txt")  # not a regular file: left alone
    write_atomic(tmp_path / "a.json", b"{}")
    left = set(names(tmp_path))
    for name, kept in made.items():
        assert (name in left) == kept, name
    assert link.name in left and "a.json" in left


def test_a_sigkilled_writer_leaves_a_temp_the_next_write_removes(tmp_path: Path) -> None:
    """SIGKILL in the middle of a write (the issue: `.m.engine.<hex>.tmp` stayed forever)."""
    import signal
    import subprocess
    import sys

    if not hasattr(signal, "SIGKILL"):
        pytest.skip("no SIGKILL here")
    target = tmp_path / "m.engine"
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from trtgui.core.files import temp_beside\n"
        "with temp_beside(Path(sys.argv[1])) as tmp:\n"
        "    tmp.write(b'x' * 2_000_000)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(target)], check=False)
    assert done.returncode == -signal.SIGKILL
    left = names(tmp_path)
    assert len(left) == 1 and left[0].startswith(".m.engine.trtgui-"), left
    write_atomic(tmp_path / "other.json", b"{}")  # any write to the folder
    assert names(tmp_path) == ["other.json"]


def test_a_255_byte_name_still_gets_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 250 + ".json")
    write_atomic(target, b"{}")
    assert names(tmp_path) == [target.name]
