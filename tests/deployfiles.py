"""The deployment files read as data: the Dockerfile, docker-compose.yml, and what runs in them."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SCRIPTS: dict[str, str] = PYPROJECT["scripts"]
IMAGE_EXTRAS = ("flower",)  # what the Dockerfile installs beside the runtime dependencies
OFFICIAL_IMAGE_EXECUTABLES = {  # what the official images ship on PATH
    "redis": {"redis-server", "redis-cli", "sh"},
    "rabbitmq": {"rabbitmq-server", "rabbitmq-diagnostics", "rabbitmqctl", "sh"},
}


@dataclass
class Stage:
    """One ``FROM`` stage of a Dockerfile: its base, name and instructions in order."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def last(self, instruction: str) -> str | None:
        """The arguments of the stage's last ``instruction`` (ENTRYPOINT, CMD...), if any."""
        found = [args for name, args in self.instructions if name == instruction]
        return found[-1] if found else None

    def all(self, instruction: str) -> list[str]:
        """The arguments of every ``instruction`` of the stage."""
        return [args for name, args in self.instructions if name == instruction]


def dockerfile_stages(path: Path = ROOT / "Dockerfile") -> list[Stage]:
    """The Dockerfile's stages, ``ARG`` defaults substituted into ``FROM``."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction, rest = instruction.upper(), rest.strip()
        if instruction == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif instruction == "FROM":
            base, _, name = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest).partition(
                " AS "
            )
            stages.append(Stage(base.strip(), name.strip() or None))
        else:
            stages[-1].instructions.append((instruction, rest))
    return stages


def exec_form(args: str) -> list[str]:
    """A JSON-array (exec form) instruction argument; fails on the shell form."""
    value = json.loads(args)
    assert isinstance(value, list), f"not in exec form: {args}"
    return [str(item) for item in value]


def healthcheck_argv(args: str) -> list[str]:
    """The command of a Dockerfile ``HEALTHCHECK [options] CMD [...]``."""
    _, _, command = args.partition("CMD ")
    return exec_form(command)


COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
IMAGE = dockerfile_stages()[-1]


def builds_ordercmd(service: dict[str, Any]) -> bool:
    """Whether the service runs the image this repository's Dockerfile builds."""
    return "build" in service


def service_argv(service: dict[str, Any]) -> list[str]:
    """What the container runs: its entrypoint (else the image's) followed by its command."""

    def argv(value: Any) -> list[str]:
        return shlex.split(value) if isinstance(value, str) else [str(a) for a in value]

    if builds_ordercmd(service):
        entrypoint = argv(service.get("entrypoint", exec_form(IMAGE.last("ENTRYPOINT") or "[]")))
        default_cmd = exec_form(IMAGE.last("CMD") or "[]")
        command = argv(service["command"]) if "command" in service else default_cmd
        return entrypoint + command
    return argv(service.get("entrypoint", [])) + argv(service.get("command", []))


def image_executables(service: dict[str, Any]) -> set[str]:
    """Programs on the service's image's PATH."""
    if not builds_ordercmd(service):
        return OFFICIAL_IMAGE_EXECUTABLES[service["image"].split(":")[0]]
    installed = {"python", "python3", "pip", *SCRIPTS}
    requirements = [Requirement(r) for r in PYPROJECT["dependencies"]]
    for extra in IMAGE_EXTRAS:
        requirements += [Requirement(r) for r in PYPROJECT["optional-dependencies"][extra]]
    for requirement in requirements:
        try:
            entry_points = importlib.metadata.distribution(requirement.name).entry_points
        except importlib.metadata.PackageNotFoundError:
            continue  # an extra not installed here: its scripts are not checked
        installed |= {ep.name for ep in entry_points if ep.group == "console_scripts"}
    return installed


def ordercmd_group() -> click.Group:
    """The CLI's click group, as the console script names it."""
    module_name, _, attribute = SCRIPTS["ordercmd"].partition(":")
    group = getattr(importlib.import_module(module_name), attribute)
    assert isinstance(group, click.Group), f"{SCRIPTS['ordercmd']} is not a click group"
    return group


def check_ordercmd_argv(argv: list[str]) -> None:
    """Parse ``ordercmd ARGS`` as the CLI would: an unknown subcommand or option fails."""
    command: click.Command = ordercmd_group()
    context = click.Context(command, info_name="ordercmd")
    args = list(argv[1:])
    while isinstance(command, click.Group):
        assert args, f"`{shlex.join(argv)}` names no subcommand"
        name, *args = args
        subcommand = command.get_command(context, name)
        known = ", ".join(command.list_commands(context))
        assert subcommand is not None, f"`{shlex.join(argv)}`: no subcommand {name!r} ({known})"
        command = subcommand
        context = click.Context(command, info_name=name, parent=context)
    command.make_context(context.info_name, args, parent=context.parent)  # UsageError if wrong


def environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's ``environment`` as a mapping."""
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {name: str(value) for name, value in env.items()}


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (anchored at the context's root) as a regular expression."""
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        else:
            char = pattern[i]
            regex += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
            i += 1
    return re.compile(regex)


def reaches_the_build(path: str) -> bool:
    """Whether .dockerignore lets ``path`` into the build context (the last matching rule wins).

    A rule that matches a directory matches everything under it, as Docker's does.
    """
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    included = True
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        rule = line.strip()
        if not rule or rule.startswith("#"):
            continue
        regex = _ignore_regex(rule.removeprefix("!").strip("/"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            included = rule.startswith("!")
    return included
