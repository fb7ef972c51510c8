"""`citycard-reader`: what a partner venue's reader terminal runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cardio.cbor import MAX_INPUT
from cardio.connection import Connection
from cardio.published import load_verifier
from cardio.verdict import VerificationResult

from .cli_support import echo_json, friendly_errors


@click.group()
@click.version_option(package_name="citycard")
def main() -> None:
    """Verify citycards offline against the city's pinned trust list."""


def _show(res: VerificationResult, problems: list[str], as_json: bool) -> None:
    if as_json:
        out = res.to_json()
        out["problems"] = problems
        echo_json(out)
    else:
        for p in problems:
            click.echo(f"Warning: {p}", err=True)
        click.echo(f"{res.verdict.name}: {res.message}")
        for w in res.warnings:
            click.echo(f"Warning: {w}")
        if res.claims:
            for key in (
                "document_number",
                "family_name",
                "given_name",
                "birth_date",
                "expires",
                "entitlements",
            ):
                value = res.claims.get(key)
                if value:
                    click.echo(
                        f"  {key.replace('_', ' ')}: {', '.join(value) if isinstance(value, list) else value}"
                    )
    sys.exit(0 if res.valid else 1)


@main.command()
@click.option(
    "--trust",
    "trust_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Published files (trust list, status lists, root key) or an issuer directory.",
)
@click.option(
    "--root-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The pinned root public key (default: root-key.pem in the trust directory).",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the last good trust list here and refuse older ones.",
)
@click.option("--qr", "qr_text", help="The text of a scanned QR code (CC1:...).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.argument("cred_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@friendly_errors
def verify(
    trust_dir: Path,
    root_key: Path | None,
    cache: Path | None,
    qr_text: str | None,
    as_json: bool,
    cred_file: Path | None,
) -> None:
    """Verify CRED_FILE (credential bytes) or --qr TEXT. Exit status 0 only for VALID."""
    if (cred_file is None) == (qr_text is None):
        raise click.UsageError("Give either a credential file or --qr TEXT, not both.")
    pinned = None
    if root_key is not None:
        from cardio.keys import load_public_pem

        pinned = load_public_pem(root_key.read_bytes())
    verifier, problems = load_verifier(trust_dir, pinned, cache=cache)
    if qr_text is not None:
        res = verifier.verify_qr(qr_text)
    else:
        assert cred_file is not None
        with cred_file.open("rb") as fh:  # read no more than the verifier would look at
            res = verifier.verify(fh.read(MAX_INPUT + 1))
    _show(res, problems, as_json)


@main.command()
@click.option(
    "--reader", "reader_name", help="PC/SC reader name (or part of it); default: any reader."
)
@click.option(
    "--nfc",
    "nfc_path",
    help="nfcpy device path instead of PC/SC, e.g. usb:, tty:USB0:pn532, udp:localhost:54321.",
)
@click.option(
    "--trust",
    "trust_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Published files (trust list, status lists, root key) or an issuer directory.",
)
@click.option(
    "--root-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The pinned root public key (default: root-key.pem in the trust directory).",
)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for a card.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def read(
    reader_name: str | None,
    nfc_path: str | None,
    trust_dir: Path,
    root_key: Path | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Wait for a card, read its chip and verify it offline. Exit status 0 only for VALID."""
    from cardio.chip import read_card

    if reader_name and nfc_path:
        raise click.UsageError("Give either --reader or --nfc, not both.")
    pinned = None
    if root_key is not None:
        from cardio.keys import load_public_pem

        pinned = load_public_pem(root_key.read_bytes())
    verifier, problems = load_verifier(trust_dir, pinned)
    if not as_json:
        click.echo("Present the card to the reader...", err=True)
    if nfc_path:
        from cardio.nfc_backend import NfcConnection

        conn: Connection = NfcConnection.wait(nfc_path, timeout=timeout)
    else:
        from cardio.pcsc import PcscConnection

        conn = PcscConnection.wait(reader_name, timeout=timeout)
    with conn:
        outcome = read_card(conn, verifier)
    _show(outcome.result, problems, as_json)
