"""`citycard-reader`: what a partner venue's reader terminal runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cardio.cbor import MAX_INPUT
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
