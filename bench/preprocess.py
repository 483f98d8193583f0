"""trtgui's image preprocessing against OpenCV's `cv2.dnn.blobFromImage` for the same work.

Two measurements, each the median of many runs, OpenCV on one thread (as trtgui) and with
its default thread pool:

1. tensor conversion: an image already at the input size → normalised float32 NCHW tensor
   (`pixels_to_tensor` vs `blobFromImageWithParams` with per-channel mean and std).
   Target: within 1.2x of OpenCV.
2. end to end: a decoded photo → tensor, with the resize and center crop
   (`preprocess` vs `blobFromImage(..., crop=True)`). trtgui resizes with Pillow's
   antialiased bilinear filter (what torchvision does on PIL images, and what the reference
   accuracy of the shipped models was measured with); OpenCV's INTER_LINEAR skips
   antialiasing, so it reads far fewer pixels when shrinking. A second row gives OpenCV the
   same antialiased work (INTER_AREA resize, crop, then blobFromImage): that row has the
   1.2x target; the INTER_LINEAR row is printed for information.

OpenCV is only the yardstick: `pip install 'trtgui[bench]'` (opencv-python-headless).

    python bench/preprocess.py [--repeat 300] [--json bench/results/preprocess.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from trtgui.core.imaging import PRESETS, load_image, pixels_to_tensor, preprocess
from trtgui.core.resources import resource_path

TARGET = 1.2
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def paired_median_ms(
    ours: Callable[[], object], theirs: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Medians of interleaved runs: both sides see the same background load."""
    for _ in range(max(50, repeat // 5)):  # warm caches, allocator and CPU clocks first
        ours()
        theirs()
    a, b = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ours()
        t1 = time.perf_counter()
        theirs()
        t2 = time.perf_counter()
        a.append(t1 - t0)
        b.append(t2 - t1)
    return statistics.median(a) * 1000.0, statistics.median(b) * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    try:
        import cv2
    except ImportError:
        print("OpenCV is the yardstick here: pip install 'trtgui[bench]'")
        return 2

    photo = load_image(resource_path("demo", "coffee.jpg"))  # 600x400
    big = photo.resize((1920, 1280), Image.Resampling.BICUBIC)
    spec_imagenet = replace(PRESETS["imagenet"], resize="stretch")
    rows: list[dict[str, object]] = []

    def record(name: str, ours: float, theirs: float, threads: str, target: bool) -> None:
        ratio = ours / theirs
        verdict = ("PASS" if ratio <= TARGET else "MISS") if target else "info"
        rows.append(
            {
                "case": name,
                "opencv_threads": threads,
                "trtgui_ms": round(ours, 4),
                "opencv_ms": round(theirs, 4),
                "ratio": round(ratio, 3),
                "verdict": verdict,
            }
        )
        print(
            f"{name:<40} cv threads {threads:<7} trtgui {ours:8.3f} ms  OpenCV {theirs:8.3f} ms"
            f"  ratio {ratio:5.2f}x  {verdict}"
        )

    for threads in ("1", "default"):
        cv2.setNumThreads(1 if threads == "1" else -1)
        # 1. tensor conversion at the input size (per-channel mean/std, NCHW float32)
        for size in (224, 640):
            pixels = np.ascontiguousarray(np.asarray(photo.resize((size, size))))
            spec = replace(spec_imagenet, width=size, height=size)
            params = cv2.dnn.Image2BlobParams()
            params.scalefactor = tuple(1 / 255 / s for s in IMAGENET_STD)
            params.size = (size, size)
            params.mean = tuple(m * 255 for m in IMAGENET_MEAN)
            params.swapRB = False
            ours_t = pixels_to_tensor(pixels, spec)
            theirs_t = cv2.dnn.blobFromImageWithParams(pixels, params)
            assert np.allclose(ours_t, theirs_t, atol=1e-4), "the two tensors differ"
            ours, theirs = paired_median_ms(
                lambda p=pixels, s=spec: pixels_to_tensor(p, s),
                lambda p=pixels, q=params: cv2.dnn.blobFromImageWithParams(p, q),
                args.repeat,
            )
            record(f"tensor conversion {size}x{size}", ours, theirs, threads, True)
        # 2. end to end: resize the short side to 224, center-crop, (x - 127) / 128
        spec = replace(PRESETS["tflite"], resize_short=224)
        for label, image in (("600x400", photo), ("1920x1280", big)):
            arr = np.asarray(image)
            ours, theirs = paired_median_ms(
                lambda im=image, s=spec: preprocess(im, s),
                lambda a=arr: cv2.dnn.blobFromImage(
                    a, 1 / 128, (224, 224), (127, 127, 127), swapRB=False, crop=True
                ),
                args.repeat,
            )
            record(f"end to end {label}, OpenCV INTER_LINEAR", ours, theirs, threads, False)

            def cv_area(a: np.ndarray = arr) -> np.ndarray:
                # the same antialiased work in OpenCV: area-resize the short side, then crop
                h, w = a.shape[:2]
                s = 224 / min(h, w)
                r = cv2.resize(a, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
                top, left = (r.shape[0] - 224) // 2, (r.shape[1] - 224) // 2
                crop = r[top : top + 224, left : left + 224]
                return cv2.dnn.blobFromImage(crop, 1 / 128, (224, 224), (127, 127, 127))

            ours, theirs = paired_median_ms(
                lambda im=image, s=spec: preprocess(im, s), cv_area, args.repeat
            )
            record(f"end to end {label}, OpenCV INTER_AREA", ours, theirs, threads, True)
    figures = [
        {
            "metric": f"{r['case']} (OpenCV threads: {r['opencv_threads']})",
            "value": r["trtgui_ms"],
            "unit": "ms",
            "reference": r["opencv_ms"],
            "ratio": r["ratio"],
            "target": f"<= {TARGET}x" if r["verdict"] != "info" else None,
            "pass": None if r["verdict"] == "info" else r["verdict"] == "PASS",
        }
        for r in rows
    ]
    print("BENCH_JSON " + json.dumps({"name": "preprocess", "figures": figures}))
    if args.json:
        out = {
            "machine": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "opencv": cv2.__version__,
            "numpy": np.__version__,
            "pillow": Image.__version__,
            "target_ratio": TARGET,
            "rows": rows,
        }
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0 if all(f["pass"] is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
