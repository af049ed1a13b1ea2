"""``ordercmd hash-secret``: the argon2 hash of a password or API key, for the settings."""

from __future__ import annotations

import secrets as tokens
import sys

import click
from argon2 import PasswordHasher

HELP = """Print the argon2 hash of a secret, for web.producers.<name>.key_hash or an operator's
password_hash / token_hash.

The secret is asked for with hidden input, or read from standard input (first line) when that
is not a terminal or with --stdin. --generate makes a new random API key, prints it once to
standard error, and its hash to standard output.
"""


@click.command("hash-secret", help=HELP)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the secret from standard input.")
@click.option("--generate", is_flag=True, help="Make a new random API key and hash it.")
def hash_secret(from_stdin: bool, generate: bool) -> None:
    """Print the argon2 hash of a secret."""
    stdin = sys.stdin
    if generate:
        secret = tokens.token_urlsafe(32)
        click.echo(f"new key (shown once): {secret}", err=True)
    elif from_stdin or not stdin.isatty():
        secret = stdin.readline().rstrip("\r\n")
    else:
        secret = click.prompt("Secret", hide_input=True, confirmation_prompt=True)
    if not secret:
        raise click.UsageError("the secret is empty")
    click.echo(PasswordHasher().hash(secret))
