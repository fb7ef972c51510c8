"""`citycard-kiosk`: the enrolment kiosk's command line.

    citycard-kiosk serve --program ID --data DATA_DIR --station STATION.toml \
                         --api URL --kiosk-credential FILE --kiosk-key KEY
    citycard-kiosk serve --program ID --data DATA_DIR --simulate [--printer-dir DIR]
    citycard-kiosk recover --data DATA_DIR (--api URL --kiosk-credential FILE | --simulate)
    citycard-kiosk demo --program ID [--resident RESIDENT.json] --data DATA_DIR --out OUT_DIR

A production kiosk runs on the devices its station file names and gets its numbers from the
city's issuer API; simulated hardware (and an issuer in this process) must be asked for with
`--simulate`, and the kiosk then says so on every page. `demo` always runs on simulated
hardware. Errors are one sentence (cardio.cli_support.friendly_errors), never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cardio.cli_support import friendly_errors
from cardio.languages import BY_CODE as LANGUAGE_CODES

from .registry_options import registry_from, registry_options


@click.group()
@click.version_option(package_name="citycard")
def main() -> None:
    """The citycard enrolment kiosk."""


@main.command()
@click.option("--program", "program_id", default="zurich", show_default=True,
              help="Programme id (a profile in programs/).")  # fmt: skip
@click.option(
    "--resident",
    type=click.Path(dir_okay=False, path_type=Path),
    help="RESIDENT.json (as for citycard-api issue, plus the programme's other fields by their "
    "codes, 'signature', 'documents'); default: the programme's fictional sample resident "
    "(programs/samples/ID.json).",
)
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Kiosk and issuer state (journal, registry, keys, logs); created when missing.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the card, receipt, chip NDEF, trust files and verdict are written.",
)
@click.option(
    "--profile",
    "profile_name",
    type=click.Choice(["t4t", "t4t-auth", "compact", "print"]),
    help="Card profile (default: the programme's; t4t without a profile).",
)
@click.option(
    "--printer-delay",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds the simulated card printer takes per card (a real one: 10 to 25 s).",
)
@click.option("--slot", type=click.IntRange(0, 9), default=0, show_default=True,
              help="vpcd slot of the simulated card writer.")  # fmt: skip
@click.option(
    "--renew",
    "renew",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Renew the card in this file: its chip.ndef, or a text file holding its printed QR "
    "text (made with the same --data). The new card keeps its document number.",
)
@click.option(
    "--replace",
    "replace_number",
    metavar="DOCUMENT_NUMBER",
    help="Replace the lost or stolen card with this document number (it is revoked at once; "
    "the new card keeps the number).",
)
@registry_options()
@friendly_errors
def demo(
    program_id: str,
    resident: Path | None,
    data_dir: Path,
    out_dir: Path,
    profile_name: str | None,
    printer_delay: float,
    slot: int,
    api: str | None,
    kiosk_credential: Path | None,
    kiosk_key: Path | None,
    renew: Path | None = None,
    replace_number: str | None = None,
) -> None:
    """Enrol one resident end to end on simulated hardware (pcscd + vpcd card writer, file
    card and receipt printers, nfcpy udp venue reader), through the kiosk's rules engine.

    With --renew or --replace the card is a renewal or replacement: the programme's fee and
    rules for it apply, and the new card keeps the old card's document number.

    With --api, the card is also offered for the phone as the kiosk offers it (docs/wallet.md):
    OUT_DIR/wallet/offer.txt holds the openid-credential-offer:// URI, then the transaction
    code, redeemable for 15 minutes. Without --api there is no offer.txt. With --api and no
    --kiosk-credential, DATA_DIR/issuer must be the issuer the API serves: the demo registers
    itself there as a kiosk once (DATA_DIR/kiosk/api-kiosk.json)."""
    from .demo import run_demo

    if renew is not None and replace_number is not None:
        raise click.UsageError("Give --renew or --replace, not both.")
    if replace_number is not None and not replace_number.strip():
        # an empty number would otherwise make a first card, not the replacement asked for
        raise click.UsageError("--replace needs the document number of the card to replace.")
    if api is not None and kiosk_credential is None and kiosk_key is None:
        from .demo import demo_registry

        registry = demo_registry(api, data_dir, click.echo)  # DATA_DIR/issuer is the API's
    else:
        registry = registry_from(api, kiosk_credential, kiosk_key)

    outcome = run_demo(
        program_id,
        data_dir,
        out_dir,
        resident=resident,
        profile_name=profile_name,
        printer_delay=printer_delay,
        slot=slot,
        echo=click.echo,
        registry=registry,
        renew=renew,
        replace_number=replace_number,
    )
    r = outcome.result
    click.echo(
        f"Card {r.document_number} made (status list {r.status_list}, index {r.status_index}"
        + (f", valid until {r.expires.isoformat()}" if r.expires else "")
        + ")."
    )
    verdict = outcome.verdict.get("verdict", "UNKNOWN")
    click.echo(f"A venue's reader says: {verdict}: {outcome.verdict.get('message', '')}")
    files = sorted(p.name for p in outcome.out_dir.iterdir())
    click.echo(f"Wrote {', '.join(files)} to {outcome.out_dir}/.")
    if outcome.offer_problem is not None:  # asked for with --api: the run did not do it all
        click.echo(f"Error: {outcome.offer_problem}", err=True)
        sys.exit(2)
    if verdict != "VALID":
        sys.exit(1)


@main.command()
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The kiosk's data directory (as given to serve or demo).",
)
@click.option(
    "--simulate",
    is_flag=True,
    help="The kiosk ran on simulated hardware: void through the issuer in DATA_DIR/issuer "
    "(unless --api names the city's issuer).",
)
@registry_options(signing=False)
@friendly_errors
def recover(
    data_dir: Path, simulate: bool, api: str | None, kiosk_credential: Path | None
) -> None:
    """Void the cards a stopped kiosk left half-made, send the registry the reports of cards
    made that it has not recorded, and say what the attendant must do."""
    from contextlib import ExitStack

    from .allocator import Allocator
    from .job import recover as recover_jobs
    from .journal import Journal

    registry = registry_from(api, kiosk_credential, signing=False)
    if registry.api is None and not simulate:
        raise click.UsageError(
            "Say where the kiosk's numbers come from: --api URL --kiosk-credential FILE (the "
            "city's issuer), or --simulate for a development kiosk."
        )
    journal = Journal.in_dir(data_dir / "kiosk")
    with ExitStack() as stack:
        allocator: Allocator
        if registry.api is not None:
            from .http_allocator import HttpAllocator

            assert registry.credential is not None
            allocator = HttpAllocator(registry.api, registry.credential)
        else:
            from .simulate import local_numbers

            # An existing issuer keeps its own programme; the id only names a new one.
            allocator = local_numbers(stack, data_dir, "dev")[0]
        with journal.exclusive():
            notices = recover_jobs(journal, allocator)
    if not notices:
        click.echo("Nothing to recover: every card was finished or cancelled.")
    for notice in notices:
        click.echo(f"{notice.kind}: {notice.message}")


PIN_ENV = "CITYCARD_ATTENDANT_PIN_HASH"


@main.command()
@click.option("--program", "program_id", required=True, help="Programme id (a profile in programs/).")
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Kiosk state (its journal; with --simulate also the local issuer); created when missing.",
)
@click.option(
    "--station",
    "station_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The station file (TOML) naming the kiosk's writer and printers (kiosk/station_config.py).",
)
@click.option(
    "--simulate",
    is_flag=True,
    help="Run on simulated hardware (virtual cards through pcscd, printers that write files or "
    "nothing) with an issuer in DATA_DIR unless --api is given. For development and demos.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")  # fmt: skip
@click.option(
    "--printer-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --simulate: where the simulated printers put what they print (default: nowhere).",
)
@click.option("--slot", type=click.IntRange(0, 9), default=0, show_default=True,
              help="With --simulate: vpcd slot of the simulated card writer.")  # fmt: skip
@click.option("--idle-timeout", type=click.FloatRange(min=10), default=120.0, show_default=True,
              help="Seconds without a touch before the kiosk wipes the session.")  # fmt: skip
@click.option(
    "--attendant-pin-hash",
    envvar=PIN_ENV,
    help=f"The attendant PIN's hash (python -m kiosk.web.attendant makes one; or ${PIN_ENV}). "
    "Without it a one-time PIN is printed at start.",
)
@click.option(
    "--staff-language",
    type=click.Choice(sorted(LANGUAGE_CODES)),
    help="The language of the attendant page, where the attendants read one (the resident's own "
    "line on it stays in theirs). Default: the resident's language, as every other page.",
)
@registry_options()
@friendly_errors
def serve(
    program_id: str,
    data_dir: Path,
    station_file: Path | None,
    simulate: bool,
    host: str,
    port: int,
    printer_dir: Path | None,
    slot: int,
    idle_timeout: float,
    attendant_pin_hash: str | None,
    staff_language: str | None,
    api: str | None,
    kiosk_credential: Path | None,
    kiosk_key: Path | None,
) -> None:
    """Serve the enrolment kiosk's pages for one programme and print the URL."""
    from .web.launch import serve_kiosk

    registry = registry_from(api, kiosk_credential, kiosk_key)
    if station_file is None and not simulate:
        raise click.UsageError(
            "A kiosk needs its devices: give --station FILE (its writer and printers) with "
            "--api URL --kiosk-credential FILE --kiosk-key KEY, or --simulate for a "
            "development kiosk on simulated hardware."
        )
    if station_file is not None and simulate:
        raise click.UsageError("Give either --station FILE or --simulate, not both.")
    if not simulate and printer_dir is not None:
        raise click.UsageError(
            "--printer-dir is for simulated printers; the station file names the real ones."
        )
    station = None
    if station_file is not None:
        from .station_config import load_station_config

        station = load_station_config(station_file)  # a wrong file is reported first
        if registry.api is None:
            raise click.UsageError(
                "A kiosk on its station's devices gets its numbers from the city's issuer API: "
                "add --api URL --kiosk-credential FILE --kiosk-key KEY."
            )
    serve_kiosk(
        program_id,
        data_dir,
        station=station,
        registry=registry,
        host=host,
        port=port,
        printer_dir=printer_dir,
        slot=slot,
        idle_timeout=idle_timeout,
        attendant_pin_hash=attendant_pin_hash,
        staff_language=staff_language,
        echo=click.echo,
    )
