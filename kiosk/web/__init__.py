"""The kiosk web UI: the resident's enrolment flow as server-rendered pages (Flask + Jinja)."""

from .app import create_kiosk_app
from .config import KioskConfig

__all__ = ["KioskConfig", "create_kiosk_app"]
