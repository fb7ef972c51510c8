"""Start the kiosk UI for one programme: its station, its app, its waitress server.

`citycard-kiosk serve` (kiosk.cli) checks the options and calls `serve_kiosk`. A production
kiosk runs on the devices of its station file (kiosk.station) with numbers from the city's
issuer API; with `simulate` it runs on simulated hardware (kiosk.simulate, loaded only then)
and every page says so.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from cardio.cli_support import stop_signals
from kiosk.job import Station
from kiosk.registry_options import RegistryOptions
from kiosk.station_config import StationConfig


def serve_kiosk(
    program_id: str,
    data_dir: Path,
    *,
    station: StationConfig | None,
    registry: RegistryOptions,
    host: str,
    port: int,
    printer_dir: Path | None,
    slot: int,
    idle_timeout: float,
    attendant_pin_hash: str | None,
    echo: Callable[[str], None],
    staff_language: str | None = None,
) -> None:
    """Serve the kiosk until interrupted (see the module doc); `station` None means simulated."""
    from kiosk.programs import load_program

    from . import KioskConfig, create_kiosk_app
    from .adapters import EngineRules, PipelinePhotos, StationJobs, program_view
    from .attendant import check_pin_hash, hash_pin
    from .context import state_of
    from .server import KioskServer

    if attendant_pin_hash:
        check_pin_hash(attendant_pin_hash)  # a wrong one stops the kiosk before it touches anything
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    program = load_program(program_id)
    one_time_pin = None
    if not attendant_pin_hash:
        one_time_pin = f"{secrets.randbelow(10**6):06d}"
        attendant_pin_hash = hash_pin(one_time_pin)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    banner = None
    station_cm: AbstractContextManager[Station]
    if station is None:
        from kiosk.simulate import BANNER, simulated_station

        banner = BANNER
        station_cm = simulated_station(
            data_dir, program, printer_dir=printer_dir, slot=slot, registry=registry
        )
    else:
        from kiosk.station import api_numbers, configured_station

        station_cm = configured_station(data_dir, program, station, api_numbers(registry))
    with station_cm as personalisation:
        jobs = StationJobs.after_recovery(personalisation, echo)
        config = KioskConfig(
            program=program_view(program),
            rules=EngineRules(),
            photos=PipelinePhotos(),
            job=jobs,
            attendant_pin_hash=attendant_pin_hash,
            staff_language=staff_language,
            idle_timeout=idle_timeout,
            data_dir=data_dir,
            simulated=banner is not None,
        )
        app = create_kiosk_app(config)
        server = KioskServer(app, config, host, port)
        if banner:
            echo(banner)
        echo(f"Kiosk for {program.name('en')} at {server.url}")
        if one_time_pin is not None:
            echo(f"Attendant PIN for this run: {one_time_pin}")
        # Ctrl-C and SIGTERM are waited for, never raised (cardio.cli_support.stop_signals): a
        # lost Ctrl-C would leave `make demo` waiting on `timeout -s INT` for ever
        with stop_signals() as stopped, state_of(app).store.sweeper(config.sweep_interval or 5.0):
            echo("Press Ctrl+C to stop.")
            try:
                server.serve_until(stopped)
            finally:
                state_of(app).store.clear()
