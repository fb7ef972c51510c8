"""Desk logins from the command line: the first admin, and passwords when no admin is at hand.

    python -m api.issuer.desk.admin_cli admin --dir DIR STAFF_ID [--off]
    python -m api.issuer.desk.admin_cli password --dir DIR STAFF_ID      (asks twice)

`desk` is a click group; `citycard-api` can take it as a subcommand with one
`main.add_command(desk)`.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from cardio.cli_support import friendly_errors

from ..accounts import CLI
from ..cli_published import DIR_OPTION
from ..service import Issuer


@click.group()
def desk() -> None:
    """Service desk logins of staff accounts (docs/service-desk.md)."""


@desk.command("admin")
@DIR_OPTION
@click.argument("staff_id")
@click.option("--off", is_flag=True, help="Make the account plain desk staff again.")
@friendly_errors
def admin(directory: Path, staff_id: str, off: bool) -> None:
    """Make staff account STAFF_ID a desk admin (it then manages accounts at /desk/accounts)."""
    issuer = Issuer(directory)
    try:
        issuer.accounts.set_role(staff_id, not off, int(time.time()), CLI)
    finally:
        issuer.close()
    click.echo(f"Staff account {staff_id!r} is now desk {'staff' if off else 'admin'}.")


@desk.command("password")
@DIR_OPTION
@click.argument("staff_id")
@click.password_option("--password", prompt="Desk password", help="Asked for when not given.")
@friendly_errors
def password(directory: Path, staff_id: str, password: str) -> None:
    """Set the desk password of staff account STAFF_ID (its open sessions end)."""
    issuer = Issuer(directory)
    try:
        issuer.accounts.set_password(staff_id, password, int(time.time()), CLI)
    finally:
        issuer.close()
    click.echo(f"Staff account {staff_id!r} has a new desk password.")


if __name__ == "__main__":
    desk()
