"""Screenshots of what ran on the H200: the Engine panel with the real TensorRT 8.6 engine.

    QT_QPA_PLATFORM=offscreen python packaging/make_gpu_screenshots.py

Renders `tests/fixtures/effnet_lite0_fp16.engine_info.trt860-h200.json` (inspect_engine's JSON
of the FP16 EfficientNet-Lite0 engine, brought back from the device by tools/gpu-check.sh)
in the Engine panel and saves its Layers tab as packaging/screenshots/engine_trt86_layers.png.
No GPU needed: the record is the engine as the H200 described it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "effnet_lite0_fp16.engine_info.trt860-h200.json"


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


def main() -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from trtgui.gui.engine_panel import EnginePanel
    from trtgui.gui.style import apply_theme

    apply_theme(app, "light")  # type: ignore[arg-type]
    panel = EnginePanel()
    panel.resize(1280, 760)
    panel.show()
    panel.show_info(engine_info(json.loads(FIXTURE.read_text(encoding="utf-8"))))
    panel.tabs.setCurrentIndex(1)
    for _ in range(20):
        app.processEvents()
    out = ROOT / "packaging" / "screenshots" / "engine_trt86_layers.png"
    panel.grab().save(str(out))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
