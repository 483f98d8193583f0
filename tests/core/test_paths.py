"""trtgui.core.paths: the user data folder the CLI demo and the app's engines share."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from trtgui.core import paths

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="XDG base directories are the Linux rule"
)


@linux_only
def test_xdg_data_home_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    # XDG base directory spec: user data in $XDG_DATA_HOME/<app>.
    assert paths.user_data_dir() == tmp_path / "trtgui"
    assert paths.engines_dir() == tmp_path / "trtgui" / "engines"
    assert paths.demo_engine_path() == tmp_path / "trtgui" / "demo" / "demo.engine"
    assert not (tmp_path / "trtgui").exists()  # asking for a path creates nothing


@linux_only
@pytest.mark.parametrize("value", [None, "", "relative/data"])
def test_unset_empty_or_relative_xdg_falls_back_to_local_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    if value is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", value)
    # The spec: unset, empty or relative XDG_DATA_HOME means $HOME/.local/share.
    assert paths.user_data_dir() == tmp_path / ".local" / "share" / "trtgui"
