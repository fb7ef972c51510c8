"""`citycard-api`: run a city issuer from the command line."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cardio.cli_support import echo_json, friendly_errors, stop_signals
from cardio.credential import ChipBinding, Variant, to_qr
from cardio.errors import CitycardError, MalformedError
from cardio.files import write_atomic
from cardio.keys import fingerprint, load_public_pem
from cardio.published import STATUS_DIR
from cardio.resident import load_resident
from cardio.venues import PROGRAMS_DIR

from .cli_published import DIR_OPTION, iso_utc, status, trust
from .config import settings_problem
from .errors import permission_fix
from .publisher import PUBLIC_DIR
from .registry import Registry
from .service import PIN_ENV, Issuer, IssuerError

if TYPE_CHECKING:
    from .server import ServerConfig

DEV_PROGRAM = "demo"
"""The development programme: no profile in programs/, but every sample and test card uses it."""


def _known_programmes() -> list[str]:
    """The programme ids a new issuer may name: the profiles in programs/, and the demo."""
    return sorted({DEV_PROGRAM, *(p.stem for p in PROGRAMS_DIR.glob("*.toml"))})


def _check_writable(path: Path, option: str) -> None:
    """Refuse an output file that cannot be written before anything is made: a card or kiosk
    made for a file that then fails stays live, and a kiosk credential shown once is lost."""
    if path.is_dir():
        raise IssuerError(f"{path} is a directory; give a file name for {option}.")
    if not path.parent.is_dir():
        why = "is not a directory" if path.parent.exists() else "does not exist"
        raise IssuerError(
            f"{path} cannot be written: {path.parent} {why}; create that directory or give "
            f"{option} another place."
        )
    try:
        if path.exists():  # opened, not truncated; non-blocking, as a FIFO without a reader
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        else:  # a file made and removed again where the real one will go
            fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise IssuerError(
            f"{path} cannot be written ({exc.strerror or exc}); give {option} a file in a "
            "directory you may write to."
        ) from exc


@click.group()
@click.version_option(package_name="citycard")
def main() -> None:
    """The city's citycard issuer: keys, cards, revocation, published files."""


main.add_command(trust)
main.add_command(status)


@main.command()
@DIR_OPTION
@click.option(
    "--issuer", "issuer_id", default="demo-city", show_default=True, help="Issuer id (iss)."
)
@click.option(
    "--base-url", default="https://cc.example", show_default=True, help="Where files are published."
)
@click.option("--program", default="demo", show_default=True, help="Default programme id.")
@click.option("--doc-prefix", default="DEV", show_default=True, help="Document number prefix.")
@click.option(
    "--pkcs11-module", type=click.Path(dir_okay=False), help="Keep keys in this PKCS#11 module."
)
@click.option("--pkcs11-token", help=f"Token label in the PKCS#11 module (PIN from ${PIN_ENV}).")
@friendly_errors
def init(
    directory: Path,
    issuer_id: str,
    base_url: str,
    program: str,
    doc_prefix: str,
    pkcs11_module: str | None,
    pkcs11_token: str | None,
) -> None:
    """Create a development issuer: root key, one kiosk key, a status key, published files."""
    pkcs11 = None
    if pkcs11_module or pkcs11_token:
        if not (pkcs11_module and pkcs11_token):
            raise click.UsageError("Give both --pkcs11-module and --pkcs11-token.")
        pkcs11 = {"module": pkcs11_module, "token": pkcs11_token}
    doc_prefix = doc_prefix.upper()
    problem = settings_problem(issuer_id, base_url.rstrip("/"), program, doc_prefix)
    if problem is not None:
        raise IssuerError(problem)
    known = _known_programmes()
    if program not in known:
        raise IssuerError(
            f"There is no programme {program!r} (--program); use one of {', '.join(known)}."
        )
    issuer = Issuer.init(directory, issuer_id, base_url, program, doc_prefix, pkcs11)
    root = issuer.keystore.signer("root").public_key
    click.echo(f"Issuer {issuer_id!r} created in {directory}.")
    click.echo(f"Root key fingerprint (SHA-256): {fingerprint(root)}")
    click.echo(f"Published files: {directory / 'public'}")
    issuer.close()


@main.command()
@DIR_OPTION
@click.option(
    "--resident",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="RESIDENT.json",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the credential.",
)
@click.option("--variant", type=click.Choice(["print", "chip"]), default="print", show_default=True)
@click.option("--chip-uid", help="Chip UID (hex) to bind a chip credential to.")
@click.option(
    "--kiosk", "kiosk_label", default="kiosk-1", show_default=True, help="Kiosk key label."
)
@click.option(
    "--print-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the same card's print credential here (with --variant chip).",
)
@click.option("--qr", is_flag=True, help="Also print the QR text (print credential).")
@friendly_errors
def issue(
    directory: Path,
    resident: Path,
    out: Path,
    variant: str,
    chip_uid: str | None,
    kiosk_label: str,
    print_out: Path | None,
    qr: bool,
) -> None:
    """Sign a credential for the resident in RESIDENT.json."""
    if variant != "chip":  # silently dropped, they would leave a card without its chip binding
        for given, option in ((chip_uid, "--chip-uid"), (print_out, "--print-out")):
            if given is not None:
                raise click.UsageError(
                    f"{option} goes with --variant chip; add --variant chip, or drop {option}."
                )
    issuer = Issuer(directory)
    _check_writable(out, "--out")
    if print_out is not None:
        _check_writable(print_out, "--print-out")
    holder, expires = load_resident(resident, issuer.config["program"])
    known = _known_programmes()
    if holder.program not in known:  # a card of a programme no venue or kiosk knows
        raise IssuerError(
            f"{resident}: there is no programme {holder.program!r} ('program'); use one of "
            f"{', '.join(known)}, or leave it out for the issuer's own."
        )
    binding = None
    if variant == "chip":
        if not chip_uid:
            raise click.UsageError("A chip credential needs --chip-uid (the chip's UID in hex).")
        try:
            binding = ChipBinding(uid=bytes.fromhex(chip_uid))
        except ValueError as exc:
            raise click.UsageError("--chip-uid must be hexadecimal, e.g. 04A1B2C3D4E5F6.") from exc
        except MalformedError as exc:
            raise click.UsageError(str(exc)) from exc
    elif holder.photo is not None:
        click.echo("Note: the photo is printed on the card, not in the print credential.", err=True)
    issued = issuer.issue(holder, expires, binding, kiosk_label)
    data = issued.chip_cose if variant == "chip" and issued.chip_cose else issued.print_cose
    cred = issued.credential
    try:
        out.write_bytes(data)
        if print_out is not None:
            print_out.write_bytes(issued.print_cose)
    except OSError as exc:  # checked above, so rare (a full disk): the card exists regardless
        number = cred.document_number
        raise IssuerError(
            f"{exc.filename or out} could not be written ({exc.strerror or exc}) after card "
            f"{number} was issued; revoke it with 'citycard-api status set --dir {directory} "
            f"{number} revoked' and issue again."
        ) from exc
    click.echo(f"Document number: {cred.document_number}")
    click.echo(f"Status index: {issued.status_index} (list {issued.status_list})")
    click.echo(
        f"Wrote {Variant[variant.upper()].name.lower()} credential, {len(data)} bytes, to {out}"
    )
    if qr:
        click.echo(to_qr(issued.print_cose))
    issuer.close()


@main.command()
@DIR_OPTION
@click.option(
    "--watch",
    is_flag=True,
    help="Keep running: publish each status change within a second (when no other publisher "
    "holds the lock, else wait to take over).",
)
@friendly_errors
def publish(directory: Path, watch: bool) -> None:
    """Sign and write the trust list and status lists for readers."""
    issuer = Issuer(directory)
    if watch:
        _publish_watch(directory, issuer)
        return
    pub = issuer.publish()
    click.echo(
        f"Published trust list version {issuer.config['trust_list_version']} and "
        f"{len(issuer.config['status_lists'])} status list(s) to {pub}"
    )
    issuer.close()


def _publish_watch(directory: Path, issuer: Issuer) -> None:
    from .publishing import PublisherWorker
    from .server import load_config

    config = load_config(directory)
    _check_public_dir(config)
    worker = PublisherWorker(issuer, config.status_refresh)
    with stop_signals() as stopped:  # before the worker's thread starts: it inherits the mask
        worker.start()
        click.echo(f"Publishing for {issuer.config['issuer']} from {issuer.dir} (Ctrl-C to stop).")
        sys.stdout.flush()
        try:
            while worker.running and not stopped(0.5):
                pass
        finally:
            worker.stop()
            issuer.close()
    click.echo("Stopped.")


class _Stderr(logging.Handler):
    """The bare message on whatever sys.stderr is when it is written (as Python's own
    last-resort handler does), so the lines look as they did before INFO was shown."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed: nothing to tell
            pass


def _log_to_stderr() -> None:
    """`serve`'s log: the issuer's lines from INFO up, so that the publisher's lock taken and
    given up are seen (which host publishes); Python alone shows WARNING and up."""
    logger = logging.getLogger("citycard")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        logger.addHandler(_Stderr())
    logger.setLevel(min(logger.getEffectiveLevel(), logging.INFO))


def _check_public_dir(config: ServerConfig) -> None:
    """Refuse to start a publisher that could not write DIR/public and DIR/public/status: it
    writes there before the registry, so a failing write would hold every status change back
    from readers, the API's too (retried, and logged, for as long as it runs)."""
    if not config.publisher:  # a host that never publishes never writes there
        return
    public = config.directory / PUBLIC_DIR
    for path in (public, public / STATUS_DIR):
        where = path if path.exists() else path.parent  # a missing one is made in its parent
        if not where.exists():
            continue  # its parent is checked first, and made when it is
        try:
            if not where.is_dir():
                raise NotADirectoryError(20, "Not a directory", str(where))
            fd, probe = tempfile.mkstemp(dir=where, prefix=".citycard-probe.")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise IssuerError(
                f"{path} cannot be written ({exc.strerror or exc}), and the publisher keeps the "
                f"published files there; {permission_fix(where, 'write to')[:-1]}, or set "
                "[server] publisher = false in server.toml on this host."
            ) from exc


def _pem_option(path: Path | None, what: str) -> Any:
    if path is None:
        return None
    try:
        return load_public_pem(path.read_bytes())
    except CitycardError as exc:
        raise IssuerError(f"{path}: {exc}") from exc


@main.command()
@DIR_OPTION
@click.option(
    "--host", default=None, help="Address to listen on (default 127.0.0.1, or server.toml)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port (default 8080; 0 picks a free one).",
)
@click.option(
    "--threads", type=click.IntRange(1, 256), default=None, help="Worker threads (default 8)."
)
@friendly_errors
def serve(directory: Path, host: str | None, port: int | None, threads: int | None) -> None:
    """Run the issuer API (waitress) for the issuer in DIR until Ctrl-C or SIGTERM."""
    from cardio.serving import BackgroundServer, ListenError

    from .server import create_app, load_config
    from .web import EXTENSION

    config = load_config(directory, host=host, port=port, threads=threads)
    _check_public_dir(config)
    _log_to_stderr()  # before the app: its publisher may take the lock at once
    # Pages hosted beside the API (the phone pages) are composed in by api/cli.py.
    root = click.get_current_context().find_root()
    pages = (root.obj or {}).get("pages", ())
    app = create_app(config, pages=pages)
    issuer = app.extensions[EXTENSION].issuer
    try:
        server = BackgroundServer(
            app,
            config.host,
            config.port,
            proxy_hops=config.proxy_hops,  # else waitress drops X-Forwarded-* before ProxyFix
            threads=config.threads,
            ident="citycard",
        )
    except ListenError:
        issuer.close()
        raise
    with stop_signals() as stopped:
        click.echo(
            f"Serving the citycard API of {issuer.config['issuer']} on {server.url} (Ctrl-C to stop)."
        )
        sys.stdout.flush()
        try:
            server.serve_until(stopped)
        finally:
            issuer.close()  # the publisher finishes what it signs and gives its lock up
    click.echo("Stopped.")


@main.group()
def kiosk() -> None:
    """Kiosk accounts: signing key in the trust list, API key for the kiosk endpoints."""


@kiosk.command("add")
@DIR_OPTION
@click.argument("kiosk_id")
@click.option(
    "--api-key",
    "api_key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The kiosk's own API public key (PEM); without it a key pair is made and shown once.",
)
@click.option(
    "--signing-key",
    "signing_key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The kiosk's own credential-signing public key (PEM, e.g. from its HSM).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the kiosk credential to this file (mode 0600) instead of printing it.",
)
@friendly_errors
def kiosk_add(
    directory: Path, kiosk_id: str, api_key: Path | None, signing_key: Path | None, out: Path | None
) -> None:
    """Register kiosk KIOSK_ID, publish the trust list with its key, print its credential once."""
    issuer = Issuer(directory)
    if out is not None and out.exists():
        raise IssuerError(f"{out} already exists; choose a new file for the credential.")
    if out is not None:
        _check_writable(out, "--out")
    account, credential = issuer.add_kiosk(
        kiosk_id, _pem_option(api_key, "API key"), _pem_option(signing_key, "signing key")
    )
    click.echo(
        f"Kiosk {account.kiosk_id!r} added: signing key {account.kid} is in trust list "
        f"version {issuer.config['trust_list_version']} (published)."
    )
    click.echo(f"API key fingerprint (SHA-256): {account.auth_key_fingerprint}")
    if credential is not None:
        if out is not None:
            try:
                write_atomic(out, (credential.to_json() + "\n").encode("ascii"), 0o600)
            except OSError as exc:  # checked above, so rare: the kiosk is registered already
                click.echo(
                    "Kiosk credential (shown only this once; store it on the kiosk, mode 0600):"
                )
                click.echo(credential.to_json())
                raise IssuerError(
                    f"{out} could not be written ({exc.strerror or exc}); store the kiosk "
                    "credential printed above on the kiosk instead."
                ) from exc
            click.echo(
                f"Kiosk credential written to {out}; move it to the kiosk and delete it here."
            )
        else:
            click.echo("Kiosk credential (shown only this once; store it on the kiosk, mode 0600):")
            click.echo(credential.to_json())
    issuer.close()


@kiosk.command("revoke")
@DIR_OPTION
@click.argument("kiosk_id")
@friendly_errors
def kiosk_revoke(directory: Path, kiosk_id: str) -> None:
    """Cut kiosk KIOSK_ID off: refuse its API calls and revoke its key in the trust list."""
    issuer = Issuer(directory)
    account = issuer.revoke_kiosk(kiosk_id)
    click.echo(
        f"Kiosk {account.kiosk_id!r} revoked; trust list version "
        f"{issuer.config['trust_list_version']} marks key {account.kid} revoked (published)."
    )
    issuer.close()


@kiosk.command("retire")
@DIR_OPTION
@click.argument("kiosk_id")
@friendly_errors
def kiosk_retire(directory: Path, kiosk_id: str) -> None:
    """Decommission kiosk KIOSK_ID: refuse its API calls and retire its key (its cards stay valid).

    Only for a kiosk that is still running and behaving, whose key store is then wiped or
    destroyed: whoever holds the key can still sign cards dated earlier, which read valid.
    If that cannot be confirmed, run 'citycard-api kiosk revoke' instead.
    """
    issuer = Issuer(directory)
    account, changed = issuer.retire_kiosk(kiosk_id)
    end = issuer.key_end(account.key_label)
    retired = f"retired from {iso_utc(end)}"
    version = issuer.config["trust_list_version"]
    if changed:
        click.echo(
            f"Kiosk {account.kiosk_id!r} retired: its API calls are refused (but for reporting "
            "the cards it signed before and voiding numbers), and trust list "
            f"version {version} marks key {account.kid} {retired} (published). Cards it signed "
            "before stay valid; a card dated later reads KEY_EXPIRED. This does not stop "
            "anyone who holds the key: they can date a card earlier. Wipe or destroy the "
            "kiosk's key store now; if that cannot be confirmed, run 'citycard-api kiosk "
            "revoke' (its cards then stop verifying)."
        )
    else:
        click.echo(
            f"Kiosk {account.kiosk_id!r} was already retired; trust list version {version} "
            f"marks key {account.kid} {retired} (published)."
        )
    issuer.close()


@kiosk.command("list")
@DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def kiosk_list(directory: Path, as_json: bool) -> None:
    """List the kiosk accounts."""
    issuer = Issuer(directory)
    rows = [
        {
            "kiosk_id": k.kiosk_id,
            "kid": k.kid,
            "state": k.state,
            "api_key_fingerprint": k.auth_key_fingerprint,
        }
        for k in issuer.kiosks()
    ]
    issuer.close()
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No kiosks yet; add one with 'citycard-api kiosk add'.")
    for r in rows:
        click.echo(
            f"{r['kiosk_id']:<20} {r['kid']}  {r['state']:<8} API key {r['api_key_fingerprint']}"
        )


@main.group()
def staff() -> None:
    """Staff accounts for the revocation endpoints."""


@staff.command("add")
@DIR_OPTION
@click.argument("staff_id")
@friendly_errors
def staff_add(directory: Path, staff_id: str) -> None:
    """Create staff account STAFF_ID (a role or badge id) and print its token once."""
    issuer = Issuer(directory)
    token = issuer.add_staff(staff_id)
    issuer.close()
    click.echo(f"Staff account {staff_id!r} added. Its token (shown only this once):")
    click.echo(token)


@staff.command("revoke")
@DIR_OPTION
@click.argument("staff_id")
@friendly_errors
def staff_revoke(directory: Path, staff_id: str) -> None:
    """Withdraw staff account STAFF_ID: its token stops working at once."""
    issuer = Issuer(directory)
    try:
        # Even the last desk admin: a cut-off never waits (the desk refuses it; see
        # Accounts.revoke_staff), and the operator is told how to make a new admin.
        was_admin = staff_id in issuer.accounts.desk_admins()
        issuer.revoke_staff(staff_id, keep_an_admin=False)
        admins = issuer.accounts.desk_admins()
    finally:
        issuer.close()
    click.echo(f"Staff account {staff_id!r} revoked.")
    if was_admin and not admins:
        click.echo(
            "No active desk admin is left: make one with "
            f"'citycard-api desk admin --dir {directory} STAFF_ID'."
        )


@main.group()
def db() -> None:
    """The registry database's schema (Alembic migrations in api/issuer/migrations)."""


@db.command("upgrade")
@DIR_OPTION
@friendly_errors
def db_upgrade(directory: Path) -> None:
    """Migrate the registry to the newest schema, keeping its rows.

    The server and every command also do this when they open the registry; run it on its own
    to migrate at a time of your choosing (before starting a new version, after a backup)."""
    Issuer(directory).close()  # an issuer directory, or a sentence saying it is not one
    registry = Registry.for_directory(directory)
    try:
        registry.check_present(directory)  # only `init` starts a registry
        before = registry.revision()
        after = registry.upgrade()
    finally:
        registry.close()
    if before == after:
        click.echo(f"The registry {registry.display_url} is up to date (revision {after}).")
    else:
        click.echo(
            f"The registry {registry.display_url} was migrated from revision {before or 'none'} to {after}."
        )


def _add_desk() -> None:
    # Imported here: the desk's module imports this package's accounts and service.
    from .desk.admin_cli import desk

    main.add_command(desk)


_add_desk()
