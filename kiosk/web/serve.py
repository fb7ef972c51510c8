"""`citycard-kiosk serve`: the kiosk UI for one programme, with waitress, on simulated hardware
or on the devices a station file names (`--station`, see kiosk.station_config)."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import click

from cardio.cli_support import friendly_errors
from kiosk.registry_options import registry_from, registry_options

PIN_ENV = "CITYCARD_ATTENDANT_PIN_HASH"


@click.command()
@click.option("--program", "program_id", required=True, help="Programme id (a profile in programs/).")
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Kiosk state (journal; and, without --api, the issuer's registry and keys); "
    "created when missing.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")  # fmt: skip
@click.option(
    "--printer-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the simulated card and receipt printers put what they print "
    "(default: printers that keep nothing).",
)
@click.option("--slot", type=click.IntRange(0, 9), default=0, show_default=True,
              help="vpcd slot of the simulated card writer.")  # fmt: skip
@click.option(
    "--station",
    "station_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A station file (TOML) naming the kiosk's real writer and printers; without it the "
    "devices are simulated. See kiosk/station_config.py for its keys.",
)
@click.option("--idle-timeout", type=click.FloatRange(min=10), default=120.0, show_default=True,
              help="Seconds without a touch before the kiosk wipes the session.")  # fmt: skip
@click.option(
    "--attendant-pin-hash",
    envvar=PIN_ENV,
    help=f"The attendant PIN's hash (python -m kiosk.web.attendant makes one; or ${PIN_ENV}). "
    "Without it a one-time PIN is printed at start.",
)
@registry_options()
@friendly_errors
def serve(
    program_id: str,
    data_dir: Path,
    host: str,
    port: int,
    printer_dir: Path | None,
    slot: int,
    station_file: Path | None,
    idle_timeout: float,
    attendant_pin_hash: str | None,
    api: str | None,
    kiosk_credential: Path | None,
    kiosk_key: Path | None,
) -> None:
    """Serve the enrolment kiosk's pages for one programme and print the URL."""
    from kiosk.programs import load_program

    from . import KioskConfig, create_kiosk_app
    from .adapters import EngineRules, PipelinePhotos, StationJobs, program_view
    from .attendant import hash_pin
    from .server import KioskServer
    from .station import configured_station, simulated_station

    registry = registry_from(api, kiosk_credential, kiosk_key)
    devices = None
    if station_file is not None:
        if printer_dir is not None:
            raise click.UsageError("--printer-dir is for simulated printers; the station file names the real ones.")
        from kiosk.station_config import load_station_config

        devices = load_station_config(station_file)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    program = load_program(program_id)
    one_time_pin = None
    if not attendant_pin_hash:
        one_time_pin = f"{secrets.randbelow(10**6):06d}"
        attendant_pin_hash = hash_pin(one_time_pin)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    station_cm = (
        simulated_station(data_dir, program, printer_dir=printer_dir, slot=slot, registry=registry)
        if devices is None
        else configured_station(data_dir, program, devices, registry=registry)
    )
    with station_cm as station:
        for notice in station.recover():
            click.echo(f"Attendant: {notice.message}")
        config = KioskConfig(
            program=program_view(program),
            rules=EngineRules(),
            photos=PipelinePhotos(),
            job=StationJobs(station),
            attendant_pin_hash=attendant_pin_hash,
            idle_timeout=idle_timeout,
            data_dir=data_dir,
        )
        app = create_kiosk_app(config)
        server = KioskServer(app, config, host, port)
        click.echo(f"Kiosk for {program.name('en')} at {server.url}")
        if one_time_pin is not None:
            click.echo(f"Attendant PIN for this run: {one_time_pin}")
        click.echo("Press Ctrl+C to stop.")
        from .app import state_of

        with state_of(app).store.sweeper(config.sweep_interval or 5.0):
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
            finally:
                state_of(app).store.clear()
