"""Nothing in a file drives the terminal, runs a program or reads what is not the model's
(issue #12, "Nothing executed from a file" and "Messages that blame the wrong thing").

Every case is a real run: the CLI in-process on generated models and pictures (corpus.py),
real TensorRT-RTX builds on the CPU, real ONNX Runtime sessions, real Pillow decoding.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests import onnx_factory
from tests.robustness import corpus
from trtgui.core import backends
from trtgui.core.errors import TrtGuiError

PACKAGE = Path(__file__).resolve().parents[2] / "trtgui"
needs_rtx = pytest.mark.skipif(
    not backends.probe_backend("rtx").available, reason="TensorRT-RTX is not installed"
)
# Raw bytes that would act on a terminal: ESC, CR, BEL, the one-byte CSI, backspace.
RAW_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    from trtgui.cli.main import main

    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_terminal_safe(text: str) -> None:
    """No control character reaches the terminal, and no line is a fake one of ours."""
    raw = RAW_CONTROLS.search(text)
    assert raw is None, f"raw control {raw.group()!r} in output: {text!r}"
    for line in text.splitlines():
        assert not line.startswith(corpus.FAKE_ERROR_LINE), f"an injected line: {line!r}"


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corpus.hostile_names_model(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def hostile_engine(hostile: Path) -> Path:
    if not backends.probe_backend("rtx").available:
        pytest.skip("TensorRT-RTX is not installed")
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings

    engine = hostile.with_name("hostile.engine")
    build_engine(BuildSettings(onnx_path=str(hostile), output_path=str(engine), backend="rtx"))
    return engine


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.new("RGB", (12, 10), (10, 200, 30)).save(path)
    return path


# -- terminal escapes -----------------------------------------------------------------------------


def _hostile_commands(model: Path, engine: Path | None, photo: Path, out: Path) -> list[list[Any]]:
    commands: list[list[Any]] = [
        ["inspect", model],
        ["inspect", model, "--check"],
        ["run", model],
        ["bench", model, "--iterations", "3", "--warmup", "0"],
        ["predict", model, photo],
    ]
    if engine is not None:
        commands += [
            ["build", model, "-o", out / "again.engine", "-v", "--log-level", "verbose"],
            ["engine", engine, "--layers"],
            ["run", engine],  # no GPU here: runs the record's ONNX model, and says so
            ["predict", engine, photo],
        ]
    return commands


@needs_rtx
def test_no_command_lets_a_name_drive_the_terminal(
    hostile: Path,
    hostile_engine: Path,
    photo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every name, doc string, metadata entry and label of the model holds ESC sequences, a
    CR, a one-byte CSI and a line break before a fake "error: x" line; no command's text
    output (stdout or stderr) carries any of them raw, and each shows the name escaped."""
    for args in _hostile_commands(hostile, hostile_engine, photo, tmp_path):
        code, out, err = run_cli(capsys, *args)
        assert code == 0, (args, err)
        assert_terminal_safe(out)
        assert_terminal_safe(err)
        # The names are shown, escaped, rather than dropped.
        assert "\\x1b[2J" in out, (args, out)


def test_a_hostile_name_in_an_error_message_stays_one_line(
    hostile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "run", hostile, "--shape", "nope:1x3x8x8")
    assert code == 1
    assert_terminal_safe(err)
    line = error_line(err)
    # The message lists the model's real input, escaped: "… inputs are in\x1b[2J…".
    assert "'nope'" in line and "in\\x1b[2J" in line, line


def test_json_output_keeps_names_exact(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json is for scripts: the names come back byte for byte (json.dumps escapes control
    characters itself, so nothing raw reaches the terminal either)."""
    name = "in" + corpus.HOSTILE_TEXT
    code, out, _ = run_cli(capsys, "inspect", hostile, "--json")
    assert code == 0
    assert_terminal_safe(out)
    data = json.loads(out)
    assert data["inputs"][0]["name"] == name
    assert data["graph_name"] == "graph" + corpus.HOSTILE_TEXT
    code, out, _ = run_cli(capsys, "run", hostile, "--json")
    assert code == 0 and name in json.loads(out)["inputs"]


def test_the_terminal_guard_keeps_our_own_progress_bar(tmp_path: Path) -> None:
    """The build's live bar redraws its line with CR and ESC [2K: ours, so they pass; the
    same bytes written as text are escaped."""
    import io

    from trtgui.cli.output import TerminalStream, write_control

    raw = io.StringIO()
    stream = TerminalStream(raw)  # type: ignore[arg-type]
    write_control(stream, "\r\x1b[2K")
    stream.write("name\r\x1b[2J\n")
    assert raw.getvalue() == "\r\x1b[2Kname\\x0d\\x1b[2J\n"


# -- very long names ------------------------------------------------------------------------------


def test_a_100k_character_name_is_cut_in_text_and_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = corpus.long_name_model(tmp_path)
    said = f"({corpus.LONG_NAME_CHARS:,} characters)"  # the length, as clip writes it
    code, out, _ = run_cli(capsys, "inspect", model)
    assert code == 0 and said in out
    assert max(len(line) for line in out.splitlines()) < 300
    code, out, err = run_cli(capsys, "run", model)
    assert code == 0 and said in out
    assert max(len(line) for line in (out + err).splitlines()) < 600
    # A message that lists the model's inputs: one short line.
    code, _, err = run_cli(capsys, "run", model, "--shape", "nope:1x4")
    line = error_line(err)
    assert code == 1 and said in line and len(line) < 400, line[:500]
    # --json keeps the name whole.
    code, out, _ = run_cli(capsys, "inspect", model, "--json")
    assert json.loads(out)["inputs"][0]["name"] == "t" * corpus.LONG_NAME_CHARS


def test_every_error_message_is_bounded() -> None:
    """The exception family itself keeps messages one bounded line, whoever raises them."""
    err = TrtGuiError("Input '" + "n" * 100_000 + "' is wrong: rename it.\nerror: fake")
    assert "\n" not in err.message and len(err.message) < 400
    assert err.message.endswith("⏎ error: fake") and "(100,000 characters)" in err.message


# -- pictures: the format allow-list ---------------------------------------------------------------


@pytest.fixture
def no_ghostscript(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records any attempt to parse PostScript or start a program (Pillow's EPS decoder runs
    `gs`); the test asserts the list stays empty."""
    import subprocess

    from PIL import EpsImagePlugin

    calls: list[str] = []

    def refuse(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} was called")

        return record

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", refuse("EpsImageFile._open"))
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", refuse("EpsImagePlugin.Ghostscript"))
    monkeypatch.setattr(subprocess, "Popen", refuse("subprocess.Popen"))
    return calls


FOREIGN_IDS = [f"{fmt.lower()}_as_png" for fmt, _ in corpus.FOREIGN_IMAGE_FORMATS] + ["eps_loop"]
FOREIGN_WORDS = {f"{fmt.lower()}_as_png": words for fmt, words in corpus.FOREIGN_IMAGE_FORMATS}
FOREIGN_WORDS["eps_loop"] = "EPS (PostScript)"


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> dict[str, corpus.BadCase]:
    return {c.id: c for c in corpus.foreign_images(tmp_path_factory.mktemp("foreign"))}


@pytest.mark.parametrize("case_id", FOREIGN_IDS)
def test_foreign_pictures_are_refused_by_name(
    case_id: str,
    foreign: dict[str, corpus.BadCase],
    no_ghostscript: list[str],
) -> None:
    from trtgui.core.errors import InferenceError
    from trtgui.core.imaging import load_image

    case = foreign[case_id]
    with pytest.raises(InferenceError) as info:
        load_image(case.path)
    message = info.value.message
    assert FOREIGN_WORDS[case_id] in message and "PNG, JPEG, BMP, WebP, TIFF or GIF" in message
    assert no_ghostscript == []


def test_predict_refuses_postscript_without_running_ghostscript(
    foreign: dict[str, corpus.BadCase],
    no_ghostscript: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = onnx_factory.static_conv(tmp_path).path
    for case_id in ("eps_as_png", "eps_loop"):
        code, _, err = run_cli(capsys, "predict", model, foreign[case_id].path)
        line = error_line(err)
        assert code == 1 and "is an EPS (PostScript) file, not an image trtgui opens" in line
    assert no_ghostscript == []


def test_postscript_stays_out_even_past_the_signature_check(
    foreign: dict[str, corpus.BadCase],
    no_ghostscript: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The signature table only names the format; Pillow's own allow-list (formats=) is what
    keeps its EPS decoder from ever seeing the bytes."""
    from trtgui.core.errors import InferenceError
    from trtgui.core.imaging import images

    monkeypatch.setattr(images, "foreign_image_format", lambda head: None)
    with pytest.raises(InferenceError, match="not an image trtgui opens"):
        images.decode_image(foreign["eps_loop"].path.read_bytes(), "loop.png")
    assert no_ghostscript == []


def test_the_allowed_formats_still_open(tmp_path: Path) -> None:
    from PIL import Image

    from trtgui.core.imaging import load_image

    red = Image.new("RGB", (9, 7), (255, 0, 0))
    for fmt in ("PNG", "JPEG", "BMP", "WEBP", "TIFF", "GIF"):
        path = tmp_path / f"x.{fmt.lower()}"
        red.save(path, format=fmt)
        assert load_image(path).size == (9, 7), fmt
    # An animated GIF: its first frame (red), not the second (blue).
    blue = Image.new("RGB", (9, 7), (0, 0, 255))
    red.save(tmp_path / "anim.gif", save_all=True, append_images=[blue], duration=100)
    red_value, _, blue_value = load_image(tmp_path / "anim.gif").getpixel((4, 3))
    assert red_value > 200 and blue_value < 50


# -- external data that is not the model's ---------------------------------------------------------

ESCAPE_WORDS = {case_id: words for case_id, _, words in corpus.ESCAPING_WEIGHTS}


@pytest.fixture(scope="module")
def escaping(tmp_path_factory: pytest.TempPathFactory) -> dict[str, corpus.BadCase]:
    return {c.id: c for c in corpus.escaping_weights(tmp_path_factory.mktemp("weights"))}


@pytest.mark.parametrize("case_id", list(ESCAPE_WORDS))
def test_weights_outside_the_model_are_refused_by_trtgui(
    case_id: str,
    escaping: dict[str, corpus.BadCase],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """trtgui's own check: inspect shows it refused, build and run stop with one line naming
    the real cause (not "is missing"), before TensorRT or ONNX Runtime open anything."""
    case = escaping[case_id]
    words = ESCAPE_WORDS[case_id]
    code, out, _ = run_cli(capsys, "inspect", case.path)
    assert code == 0 and "REFUSED" in out and words.split(" (")[0] in out
    for args in (["build", case.path, "-o", tmp_path / "m.engine"], ["run", case.path]):
        code, _, err = run_cli(capsys, *args)
        line = error_line(err)
        assert code == 1 and words in line and "missing" not in line, line
    assert not list(tmp_path.iterdir())


def test_onnx_runtime_refuses_them_by_itself(escaping: dict[str, corpus.BadCase]) -> None:
    """The second line of defence, asked directly: ONNX Runtime opens none of them."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # its own refusal text is the assertion, not a log line
    for case in escaping.values():
        with pytest.raises(Exception):  # noqa: B017 - ORT raises its own pybind types
            ort.InferenceSession(str(case.path), options, providers=["CPUExecutionProvider"])


@needs_rtx
def test_tensorrt_rtx_refuses_them_by_itself(escaping: dict[str, corpus.BadCase]) -> None:
    """TensorRT-RTX's parser, asked directly, refuses every one but a link beside the model
    that points outside it: it follows links (ONNX Runtime and trtgui do not), so that case
    rests on trtgui's own check above."""
    trt = backends.load_trt("rtx")
    logger = trt.Logger(trt.Logger.Severity.INTERNAL_ERROR)
    for case in escaping.values():
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        parsed = parser.parse_from_file(str(case.path))
        assert parsed == (case.id == "link_to_etc_passwd"), case.id


# -- nothing run from a file ----------------------------------------------------------------------

# Calls that run code or load libraries named by data, and where (file, call) each is allowed.
_FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
# (ctypes itself is fine: cuda_python.py views device buffers through it; loading is not.)
_FORBIDDEN_ATTRS = {"CDLL", "PyDLL", "LoadLibrary", "load_library", "dlopen", "system", "popen"}
_FORBIDDEN_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle", "joblib"}
# importlib.import_module with names from trtgui's own constant lists, never from a file.
_IMPORT_MODULE_ALLOWED = {"cli/main.py", "core/backends.py"}


def _findings(source: str, where: str) -> Iterator[str]:
    """What `source` (the file `where`, relative to the package) does that it must not."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names.append(node.module or "" if isinstance(node, ast.ImportFrom) else "")
            for name in names:
                if name.split(".")[0] in _FORBIDDEN_MODULES:
                    yield f"{where}:{node.lineno} imports {name}"
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in _FORBIDDEN_CALLS:
            yield f"{where}:{node.lineno} calls {func.id}()"
        if isinstance(func, ast.Attribute):
            if func.attr in _FORBIDDEN_ATTRS:
                yield f"{where}:{node.lineno} calls .{func.attr}()"
            if func.attr == "import_module" and where not in _IMPORT_MODULE_ALLOWED:
                yield f"{where}:{node.lineno} imports a module by name"
            numpy_load = (
                func.attr == "load"
                and isinstance(func.value, ast.Name)
                and func.value.id in ("np", "numpy")
            )
            # allow_pickle's value is checked with the other keywords below.
            if numpy_load and not any(k.arg == "allow_pickle" for k in node.keywords):
                yield f"{where}:{node.lineno} np.load without allow_pickle=False"
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg in ("shell", "allow_pickle") and not (
                isinstance(value, ast.Constant) and value.value is False
            ):
                yield f"{where}:{node.lineno} passes {keyword.arg}={ast.unparse(value)}"


def test_the_package_runs_nothing_from_a_file() -> None:
    """No eval/exec, no pickle (np.load only with allow_pickle=False), no shell=True, no
    library or plugin loading anywhere in trtgui: an ONNX file, an engine, a sidecar or a
    settings file can only ever be data."""
    found = [
        finding
        for path in sorted(PACKAGE.rglob("*.py"))
        for finding in _findings(
            path.read_text(encoding="utf-8"), path.relative_to(PACKAGE).as_posix()
        )
    ]
    assert found == []


def test_the_checker_sees_what_it_forbids() -> None:
    """The scan is not vacuous: each forbidden form in a file is reported."""
    sample = (
        "import pickle\nimport numpy as np\neval('1')\nnp.load('x.npy')\n"
        "np.load('y.npy', allow_pickle=True)\nimport subprocess\nsubprocess.run('ls', shell=True)\n"
        "import ctypes\nctypes.CDLL('libx.so')\n"
    )
    found = list(_findings(sample, "sample.py"))
    # pickle, eval, np.load twice (no allow_pickle; allow_pickle=True), shell=True, CDLL
    assert len(found) == 6, found


def test_run_input_never_unpickles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An .npy holding a pickled object array whose unpickling would write a file: refused,
    and the file is never written."""
    marker = tmp_path / "pwned"
    array = np.empty(1, dtype=object)
    array[0] = _WritesOnUnpickle(str(marker))
    np.save(tmp_path / "evil.npy", array, allow_pickle=True)
    model = onnx_factory.static_conv(tmp_path).path
    code, _, err = run_cli(capsys, "run", model, "--input", f"input={tmp_path / 'evil.npy'}")
    line = error_line(err)
    assert code == 1 and "evil.npy holds Python objects (a pickle)" in line, line
    assert not marker.exists()


class _WritesOnUnpickle:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path(self.path).write_text, ("unpickled",))


# -- the build record's onnx_path -----------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not backends.probe_backend("rtx").available:
        pytest.skip("TensorRT-RTX is not installed")
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings

    tmp = tmp_path_factory.mktemp("record")
    model = onnx_factory.static_conv(tmp).path
    result = build_engine(
        BuildSettings(onnx_path=str(model), output_path=str(tmp / "m.engine"), backend="rtx")
    )
    return result.engine_path


def _point_record_at(engine: Path, folder: Path, target: str | Path) -> Path:
    copy = folder / "m.engine"
    shutil.copy(engine, copy)
    record = json.loads(engine.with_name(engine.name + ".json").read_text(encoding="utf-8"))
    record["onnx_path"] = str(target)
    copy.with_name("m.engine.json").write_text(json.dumps(record), encoding="utf-8")
    return copy


def _record_targets(folder: Path) -> dict[str, tuple[Path, str]]:
    """onnx_path values a record must not be followed to: (target, words of the reason)."""
    folder.mkdir()
    (folder / "folder.onnx").mkdir()
    (folder / "text.onnx").write_text("not a model\n")
    targets = {
        "etc_passwd": (Path("/etc/passwd"), "which is not an .onnx file"),
        "folder": (folder / "folder.onnx", "is a folder"),
        "not_onnx": (folder / "text.onnx", "not a usable ONNX model"),
        "gone": (folder / "gone.onnx", "is gone"),
        "dev_zero_link": (folder / "zero.onnx", "not a regular file"),
    }
    (folder / "zero.onnx").symlink_to("/dev/zero")
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo.onnx")
        targets["fifo"] = (folder / "fifo.onnx", "not a regular file")
    return targets


@needs_rtx
def test_a_record_is_followed_only_to_an_onnx_model(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trtgui.core.build.record import onnx_for_engine

    for case_id, (target, words) in _record_targets(tmp_path / "targets").items():
        folder = tmp_path / case_id
        folder.mkdir()
        engine = _point_record_at(built, folder, target)
        onnx, why = onnx_for_engine(engine)
        assert onnx is None and words in why, (case_id, why)
        # No GPU here: run and predict would fall back to the record's model; they refuse,
        # saying why (no FIFO blocks them, nothing else is fed to ONNX Runtime).
        code, _, err = run_cli(capsys, "run", engine)
        assert code == 1 and words in error_line(err), (case_id, err)


@needs_rtx
def test_the_model_a_record_names_is_said(
    built: Path, tmp_path: Path, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = onnx_factory.static_conv(tmp_path).path
    engine = _point_record_at(built, tmp_path, model)
    code, _, err = run_cli(capsys, "run", engine)
    assert code == 0 and f"running the ONNX model it was built from, {model}" in err
    code, out, _ = run_cli(capsys, "predict", engine, photo)
    assert code == 0 and f"running the ONNX model {model} instead" in out


# -- messages that name the real cause ------------------------------------------------------------


@needs_rtx
def test_an_unreadable_calibration_image_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, bad = corpus.bad_calibration_folder(tmp_path / "calib")
    model = onnx_factory.static_conv(tmp_path).path
    out = tmp_path / "out"
    out.mkdir()
    args = ["build", model, "-o", out / "m.engine", "--precision", "int8", "--calib-dir", folder]
    code, _, err = run_cli(capsys, *args)
    line = error_line(err)
    assert code == 1 and bad in line and "damaged or truncated" in line, line
    assert "ONNX Runtime could not" not in line
    assert not list(out.iterdir())


def test_engine_files_that_are_devices_or_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.engine"
    empty.write_bytes(b"")
    link = tmp_path / "zero.engine"
    link.symlink_to("/dev/zero")
    for path, words, wrong in (
        (Path("/dev/zero"), "is a device", "empty"),
        (link, "is a device (it links to /dev/zero)", "empty"),
        (empty, "is empty (0 bytes)", "device"),
    ):
        code, _, err = run_cli(capsys, "engine", path)
        line = error_line(err)
        assert code == 1 and words in line and wrong not in line, line


MISBLAMED_WORDS = {
    # The two writers, each named with its operator, and the tensor (corpus.misblamed_models).
    "two_writers": "node 'A' (Relu) and node 'B' (Sigmoid) both write tensor 'T'",
    "negative_initializer_dims": "initializer 'weights_w' has shape -3x4",
}


@needs_rtx
@pytest.mark.parametrize("case_id", list(MISBLAMED_WORDS))
def test_broken_graphs_are_blamed_on_the_real_cause(
    case_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = {c.id: c for c in corpus.misblamed_models(tmp_path / "models")}[case_id]
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = run_cli(capsys, "build", case.path, "-o", out / "m.engine")
    line = error_line(err)
    assert code == 1 and MISBLAMED_WORDS[case_id] in line, line
    assert "cycle" not in line and "Count of weights" not in line
    assert not list(out.iterdir())
