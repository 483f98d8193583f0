"""Engine header, compatibility verdict, sidecar, inspector JSON and inspection without a GPU.

Engines are built for real with TensorRT-RTX on the CPU; synthetic headers cover NVIDIA
TensorRT plans, which cannot be built on these machines.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from tests.onnx_factory import MadeModel
from trtgui.core import backends, gpus
from trtgui.core.build.record import read_record, record_path
from trtgui.core.engine.info import (
    describe_engine,
    inspect_engine,
    parse_inspector_json,
    precision_from_format,
)
from trtgui.core.engine.plan import (
    InstalledBackend,
    check_engine,
    compatibility,
    parse_plan_header,
    read_plan_header,
)
from trtgui.core.errors import BackendUnavailable, BuildRecordError, EngineLoadError


def _rtx_version() -> tuple[int, ...]:
    info = backends.probe_backend("rtx")
    if not info.available:
        pytest.skip("tensorrt_rtx is not installed")
    return tuple(int(x) for x in str(info.version).split(".")[:4])


def build_rtx_engine(onnx_path: Path, out: Path, profile: tuple[Any, ...] | None = None) -> Path:
    """A real TensorRT-RTX CPU build (used here and by other engine tests)."""
    trt = backends.load_trt("rtx")
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse_from_file(str(onnx_path)), [
        parser.get_error(i).desc() for i in range(parser.num_errors)
    ]
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    if profile is not None:
        p = builder.create_optimization_profile()
        p.set_shape(*profile)
        config.add_optimization_profile(p)
    plan = builder.build_serialized_network(network, config)
    assert plan is not None
    out.write_bytes(bytes(plan))
    return out


@pytest.fixture(scope="module")
def rtx_engine(made_models: dict[str, MadeModel], tmp_path_factory: pytest.TempPathFactory) -> Path:
    _rtx_version()
    out = tmp_path_factory.mktemp("engines") / "static_conv.engine"
    return build_rtx_engine(made_models["static_conv"].path, out)


def synthetic_plan(
    version: tuple[int, int, int, int], tag: bytes = b"ftrt", size: int = 256
) -> bytes:
    head = bytearray(size)
    head[0:4] = tag
    struct.pack_into("<I", head, 4, 0)
    struct.pack_into("<Q", head, 16, size)
    head[24:28] = bytes(version)
    return bytes(head)


# -- header ------------------------------------------------------------------------------------


def test_header_of_real_rtx_engine(rtx_engine: Path) -> None:
    header = read_plan_header(rtx_engine)
    assert header.version == _rtx_version()
    assert header.backend == "rtx"
    assert header.tag in ("ftrt", "vtrt")
    assert header.file_size == rtx_engine.stat().st_size
    assert header.declared_size in (None, header.file_size)
    assert header.to_dict()["version"] == header.version_str


def test_header_of_dynamic_rtx_engine(made_models: dict[str, MadeModel], tmp_path: Path) -> None:
    _rtx_version()
    engine = build_rtx_engine(
        made_models["dynamic_batch"].path,
        tmp_path / "dyn.engine",
        ("input", (1, 3, 16, 16), (4, 3, 16, 16), (8, 3, 16, 16)),
    )
    assert read_plan_header(engine).backend == "rtx"


@pytest.mark.parametrize(
    ("version", "backend"),
    [((10, 13, 0, 35), "tensorrt"), ((11, 4, 0, 1), "tensorrt"), ((1, 7, 1, 116), "rtx")],
)
def test_synthetic_headers(
    tmp_path: Path, version: tuple[int, int, int, int], backend: str
) -> None:
    path = tmp_path / "x.engine"
    path.write_bytes(synthetic_plan(version))
    header = read_plan_header(path)
    assert header.version == version
    assert header.backend == backend
    assert header.short_version == f"{version[0]}.{version[1]}"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "is empty"),
        (b"ftrt\0\0\0\0", "truncated"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "PNG image"),
        (b"PK\x03\x04" + b"\0" * 40, "ZIP archive"),
        (b"hello, this is a plain text file\n" * 3, "text file"),
        (bytes(range(200, 256)) * 2, "other binary"),
        (
            synthetic_plan((10, 13, 0, 35))[:4] + b"\x07\0\0\0" + bytes(60),
            "serialization version 7",
        ),
        (synthetic_plan((0, 0, 0, 0)), "damaged header"),
    ],
)
def test_corrupt_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "bad.engine"
    path.write_bytes(content)
    with pytest.raises(EngineLoadError, match=fragment):
        read_plan_header(path)


def test_onnx_file_named_as_such(made_models: dict[str, MadeModel]) -> None:
    with pytest.raises(EngineLoadError, match="ONNX model"):
        read_plan_header(made_models["static_conv"].path)


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(EngineLoadError, match="not found"):
        read_plan_header(tmp_path / "nope.engine")
    with pytest.raises(EngineLoadError, match="folder"):
        read_plan_header(tmp_path)


def test_truncated_real_engine(rtx_engine: Path, tmp_path: Path) -> None:
    data = rtx_engine.read_bytes()
    cut = tmp_path / "cut.engine"
    cut.write_bytes(data[: len(data) // 2])
    header = read_plan_header(rtx_engine)
    if header.declared_size is None:
        pytest.skip("this plan format states no size")
    with pytest.raises(EngineLoadError, match="truncated"):
        read_plan_header(cut)
    with pytest.raises(EngineLoadError, match="truncated"):
        parse_plan_header(data[:20])


# -- verdict -----------------------------------------------------------------------------------

TRT11 = InstalledBackend("tensorrt", "NVIDIA TensorRT", True, "11.4.0.12")
TRT10 = InstalledBackend("tensorrt", "NVIDIA TensorRT", True, "10.13.0.35")
RTX17 = InstalledBackend("rtx", "TensorRT for RTX", True, "1.7.1.116")
NO_TRT = InstalledBackend("tensorrt", "NVIDIA TensorRT", False, None)
NO_RTX = InstalledBackend("rtx", "TensorRT for RTX", False, None)
H100 = gpus.GpuInfo(0, "NVIDIA H100", (9, 0), 80 << 30)
RTX4090 = gpus.GpuInfo(0, "NVIDIA GeForce RTX 4090", (8, 9), 24 << 30)


def _header(version: tuple[int, int, int, int]) -> Any:
    return parse_plan_header(synthetic_plan(version), Path("m.engine"))


def test_verdict_trt10_engine_on_trt11() -> None:
    v = compatibility(_header((10, 13, 0, 35)), [TRT11, RTX17], [H100])
    assert v.status == "rebuild"
    assert v.message == (
        "built with NVIDIA TensorRT 10.13, this machine has 11.4.0.12: rebuild it from the ONNX "
        "model."
    )
    assert not v.loadable_here


def test_verdict_same_version_with_gpu_is_ok() -> None:
    v = compatibility(_header((10, 13, 0, 35)), [TRT10, NO_RTX], [H100])
    assert v.status == "ok" and v.loadable_here


def test_verdict_patch_difference_is_a_note() -> None:
    v = compatibility(_header((10, 13, 2, 6)), [TRT10], [H100])
    assert v.status == "ok"
    assert "patch versions differ" in v.notes[0]


def test_verdict_version_compatible_engine_on_newer_minor() -> None:
    v = compatibility(_header((10, 11, 0, 1)), [TRT10], [H100], version_compatible=True)
    assert v.status == "ok"


def test_verdict_rtx_engine_without_rtx_installed() -> None:
    v = compatibility(_header((1, 7, 1, 116)), [TRT11, NO_RTX], [H100])
    assert v.status == "needs_backend"
    assert "TensorRT for RTX 1.7, which is not installed here" in v.message
    assert "NVIDIA TensorRT 11.4.0.12 is installed but cannot load it" in v.message


def test_verdict_trt_engine_with_only_rtx() -> None:
    v = compatibility(_header((10, 13, 0, 35)), [NO_TRT, RTX17], [RTX4090])
    assert v.status == "needs_backend"
    assert "pip install" in v.message


def test_verdict_rtx_on_hopper_is_refused() -> None:
    v = compatibility(_header((1, 7, 1, 116)), [RTX17], [H100])
    assert v.status == "needs_gpu"
    assert "compute capability 9.0" in v.message


def test_verdict_rtx_ok_on_ada_and_old_rtx_rebuild() -> None:
    assert compatibility(_header((1, 7, 1, 116)), [RTX17], [RTX4090]).status == "ok"
    v = compatibility(_header((1, 6, 0, 3)), [RTX17], [RTX4090])
    assert v.status == "rebuild"
    assert "TensorRT for RTX 1.6, this machine has 1.7.1.116" in v.message


def test_verdict_no_gpu() -> None:
    v = compatibility(_header((1, 7, 1, 116)), [RTX17], [])
    assert v.status == "needs_gpu"
    assert "no usable NVIDIA GPU" in v.message
    # why there is no GPU is the check's gpu_reason, said once, not repeated as a note
    assert v.notes == ()
    assert v.words == "Needs a supported NVIDIA GPU to load or run."


def test_every_verdict_status_has_words() -> None:
    from trtgui.core.engine.plan import VERDICT_WORDS, verdict_words

    statuses = {"ok", "rebuild", "needs_backend", "needs_gpu", "unknown"}
    assert set(VERDICT_WORDS) == statuses
    for status in statuses:
        words = verdict_words(status)
        assert words[0].isupper() and words.endswith(".") and "_" not in words
    assert verdict_words("something new") == VERDICT_WORDS["unknown"]


# -- check_engine and the build record -------------------------------------------------------------


def test_check_real_engine_with_sidecar(rtx_engine: Path) -> None:
    side = record_path(rtx_engine)
    side.write_text(
        json.dumps(
            {
                "backend": "rtx",
                "backend_version": "1.7.1.116",
                "onnx_sha256": "ab" * 32,
                "settings": {"precision": "fp32", "version_compatible": False},
                "io_tensors": [
                    {
                        "name": "input",
                        "is_input": True,
                        "dtype": "float32",
                        "shape": [1, 3, 16, 16],
                    },
                    {"name": "output", "is_input": False, "dtype": "float32", "shape": [1, 8]},
                ],
            }
        )
    )
    try:
        check = check_engine(rtx_engine)
    finally:
        side.unlink()
    assert check.header.backend == "rtx"
    assert check.record is not None and check.record.onnx_sha256 == "ab" * 32
    assert [t.name for t in check.build_io] == ["input", "output"]
    assert check.build_io[0].shape == (1, 3, 16, 16)
    if not gpus.gpu_report().has_gpu:
        assert check.verdict.status == "needs_gpu"
        assert not check.verdict.loadable_here
    data = check.to_dict()
    json.dumps(data)  # JSON-serializable
    assert data["header"]["backend"] == "rtx"


def test_unreadable_sidecar_is_reported_not_fatal(rtx_engine: Path) -> None:
    side = record_path(rtx_engine)
    side.write_text("{not json")
    try:
        check = check_engine(rtx_engine)
        assert check.record is None
        assert "unreadable" in check.record_problem
        with pytest.raises(BuildRecordError):  # the record's own reader says why
            read_record(rtx_engine)
    finally:
        side.unlink()


def test_check_engine_corrupt_raises(tmp_path: Path) -> None:
    bad = tmp_path / "bad.engine"
    bad.write_bytes(b"")
    with pytest.raises(EngineLoadError):
        check_engine(bad)


def test_inspect_without_gpu_says_so(rtx_engine: Path) -> None:
    if gpus.gpu_report().has_gpu:
        pytest.skip("a GPU is present")
    with pytest.raises(BackendUnavailable, match="needs an NVIDIA GPU") as caught:
        inspect_engine(rtx_engine)
    # the GPU report's reason is said once: in the message, not again in the details
    reason = gpus.gpu_report().reason
    text = f"{caught.value.message}\n{caught.value.details}"
    assert reason and text.count(reason) == 1


def test_check_without_gpu_holds_the_reason_once(rtx_engine: Path) -> None:
    if gpus.gpu_report().has_gpu:
        pytest.skip("a GPU is present")
    check = check_engine(rtx_engine)
    reason = gpus.gpu_report().reason
    assert check.gpu_reason == reason
    assert json.dumps(check.to_dict()).count(reason) == 1


# -- EngineInspector JSON ---------------------------------------------------------------------

TRT10_JSON = {
    "Layers": [
        {
            "Name": "Reformatting CopyNode for Input Tensor 0 to conv0 + relu0",
            "LayerType": "Reformat",
            "Inputs": [
                {
                    "Name": "input",
                    "Location": "Device",
                    "Dimensions": [1, 3, 224, 224],
                    "Format/Datatype": "Row major linear FP32",
                }
            ],
            "Outputs": [
                {
                    "Name": "Reformatted Input Tensor 0",
                    "Location": "Device",
                    "Dimensions": [1, 3, 224, 224],
                    "Format/Datatype": "Channel major FP16 format where channel % 4 == 0",
                }
            ],
            "ParameterType": "Reformat",
            "TacticValue": "0x00000000000003ea",
            "StreamId": 0,
            "Metadata": "",
        },
        {
            "Name": "conv0 + relu0",
            "LayerType": "CaskConvolution",
            "Inputs": [{"Name": "x", "Dimensions": [1, 3, 224, 224], "Format/Datatype": "Int8"}],
            "Outputs": [{"Name": "y", "Dimensions": [1, 8, 224, 224], "Format/Datatype": "Int8"}],
            "TacticName": "sm89_xmma_fprop_implicit_gemm_int8",
            "TacticValue": "0x1234",
            "Metadata": "[ONNX Layer: conv0][ONNX Layer: relu0]",
        },
        {
            "Name": "gap",
            "LayerType": "Reduce",
            "Inputs": [],
            "Outputs": [{"Name": "output", "Format/Datatype": "Row major linear FP32"}],
        },
    ],
    "Bindings": ["input", "output"],
}

TRT11_JSON = {
    "Layers": [
        {
            "Name": "gemm_0",
            "LayerType": "MatrixMultiply",
            "Inputs": [
                {"Name": "tokens", "Dimensions": [-1, 16], "Format": "LINEAR", "DataType": "FP16"}
            ],
            "Outputs": [
                {"Name": "out", "Dimensions": [-1, 16], "Format": "LINEAR", "Datatype": "FP16"}
            ],
            "TacticName": "sm120_gemm_tactic",
        }
    ],
    "I/O Tensors": [
        {"Name": "tokens", "IOMode": "INPUT", "DataType": "FP16", "Dimensions": [-1, 16]},
        {"Name": "out", "IOMode": "OUTPUT", "DataType": "FP16", "Dimensions": [-1, 16]},
    ],
}


def test_parse_trt10_layout() -> None:
    layers, io = parse_inspector_json(json.dumps(TRT10_JSON))
    assert io == ("input", "output")
    assert [la.type for la in layers] == ["Reformat", "CaskConvolution", "Reduce"]
    assert [la.precision for la in layers] == ["FP16", "INT8", "FP32"]
    assert layers[0].tactic == "0x00000000000003ea"
    assert layers[1].tactic == "sm89_xmma_fprop_implicit_gemm_int8"
    assert layers[1].metadata.startswith("[ONNX Layer")
    assert layers[0].inputs[0] == "input 1×3×224×224 Row major linear FP32"


def test_parse_trt11_layout() -> None:
    layers, io = parse_inspector_json(TRT11_JSON)
    assert io == ("tokens", "out")
    assert layers[0].precision == "FP16"
    assert layers[0].inputs[0] == "tokens ?×16 LINEAR FP16"


def test_parse_names_only_and_bad_json() -> None:
    layers, _io = parse_inspector_json({"Layers": ["a", "b"], "Bindings": ["x"]})
    assert [la.name for la in layers] == ["a", "b"]
    assert all(la.precision == "" for la in layers)
    with pytest.raises(EngineLoadError):
        parse_inspector_json("not json")
    with pytest.raises(EngineLoadError):
        parse_inspector_json("[1, 2]")


@pytest.mark.parametrize(
    ("text", "precision"),
    [
        ("Row major linear FP32", "FP32"),
        ("Channel major FP16 format where channel % 8 == 0", "FP16"),
        ("Row major linear BF16 format", "BF16"),
        ("Int8", "INT8"),
        ("Two wide channel vectorized row major FP16 format", "FP16"),
        ("N/A due to dynamic shapes", ""),
        ("Row major linear INT64", "INT64"),
    ],
)
def test_precision_from_format(text: str, precision: str) -> None:
    assert precision_from_format(text) == precision


# -- describe_engine over a stand-in ICudaEngine ---------------------------------------------------


class StandInCudaEngine:
    """Answers the ICudaEngine calls describe_engine makes, with fixed values (not TensorRT)."""

    def __init__(self, trt: Any) -> None:
        self.trt = trt
        self.num_optimization_profiles = 1
        self.num_io_tensors = 2
        self.num_layers = 3
        self.device_memory_size_v2 = 4096
        self.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
        self._names = ["input", "output"]

    def get_tensor_name(self, i: int) -> str:
        return self._names[i]

    def get_tensor_mode(self, name: str) -> Any:
        m = self.trt.TensorIOMode
        return m.INPUT if name == "input" else m.OUTPUT

    def get_tensor_dtype(self, name: str) -> Any:
        return self.trt.DataType.FLOAT if name == "input" else self.trt.DataType.HALF

    def get_tensor_shape(self, name: str) -> list[int]:
        return [-1, 3, 224, 224] if name == "input" else [-1, 1000]

    def get_tensor_format(self, name: str) -> Any:
        return self.trt.TensorFormat.LINEAR

    def get_tensor_format_desc(self, name: str) -> str:
        return "Row major linear FP32 format"

    def get_tensor_vectorized_dim(self, name: str) -> int:
        return -1

    def get_tensor_components_per_element(self, name: str) -> int:
        return 1

    def get_tensor_location(self, name: str) -> Any:
        return self.trt.TensorLocation.DEVICE

    def is_shape_inference_io(self, name: str) -> bool:
        return False

    def get_tensor_profile_shape(self, name: str, p: int) -> list[list[int]]:
        return [[1, 3, 224, 224], [4, 3, 224, 224], [8, 3, 224, 224]]

    def create_engine_inspector(self) -> Any:
        outer = self

        class Inspector:
            def get_engine_information(self, fmt: Any) -> str:
                assert fmt == outer.trt.LayerInformationFormat.JSON
                return json.dumps(TRT10_JSON)

        return Inspector()


def test_describe_engine_over_stand_in(rtx_engine: Path) -> None:
    trt = backends.load_trt("rtx")
    info = describe_engine(StandInCudaEngine(trt), trt, read_plan_header(rtx_engine), "rtx")
    assert [t.name for t in info.inputs] == ["input"]
    assert info.inputs[0].dtype == "float32" and info.outputs[0].dtype == "float16"
    assert info.inputs[0].is_dynamic
    assert info.inputs[0].profiles[0].opt == (4, 3, 224, 224)
    assert info.outputs[0].profiles == ()
    assert info.device_memory_bytes == 4096
    assert info.precision_summary == {"FP16": 1, "INT8": 1, "FP32": 1}
    assert info.num_profiles == 1
    json.dumps(info.to_dict())


def test_check_reads_the_sidecar_build_engine_writes(
    made_models: dict[str, MadeModel], tmp_path: Path
) -> None:
    _rtx_version()
    build = pytest.importorskip("trtgui.core.build.builder")
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.model.profiles import InputShape, ShapeProfile

    made = made_models["dynamic_batch"]
    profile = ShapeProfile((InputShape("input", (1, 3, 16, 16), (4, 3, 16, 16), (8, 3, 16, 16)),))
    settings = BuildSettings(
        onnx_path=str(made.path),
        output_path=str(tmp_path / "dyn.engine"),
        backend="rtx",
        profiles=(profile,),
    )
    result = build.build_engine(settings)
    check = check_engine(result.engine_path)
    assert check.header.backend == "rtx"
    assert check.header.version_str == result.backend_version
    assert check.record is not None
    assert check.record.onnx_sha256 == build.file_sha256(made.path)
    assert [(t.name, t.is_input, t.shape) for t in check.build_io] == [
        ("input", True, (-1, 3, 16, 16)),
        ("output", False, (-1, 8)),
    ]
