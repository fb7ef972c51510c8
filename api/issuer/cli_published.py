"""`citycard-api trust show` and `citycard-api status set`: what readers are told.

Both work on any host of an issuer served by several: `trust show` reads the files every host
serves (the registry's) when this host's DIR/public holds none, and `status set` says who will
publish the change (a running publisher, or `citycard-api publish`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric import ec

from cardio.cli_support import echo_json, friendly_errors
from cardio.keys import fingerprint, kid_for, load_public_pem, public_pem
from cardio.published import ROOT_KEY_FILE, TRUST_LIST_FILE, load_root_key, load_trust_list
from cardio.trustlist import TrustList, parse_trust_list

from .card_status import set_current_card_status
from .config import CONFIG_FILE
from .registry import publication_queries
from .registry.publisher_lock import PublisherLock
from .service import STATUS_NAMES, Issuer, IssuerError

DIR_OPTION = click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The issuer directory.",
)


def iso_utc(ts: int) -> str:
    """A Unix time as the CLI prints it: ISO 8601 in UTC, with Z (`trust show`, `kiosk retire`)."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@click.group()
def trust() -> None:
    """Inspect the trust list."""


def _published(directory: Path) -> tuple[ec.EllipticCurvePublicKey, TrustList]:
    """The root key and trust list of `directory`: its published files, or, for an issuer
    directory whose public/ has none (a host that has never published: another one does),
    the ones in the registry, which every host serves."""
    issuer_dir = (directory / CONFIG_FILE).is_file()
    if not issuer_dir or (directory / "public" / ROOT_KEY_FILE).is_file():
        root = load_root_key(directory)
        return root, load_trust_list(directory, root)
    issuer = Issuer(directory)
    try:
        with issuer.registry.read() as s:
            rows = [publication_queries.stored_file(s, n) for n in (ROOT_KEY_FILE, TRUST_LIST_FILE)]
    finally:
        issuer.close()
    if rows[0] is None or rows[1] is None:
        raise IssuerError(
            f"Nothing has been published for the issuer in {directory} yet; start "
            f"'citycard-api serve' (its publisher publishes), or run 'citycard-api publish "
            f"--dir {directory}' if no host serves yet."
        )
    root = load_public_pem(bytes(rows[0].body))  # signed by this issuer: as in DIR/public
    return root, parse_trust_list(bytes(rows[1].body), root)


@trust.command("show")
@DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def trust_show(directory: Path, as_json: bool) -> None:
    """List the keys in the published trust list (issuer or published directory)."""
    root, tl = _published(directory)
    data: dict[str, Any] = {
        "issuer": tl.issuer,
        "version": tl.version,
        "issued_at": iso_utc(tl.issued_at),
        "root": {
            "kid": kid_for(root).hex(),
            "fingerprint": fingerprint(root),
            "public_key": public_pem(root),
        },
        "keys": [
            {
                "kid": k.kid.hex(),
                "label": k.label,
                "purpose": k.purpose.value,
                "public_key": public_pem(k.public_key),
                "not_before": iso_utc(k.not_before),
                "not_after": iso_utc(k.not_after),
                "state": k.state.value,
            }
            for k in tl.keys
        ],
        "status_lists": list(tl.status_lists),
    }
    if as_json:
        echo_json(data)
        return
    click.echo(f"Trust list of {tl.issuer}, version {tl.version}, signed {data['issued_at']}")
    click.echo(f"Root key {data['root']['kid']}  fingerprint {data['root']['fingerprint']}")
    for k in data["keys"]:
        click.echo(
            f"  {k['kid']}  {k['label']:<12} {k['purpose']:<7} {k['state']:<8} {k['not_before']} .. {k['not_after']}"
        )
    for uri in tl.status_lists:
        click.echo(f"  status list {uri}")


@click.group()
def status() -> None:
    """Change a card's status (a running publisher tells readers)."""


def _publisher_running(issuer: Issuer) -> bool:
    """True when another process holds the publisher lock (a `serve` with its publisher, or
    `publish --watch`): it publishes each change within seconds. Taken and let go at once
    when free."""
    lock = PublisherLock(issuer.registry)
    if lock.acquire():
        lock.release()
        return False
    return True


@status.command("set")
@DIR_OPTION
@click.argument("card", metavar="CARD")
@click.argument("value", type=click.Choice(sorted(STATUS_NAMES)))
@click.option(
    "--list",
    "list_id",
    help="With an index as CARD: its status list id (default: the current list).",
)
@friendly_errors
def status_set(directory: Path, card: str, value: str, list_id: str | None) -> None:
    """Set a card's status to valid, revoked or suspended.

    CARD is a document number (as printed; its current card: the newest one made for it) or
    the card's index in a status list (digits only).
    """
    issuer = Issuer(directory)
    try:
        typed = re.sub(r"\s+", "", card).upper()
        if not typed:
            raise IssuerError("Give the card's document number as printed, or its status index.")
        if typed.isascii() and typed.isdigit() and len(typed) <= 9:
            number, changed = issuer.cards.set_status_at(int(typed), value, list_id)
        else:
            if list_id is not None:
                raise IssuerError("--list goes with a status index, not with a document number.")
            info, changed = set_current_card_status(issuer.cards, typed, value, "cli", None)
            number = info.document_number
        if not changed:  # nothing new to tell readers
            click.echo(f"Card {number} was {value} already; nothing changed.")
            return
        if _publisher_running(issuer):
            click.echo(
                f"Card {number} is now {value}; the running publisher ('citycard-api serve' or "
                "'publish --watch') publishes it within seconds."
            )
        else:
            click.echo(
                f"Card {number} is now {value}; no publisher is running: run 'citycard-api "
                f"publish --dir {directory}' (or start 'citycard-api serve') to tell readers."
            )
    finally:
        issuer.close()
