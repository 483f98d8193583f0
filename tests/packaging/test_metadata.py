"""The Linux desktop files in packaging/linux: validators, consistency, and install.sh."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
APP_ID = "io.github.trtgui.trtgui"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
MIME = LINUX / f"{APP_ID}.mime.xml"
ICON_SIZES = (16, 32, 48, 64, 128, 256)


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian package {package})")
    return path


def _run(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=60, check=False
    )


def _desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def _complaints(output: str) -> list[str]:
    """desktop-file-validate lines that are errors or warnings (hints are advice only)."""
    return [line for line in output.splitlines() if ": error: " in line or ": warning: " in line]


def test_desktop_file_validates() -> None:
    tool = _tool("desktop-file-validate", "desktop-file-utils")
    done = _run(tool, DESKTOP)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _complaints(done.stdout + done.stderr) == []


def test_metainfo_validates() -> None:
    tool = _tool("appstreamcli", "appstream")
    done = _run(tool, "validate", "--no-net", METAINFO)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # Infos and pedantic notes are allowed; warnings and errors are not.
    assert [ln for ln in output.splitlines() if ln.startswith(("W:", "E:"))] == [], output


def test_mime_types_load(tmp_path: Path) -> None:
    tool = _tool("update-mime-database", "shared-mime-info")
    (tmp_path / "packages").mkdir()
    shutil.copy(MIME, tmp_path / "packages" / MIME.name)
    done = _run(tool, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    # It complains about bad XML or unknown elements on stderr; a note that the test folder
    # is not on XDG_DATA_DIRS is expected.
    problems = [ln for ln in done.stderr.splitlines() if "rror" in ln or "arning" in ln]
    assert problems == [], done.stderr
    globs = (tmp_path / "globs2").read_text()
    assert "application/x-onnx:*.onnx" in globs
    assert "application/x-tensorrt-engine:*.engine" in globs


def test_desktop_entry_metainfo_and_app_agree() -> None:
    entry = _desktop_entry(DESKTOP)
    assert entry["Exec"] == "trtgui %F"
    assert entry["Icon"] == APP_ID
    assert {"Development", "Science"} <= set(entry["Categories"].strip(";").split(";"))
    entry_types = set(entry["MimeType"].strip(";").split(";"))

    component = ET.parse(METAINFO).getroot()
    assert component.findtext("id") == APP_ID
    assert component.findtext("launchable") == DESKTOP.name
    assert component.findtext("project_license") == "Apache-2.0"
    assert component.findtext("metadata_license") == "CC0-1.0"
    assert {b.text for b in component.iter("binary")} == {"trtgui", "trtgui-cli"}
    assert {m.text for m in component.iter("mediatype")} == entry_types
    release = component.find("releases/release")
    assert release is not None
    assert (release.get("version"), release.get("date")) == ("0.1.0", "2026-11-22")

    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    declared = {t.get("type") for t in ET.parse(MIME).getroot().findall("m:mime-type", ns)}
    assert declared == entry_types

    # The running app announces the same id (Wayland app_id, desktop file matching).
    gui_code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "trtgui/gui").glob("*.py"))
    assert "setDesktopFileName" in gui_code and f'"{APP_ID}"' in gui_code


def test_install_script_puts_everything_in_place(tmp_path: Path) -> None:
    exe = tmp_path / "opt" / "trtgui" / "trtgui"
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    done = subprocess.run(
        ["bash", str(LINUX / "install.sh"), "--prefix", str(tmp_path), "--exec", str(exe)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    share = tmp_path / "share"
    installed = share / "applications" / DESKTOP.name
    assert _desktop_entry(installed)["Exec"] == f'"{exe}" %F'
    assert (share / "metainfo" / METAINFO.name).is_file()
    assert (share / "mime" / "packages" / f"{APP_ID}.xml").is_file()
    assert (share / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg").is_file()
    for size in ICON_SIZES:
        assert (share / f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png").is_file()
    if shutil.which("desktop-file-validate"):
        check = _run("desktop-file-validate", installed)
        assert _complaints(check.stdout + check.stderr) == []

    done = subprocess.run(
        ["bash", str(LINUX / "install.sh"), "--prefix", str(tmp_path), "--uninstall"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not installed.exists()
    assert not (share / "icons/hicolor/48x48/apps" / f"{APP_ID}.png").exists()
