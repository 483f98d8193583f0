"""trtgui's image preprocessing against OpenCV's `cv2.dnn.blobFromImage` for the same work.

Each figure interleaves the two sides call by call (the order alternating from pair to pair),
after warming both, and reports the median of the per-pair time ratios trtgui/OpenCV
(robust to the background load and clock changes that hit both calls of a pair) with the
median time of each side. OpenCV runs on one thread (as trtgui) and with its default pool.

1. tensor conversion: an image already at the input size → normalised float32 NCHW tensor
   (`pixels_to_tensor` vs `blobFromImageWithParams` with per-channel mean and std), twice:
   a. a new tensor each call (how both are normally called). Most of this time can be the
      kernel's first touch of the fresh 1.6/4.9 MB output (page faults), and how many pages a
      call must fault depends on glibc's malloc state, which both libraries' allocations
      shape: with the default allocator the 640x640 figure swung from 0.5x to 1.45x between
      runs. So by default the bench fixes malloc's mmap threshold (mallopt, Linux/glibc):
      every large block is a fresh mapping, and each side pays for its own allocations on
      every call. `--allocator default` leaves malloc alone (for diagnosis).
   b. into a preallocated tensor (`out=` / the `blob` argument): the arithmetic alone.
   The 1.2x target is on (a), the call as both libraries are normally made. (b) is printed
   for information: once allocation is taken out, OpenCV's one fused SIMD loop is about
   1.15-1.25x faster than numpy's cast-multiply-add passes.
2. end to end: a decoded photo → tensor, with the resize and center crop
   (`preprocess` vs `blobFromImage(..., crop=True)`). trtgui resizes with Pillow's
   antialiased bilinear filter (what torchvision does on PIL images, and what the reference
   accuracy of the shipped models was measured with); OpenCV's INTER_LINEAR skips
   antialiasing, so it reads far fewer pixels when shrinking. A second row gives OpenCV the
   same antialiased work (INTER_AREA resize, crop, then blobFromImage): that row has the
   1.2x target; the INTER_LINEAR row is printed for information.

Every case runs at least `--repeat` pairs and at least `--min-time` seconds.
OpenCV is only the yardstick: `pip install 'trtgui[bench]'` (opencv-python-headless).

    python bench/preprocess.py [--repeat 300] [--min-time 1.5] [--json FILE.json]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import platform
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from trtgui.core.imaging import PRESETS, load_image, pixels_to_tensor, preprocess
from trtgui.core.resources import resource_path

TARGET = 1.2
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
M_MMAP_THRESHOLD = -3  # glibc mallopt parameter


def fix_malloc() -> str:
    """Make every block of 128 KiB or more a fresh mmap, freed at once (setting the threshold
    also turns off glibc's dynamic threshold and the heap-trim games that decided which side
    paid for page faults). Returns what was done, for the output."""
    name = ctypes.util.find_library("c")
    if platform.system() != "Linux" or not name:
        return "default (not Linux/glibc)"
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt") or libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024) != 1:
        return "default (mallopt refused)"
    return "fresh pages: glibc mallopt(M_MMAP_THRESHOLD, 128 KiB)"


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@dataclass(frozen=True)
class Paired:
    ours_ms: float  # median time of one call
    theirs_ms: float
    ratio: float  # median of per-pair ratios ours/theirs
    ratio_p25: float
    ratio_p75: float
    pairs: int
    ours_faults: float  # minor page faults per call (mean)
    theirs_faults: float


def paired(
    ours: Callable[[], object], theirs: Callable[[], object], repeat: int, min_time: float
) -> Paired:
    """Interleaved calls, order alternating per pair; both warmed first."""
    warm_until = time.perf_counter() + min(0.3, min_time / 4)
    warm = 0
    while warm < 20 or time.perf_counter() < warm_until:
        ours()
        theirs()
        warm += 1
    a: list[float] = []
    b: list[float] = []
    faults = [0, 0]
    sides = ((ours, a, 0), (theirs, b, 1))
    end = time.perf_counter() + min_time
    i = 0
    while i < repeat or time.perf_counter() < end:
        for fn, times, k in sides if i % 2 == 0 else sides[::-1]:
            f0 = minor_faults()
            t0 = time.perf_counter()
            fn()
            t1 = time.perf_counter()
            faults[k] += minor_faults() - f0
            times.append(t1 - t0)
        i += 1
    ratios = sorted(x / y for x, y in zip(a, b, strict=True))
    q = statistics.quantiles(ratios, n=4)
    return Paired(
        statistics.median(a) * 1000.0,
        statistics.median(b) * 1000.0,
        statistics.median(ratios),
        q[0],
        q[2],
        i,
        faults[0] / i,
        faults[1] / i,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=300, help="least number of pairs per case")
    parser.add_argument(
        "--min-time", type=float, default=1.5, help="least seconds of pairs per case"
    )
    parser.add_argument("--allocator", choices=("fresh", "default"), default="fresh")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    try:
        import cv2
    except ImportError:
        print("OpenCV is the yardstick here: pip install 'trtgui[bench]'")
        return 2
    allocator = fix_malloc() if args.allocator == "fresh" else "default (glibc dynamic)"
    print(
        f"malloc: {allocator}; each case: >= {args.repeat} interleaved pairs and "
        f">= {args.min_time:g} s; ratio = median of per-pair trtgui/OpenCV ratios [p25-p75]"
    )
    print(
        "tensor conversion: trtgui pixels_to_tensor(HxWx3 uint8, imagenet spec) = one casting"
        " copy to 1x3xHxW float32, then in-place *a, +b;"
    )
    print(
        "  OpenCV dnn.blobFromImageWithParams(same pixels, scalefactor=1/255/std, mean=255*mean,"
        " swapRB=False) -> 1x3xHxW float32; the tensors agree to 1e-4"
    )
    print(
        "  'new tensor' rows: each call allocates its output; 'preallocated' rows: trtgui"
        " out=buf, OpenCV blob=buf (arithmetic only)"
    )

    photo = load_image(resource_path("demo", "coffee.jpg"))  # 600x400
    big = photo.resize((1920, 1280), Image.Resampling.BICUBIC)
    spec_imagenet = replace(PRESETS["imagenet"], resize="stretch")
    rows: list[dict[str, object]] = []

    def record(name: str, r: Paired, threads: str, target: bool) -> None:
        verdict = ("PASS" if r.ratio <= TARGET else "MISS") if target else "info"
        rows.append(
            {
                "case": name,
                "opencv_threads": threads,
                "trtgui_ms": round(r.ours_ms, 4),
                "opencv_ms": round(r.theirs_ms, 4),
                "ratio": round(r.ratio, 3),
                "ratio_p25": round(r.ratio_p25, 3),
                "ratio_p75": round(r.ratio_p75, 3),
                "pairs": r.pairs,
                "trtgui_page_faults_per_call": round(r.ours_faults, 1),
                "opencv_page_faults_per_call": round(r.theirs_faults, 1),
                "verdict": verdict,
            }
        )
        print(
            f"{name:<50} cv thr {threads:<7} trtgui {r.ours_ms:7.3f} ms  OpenCV"
            f" {r.theirs_ms:7.3f} ms  ratio {r.ratio:5.2f}x [{r.ratio_p25:.2f}-{r.ratio_p75:.2f}]"
            f"  faults/call {r.ours_faults:5.0f} vs {r.theirs_faults:5.0f}  n={r.pairs}  {verdict}"
        )

    def run(ours: Callable[[], object], theirs: Callable[[], object]) -> Paired:
        return paired(ours, theirs, args.repeat, args.min_time)

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
            r = run(
                lambda p=pixels, s=spec: pixels_to_tensor(p, s),
                lambda p=pixels, q=params: cv2.dnn.blobFromImageWithParams(p, q),
            )
            record(f"tensor conversion {size}x{size}", r, threads, True)
            buf_ours = np.empty_like(ours_t)
            buf_theirs = np.empty_like(ours_t)
            same = cv2.dnn.blobFromImageWithParams(pixels, buf_theirs, params)
            assert same is buf_theirs, "OpenCV did not write into the given blob"
            r = run(
                lambda p=pixels, s=spec, o=buf_ours: pixels_to_tensor(p, s, out=o),
                lambda p=pixels, q=params, o=buf_theirs: cv2.dnn.blobFromImageWithParams(p, o, q),
            )
            assert np.allclose(buf_ours, buf_theirs, atol=1e-4), "the two tensors differ"
            record(
                f"tensor conversion {size}x{size}, into a preallocated tensor", r, threads, False
            )
        # 2. end to end: resize the short side to 224, center-crop, (x - 127) / 128
        spec = replace(PRESETS["tflite"], resize_short=224)
        for label, image in (("600x400", photo), ("1920x1280", big)):
            arr = np.asarray(image)
            r = run(
                lambda im=image, s=spec: preprocess(im, s),
                lambda a=arr: cv2.dnn.blobFromImage(
                    a, 1 / 128, (224, 224), (127, 127, 127), swapRB=False, crop=True
                ),
            )
            record(f"end to end {label}, OpenCV INTER_LINEAR", r, threads, False)

            def cv_area(a: np.ndarray = arr) -> np.ndarray:
                # the same antialiased work in OpenCV: area-resize the short side, then crop
                h, w = a.shape[:2]
                s = 224 / min(h, w)
                r = cv2.resize(a, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
                top, left = (r.shape[0] - 224) // 2, (r.shape[1] - 224) // 2
                crop = r[top : top + 224, left : left + 224]
                return cv2.dnn.blobFromImage(crop, 1 / 128, (224, 224), (127, 127, 127))

            r = run(lambda im=image, s=spec: preprocess(im, s), cv_area)
            record(f"end to end {label}, OpenCV INTER_AREA", r, threads, True)
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
    print(
        "BENCH_JSON "
        + json.dumps(
            {
                "name": "preprocess",
                "figures": figures,
                "ratio": "median of per-pair trtgui/OpenCV ratios; value/reference: medians",
                "malloc": allocator,
            }
        )
    )
    if args.json:
        out = {
            "machine": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "opencv": cv2.__version__,
            "numpy": np.__version__,
            "pillow": Image.__version__,
            "malloc": allocator,
            "target_ratio": TARGET,
            "rows": rows,
        }
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0 if all(f["pass"] is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
