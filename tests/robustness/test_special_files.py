"""Every read site refuses FIFOs, devices, folders and oversized files at once, with one clear
line (issue #12, "Hangs and a frozen window"): the CLI commands that read each kind of file,
the core readers behind them, and `bench` durations that would never end.

The files come from `corpus.special_files` and friends; a read that blocked would hang, so
every test here has a timeout.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests import onnx_factory
from tests.robustness import corpus
from tests.robustness.test_bad_inputs import assert_clear, assert_cli_clear, run_cli, snapshot

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero are POSIX"),
    pytest.mark.timeout(60),
]

CASES = ("fifo", "dev_zero", "folder", "oversized")
# What the refusal says for each case (the oversized ONNX model is refused by the ONNX
# reader's own protobuf check, in its words).
WORDS = {
    "fifo": ("named pipe", "not a regular file"),
    "dev_zero": ("device", "not a regular file"),
    "folder": ("folder",),
    "oversized": ("limit", "2 GB"),
}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny model, a photo, a valid engine and every kind of special file."""
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings

    root = tmp_path_factory.mktemp("special")
    model = onnx_factory.static_conv(root).path
    engine = root / "good.engine"
    build_engine(BuildSettings(onnx_path=str(model), output_path=str(engine)))
    photo = root / "photo.png"
    photo.write_bytes(corpus._png_bytes(32, 32))
    files = {
        kind: {c.id: c for c in corpus.special_files(root / kind, kind)}
        for kind in corpus.READ_KINDS
    }
    return {
        "root": root,
        "model": model,
        "engine": engine,
        "photo": photo,
        "files": files,
        "records": corpus.special_record(root / "records", engine.read_bytes()),
        "demos": corpus.special_demo(root / "demos"),
        "calibration": corpus.calibration_with_fifo(root / "calibration"),
    }


def _commands(kind: str, path: str, made: dict[str, Any], out: Path) -> list[list[str]]:
    model, photo = str(made["model"]), str(made["photo"])
    return {
        "image": [["predict", model, path]],
        "engine": [["engine", path], ["run", path], ["bench", path], ["predict", path, photo]],
        "onnx": [
            ["inspect", path],
            ["build", path, "-o", str(out / "m.engine")],
            ["run", path],
            ["bench", path],
            ["predict", path, photo],
        ],
        "labels": [["predict", model, photo, "--labels", path]],
        "settings": [["build", model, "-o", str(out / "m.engine"), "--settings", path]],
        "npy": [["run", model, "--input", f"input={path}"]],
    }[kind]


@pytest.mark.parametrize("case_id", CASES)
@pytest.mark.parametrize("kind", list(corpus.READ_KINDS))
def test_cli_refuses_special_files_at_once(
    kind: str,
    case_id: str,
    made: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = made["files"][kind][case_id]
    out = tmp_path / "out"
    out.mkdir()
    for args in _commands(kind, str(case.path), made, out):
        before = snapshot(out, made["root"])
        t0 = time.monotonic()
        code, _, err = run_cli(capsys, args)
        seconds = time.monotonic() - t0
        assert_cli_clear(code, err, out, made["root"], before=before)
        line = next(x for x in err.splitlines() if x.startswith("error:"))
        assert any(w in line for w in WORDS[case_id]), f"{args}: {line}"
        assert case.path.name in line, f"{args}: the message names another file: {line}"
        assert seconds < 20, f"{args} took {seconds:.1f} s"


@pytest.mark.parametrize("case_id", CASES)
@pytest.mark.parametrize("kind", ["image", "engine", "labels", "settings"])
def test_core_readers_refuse_special_files(kind: str, case_id: str, made: dict[str, Any]) -> None:
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.engine.plan import check_engine, read_plan_header
    from trtgui.core.imaging import load_image
    from trtgui.core.predict.labels import load_labels

    case = made["files"][kind][case_id]
    readers = {
        "image": ([load_image], ("InferenceError",)),
        "engine": ([read_plan_header, check_engine], ("EngineLoadError",)),
        "labels": ([load_labels], ("InferenceError",)),
        "settings": ([BuildSettings.load], ("SettingsError",)),
    }
    calls, expected = readers[kind]
    for call in calls:
        with pytest.raises(Exception) as info:
            call(case.path)
        assert_clear(info.value, expected, case.path)


@pytest.mark.parametrize("index", range(3))
def test_a_special_build_record_is_named_and_the_engine_still_checks(
    index: int, made: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from trtgui.core.build.record import read_record
    from trtgui.core.engine.plan import check_engine
    from trtgui.core.errors import BuildRecordError

    case = made["records"][index]
    with pytest.raises(BuildRecordError) as info:
        read_record(case.path)
    assert_clear(info.value, ("BuildRecordError",), case.path)
    check = check_engine(case.path)  # the engine itself is fine: the record is a problem
    assert check.record is None and "build record" in check.record_problem.lower()
    code, out, err = run_cli(capsys, ["engine", str(case.path)])
    assert code == 0 and "Traceback" not in err
    assert f"{case.path.name}.json" in out + err


@pytest.mark.parametrize("index", range(3))
def test_a_special_demo_json_is_refused(index: int, made: dict[str, Any]) -> None:
    from trtgui.core.errors import InferenceError
    from trtgui.core.predict.demo import load_demo

    case = made["demos"][index]
    with pytest.raises(InferenceError) as info:
        load_demo(case.path.parent)
    assert_clear(info.value, ("InferenceError",), case.path)


def test_a_fifo_in_the_calibration_folder_is_refused_before_the_build(
    made: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = ["build", str(made["model"]), "-o", str(out / "m.engine"), "--precision", "int8"]
    code, _, err = run_cli(capsys, [*args, "--calib-dir", str(made["calibration"])])
    assert_cli_clear(code, err, out)
    assert "pipe.png is a named pipe" in err


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--duration", "nan"),
        ("--duration", "inf"),
        ("--duration", "1e300"),
        ("--duration", "-1"),
        ("--warmup", "nan"),
        ("--warmup", "1e300"),
        ("--iterations", "1" + "0" * 20),
    ],
)
def test_bench_refuses_runs_that_would_never_end(
    option: str, value: str, made: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, ["bench", str(made["model"]), option, value])
    assert code == 2 and not out
    assert f"argument {option}: must be" in err and "Traceback" not in err
