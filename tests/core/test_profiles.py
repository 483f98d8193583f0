"""The model stage's precision list and the error family around profiles and settings."""

from __future__ import annotations

import pytest

from trtgui.core.errors import PreprocessError, ProfileError, SettingsError
from trtgui.core.model.profiles import PRECISIONS, Precision, parse_shape_arg


def test_one_precision_list() -> None:
    # The order the four lists it replaced had (build_panel, cmd_build, cmd_run, backends at
    # f1dd81b): FP32 first, as the default.
    assert PRECISIONS == ("fp32", "fp16", "bf16", "int8", "auto")
    assert [Precision(p) for p in PRECISIONS] == list(Precision)


def test_error_kinds_are_separate() -> None:
    """A malformed setting is not an impossible profile (it was a subclass before #11)."""
    assert not issubclass(SettingsError, ProfileError)
    assert not issubclass(ProfileError, SettingsError)
    assert issubclass(PreprocessError, SettingsError)
    with pytest.raises(SettingsError) as info:
        parse_shape_arg("input:1xAx3")
    assert not isinstance(info.value, ProfileError)
