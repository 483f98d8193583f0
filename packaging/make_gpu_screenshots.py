"""Screenshots of what ran on the H200, from what came back from it (no GPU needed here):

    QT_QPA_PLATFORM=offscreen python packaging/make_gpu_screenshots.py

- the Engine panel's Layers tab with `tests/fixtures/effnet_lite0_fp16.engine_info.<when>...json`
  (inspect_engine's JSON of the FP16 EfficientNet-Lite0 engine, brought back by
  tools/gpu-check.sh): packaging/screenshots/engine_trt86_layers.png;
- the Inference panel's TensorRT-vs-ONNX-Runtime comparison with the real outputs of that
  engine and of ONNX Runtime on coffee.png (`effnet_lite0_outputs.trt860-h200.npz`) and the
  timings `trtgui-cli predict` printed there (`effnet_lite0_fp16_coffee_predict...json`),
  decoded and compared here by the same code as a live run: inference_trt86_compare.png.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
# The latest run's record (the older one, effnet_lite0_fp16.engine_info.trt860-h200.json, is
# the CPU tests' fixture).
FIXTURE = FIXTURES / "effnet_lite0_fp16.engine_info.2026-12-01T1458.trt860-h200.json"
OUTPUTS = FIXTURES / "effnet_lite0_outputs.trt860-h200.npz"
PREDICT = FIXTURES / "effnet_lite0_fp16_coffee_predict.trt860-h200.json"
MODELS = (ROOT / ".trt86" / "gpu-a", ROOT.parent / "shared" / "models")


def engine_info(data: dict[str, Any]) -> Any:
    """The EngineInfo the JSON was written from (EngineInfo.to_dict's inverse, for pictures)."""
    from trtgui.core.engine.info import (
        KERNEL_NOTE,
        EngineInfo,
        EngineLayer,
        EngineTensor,
        ProfileShapes,
        precision_from_tactic,
        precision_summary,
    )
    from trtgui.core.engine.plan import PlanHeader

    h = data["header"]
    header = PlanHeader(
        path=Path(h["path"]),
        file_size=int(h["file_size"]),
        tag=h["tag"],
        serialization_version=int(h["serialization_version"]),
        version=tuple(int(v) for v in h["version"].split(".")),  # type: ignore[arg-type]
        backend=h["backend"],
        declared_size=h.get("declared_size"),
    )
    tensors = tuple(
        EngineTensor(
            name=t["name"],
            dtype=t["dtype"],
            shape=tuple(t["shape"]) if t["shape"] is not None else None,
            is_input=t["mode"] == "input",
            format=t["format"],
            format_desc=t["format_desc"],
            vectorized_dim=t["vectorized_dim"],
            components_per_element=t["components_per_element"],
            location=t["location"],
            is_shape_tensor=t["is_shape_tensor"],
            profiles=tuple(
                ProfileShapes(tuple(p["min"]), tuple(p["opt"]), tuple(p["max"]))
                for p in t["profiles"]
            ),
        )
        for t in data["tensors"]
    )
    layers = []
    for la in data["layers"]:
        precision, from_kernel = la["precision"], bool(la.get("precision_from_kernel"))
        if not precision:  # recorded before trtgui read precisions from kernel names
            precision = precision_from_tactic(la["tactic"])
            from_kernel = bool(precision)
        layers.append(
            EngineLayer(
                name=la["name"],
                type=la["type"],
                precision=precision,
                tactic=la["tactic"],
                inputs=tuple(la["inputs"]),
                outputs=tuple(la["outputs"]),
                metadata=la["metadata"],
                precision_from_kernel=from_kernel,
            )
        )
    note = data.get("layer_note", "")
    if any(la.precision_from_kernel for la in layers):
        note = KERNEL_NOTE
    return EngineInfo(
        path=Path(data["path"]),
        header=header,
        backend=data["backend"],
        backend_version=data["backend_version"],
        tensors=tensors,
        num_profiles=int(data["num_profiles"]),
        device_memory_bytes=int(data["device_memory_bytes"]),
        num_layers=int(data["num_layers"]),
        layers=tuple(layers),
        precision_summary=precision_summary(layers),
        profiling_verbosity=data.get("profiling_verbosity", ""),
        layer_note=note,
    )


def _model_file(*parts: str) -> Path:
    for folder in MODELS:
        path = folder.joinpath(*parts)
        if path.is_file():
            return path
    raise SystemExit(f"{'/'.join(parts)} is in none of {[str(m) for m in MODELS]}")


def inference_report() -> Any:
    """The PredictionReport of the H200 run: TensorRT's FP16 logits for coffee.png decoded, and
    compared with ONNX Runtime's, here, as `run_prediction` does with live runners."""
    import numpy as np

    from trtgui.core import imaging
    from trtgui.core.predict.compare import compare_outputs
    from trtgui.core.predict.decoders import postprocess
    from trtgui.core.predict.labels import load_labels
    from trtgui.core.predict.report import TENSORRT, PredictionReport, Timings

    record = json.loads(PREDICT.read_text(encoding="utf-8"))
    saved = np.load(OUTPUTS)
    photo = _model_file("images", "coffee.png")
    labels_path = _model_file("imagenet_labels.txt")
    spec = imaging.resolve_spec(imaging.PRESETS["tflite"], (1, 3, 224, 224), "float32")
    image = imaging.load_image(photo)
    tensor, box = imaging.preprocess(image, spec)
    trt = {"logits": saved["trt_effnet.fp16_coffee"]}
    ort = {"logits": saved["ort_coffee"]}
    # The same tensor the device ran: preprocessing here must match it.
    assert np.abs(tensor.reshape(saved["input_coffee"].shape) - saved["input_coffee"]).max() < 1e-6
    prediction = postprocess(
        trt, box, labels=load_labels(labels_path), top_k=5, labels_source=str(labels_path.name)
    )
    return PredictionReport(
        prediction=prediction,
        image=image,
        image_path=photo,
        model_path=Path(record["engine"]),
        onnx_path=Path(record["onnx"]),
        engine_path=Path(record["engine"]),
        runner=TENSORRT,
        runner_detail="TensorRT 8.6.0 on an NVIDIA H200 (cuda-python)",
        spec=spec,
        spec_guessed=False,
        input_name="input",
        input_tensor=tensor,
        letterbox=box,
        outputs=trt,
        timings=Timings(**record["timings_ms"]),
        comparison=compare_outputs(ort, trt, "fp16"),
        labels_source=labels_path.name,
    )


def _settle(app: Any) -> None:
    for _ in range(20):
        app.processEvents()


def main() -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from trtgui.gui.engine_panel import EnginePanel
    from trtgui.gui.inference_panel import InferencePanel
    from trtgui.gui.style import apply_theme

    apply_theme(app, "light")  # type: ignore[arg-type]
    shots = ROOT / "packaging" / "screenshots"
    panel = EnginePanel()
    panel.resize(1280, 760)
    panel.show()
    panel.show_info(engine_info(json.loads(FIXTURE.read_text(encoding="utf-8"))))
    panel.tabs.setCurrentIndex(1)
    _settle(app)
    panel.grab().save(str(shots / "engine_trt86_layers.png"))
    print(f"saved {shots / 'engine_trt86_layers.png'}")

    inference = InferencePanel()
    inference.resize(1280, 860)
    inference.show()
    inference.show_report(inference_report())
    view = inference.results
    view.result_tabs.setCurrentIndex(2)  # "TensorRT vs ONNX Runtime"
    _settle(app)
    # The results side only: the controls would show this machine's empty model choice.
    view.grab().save(str(shots / "inference_trt86_compare.png"))
    print(f"saved {shots / 'inference_trt86_compare.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
