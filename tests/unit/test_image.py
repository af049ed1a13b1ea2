"""The Dockerfile, checked without Docker: base, user, pinned installs, entry point, health."""

from __future__ import annotations

import re

from tests.deployfiles import (
    IMAGE,
    ROOT,
    SCRIPTS,
    check_ordercmd_argv,
    dockerfile_stages,
    exec_form,
    healthcheck_argv,
    reaches_the_build,
)

PACKAGES = [p.removesuffix("/") for p in (ROOT / "pyproject.toml").read_text().split(
    'packages = ["', 1)[1].split('"]', 1)[0].split('", "')]  # fmt: skip


def copied_sources() -> list[str]:
    sources = []
    for stage in dockerfile_stages():
        for args in stage.all("COPY"):
            if not args.startswith("--from="):
                sources += args.split()[:-1]
    return sources


def test_every_stage_is_python_3_11_slim_and_the_last_runs_as_a_user():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "multi-stage: build tools stay out of the image"
    assert {stage.base for stage in stages} == {"python:3.11-slim"}
    user = IMAGE.last("USER")
    assert user not in (None, "root", "0"), "the image must not run as root"


def test_dependencies_are_installed_from_the_constraints_file():
    installs = [args for s in dockerfile_stages() for args in s.all("RUN") if "pip install" in args]
    assert installs
    for install in installs:
        for command in re.findall(r"pip install[^&]*", install):
            assert "--constraint constraints.txt" in command, command


def test_the_entry_point_is_ordercmd_and_the_default_command_exists():
    assert exec_form(IMAGE.last("ENTRYPOINT") or "") == ["ordercmd"]
    assert SCRIPTS["ordercmd"] == "cli.main:cli"
    check_ordercmd_argv(["ordercmd", *exec_form(IMAGE.last("CMD") or "")])


def test_the_healthcheck_runs_an_existing_command():
    healthcheck = IMAGE.last("HEALTHCHECK")
    assert healthcheck
    argv = healthcheck_argv(healthcheck)
    assert argv[0] == "ordercmd"
    check_ordercmd_argv(argv)


def test_every_copied_path_exists_and_reaches_the_build():
    for source in copied_sources():
        assert (ROOT / source).exists(), f"COPY {source}: no such path"
        assert reaches_the_build(source), f"COPY {source}: .dockerignore leaves it out"


def test_the_image_gets_every_package_the_wheel_ships():
    assert set(PACKAGES) <= set(copied_sources())


def test_secrets_and_local_state_never_reach_the_build():
    for path in ("ordercmd.env", ".venv/bin/python", ".git/config", "tests/conftest.py",
                 "cli/__pycache__/main.cpython-311.pyc"):  # fmt: skip
        assert not reaches_the_build(path), path
