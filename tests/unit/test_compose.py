"""docker-compose.yml: runnable commands, a durable and healthy Redis, no secrets inline."""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
IMAGE_EXECUTABLES = {  # what the official images ship on PATH
    "redis": {"redis-server", "redis-cli", "sh"},
    "python": {"python", "python3", "pip", "sh"},
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|CREDENTIAL", re.IGNORECASE)
INTERPOLATED = re.compile(r"^\$\{[^}]+\}$")


def commands(service: dict[str, Any]) -> list[list[str]]:
    """Each program invocation in a service's command, ``sh -c`` scripts split on ``&&``."""
    command = service.get("command", [])
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if argv[:2] != ["sh", "-c"]:
        return [argv]
    steps = [shlex.split(step) for step in re.split(r"&&|\|\||;", argv[2])]
    return [step[1:] if step[0] == "exec" else step for step in steps]


def executables(service: dict[str, Any]) -> set[str]:
    image = service["image"].split(":")[0]
    installs_project = any(step[:2] == ["pip", "install"] for step in commands(service))
    return IMAGE_EXECUTABLES[image] | (set(SCRIPTS) if installs_project else set())


def ordercmd_group() -> click.Group | None:
    """The CLI's click group, or None while its module is not written yet."""
    module_name, _, attribute = SCRIPTS["ordercmd"].partition(":")
    if importlib.util.find_spec(module_name) is None:
        return None
    group = getattr(importlib.import_module(module_name), attribute)
    assert isinstance(group, click.Group), f"{SCRIPTS['ordercmd']} is not a click group"
    return group


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {name: str(value) for name, value in env.items()}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_command_names_an_executable_in_its_image(name):
    service = SERVICES[name]
    known = executables(service)

    for argv in commands(service):
        assert argv[0] in known, f"service {name!r} runs {argv[0]!r}, not on PATH in its image"


def test_the_console_script_points_at_the_cli():
    assert SCRIPTS["ordercmd"] == "cli.main:cli"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_ordercmd_subcommands_exist_and_accept_their_options(name):
    group = ordercmd_group()
    if group is None:
        return  # the CLI is not written yet; the console-script test still holds
    for _, subcommand, *args in (a for a in commands(SERVICES[name]) if a[0] == "ordercmd"):
        context = click.Context(group, info_name="ordercmd")
        known = sorted(group.list_commands(context))
        command = group.get_command(context, subcommand)
        assert command is not None, (
            f"service {name!r} runs `ordercmd {subcommand}`, but the CLI has no such "
            f"subcommand (it has: {', '.join(known)})"
        )
        command.make_context(subcommand, list(args), parent=context)  # UsageError if wrong


def test_redis_persists_with_aof_and_never_evicts():
    argv = commands(SERVICES["redis"])[0]
    options = dict(zip(argv[1::2], argv[2::2], strict=True))

    assert argv[0] == "redis-server"
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "everysec"
    assert options["--maxmemory-policy"] == "noeviction"
    assert any(volume.endswith(":/data") for volume in SERVICES["redis"]["volumes"])
    assert set(COMPOSE["volumes"]) >= {v.split(":")[0] for v in SERVICES["redis"]["volumes"]}


def test_redis_has_a_healthcheck_and_is_not_published():
    redis = SERVICES["redis"]

    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "ports" not in redis


@pytest.mark.parametrize("name", ["worker"])
def test_app_services_wait_for_a_healthy_redis_and_use_it(name):
    service = SERVICES[name]

    assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert environment(service)["ORDERCMD_REDIS_URL"] == "redis://redis:6379/0"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_no_secret_is_written_inline(name):
    for variable, value in environment(SERVICES[name]).items():
        if SECRET_NAME.search(variable):
            assert INTERPOLATED.match(value), f"{name}: {variable} is set inline"
        password = re.search(r"://[^/@:]*:([^@/]+)@", value)
        assert password is None or INTERPOLATED.match(password.group(1)), (
            f"{name}: {variable} has a password inline"
        )
