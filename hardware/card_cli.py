"""The command line of a simulated card run as a process: which card, and how to stop it.

Shared by `python -m hardware.nfc_udp` and `python -m hardware.pn532_pty`.
"""

from __future__ import annotations

import argparse
import importlib
import signal
from collections.abc import Callable
from types import FrameType

from hardware.card_model import CardModel

__all__ = ["add_card_arguments", "load_card", "stop_on_signals"]


def load_card(
    profile: str | None, card_spec: str | None, uid: bytes | None, delay: float = 0.0
) -> CardModel:
    """A card model from `--card module:callable` or `--profile NAME` (VirtualType4Card)."""
    if card_spec:
        module_name, _, attr = card_spec.partition(":")
        factory = getattr(importlib.import_module(module_name), attr or "make_card")
        card: CardModel = factory(uid=uid) if uid is not None else factory()
        return card
    from hardware.virtual_t4t import Faults, VirtualType4Card

    return VirtualType4Card(profile=profile or "t4t", uid=uid, faults=Faults(delay=delay))


def add_card_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="t4t", help="VirtualType4Card profile (default t4t)")
    parser.add_argument(
        "--card", metavar="MODULE:CALLABLE", help="build the card model with this factory instead"
    )
    parser.add_argument("--uid", type=bytes.fromhex, help="UID in hex (4, 7 or 10 bytes)")
    parser.add_argument(
        "--delay", type=float, default=0.0, help="seconds the card thinks before each answer"
    )
    parser.add_argument("--fsci", type=int, default=8, help="FSCI in the ATS (default 8 = 256 B)")
    parser.add_argument("--fwi", type=int, default=8, help="FWI in the ATS (default 8 = 77 ms)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every frame")


def stop_on_signals(stop: Callable[[], None]) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
