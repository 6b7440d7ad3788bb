"""The Lambda layer is built from the versions the tests run with: shared/requirements.txt
(what shared/Makefile installs; `sam build` sees only shared/) pins every runtime package
and every package they pull in, each at exactly its version in constraints.txt."""

from __future__ import annotations

import tomllib
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _lines(path: Path) -> list[str]:
    return [
        line.split("#", 1)[0].strip()
        for line in path.read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]


def _constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in _lines(ROOT / "constraints.txt"):
        name, _, version = line.partition("==")
        pins[canonicalize_name(name)] = version.strip()
    return pins


def _runtime_packages() -> set[str]:
    """pyproject.toml's dependencies (what the handlers import) and, transitively, what they
    require on Lambda's Python (the markers evaluated here, on the same 3.11; no extras)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(text).name for text in project["dependencies"]]
    found: set[str] = set()
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found.add(name)
        for text in distribution(name).requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def test_the_layer_pins_every_runtime_package_at_its_constraints_version() -> None:
    constraints = _constraints()
    needed = _runtime_packages()
    assert needed <= set(constraints), sorted(needed - set(constraints))
    expected = {name: constraints[name] for name in needed}
    pinned: dict[str, str] = {}
    for line in _lines(ROOT / "shared" / "requirements.txt"):
        requirement = Requirement(line)
        (specifier,) = requirement.specifier  # one exact pin per line, no ranges
        assert specifier.operator == "==", line
        pinned[canonicalize_name(requirement.name)] = specifier.version
    wanted = "\n".join(f"{name}=={version}" for name, version in sorted(expected.items()))
    assert pinned == expected, f"shared/requirements.txt should pin exactly:\n{wanted}"


def test_the_environment_the_tests_run_in_has_those_versions() -> None:
    """The closure above is read from the installed packages' metadata: it is the pinned
    one only if they were installed from constraints.txt (make test does)."""
    constraints = _constraints()
    for name in _runtime_packages():
        assert distribution(name).version == constraints[name], name
