"""OrtRunner.run against a bare onnxruntime InferenceSession.run on the same model and input.

Both use the same intra-op thread count (default 1, to keep other load out) and the same
input; runs alternate one by one so machine load hits both alike. Prints median per-run time and the
ratio (target: OrtRunner's checks and name-keyed outputs cost <= a few percent).

    python bench/ort_overhead.py [--model PATH] [--rounds 10] [--per-round 20]

Default model: ../shared/models/onnx/efficientnet_lite0_dynbatch.onnx at batch 1, or the
generated static conv net when the shared models are absent.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trtgui.core.engine.runners import OrtRunner, random_feeds  # noqa: E402

SHARED = ROOT.parent / "shared" / "models" / "onnx" / "efficientnet_lite0_dynbatch.onnx"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    tmp = None
    model = args.model
    if model is None and SHARED.is_file():
        model = SHARED
    if model is None:
        from tests.onnx_factory import static_conv

        tmp = tempfile.TemporaryDirectory()
        model = static_conv(Path(tmp.name)).path
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    with OrtRunner(
        model, providers=["CPUExecutionProvider"], intra_op_threads=args.threads
    ) as runner:
        shapes = {
            t.name: [d if isinstance(d, int) else 1 for d in t.shape or ()]
            for t in runner.input_infos
        }
        feeds = random_feeds(runner.input_infos, shapes, seed=0)
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        # Same numbers from both.
        bare = session.run(names, feeds)
        wrapped = runner.run(feeds)
        for name, value in zip(names, bare, strict=True):
            np.testing.assert_array_equal(wrapped[name], value)

        def bare_run() -> object:
            return session.run(names, feeds)

        def runner_run() -> object:
            return runner.run(feeds)

        for fn in (bare_run, runner_run):  # warm-up
            for _ in range(5):
                fn()
        times: dict[str, list[float]] = {"session.run": [], "OrtRunner.run": []}
        pair = (("session.run", bare_run), ("OrtRunner.run", runner_run))
        for r in range(args.rounds * args.per_round):
            # Alternate which goes first so neither always runs on a warmer cache.
            for label, fn in pair if r % 2 == 0 else pair[::-1]:
                t0 = time.perf_counter()
                fn()
                times[label].append((time.perf_counter() - t0) * 1000)
    say(
        f"model {model.name}, inputs {shapes}, onnxruntime {ort.__version__}, "
        f"{args.threads} intra-op thread(s), {args.rounds * args.per_round} runs each, alternated"
    )
    for label, values in times.items():
        say(
            f"{label:<14} median {statistics.median(values):8.3f} ms  "
            f"mean {statistics.fmean(values):8.3f} ms  min {min(values):8.3f} ms"
        )
    med = statistics.median(times["OrtRunner.run"]) / statistics.median(times["session.run"])
    low = min(times["OrtRunner.run"]) / min(times["session.run"])
    say(f"OrtRunner.run / session.run: median {med:.3f}x, min {low:.3f}x")
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    if tmp is not None:
        tmp.cleanup()
    # One machine-readable line for bench/run_all.py.
    figure = {
        "metric": f"OrtRunner.run median ({model.name})",
        "value": round(statistics.median(times["OrtRunner.run"]), 3),
        "unit": "ms",
        "reference": round(statistics.median(times["session.run"]), 3),
        "ratio": round(med, 3),
        "target": "<= 1.05x",
        "pass": med <= 1.05,
    }
    print("BENCH_JSON " + json.dumps({"name": "ort_overhead", "figures": [figure]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
