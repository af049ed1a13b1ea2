"""``ordercmd hash-secret``: the stored form of a password, API token or producer key."""

from __future__ import annotations

import sys

import click
from argon2 import PasswordHasher

from config.web import KEY, new_key, stored_form

HELP = """Print what the settings hold for a secret: for an API key or token (oc_<key id>_<secret>)
its public key id then its argon2 hash, for web.producers.<name>.key_hash or an operator's
token_hash; for a password its argon2 hash, for an operator's password_hash.

The secret is asked for with hidden input, or read from standard input (first line) when that
is not a terminal or with --stdin. --generate makes a new random key, prints it once to
standard error, and its stored form to standard output.
"""


@click.command("hash-secret", help=HELP)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the secret from standard input.")
@click.option("--generate", is_flag=True, help="Make a new random API key and hash it.")
def hash_secret(from_stdin: bool, generate: bool) -> None:
    """Print the stored form of a secret."""
    stdin = sys.stdin
    if generate:
        secret = new_key()
        click.echo(f"new key (shown once): {secret}", err=True)
    elif from_stdin or not stdin.isatty():
        secret = stdin.readline().rstrip("\r\n")
    else:
        secret = click.prompt("Secret", hide_input=True, confirmation_prompt=True)
    if not secret:
        raise click.UsageError("the secret is empty")
    hashed = PasswordHasher().hash(secret)
    click.echo(stored_form(secret, hashed) if KEY.fullmatch(secret) else hashed)
