"""`citycard-provision`: what a technician runs on site.

Tests (and the bench) hand the command a fake pyusb backend and a sleep function through the
click context object: `main.main(args, obj={"usb_backend": ..., "sleep": ...})`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from cardio.cbor import MAX_INPUT
from cardio.cli_support import echo_json, friendly_errors
from cardio.files import read_limited, write_atomic
from cardio.keys import FileKeyStore
from cardio.terminal_config import DEFAULT_POLL_INTERVAL, FEEDBACK_MODES

from . import provlog
from .dfu import DfuError, DfuSession, bcd_version, dfu_interface, open_device, parse_vid_pid
from .dfu_protocol import PROTOCOL_DFU
from .package import (
    MAX_PACKAGE,
    FirmwareError,
    Package,
    build_manifest,
    check_bootloader,
    check_target,
    load_trusted_keys,
    pack,
    parse_version,
    read_package,
)

DEFAULT_KEYS = Path("/etc/citycard/firmware-keys.pem")
DEFAULT_LOG = Path("/var/lib/citycard/provisioning.log")

KEYS_OPTION = click.option(
    "--keys",
    "keys_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CITYCARD_FIRMWARE_KEYS",
    show_envvar=True,
    default=DEFAULT_KEYS,
    show_default=True,
    help="Trusted firmware-keys file (PEM public keys of the city and accepted vendors).",
)
TECH_OPTION = click.option(
    "--technician",
    envvar="CITYCARD_TECHNICIAN",
    show_envvar=True,
    help="Your technician id (staff number, not your name), for the provisioning log.",
)
LOG_OPTION = click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CITYCARD_PROVLOG",
    show_envvar=True,
    default=DEFAULT_LOG,
    show_default=True,
    help="The append-only provisioning log.",
)


def _obj(ctx: click.Context) -> dict[str, Any]:
    obj = ctx.ensure_object(dict)
    assert isinstance(obj, dict)
    return obj


def _technician(technician: str | None, what: str) -> str:
    """The technician id, checked as the provisioning log will check it."""
    if not technician:
        raise FirmwareError(f"Pass --technician with your staff id so the {what} is recorded in the provisioning log.")
    provlog.check_technician(technician)
    return technician


def _log_ready(technician: str | None, log_path: Path, what: str) -> str:
    """The technician id, once it and the provisioning log are known to take the record of
    `what`: checked before the command changes anything, so no work goes unrecorded."""
    checked = _technician(technician, what)
    provlog.check_ready(log_path, checked)
    return checked


def _record(log_path: Path, technician: str, action: str, done: str, **details: Any) -> None:
    """Append the record of work that is done; if the log fails now (the disk filled up since
    the check), say that the work is done and what to write down."""
    try:
        provlog.append(log_path, technician, action, **details)
    except (provlog.ProvisioningLogError, OSError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).rstrip(".")
        raise FirmwareError(
            f"{done}, but it could not be recorded in the provisioning log ({why}); note it by hand: {action} by {technician}."
        ) from exc


def _confirm_fingerprint(actual: str, refused: str) -> None:
    """Show the root key fingerprint and ask the technician to confirm it; `refused` says what
    was left undone, for a "no" and for no answer at all (stdin closed, Ctrl-C)."""
    click.echo(f"City root key fingerprint: {actual}")
    try:
        confirmed = click.confirm("Does it match the fingerprint the city gave you (read it back digit by digit)?", default=False)
    except click.exceptions.Abort as exc:
        raise FirmwareError(
            f"No answer to the fingerprint question, {refused}; run the command again and confirm the fingerprint, or pass --yes-fingerprint with the fingerprint the city gave you."
        ) from exc
    if not confirmed:
        raise FirmwareError(f"Root key not confirmed, {refused}; compare the fingerprint with the city and run the command again.")


@click.group()
@click.version_option(package_name="citycard")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Technician tools: inventory, firmware, kiosk keys and reader set-up."""
    _obj(ctx)


@main.group()
def firmware() -> None:
    """Signed firmware packages, flashed over USB DFU 1.1."""


def _load(pkg_path: Path, keys_path: Path) -> Package:
    # Bounded, regular files only, as `pack` reads its image: /dev/zero or a FIFO given as the
    # package must not fill the memory or hang the command.
    try:
        data = read_limited(pkg_path, MAX_PACKAGE, "The package", "give the firmware package file (.ccfw, at most 16 MiB)")
    except FileNotFoundError as exc:
        raise FirmwareError(f"The package {pkg_path} does not exist; check the file name.") from exc
    except IsADirectoryError as exc:
        raise FirmwareError(f"The package {pkg_path} is a directory; give the firmware package file (.ccfw).") from exc
    return read_package(data, load_trusted_keys(keys_path))


@firmware.command("pack")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--device", "usb_id", required=True, help="Runtime USB id VID:PID the image is for.")
@click.option("--version", "version", required=True, help="Firmware version MAJOR.MINOR.PATCH.")
@click.option("--min-bootloader", help="Lowest bootloader version that can take the image.")
@click.option("--key-dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="File key store with the signing key.")
@click.option("--label", required=True, help="Label of the signing key in the key store.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Package file to write.")
@friendly_errors
def pack_cmd(image: Path, usb_id: str, version: str, min_bootloader: str | None, key_dir: Path, label: str, out: Path) -> None:
    """Build a signed firmware package (for vendors, the city and tests)."""
    vid, pid = parse_vid_pid(usb_id)
    # Bounded like `verify` and `flash` read packages: never write one they would refuse.
    data = read_limited(image, MAX_PACKAGE, "The image", "give the firmware image file (at most 16 MiB)")
    if not data:
        raise FirmwareError(f"The image {image} is empty; build the firmware first.")
    manifest = build_manifest(data, vid, pid, version, min_bootloader)  # checks both versions
    signer = FileKeyStore(key_dir).signer(label)
    package = pack(data, manifest, signer)
    if len(package) > MAX_PACKAGE:
        raise FirmwareError(f"The image {image} with its manifest is larger than 16 MiB; a citycard firmware package holds at most 16 MiB.")
    write_atomic(out, package)
    click.echo(f"Wrote {out}: {manifest.usb_id} version {version}, {len(data)} bytes, signed by key {signer.kid.hex()}.")


@firmware.command("verify")
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@KEYS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@friendly_errors
def verify_cmd(package: Path, keys_path: Path, as_json: bool) -> None:
    """Check a package's signature, image hash and manifest without flashing."""
    pkg = _load(package, keys_path)
    m = pkg.manifest
    if as_json:
        echo_json(
            {
                "device": m.usb_id,
                "version": m.version,
                "size": m.size,
                "sha256": m.sha256.hex(),
                "min_bootloader": m.min_bootloader,
                "signed_by": pkg.signed_by,
                "kid": pkg.kid.hex(),
            }
        )
        return
    click.echo(f"OK: firmware {m.version} for {m.usb_id}, {m.size} bytes, SHA-256 {m.sha256.hex()}, signed by {pkg.signer_text}.")


@firmware.command("flash")
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--device", "usb_id", help="USB id VID:PID of the device (default: the package's).")
@click.option("--force", is_flag=True, help="Allow flashing an older version (downgrade).")
@click.option("--retries", default=1, show_default=True, type=click.IntRange(0, 5), help="Restarts after a recoverable DFU error.")
@KEYS_OPTION
@TECH_OPTION
@LOG_OPTION
@click.pass_context
@friendly_errors
def flash_cmd(
    ctx: click.Context,
    package: Path,
    usb_id: str | None,
    force: bool,
    retries: int,
    keys_path: Path,
    technician: str | None,
    log_path: Path,
) -> None:
    """Verify a signed package and flash it over USB DFU 1.1."""
    obj = _obj(ctx)
    technician = _log_ready(technician, log_path, "flash")
    pkg = _load(package, keys_path)
    m = pkg.manifest
    vid, pid = parse_vid_pid(usb_id) if usb_id else (m.vid, m.pid)
    if (vid, pid) != (m.vid, m.pid):
        raise FirmwareError(f"The package is for USB device {m.usb_id}, not {vid:04x}:{pid:04x}; pick the package made for this device.")
    backend = obj.get("usb_backend")
    dev = open_device(backend, vid, pid)
    found = dfu_interface(dev)
    in_dfu = found is not None and found[1] == PROTOCOL_DFU
    from_version = None
    if in_dfu:
        click.echo("The device is already in DFU mode (its firmware version cannot be read); flashing it.")
    else:
        warning = check_target(pkg, dev.idVendor, dev.idProduct, dev.bcdDevice, force)
        if warning:
            click.echo(warning)
        major, minor = bcd_version(dev.bcdDevice)
        from_version = f"{major}.{minor}"
    sleep = obj.get("sleep", time.sleep)
    session = DfuSession(dev, backend, sleep=sleep, reenumerate_s=float(obj.get("reenumerate_s", 5.0)))
    details: dict[str, Any] = {
        "usb_id": m.usb_id,
        "version": m.version,
        "sha256": m.sha256.hex(),
        "signed_by": pkg.signed_by,
        "forced": force,
    }
    if from_version:
        details["from_version"] = from_version
    try:
        with click.progressbar(length=len(pkg.image), label=f"Flashing {m.usb_id} {m.version}", file=obj.get("progress_file")) as bar:
            report = session.flash(
                pkg.image, progress=bar.update, retries=retries, check_bootloader=lambda d: check_bootloader(pkg, d.bcdDevice)
            )
    except KeyboardInterrupt:  # Ctrl-C: say what state the device is in, and record it
        sentence = _interrupted(session, m.version, len(pkg.image))
        raise FirmwareError(_record_unfinished(log_path, technician, details, session.blocks_sent, "interrupted", sentence)) from None
    except (DfuError, FirmwareError) as exc:
        if session.phase == "runtime":  # refused before the device was detached: nothing to record
            raise
        # The device was detached and maybe erased: the next technician must see why it is dark.
        raise FirmwareError(_record_unfinished(log_path, technician, details, session.blocks_sent, "failed", str(exc))) from exc
    if report.stayed_in_dfu:
        sentence = (
            "The image was written but the device did not start the new firmware; it is waiting in its bootloader (DFU mode): "
            "run flash again with the same package, and if it stays in DFU mode ask the vendor whether the image suits this device."
        )
        raise FirmwareError(_record_unfinished(log_path, technician, details, report.blocks, "failed", sentence))
    done = f"Flashed {m.usb_id} with {m.version}: {report.blocks} blocks of {report.transfer_size} bytes"
    # "ok" only when the device was seen running the package's MAJOR.MINOR (all bcdDevice shows)
    seen = bcd_version(report.new_bcd_device) if report.new_bcd_device is not None else None
    result = "ok" if seen == parse_version(m.version)[:2] else "unconfirmed"
    _record(log_path, technician, "firmware.flash", done, **details, blocks=report.blocks, result=result)
    if report.retries_used:
        done += f", after {report.retries_used} recovered error(s)"
    if seen is None:
        done += f"; the device has not come back yet — unplug and replug it if it stays dark, and check that it reports {m.version}"
    elif result == "ok":
        done += f"; the device now reports {seen[0]}.{seen[1]}"
    else:
        done += f"; but the device now reports {seen[0]}.{seen[1]}, not {m.version}: unplug and replug it, and run flash again if it still does"
    if result != "ok":
        done += " (recorded as unconfirmed)"
    click.echo(done + ".")


def _record_unfinished(log_path: Path, technician: str, details: dict[str, Any], blocks: int, result: str, sentence: str) -> str:
    """Record a flash that did not finish; `sentence`, noting it when the log fails too."""
    try:
        provlog.append(log_path, technician, "firmware.flash", **details, blocks=blocks, result=result)
    except (provlog.ProvisioningLogError, OSError):
        return sentence.rstrip(".") + " (the provisioning log could not take this record: note it by hand)."
    return sentence


def _interrupted(session: DfuSession, version: str, image_size: int) -> str:
    """What a flash stopped with Ctrl-C left on the device, and what to do (docs/technician.md)."""
    if session.phase in ("runtime", "dfu"):
        return (
            "Flashing was interrupted before any block was written; the device still holds its old firmware but may be "
            "waiting in DFU mode (its bootloader): unplug and replug it to start the old firmware, or run flash again."
        )
    if session.phase == "download":
        return (
            f"Flashing was interrupted after {session.blocks_sent} of {-(-image_size // max(session.functional.transfer_size, 1))} blocks; "
            "the device is left in DFU mode (its bootloader stays) with an incomplete image: run flash again with the same "
            "package to recover it (unplugged meanwhile, it comes back in DFU mode and can still be flashed)."
        )
    if session.phase == "manifest":
        return (
            "Flashing was interrupted while the device was installing the image; leave it plugged in, then run flash again "
            "with the same package (a device left with an incomplete image comes back in DFU mode)."
        )
    return (
        f"Flashing was interrupted after the image was written, while the device restarted; unplug and replug it and "
        f"check that it reports {version} (run flash again if it does not)."
    )


@main.group("log")
def log_group() -> None:
    """The provisioning log."""


@log_group.command("show")
@LOG_OPTION
@click.pass_context
@friendly_errors
def log_show(ctx: click.Context, log_path: Path) -> None:
    """Print the provisioning log records.

    A --log (or $CITYCARD_PROVLOG) that does not exist is an error, so that a mistyped path
    does not pass for an empty log. The default log not existing yet only means that nothing
    was recorded on this machine so far: that prints "The provisioning log is empty". A torn
    or damaged log prints its whole records, then what is wrong with it, and exits 2.
    """
    if not log_path.exists():
        if ctx.get_parameter_source("log_path") is not click.core.ParameterSource.DEFAULT:
            raise provlog.ProvisioningLogError(f"There is no provisioning log at {log_path}; check the path.")
        click.echo(f"The provisioning log is empty: nothing was recorded on this machine yet ({log_path}).", err=True)
        return
    # A damaged log is refused for writing, but its whole records are evidence: shown first,
    # then the damage (lines that are not records are not repeated: they may hold anything).
    records, bad = provlog.read_all(log_path)
    if not records and not bad:
        click.echo(f"The provisioning log {log_path} is empty.", err=True)
    for rec in records:
        rest = {k: v for k, v in rec.items() if k not in ("at", "technician", "action")}
        click.echo(f"{rec.get('at')} {rec.get('technician')} {rec.get('action')} " + " ".join(f"{k}={v}" for k, v in sorted(rest.items())))
    if bad:
        raise provlog.ProvisioningLogError(provlog.damage(log_path, bad))



@main.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--nfc", "nfc_paths", multiple=True, help="An nfcpy device path to try, e.g. tty:USB0:pn532 or usb:001:004 (repeatable).")
@click.pass_context
@friendly_errors
def doctor_cmd(ctx: click.Context, as_json: bool, nfc_paths: tuple[str, ...]) -> None:
    """List attached readers, printers and ports, and what to do about each problem."""
    from . import doctor

    obj = _obj(ctx)
    env = doctor.Environment(usb_backend=obj.get("usb_backend"))
    for key in ("devfs", "access", "ccid_driver", "serial_ports"):
        if key in obj:
            setattr(env, key, obj[key])
    report = doctor.run(env, list(nfc_paths))
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(doctor.render(report))
    ctx.exit(1 if report.problems else 0)



@main.group("kiosk")
def kiosk_group() -> None:
    """Kiosk keys: enrol with the city, install its answer."""


def _key_store(key_dir: Path | None, module: str | None, token: str | None) -> Any:
    import os

    if module:
        from cardio.keys_pkcs11 import Pkcs11KeyStore

        pin = os.environ.get("CITYCARD_PKCS11_PIN")
        if not token or not pin:
            raise FirmwareError("Give --pkcs11-token and set CITYCARD_PKCS11_PIN to the token's user PIN, then run the command again.")
        return Pkcs11KeyStore(module, token, pin)
    if key_dir is None:
        raise FirmwareError("Give --key-dir (file store, development) or --pkcs11-module and --pkcs11-token (HSM).")
    return FileKeyStore(key_dir)


STATE_OPTION = click.option(
    "--state", required=True, type=click.Path(file_okay=False, path_type=Path), help="The kiosk's state directory."
)


@kiosk_group.command("enroll")
@click.argument("kiosk_id")
@STATE_OPTION
@click.option("--key-dir", type=click.Path(file_okay=False, path_type=Path), help="File key store (development).")
@click.option("--pkcs11-module", help="PKCS#11 module of the kiosk's HSM (PIN from $CITYCARD_PKCS11_PIN).")
@click.option("--pkcs11-token", help="Token label in the PKCS#11 module.")
@TECH_OPTION
@LOG_OPTION
@friendly_errors
def kiosk_enroll(
    kiosk_id: str,
    state: Path,
    key_dir: Path | None,
    pkcs11_module: str | None,
    pkcs11_token: str | None,
    technician: str | None,
    log_path: Path,
) -> None:
    """Create this kiosk's keys and the enrolment request the city signs."""
    from .kiosk_enroll import REQUEST_FILE, enroll

    technician = _log_ready(technician, log_path, "enrolment")
    store = _key_store(key_dir, pkcs11_module, pkcs11_token)
    try:
        req = enroll(store, kiosk_id, state)
    finally:
        store.close()
    _record(log_path, technician, "kiosk.enroll", f"Kiosk {kiosk_id} is enrolled (request in {state / REQUEST_FILE})",
            kiosk_id=kiosk_id, fingerprint=req.signing_fingerprint, store="pkcs11" if pkcs11_module else "file")  # fmt: skip
    click.echo(f"Enrolment request written to {state / REQUEST_FILE}; take it to the city.")
    click.echo(f"Signing key fingerprint: {req.signing_fingerprint}")
    click.echo(f"API key fingerprint:     {req.api_fingerprint}")


@kiosk_group.command("request-check")
@click.argument("request", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Where to write the two public keys.")
@friendly_errors
def kiosk_request_check(request: Path, out_dir: Path) -> None:
    """(City side) verify an enrolment request and extract its public keys for `citycard-api kiosk add`."""
    from .kiosk_enroll import ASK_AGAIN, read_request

    req = read_request(read_limited(request, MAX_INPUT, "The enrolment request", ASK_AGAIN))
    write_atomic(out_dir / "signing-key.pem", req.signing_pem.encode())
    write_atomic(out_dir / "api-key.pem", req.api_pem.encode())
    click.echo(f"Kiosk {req.kiosk_id}: signing key {req.signing_fingerprint}, API key {req.api_fingerprint}.")
    click.echo(
        f"Compare both with the technician, then: citycard-api kiosk add {req.kiosk_id} --dir ISSUER "
        f"--signing-key {out_dir / 'signing-key.pem'} --api-key {out_dir / 'api-key.pem'}"
    )


@kiosk_group.command("install")
@STATE_OPTION
@click.option("--root-key", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The city's published root key (PEM).")
@click.option("--trust-list", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The city's published trust list.")
@click.option("--yes-fingerprint", help="The root key fingerprint you confirmed with the city (for scripts; must match exactly).")
@TECH_OPTION
@LOG_OPTION
@friendly_errors
def kiosk_install(
    state: Path, root_key: Path, trust_list: Path, yes_fingerprint: str | None, technician: str | None, log_path: Path
) -> None:
    """Pin the city root key (after you confirm its fingerprint) and install the trust list."""
    from cardio.errors import KeyStoreError
    from cardio.keys import fingerprint, load_public_pem
    from cardio.trust_sync import MAX_ROOT_KEY

    from .kiosk_enroll import _credential, check_pinned_root, install

    technician = _log_ready(technician, log_path, "installation")
    kiosk_id = _credential(state).kiosk_id
    use_published = "use the root-key.pem the city published (--root-key)"
    root_pem = read_limited(root_key, MAX_ROOT_KEY, "The root key file", use_published)
    try:
        actual = fingerprint(load_public_pem(root_pem))
    except KeyStoreError as exc:
        raise FirmwareError(f"The root key file {root_key} is not a P-256 PEM public key; {use_published}.") from exc
    check_pinned_root(state, actual)  # refuse another root before asking to confirm it
    if yes_fingerprint is None:
        _confirm_fingerprint(actual, "nothing was installed")
        yes_fingerprint = actual
    tl = install(state, root_pem, trust_list.read_bytes(), yes_fingerprint)
    _record(log_path, technician, "kiosk.install", f"The city root key and trust list version {tl.version} are installed",
            kiosk_id=kiosk_id, fingerprint=actual, trust_list_version=tl.version)  # fmt: skip
    click.echo(f"Installed: root key {actual[:16]}... pinned, trust list version {tl.version} lists kiosk {kiosk_id}.")



@kiosk_group.command("self-test")
@STATE_OPTION
@click.option("--key-dir", type=click.Path(file_okay=False, path_type=Path), help="File key store (development).")
@click.option("--pkcs11-module", help="PKCS#11 module of the kiosk's HSM (PIN from $CITYCARD_PKCS11_PIN).")
@click.option("--pkcs11-token", help="Token label in the PKCS#11 module.")
@click.option("--writer", help="PC/SC name (or part) of the card writer; default: the first reader with a card.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(0, min_open=True), help="Seconds to wait for the blank test card.")
@TECH_OPTION
@LOG_OPTION
@friendly_errors
def kiosk_self_test(
    state: Path,
    key_dir: Path | None,
    pkcs11_module: str | None,
    pkcs11_token: str | None,
    writer: str | None,
    timeout: float,
    technician: str | None,
    log_path: Path,
) -> None:
    """Personalise and verify a blank test card on the attached writer."""
    from cardio.pcsc import PcscConnection

    from .kiosk_enroll import _credential, self_test

    technician = _log_ready(technician, log_path, "self-test")
    kiosk_id = _credential(state).kiosk_id
    store = _key_store(key_dir, pkcs11_module, pkcs11_token)
    try:
        click.echo("Put a blank test card on the writer.")
        with PcscConnection.wait(writer, timeout=timeout) as conn:
            reader_name = conn.reader
            verdict = self_test(state, store, conn)
    finally:
        store.close()
    _record(log_path, technician, "kiosk.self-test", f"The self-test passed on {reader_name}",
            kiosk_id=kiosk_id, reader=reader_name, result=verdict.value)  # fmt: skip
    click.echo(f"Self-test passed on {reader_name}: the test card was written, read back and verified ({verdict.value}).")

@main.group("reader")
def reader_group() -> None:
    """Partner venue reader terminals."""


@reader_group.command("setup")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Terminal configuration (TOML) to write.")
@click.option("--trust", required=True, type=click.Path(file_okay=False, path_type=Path), help="Directory for the pinned root key and cached lists.")
@click.option("--venue", required=True, help="Venue profile name (venues/NAME.toml) or file.")
@click.option("--api", "api_url", required=True, help="The city API address, e.g. https://cards.city.example.")
@click.option("--reader", help="PC/SC reader name (or part of it).")
@click.option("--nfc", help="nfcpy device path instead of PC/SC, e.g. tty:USB0:pn532.")
@click.option("--no-reader", is_flag=True, help="QR only: no card reader.")
@click.option("--feedback", type=click.Choice(FEEDBACK_MODES), default="auto", show_default=True, help="Reader LED and buzzer.")
@click.option("--buzzer/--no-buzzer", default=True, show_default=True, help="Beep on a verdict (--no-buzzer: lights only).")
@click.option("--led/--no-led", default=True, show_default=True, help="Light the reader's LEDs (--no-led: beeps only).")
@click.option("--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL, show_default=True, help="Seconds between reader polls for a card (0.05 to 5).")
@click.option("--yes-fingerprint", help="The root key fingerprint you confirmed with the city (for scripts; must match exactly).")
@click.option("--self-test/--no-self-test", default=True, show_default=True, help="Read the city's test card before finishing.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(0, min_open=True), help="Seconds to wait for the test card.")
@TECH_OPTION
@LOG_OPTION
@friendly_errors
def reader_setup(
    config_path: Path,
    trust: Path,
    venue: str,
    api_url: str,
    reader: str | None,
    nfc: str | None,
    no_reader: bool,
    feedback: str,
    buzzer: bool,
    led: bool,
    poll_interval: float,
    yes_fingerprint: str | None,
    self_test: bool,
    timeout: float,
    technician: str | None,
    log_path: Path,
) -> None:
    """Pin the city root key (after you confirm it), fetch the lists, self-test, write the configuration."""
    from . import reader_setup as rs

    technician = _technician(technician, "set-up")
    if sum(bool(x) for x in (reader, nfc, no_reader)) > 1:
        raise FirmwareError("Give only one of --reader, --nfc and --no-reader.")
    choice = rs.ReaderChoice(reader, nfc, no_reader, feedback, buzzer, led, poll_interval)
    rs.check_venue(venue)
    rs.check_api(api_url)
    provlog.check_ready(log_path, technician)  # before anything is pinned or written
    actual = rs.fetch_root_fingerprint(api_url)
    if yes_fingerprint is not None:
        if rs.normalise_fingerprint(yes_fingerprint) != actual:
            raise FirmwareError(
                f"The city API's root key has fingerprint {actual}, not the one given with --yes-fingerprint; nothing was pinned — check the API address and the fingerprint with the city."
            )
    else:
        _confirm_fingerprint(actual, "nothing was pinned")
    sync = rs.pin_and_sync(trust, api_url, actual)
    tl = sync.trust_list
    click.echo(f"Root key pinned; trust list version {tl.version if tl else '?'} and status lists fetched.")
    result = "skipped"
    if self_test and not no_reader:
        assert sync.verifier is not None
        click.echo("Self-test: put the city's test card on the reader.")
        result = rs.self_test(sync.verifier, choice, timeout)
        click.echo(f"Self-test passed: the test card reads {result}.")
    rs.write_config(config_path, trust, venue, api_url, actual, choice)
    _record(log_path, technician, "reader.setup", f"The reader is set up ({config_path} written)", venue=venue, api_url=api_url,
            fingerprint=actual, reader=reader or nfc or "none", result=result, config=str(config_path))  # fmt: skip
    click.echo(f"Wrote {config_path}; start the terminal with `citycard-reader serve --config {config_path}`.")

if __name__ == "__main__":
    main()
