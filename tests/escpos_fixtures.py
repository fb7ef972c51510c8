"""The simulated TCP receipt printer and a `ReceiptPrinter` on python-escpos' Network printer."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from hardware.escpos_sim import EscposSimulator
from printer.escpos_printer import ReceiptPrinter
from printer.paper import PAPER_80MM, PaperProfile

PrinterFactory = Callable[..., ReceiptPrinter]


@pytest.fixture(name="sim")
def fixture_sim() -> Iterator[EscposSimulator]:
    with EscposSimulator() as simulator:
        yield simulator


@pytest.fixture(name="printer_for")
def fixture_printer_for(sim: EscposSimulator) -> PrinterFactory:
    """A ReceiptPrinter on the simulator, with short time-outs for tests."""

    def make(profile: PaperProfile = PAPER_80MM, **kwargs: object) -> ReceiptPrinter:
        options: dict[str, object] = {
            "status_timeout": 1.0,
            "sync_timeout": 5.0,
            "poll_interval": 0.1,
        }
        options.update(kwargs)
        return ReceiptPrinter.network(sim.host, sim.port, profile, **options)  # type: ignore[arg-type]

    return make


def closed_port() -> int:
    """A loopback port nobody listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
