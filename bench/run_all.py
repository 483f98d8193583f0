"""Run every benchmark in bench/ and write one table: bench/results/latest.md and latest.json.

Each script runs in its own subprocess with a timeout, one after the other (they measure
time: running them side by side would skew them). A script reports its figures on a last line
`BENCH_JSON {"name": ..., "figures": [{"metric", "value", "unit", "reference", "ratio",
"target", "pass"}]}`; its human text is kept in the JSON too. pinned_copy needs a GPU: without
one, the figures recorded on the device machine (bench/results/pinned_copy.json or .txt) are
reported instead, marked as such.

    python bench/run_all.py [--quick] [--only NAME ...] [--skip NAME ...] [--out DIR]

--quick passes smaller sizes to the slow scripts (a smoke run; do not publish its figures).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"


@dataclass(frozen=True)
class Script:
    name: str
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()
    timeout: float = 600.0
    gpu: bool = False
    about: str = ""


SCRIPTS: tuple[Script, ...] = (
    Script("inspect_large", (), ("--mb", "64", "--repeat", "1"), 600,
           about="inspect_onnx vs onnx.load, 512 MiB external weights"),
    Script("build_overhead", (), ("-n", "2"), 900,
           about="trtgui build vs a bare TensorRT-RTX script"),
    Script("ui_responsiveness", (), ("--runs", "1"), 300,
           about="UI stalls and log throughput during a VERBOSE build"),
    Script("preprocess", (), ("--repeat", "30"), 600, about="trtgui preprocessing vs OpenCV"),
    Script("ort_overhead", (), ("--rounds", "3", "--per-round", "10"), 600,
           about="OrtRunner.run vs bare session.run"),
    Script("startup", (), ("--runs", "2"), 600, about="process start to main window shown"),
    Script("soak", (), ("--builds", "20", "--runs", "40"), 900,
           about="50 builds + 200 runs: RSS growth, threads"),
    Script("cancel_stress", (), ("--points", "6"), 900,
           about="cancel at 20 points of a real build"),
    Script("crash_isolation", (), ("--crashes", "5"), 600,
           about="#15: injected crashes of the build child; the window stays up"),
    Script("robustness", (), ("--ctrl-c-runs", "5"), 1500,
           about="bad-input corpus via CLI and GUI; 20 double Ctrl-C builds"),
    Script("int8_accuracy", (), ("--models", "efficientnet_lite0_dynbatch.onnx"), 900,
           about="INT8: calibration per image vs one ORT run; precision check's build share"),
    Script("pinned_copy", (), ("--mib", "64", "--rounds", "5"), 600, gpu=True,
           about="pinned H2D/D2H vs torch"),
)  # fmt: skip


@dataclass
class Outcome:
    name: str
    about: str
    command: list[str]
    exit_code: int | None = None
    seconds: float = 0.0
    status: str = ""  # "ok" | "failed" | "timeout" | "no figures" | "skipped" | "device record"
    figures: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    note: str = ""


# -- the machine --------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def describe_machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or platform.machine(),
    )
    mem = re.search(r"MemTotal:\s+(\d+) kB", _read("/proc/meminfo"))
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None,
        "python": platform.python_version(),
        "os": platform.platform(),
        "gpu": gpu_name(),
        "load_average_at_start": load,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def gpu_name() -> str | None:
    """The first GPU's name from nvidia-smi, or None when there is none."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    name = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""
    return name or None


# -- running ------------------------------------------------------------------------------------


def parse_bench_json(text: str) -> dict[str, Any] | None:
    """The last `BENCH_JSON {...}` line of a script's output."""
    for line in reversed(text.splitlines()):
        if line.startswith("BENCH_JSON "):
            try:
                data = json.loads(line[len("BENCH_JSON ") :])
            except json.JSONDecodeError:
                return None
            return data if isinstance(data, dict) else None
    return None


def run_script(script: Script, quick: bool) -> Outcome:
    path = BENCH / f"{script.name}.py"
    command = [sys.executable, str(path), *(script.quick_args if quick else script.args)]
    outcome = Outcome(script.name, script.about, command)
    if not path.is_file():
        outcome.status = "skipped"
        outcome.note = f"{path.name} does not exist"
        return outcome
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=script.timeout,
        )
    except subprocess.TimeoutExpired as exc:
        outcome.seconds = time.perf_counter() - started
        outcome.status = "timeout"
        outcome.text = _as_text(exc.stdout) + _as_text(exc.stderr)
        outcome.note = f"stopped after {script.timeout:.0f} s"
        return outcome
    outcome.seconds = time.perf_counter() - started
    outcome.exit_code = done.returncode
    outcome.text = done.stdout + ("\n[stderr]\n" + done.stderr if done.stderr.strip() else "")
    data = parse_bench_json(done.stdout)
    if data is None:
        outcome.status = "no figures" if done.returncode == 0 else "failed"
        outcome.note = "no BENCH_JSON line in its output"
        return outcome
    outcome.figures = [f for f in data.get("figures", []) if isinstance(f, dict)]
    outcome.extra = {k: v for k, v in data.items() if k not in ("name", "figures")}
    outcome.status = "ok" if done.returncode == 0 else "failed"
    return outcome


def _as_text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def recorded_gpu_figures(script: Script) -> Outcome:
    """A GPU benchmark without a GPU here: the figures of its last run on the device machine,
    kept as that run's output (with its BENCH_JSON line) in bench/results/<name>.txt."""
    outcome = Outcome(script.name, script.about, [], status="device record")
    recorded = RESULTS / f"{script.name}.txt"
    if recorded.is_file():
        outcome.text = recorded.read_text(encoding="utf-8")
        data = parse_bench_json(outcome.text) or {}
        outcome.figures = [f for f in data.get("figures", []) if isinstance(f, dict)]
    if not outcome.figures:
        outcome.status = "skipped"
        outcome.note = "no GPU here and no figures recorded on the device machine"
    else:
        first = outcome.text.splitlines()[0]
        outcome.note = f"no GPU here: recorded on the device machine ({recorded.name}) {first}"
    return outcome


# -- writing ------------------------------------------------------------------------------------


def _fmt(value: Any, unit: str = "") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        text = f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def _ratio(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.3f}x"
    return "—"


def _verdict(figure: dict[str, Any], outcome: Outcome) -> str:
    verdict = {True: "PASS", False: "FAIL"}.get(figure.get("pass"), "—")  # type: ignore[call-overload]
    return f"{verdict} (device)" if outcome.status == "device record" else verdict


def figure_table(machine: dict[str, Any], outcomes: list[Outcome], quick: bool) -> list[str]:
    """The machine line and the figures table (also spliced into the README)."""
    lines = [
        f"Written by `python bench/run_all.py{' --quick' if quick else ''}` on "
        f"{machine['date']}."
        + (" **Quick run: smaller sizes, not for publishing.**" if quick else ""),
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']} GiB RAM, "
        f"Python {machine['python']}, {machine['os']}, GPU: {machine['gpu'] or 'none'}. "
        f"Load average at start: {', '.join(map(str, machine['load_average_at_start'])) or '?'} "
        "(a shared machine: the ratios, measured side by side in one run, are the figures to "
        "trust, not the absolute times).",
        "",
        "| benchmark | figure | reference | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        if not o.figures:
            lines.append(f"| {o.name} | {o.status}: {o.note} | — | — | — | — |")
            continue
        for f in o.figures:
            unit = str(f.get("unit", ""))
            figure = f"{f.get('metric', '?')}: **{_fmt(f.get('value'), unit)}**"
            ref = f.get("reference")
            reference = _fmt(ref, unit) if isinstance(ref, (int, float)) else _fmt(ref)
            lines.append(
                f"| {o.name} | {figure} | {reference} | {_ratio(f.get('ratio'))} | "
                f"{_fmt(f.get('target'))} | {_verdict(f, o)} |"
            )
    return lines


def write_markdown(
    path: Path, machine: dict[str, Any], outcomes: list[Outcome], quick: bool
) -> None:
    lines = ["# trtgui benchmarks", "", *figure_table(machine, outcomes, quick)]
    lines += ["", "## Runs", "", "| benchmark | what | status | exit | seconds | note |"]
    lines.append("|---|---|---|---|---|---|")
    for o in outcomes:
        lines.append(
            f"| {o.name} | {o.about} | {o.status} | {_fmt(o.exit_code)} | {o.seconds:.1f} | "
            f"{o.note.replace('|', '/') or ''} |"
        )
    lines.append("")
    lines.append("Each script's full output is in latest.json (`text`).")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


README_START, README_END = "<!-- perf-table -->", "<!-- /perf-table -->"


def update_readme(readme: Path, table: list[str]) -> None:
    """Replace what stands between the perf-table markers in the README with `table`."""
    text = readme.read_text(encoding="utf-8")
    if README_START not in text:
        raise SystemExit(f"{readme} has no {README_START} marker")
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1] if README_END in rest else rest
    block = "\n".join([README_START, "", *table, "", README_END])
    readme.write_text(head + block + tail, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these")
    parser.add_argument("--skip", nargs="+", metavar="NAME", default=[], help="skip these")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for latest.md/json")
    parser.add_argument(
        "--readme", action="store_true", help="also put the figures table into README.md"
    )
    args = parser.parse_args(argv)

    machine = describe_machine()
    print(
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']} GiB, "
        f"Python {machine['python']}, GPU {machine['gpu'] or 'none'}"
    )
    outcomes: list[Outcome] = []
    for script in SCRIPTS:
        if (args.only and script.name not in args.only) or script.name in args.skip:
            continue
        if script.gpu and machine["gpu"] is None:
            outcome = recorded_gpu_figures(script)
        else:
            print(f"running {script.name} …", flush=True)
            outcome = run_script(script, args.quick)
        outcomes.append(outcome)
        verdicts = [f.get("pass") for f in outcome.figures]
        print(
            f"  {script.name}: {outcome.status}, {outcome.seconds:.1f} s, "
            f"{sum(v is True for v in verdicts)}/{len(verdicts)} figures on target"
            + (f" ({outcome.note})" if outcome.note else ""),
            flush=True,
        )

    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine,
        "quick": args.quick,
        "benchmarks": [
            {
                "name": o.name,
                "about": o.about,
                "command": [Path(c).name if i < 2 else c for i, c in enumerate(o.command)],
                "status": o.status,
                "exit_code": o.exit_code,
                "seconds": round(o.seconds, 2),
                "note": o.note,
                "figures": o.figures,
                "extra": o.extra,
                "text": o.text[-6000:],
            }
            for o in outcomes
        ],
    }
    (args.out / "latest.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_markdown(args.out / "latest.md", machine, outcomes, args.quick)
    print(f"wrote {args.out / 'latest.md'} and {args.out / 'latest.json'}")
    if args.readme:
        update_readme(ROOT / "README.md", figure_table(machine, outcomes, args.quick))
        print("updated the performance table in README.md")
    bad = [o.name for o in outcomes if o.status not in ("ok", "device record", "skipped")]
    failed = [o.name for o in outcomes if any(f.get("pass") is False for f in o.figures)]
    if bad or failed:
        print(f"not clean: {', '.join(sorted(set(bad + failed)))}")
    return 1 if bad or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
