"""`citycard-kiosk`: the enrolment kiosk's command line.

    citycard-kiosk demo --program zurich [--resident RESIDENT.json] --data DATA_DIR --out OUT_DIR
    citycard-kiosk recover --data DATA_DIR

Each command takes `--api URL --kiosk-credential FILE [--kiosk-key KEY]` to get its numbers from
the city's issuer API (`citycard-api serve`) over signed HTTP instead of from an issuer in
DATA_DIR/issuer (kiosk.registry_options, kiosk.http_allocator).

`main` is the click group; the kiosk UI adds its `serve` command to it (kiosk/web).
Errors are one sentence (cardio.cli_support.friendly_errors), never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cardio.cli_support import friendly_errors

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
    help="RESIDENT.json (as for citycard-api issue); default: a fictional resident.",
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
) -> None:
    """Enrol one resident end to end on simulated hardware (pcscd + vpcd card writer, file
    card and receipt printers, nfcpy udp venue reader)."""
    from .demo import run_demo

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
    if verdict != "VALID":
        sys.exit(1)


@main.command()
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The kiosk's data directory (as given to demo).",
)
@registry_options(signing=False)
@friendly_errors
def recover(data_dir: Path, api: str | None, kiosk_credential: Path | None) -> None:
    """Void the cards a stopped kiosk left half-made, and say what the attendant must do."""
    from api.issuer.service import Issuer

    from .allocator import IssuerAllocator
    from .demo import KIOSK_ID
    from .job import recover as recover_jobs
    from .journal import Journal

    registry = registry_from(api, kiosk_credential, signing=False)
    journal = Journal.in_dir(data_dir / "kiosk")
    if registry.api is not None:
        from .http_allocator import HttpAllocator

        assert registry.credential is not None
        with journal.exclusive():
            notices = recover_jobs(journal, HttpAllocator(registry.api, registry.credential))
    else:
        issuer = Issuer(data_dir / "issuer")
        try:
            allocator = IssuerAllocator(issuer, KIOSK_ID)
            with journal.exclusive():
                notices = recover_jobs(journal, allocator)
        finally:
            issuer.close()
    if not notices:
        click.echo("Nothing to recover: every card was finished or cancelled.")
    for notice in notices:
        click.echo(f"{notice.kind}: {notice.message}")


# The kiosk UI's command (kiosk/web/serve.py).
from .web.serve import serve  # noqa: E402

main.add_command(serve)
