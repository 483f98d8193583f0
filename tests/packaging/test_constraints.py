"""constraints/ci.txt and the README's test command: a test run pinned to exact versions."""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints" / "ci.txt"


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line.strip())
        assert match, f"not an exact pin: {line!r}"
        name = canonicalize_name(match[1])
        assert name not in pins, f"pinned twice: {name}"
        pins[name] = match[2]
    return pins


def _project() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {"": data["dependencies"], **data["optional-dependencies"]}


def _dev_requirements(extra: str, project: dict[str, list[str]]) -> list[Requirement]:
    """pyproject's requirements of `extra`, its trtgui[...] self-references expanded."""
    out: list[Requirement] = []
    for text in project[extra]:
        req = Requirement(text)
        if canonicalize_name(req.name) == "trtgui":
            for sub in req.extras:
                out += _dev_requirements(sub, project)
        else:
            out.append(req)
    return out


def test_every_pin_is_exact_and_trtgui_is_not_pinned() -> None:
    pins = _pins()
    assert "trtgui" not in pins
    assert len(pins) > 20


@pytest.mark.parametrize("python", ["3.11", "3.12"])
def test_pins_satisfy_pyproject_on_each_python(python: str) -> None:
    """A refresh run on the wrong Python (PySide6 6.12 frozen on 3.12) must not slip by: the
    pins must satisfy pyproject's own specifiers, markers evaluated for that Python."""
    pins = _pins()
    env = {**default_environment(), "python_version": python, "python_full_version": python}
    project = _project()
    for req in _dev_requirements("", project) + _dev_requirements("dev", project):
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is a dependency but not pinned"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{req.name}=={pins[name]} breaks pyproject's {req} on Python {python}"
        )


def test_everything_installed_for_dev_is_pinned() -> None:
    """The closure of trtgui[dev]'s requirements in this environment, every one pinned."""
    pins = _pins()
    try:
        metadata.distribution("trtgui")
    except metadata.PackageNotFoundError:
        pytest.skip("trtgui is not installed here")
    todo: list[tuple[str, frozenset[str]]] = [("trtgui", frozenset({"dev"}))]
    seen: set[tuple[str, frozenset[str]]] = set()
    unpinned: set[str] = set()
    # pip and setuptools come with the venv (pip freeze leaves them out): not part of the pins.
    bundled = {"pip", "setuptools"}
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue  # a dependency of another platform or Python (its marker said no)
        for text in requires:
            req = Requirement(text)
            wanted = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(w) for w in wanted):
                continue
            dep = canonicalize_name(req.name)
            if dep != "trtgui" and dep not in pins and dep not in bundled:
                unpinned.add(dep)
            todo.append((dep, frozenset(req.extras)))
    assert not unpinned, f"installed by '.[dev]' but not in constraints/ci.txt: {sorted(unpinned)}"


def test_readme_test_command_uses_the_constraints_and_ci_finds_it() -> None:
    # The same extraction as .ci/run, run on the real README.
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    grep = next(line for line in script.splitlines() if line.startswith("cmd=$("))
    found = subprocess.run(
        ["bash", "-c", f'{grep}\nprintf "%s" "$cmd"'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert found == (
        "python3 -m venv .venv && . .venv/bin/activate && "
        "pip install -c constraints/ci.txt '.[dev]' && bash tests/check.sh"
    )


def test_refresh_script_is_valid_bash() -> None:
    script = ROOT / "tools" / "refresh-constraints.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text(encoding="utf-8")
    assert "pip freeze" in text and "tests/check.sh" in text and "constraints/ci.txt" in text
