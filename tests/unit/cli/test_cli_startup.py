"""``ordercmd`` starts light: a subcommand's module, and the web stack or Celery, load on use."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from cli.main import SUBCOMMANDS, cli
from tests.builders import invoke_cli
from tests.integration.harness import ROOT

HEAVY = ("fastapi", "uvicorn", "starlette", "celery", "web", "sandbox")


def loaded_after(*args: str) -> list[str]:
    """Top-level packages in ``HEAVY`` that a fresh ``ordercmd ARGS`` imported."""
    code = (
        "import sys\nfrom cli.main import cli\n"
        "try:\n    cli(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "import json\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    process = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return list(json.loads(process.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args", [("submit", "--help"), ("submit", "cancel", "--help"), ("serve", "--help")]
)
def test_help_of_a_command_loads_no_web_stack_and_no_celery(args):
    assert loaded_after(*args) == []


def test_the_group_help_lists_every_command_with_its_summary():
    result = invoke_cli("--help")

    assert result.exit_code == 0, result.output
    rows = result.stdout.split("Commands:")[1].strip().splitlines()
    assert [row.split()[0] for row in rows] == sorted(SUBCOMMANDS)
    assert "Serve the HTTP intake, the operator API and the dashboard." in result.stdout


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_listed_command_resolves_under_its_name(name):
    context = click.Context(cli)

    command = cli.get_command(context, name)

    assert isinstance(command, click.Command)
    assert cli.get_command(context, name) is command


def test_an_unknown_command_is_refused_with_usage():
    result = invoke_cli("submt")

    assert result.exit_code == 2
    assert "No such command 'submt'" in result.stderr
