"""Settings reach TensorRT in one module: checks before any work, and a real TensorRT-RTX
builder config that holds what the settings say."""

from __future__ import annotations

import pytest

from trtgui.core import backends
from trtgui.core.build import trt_config
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import SettingsError
from trtgui.core.model.profiles import PRECISIONS, Precision

needs_rtx = pytest.mark.skipif(
    not backends.probe_backend("rtx").available, reason="TensorRT-RTX is not installed"
)


@needs_rtx
def test_precision_support_names_every_precision() -> None:
    reasons = trt_config.precision_support(backends.probe_backend("rtx"))
    assert tuple(reasons) == PRECISIONS
    assert "weak typing" in reasons["auto"]
    assert not any(reasons[p] for p in PRECISIONS if p != "auto")


def test_an_unavailable_backend_supports_nothing() -> None:
    info = backends.BackendInfo("tensorrt", "NVIDIA TensorRT", "tensorrt", available=False)
    assert set(trt_config.precision_support(info).values()) == {"NVIDIA TensorRT is not installed"}


@needs_rtx
@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"precision": Precision.AUTO}, "has no weak typing"),
        ({"profiling_verbosity": "loud"}, "profiling_verbosity must be one of detailed"),
        ({"hardware_compatibility": "turing_plus"}, "hardware_compatibility must be none"),
        ({"compute_capabilities": ("8.6", "9.9")}, "Unknown compute capability '9.9'"),
        # TensorRT-RTX takes CURRENT only alone (it logs an API usage error otherwise).
        ({"compute_capabilities": ("8.6", "current")}, "cannot be combined with others"),
    ],
)
def test_settings_no_backend_knows_are_refused_first(changes: dict[str, object], says: str) -> None:
    settings = BuildSettings().with_changes(**changes)
    with pytest.raises(SettingsError, match=says):
        trt_config.check_settings(backends.probe_backend("rtx"), settings)


@needs_rtx
def test_configure_sets_what_the_settings_say_on_tensorrt_rtx() -> None:
    trt = backends.load_trt("rtx")
    info = backends.probe_backend("rtx")
    settings = BuildSettings(
        workspace_bytes=256 << 20,
        optimization_level=2,
        profiling_verbosity="layer_names_only",
        compute_capabilities=("8.6", "8.9"),
        version_compatible=True,
        hardware_compatibility="ampere_plus",
        timing_cache_path="cache.bin",
    )
    trt_config.check_settings(info, settings)
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = trt_config.create_network(trt, builder, info, settings.precision)
    config = builder.create_builder_config()
    notes = trt_config.configure(trt, builder, network, config, info, settings, has_qdq=False)
    # Read back from TensorRT itself.
    assert config.get_memory_pool_limit(trt.MemoryPoolType.WORKSPACE) == 256 << 20
    assert config.builder_optimization_level == 2
    assert config.profiling_verbosity == trt.ProfilingVerbosity.LAYER_NAMES_ONLY
    assert config.num_compute_capabilities == 2
    assert config.get_compute_capability(0) == trt.ComputeCapability.SM86
    assert config.get_compute_capability(1) == trt.ComputeCapability.SM89
    # NVIDIA TensorRT's options are ignored by TensorRT-RTX, and the build log says so.
    assert [n.split(" ")[0] for n in notes] == ["Version-compatible", "Hardware", "The"]
    assert all(n.endswith("ignored.") or "ignored by TensorRT-RTX" in n for n in notes)
