"""`trtgui-cli build`: real builds through the CLI, exit codes 0 / 1 / 2 / 130, JSON output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trtgui.cli.main import main
from trtgui.core import backends

pytestmark = pytest.mark.skipif(
    not backends.probe_backend("rtx").available, reason="TensorRT-RTX is not installed"
)
ROOT = Path(__file__).resolve().parents[2]


def test_build_json_and_default_output(made_models, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "m.onnx"
    model.write_bytes(made_models["dynamic_batch"].path.read_bytes())
    saved = tmp_path / "s.json"
    code = main(
        ["build", str(model), "--backend", "rtx", "--shapes", "input:1x3x16x16:2x3x16x16:4x3x16x16",
         "--opt-level", "1", "--workspace", "256M", "--json", "--save-settings", str(saved)]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    data = json.loads(out.out)
    assert data["engine_path"] == str(tmp_path / "m.engine")
    assert (tmp_path / "m.engine").is_file() and (tmp_path / "m.engine.json").is_file()
    assert data["settings"]["workspace_bytes"] == 256 * 1024**2
    assert data["settings"]["optimization_level"] == 1
    assert json.loads(saved.read_text())["profiles"][0]["inputs"][0]["opt"] == [2, 3, 16, 16]
    # The saved settings rebuild with --settings, here to another file, in text mode.
    other = tmp_path / "again.engine"
    assert main(["build", str(model), "--settings", str(saved), "-o", str(other)]) == 0
    text = capsys.readouterr().out
    assert f"engine: {other}" in text and "profile 1: input" in text


def test_exit_1_on_parse_failure(made_models, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["build", str(made_models["unknown_op"].path), "-o", str(tmp_path / "u.engine")])
    err = capsys.readouterr().err
    assert code == 1
    assert "error: TensorRT cannot read the model unknown_op.onnx at node 1 'fancy0'" in err
    assert list(tmp_path.iterdir()) == []


def test_exit_1_on_bad_profile(made_models, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(
        ["build", str(made_models["dynamic_batch"].path), "-o", str(tmp_path / "p.engine"),
         "--shapes", "input:1x3x16x16:1x3x16x16:4x3x16x8"]
    )  # fmt: skip
    assert code == 1
    assert "dimension 3" in capsys.readouterr().err


@pytest.mark.parametrize(
    "shapes",
    [
        "input:-1x3x16x16:1x3x16x16:2x3x16x16",
        "input:1x3x16x16:1x3x16x16:2x-3x16x16",
        "input:-2x3x16x16",
    ],
)
def test_negative_dims_are_profile_errors(made_models, tmp_path: Path, capsys, shapes: str) -> None:  # type: ignore[no-untyped-def]
    """A negative dimension is a profile error (exit 1, one line naming the input), not usage."""
    code = main(
        ["build", str(made_models["dynamic_batch"].path), "-o", str(tmp_path / "n.engine"),
         "--shapes", shapes]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1, err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert line.startswith("error: Input 'input' dimension"), err
    assert "usage" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "extra",
    [
        ["--shapes", "input:1x3:2xZ:3x3"],
        ["--workspace", "lots"],
        ["--opt-level", "9"],
        ["--precision", "fp8"],
    ],
)
def test_exit_2_on_usage_errors(made_models, extra: list[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as info:
        main(["build", str(made_models["static_conv"].path), *extra])
    assert info.value.code == 2


@pytest.mark.parametrize("extra", [[], ["--verbose"]])
def test_ctrl_c_cancels_cleanly(shared_models, tmp_path: Path, extra: list[str]) -> None:  # type: ignore[no-untyped-def]
    """SIGINT during a real build: exit 130 and no file left (a subprocess, as a user sees it);
    no error line (TensorRT's "Error Code 7: BuildCanceled" is the stop asked for), and
    "cancelled" said once. --verbose prints TensorRT's errors: that one must still not appear."""
    out = tmp_path / "det.engine"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trtgui.cli.main", "build",
         str(shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx"), "-o", str(out),
         "--shapes", "x:1x3x32x32:1x3x640x640:4x3x1024x1024", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:  # plain phase lines (not a terminal): wait for the engine build
        if "Building engine" in line:
            break
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "cancelled" in err
    assert list(tmp_path.iterdir()) == []
    assert err.lower().count("cancelled") == 1, err
    assert "error" not in err.lower(), err
    assert err.splitlines()[-1] == "The build was cancelled; nothing was written."


def test_default_names_carry_the_precision_and_replacing_says_so(  # type: ignore[no-untyped-def]
    made_models, tmp_path: Path, capsys
) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(made_models["dynamic_batch"].path.read_bytes())
    shapes = "input:1x3x16x16:2x3x16x16:4x3x16x16"
    base = ["build", str(model), "--backend", "rtx", "--shapes", shapes]
    assert main([*base, "--precision", "fp16"]) == 0
    assert main(base) == 0  # FP32 after FP16: a second engine, not a replaced one
    err = capsys.readouterr().err
    assert "replaced" not in err
    # #13: the FP16 model is kept beside its engine (m.fp16.onnx).
    files = [
        "m.engine",
        "m.engine.json",
        "m.fp16.engine",
        "m.fp16.engine.json",
        "m.fp16.onnx",
        "m.onnx",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == files
    # Building the same precision again replaces its engine like cp, and says so once.
    assert main([*base, "--precision", "fp16"]) == 0
    err = capsys.readouterr().err
    assert [ln for ln in err.splitlines() if "replaced" in ln] == [
        f"replaced existing {tmp_path / 'm.fp16.engine'}"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == files  # no temporary file left


def test_a_tensorrt_warning_after_int8_is_printed_once(shared_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """After INT8 calibration a TensorRT warning reached stderr twice: the CLI's own line and a
    root-logger handler that ONNX Runtime's quantizer had made `logging` install
    ("WARNING:trtgui.tensorrt:…"). Here a warning sent through the real TensorRT logger after
    an INT8 build (with no build listening) must print nothing at all."""
    pytest.importorskip("tensorrt_rtx")
    script = (
        "import sys\n"
        "import tensorrt_rtx as trt\n"
        "from trtgui.cli.main import main\n"
        "from trtgui.core.build import trt_log\n"
        "code = main(sys.argv[1:])\n"
        "logger, _ = trt_log.get_trt_logger('rtx', trt)\n"
        "logger.log(trt.ILogger.Severity.WARNING, 'probe warning')\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "build",
         str(shared_models / "onnx" / "mtcnn_pnet.onnx"), "-o", str(tmp_path / "p.engine"),
         "--backend", "rtx", "--precision", "int8", "--calib-dir", str(shared_models / "images"),
         "--calib-max", "2", "--shapes", "input:1x3x12x12:1x3x64x64:1x3x128x128"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "probe warning" not in proc.stderr
    assert "WARNING:" not in proc.stderr
