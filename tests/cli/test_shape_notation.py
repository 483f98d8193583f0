"""Issue #10: every CLI command writes shapes with the one `shapes.shape_text`, and the shapes
it prints paste back into `--shapes` / `--shape`.

`shape_text` is swapped for a sentinel that writes "<S:batch,3,224,224>": a command that
formats shapes on its own ("[batch, 3, 224, 224]", "?x3x224x224") shows no sentinel and fails.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.onnx_factory import MadeModel
from trtgui.cli.main import main
from trtgui.core import backends, shapes
from trtgui.core.predict.demo import load_demo

needs_rtx = pytest.mark.skipif(
    not backends.probe_backend("rtx").available, reason="TensorRT-RTX is not installed"
)


def _sentinel(shape: Sequence[shapes.Dim] | None, names: Sequence[shapes.Dim] | None = None) -> str:
    if shape is None:
        return "<S:unknown>"
    return "<S:" + ",".join(str(d) for d in shapes.named_shape(shape, names)) + ">"


@pytest.fixture
def sentinel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shapes, "shape_text", _sentinel)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_demo_and_run(sentinel, made_models, capsys) -> None:  # type: ignore[no-untyped-def]
    demo = load_demo()
    code, out, err = _run(capsys, "inspect", str(demo.model))
    assert code == 0, err
    # the demo model's declared I/O: input [batch,3,224,224] -> logits [batch,1000]
    assert "<S:batch,3,224,224>" in out and "<S:batch,1000>" in out
    code, out, err = _run(
        capsys, "run", str(made_models["dynamic_batch"].path), "--shape", "input:2x3x16x16"
    )
    assert code == 0, err
    assert (
        "<S:2,3,16,16>" in out and "<S:2,8>" in out
    )  # dynamic_batch: [batch,3,16,16] -> [batch,8]


def test_bench_predict_demo(sentinel, made_models, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _run(
        capsys, "bench", str(made_models["multi_io"].path), "--iterations", "2", "--warmup", "0"
    )
    assert code == 0, err
    assert "Inputs: a <S:2,4> float32, b <S:2,4> int64" in out  # multi_io: a f32 [2,4], b i64 [2,4]
    demo = load_demo()
    code, out, err = _run(capsys, "predict", str(demo.model), str(demo.images[0]), "--kind", "raw")
    assert code == 0, err
    assert "logits <S:1,1000> float32" in out and "input <S:1,3,224,224> float32" in out
    code, out, err = _run(capsys, "demo", "--no-build", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    assert "input float32 <S:batch,3,224,224> -> logits float32 <S:batch,1000>" in out


@needs_rtx
def test_build_and_engine(sentinel, made_models, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    engine = tmp_path / "m.engine"
    code, out, err = _run(
        capsys, "build", str(made_models["dynamic_batch"].path), "-o", str(engine),
        "--backend", "rtx", "--opt-level", "0",
    )  # fmt: skip
    assert code == 0, err
    # The engine knows the batch as -1; the result names it after the ONNX model's "batch".
    assert "in  input: float32 <S:batch,3,16,16>" in out
    assert "out output: float32 <S:batch,8>" in out
    # suggest_profiles gives batch dims 1 / 1 / 8 (its docstring)
    assert "min/opt/max <S:1,3,16,16> / <S:1,3,16,16> / <S:8,3,16,16>" in out
    # ...but the --shapes note is a command to type: the "x" form, not shape_text's.
    assert "--shapes input:1x3x16x16:1x3x16x16:8x3x16x16" in err
    code, out, err = _run(capsys, "engine", str(engine))
    assert code == 0, err
    assert re.search(r"input\s+input\s+float32\s+<S:-1,3,16,16>", out), out


@needs_rtx
def test_printed_shapes_paste_back(
    made_models: dict[str, MadeModel], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The suggested --shapes, and the same shapes as shape_text prints them (with "×"), both
    read back; so does a "×" shape given to run --shape."""
    model = str(made_models["dynamic_batch"].path)
    code, out, err = _run(
        capsys, "build", model, "-o", str(tmp_path / "a.engine"), "--backend", "rtx"
    )
    assert code == 0, err
    suggested = re.search(r"suggested profile --shapes (\S+)", err)
    assert suggested is not None, err
    printed = suggested.group(1).replace("x", "×")  # input:1×3×16×16:1×3×16×16:8×3×16×16
    assert printed.count("×") == 9
    code, out, err = _run(
        capsys, "build", model, "-o", str(tmp_path / "b.engine"), "--backend", "rtx",
        "--shapes", printed,
    )  # fmt: skip
    assert code == 0, err
    assert "profile 1: input min/opt/max 1×3×16×16 / 1×3×16×16 / 8×3×16×16" in out
    assert "in  input: float32 batch×3×16×16" in out
    code, out, err = _run(capsys, "run", model, "--shape", "input:2×3×16×16")
    assert code == 0, err
    assert re.search(r"output output\s+float32\s+2×8", out), out
