"""The timing cache of NVIDIA TensorRT builds (TensorRT-RTX has none): read into the builder
config before a build (`load_timing_cache`), written back atomically after it
(`save_timing_cache`), so later builds of similar models skip measuring tactics again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from trtgui.core.backends import BackendInfo, api_family
from trtgui.core.files import write_atomic
from trtgui.core.reading import read_regular


def load_timing_cache(config: Any, info: BackendInfo, path: str) -> Any | None:
    """Give `config` the timing cache in `path` (empty when the file does not exist yet).

    Returns the cache object (keep it alive while building) or None when unused.
    """
    if not path or api_family(info) == "rtx":
        return None
    file = Path(path)
    # A regular file within LIMITS["timing_cache"] (a FIFO or /dev/zero would never end).
    data = read_regular(file, "timing_cache") if os.path.lexists(file) else b""
    cache = config.create_timing_cache(data)
    config.set_timing_cache(cache, False)
    return cache


def save_timing_cache(config: Any, info: BackendInfo, path: str) -> None:
    """Write the builder's timing cache back to `path` atomically."""
    if not path or api_family(info) == "rtx":
        return
    cache = config.get_timing_cache()
    if cache is None:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, bytes(memoryview(cache.serialize())))
