"""`citycard-reader`: what a partner venue's reader terminal runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

from cardio.cbor import MAX_INPUT
from cardio.cli_support import echo_json, friendly_errors, stop_signals
from cardio.connection import Connection
from cardio.errors import TrustListError
from cardio.files import FileWriteError
from cardio.presentation import wallet_verdict
from cardio.published import load_verifier, read_root_key
from cardio.terminal_config import FEEDBACK_MODES
from cardio.verdict import VerificationResult

from .inputs import bytes_verdict, scanned_qr_text

SERVE_THREADS = 8  # = server.DEFAULT_THREADS; `verify` and `read` do not import the web server


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


TRUST_OPTION = click.option(
    "--trust",
    "trust_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Published files (trust list, status lists, root key) or an issuer directory.",
)
ROOT_KEY_OPTION = click.option(
    "--root-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The pinned root public key (default: root-key.pem in the trust directory).",
)


def _pinned(root_key: Path | None) -> EllipticCurvePublicKey | None:
    """The root key pinned on the command line, if any (else the trust directory's)."""
    if root_key is None:
        return None
    try:
        return read_root_key(root_key)  # bounded: a PEM public key, not /dev/urandom
    except FileNotFoundError as exc:
        raise TrustListError(
            f"There is no root key file {root_key}; check the path given to --root-key."
        ) from exc


@main.command()
@TRUST_OPTION
@ROOT_KEY_OPTION
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the last good trust list here and refuse older ones.",
)
@click.option("--qr", "qr_text", help="The text of a scanned QR code (CC1:...).")
@click.option("--request", "request_qr", help="The venue request (CCQ1:...) a wallet presentation answers.")
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
    request_qr: str | None = None,
) -> None:
    """Verify CRED_FILE or --qr TEXT. Exit status 0 only for VALID.

    CRED_FILE holds the credential's bytes, or a chip's NDEF message (the kiosk demo's
    chip.ndef), or the text of a printed QR code (the kiosk demo's qr.txt), or a wallet
    credential or presentation (SD-JWT VC, mdoc; docs/credential.md sections 7-9), bound to
    --request when given. A chip credential checked from a file gets the verdict of its signature and
    claims, with a warning that its chip binding was not checked (read the card for that).
    """
    if cred_file is None and qr_text is None:
        raise click.UsageError("Give a credential file or --qr TEXT to verify.")
    if cred_file is not None and qr_text is not None:
        raise click.UsageError("Give either a credential file or --qr TEXT, not both.")
    try:
        verifier, problems = load_verifier(trust_dir, _pinned(root_key), cache=cache)
    except FileWriteError as exc:  # only the cache is written
        raise FileWriteError(exc.path, exc, "give --cache a directory you can write to") from exc
    if qr_text is not None:
        text = scanned_qr_text(qr_text)
        res = wallet_verdict(verifier, text, request_qr) or verifier.verify_qr(text)
    else:
        assert cred_file is not None
        # Read no more than the verifier would look at: a credential, or one NDEF record
        # around it (a header of at most 34 bytes). Anything longer is MALFORMED either way.
        with cred_file.open("rb") as fh:
            data = fh.read(MAX_INPUT + 64)
        res = bytes_verdict(verifier, data, request_qr)  # as POST /verify reads bytes
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
@TRUST_OPTION
@ROOT_KEY_OPTION
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
    help="Seconds to wait for a card.",
)
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
    verifier, problems = load_verifier(trust_dir, _pinned(root_key))
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


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TERMINAL.toml: the same settings as the flags below (flags win).",
)
@click.option(
    "--trust",
    "trust_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the pinned root key and the last good lists are kept.",
)
@click.option("--api", "api_url", help="The city API's base URL, to refresh the lists.")
@click.option("--venue", help="Venue profile: a name under venues/ (library, pool, museum, event) or a .toml path.")
@click.option("--reader", "reader_name", help="PC/SC reader name (or part of it); default: any reader.")
@click.option("--nfc", "nfc_path", help="nfcpy device path instead of PC/SC, e.g. usb:, tty:USB0:pn532.")
@click.option("--no-reader", is_flag=True, default=None, help="No card reader: QR checks over POST /verify only.")
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8470).")
@click.option("--root-key", type=click.Path(dir_okay=False, path_type=Path), help="The pinned root public key (default: root-key.pem in --trust).")
@click.option("--root-fingerprint", help="SHA-256 fingerprint the root key must have (fetched from --api once when missing).")
@click.option("--feedback", type=click.Choice(FEEDBACK_MODES), help="ACR122U LED and buzzer feedback (default auto).")
@click.option("--buzzer/--no-buzzer", default=None, help="Beep on a verdict (default on; --no-buzzer: lights only).")
@click.option("--led/--no-led", default=None, help="Light the reader's LEDs (default on; --no-led: beeps only).")
@click.option("--poll-interval", type=float, help="Seconds between reader polls for a card, 0.05 to 5 (default 0.2).")
@click.option("--sync-interval", type=click.FloatRange(min=0.2), help="Seconds between checks of the city's lists (default 15; a check that finds nothing new costs a 304).")
@click.option("--threads", default=SERVE_THREADS, show_default=True, type=click.IntRange(min=2), help="Web server threads; open staff screens may hold at most half of them, the rest answer /verify and /health.")
@click.option("--debug", is_flag=True, help="Log debugging details (never card data).")
@friendly_errors
def serve(
    config_path: Path | None,
    trust_dir: Path | None,
    api_url: str | None,
    venue: str | None,
    reader_name: str | None,
    nfc_path: str | None,
    no_reader: bool | None,
    host: str | None,
    port: int | None,
    root_key: Path | None,
    root_fingerprint: str | None,
    feedback: str | None,
    buzzer: bool | None,
    led: bool | None,
    poll_interval: float | None,
    sync_interval: float | None,
    threads: int,
    debug: bool,
) -> None:
    """Run the reader terminal: reader loop, trust sync, staff screen and POST /verify."""
    import logging

    from cardio.serving import BackgroundServer
    from cardio.terminal_config import TerminalConfig, load_terminal_config

    from .routes import terminal_of
    from .server import create_terminal_app

    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    overrides: dict[str, Any] = {
        "trust": trust_dir,
        "api": api_url,
        "venue": venue,
        "reader": reader_name,
        "nfc": nfc_path,
        "no_reader": no_reader,
        "host": host,
        "port": port,
        "root_key": root_key,
        "root_fingerprint": root_fingerprint,
        "feedback": feedback,
        "buzzer": buzzer,
        "led": led,
        "poll_interval": poll_interval,
        "sync_interval": sync_interval,
    }
    if config_path is not None:
        config = load_terminal_config(config_path, **overrides)
    else:
        if trust_dir is None:
            raise click.UsageError("Give --config TERMINAL.toml or at least --trust DIR.")
        config = TerminalConfig(**{k: v for k, v in overrides.items() if v is not None})
    app = create_terminal_app(config, threads=threads)
    terminal = terminal_of(app)
    server = BackgroundServer(app, config.host, config.port, threads=threads, ident="citycard-reader")
    with stop_signals() as stopped:  # the reader loop's and trust sync's threads hold them back
        terminal.start()
        click.echo(
            f"citycard reader terminal for {terminal.venue.title}: staff screen at {server.url} "
            "(Ctrl-C stops it)",
            err=True,
        )
        try:
            server.serve_until(stopped)
        finally:
            terminal.stop()


if __name__ == "__main__":  # python -m api.terminal.cli
    main()
