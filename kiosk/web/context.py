"""What a request handler reads about the app and the resident: the app's state (config,
sessions, catalogues), the current session, its language, and translation.

The app factory (`kiosk.web.app`) and the steps (`kiosk.web.flow`) both use these, so they live
here, below both: the steps never import the app module.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, g

from ..i18n import BY_CODE, SOURCE_LANGUAGE, Catalogues
from .attendant import PinLockout
from .config import KioskConfig
from .sessions import KioskSession, SessionStore

EXTENSION_KEY = "citycard_kiosk"
log = logging.getLogger(__name__)


class KioskState:
    """What the app keeps between requests (in `app.extensions`)."""

    def __init__(self, config: KioskConfig) -> None:
        self.config = config
        self.store = SessionStore(
            config.idle_timeout, clock=config.clock, on_drop=self._forget_job
        )
        self.catalogues = Catalogues()
        self.pin_lockout = PinLockout(config.clock)  # the kiosk's, not a session's
        langs = [c for c in config.program.languages if c in BY_CODE]
        self.default_lang = langs[0] if langs else SOURCE_LANGUAGE

    def _forget_job(self, session: KioskSession) -> None:
        try:
            self.config.job.forget(session.request_id)
        except Exception as exc:
            log.warning("could not drop a kept job: %s", type(exc).__name__)


def state_of(app: Flask) -> KioskState:
    value = app.extensions[EXTENSION_KEY]
    assert isinstance(value, KioskState)
    return value


def state() -> KioskState:
    """The state of the app handling the current request."""
    return state_of(current_app)


def config() -> KioskConfig:
    return state().config


def kiosk_session() -> KioskSession:
    value = g.kiosk
    assert isinstance(value, KioskSession)
    return value


def current_lang() -> str:
    """The page's language: the resident's (their session's), or the staff's on the page the
    attendant reads (`speak_to_staff`)."""
    if (staff := g.get("staff_lang")) is not None:
        return str(staff)
    return resident_lang()


def resident_lang() -> str:
    session: KioskSession | None = g.get("kiosk")
    if session is not None and session.lang:
        return session.lang
    return state().default_lang


def speak_to_staff() -> None:
    """From here on, this request's page is in the kiosk's staff language, if it has one."""
    staff = config().staff_language
    if staff is not None and staff != resident_lang():
        g.staff_lang = staff


def translate_for_resident(message: str) -> str:
    """A message in the resident's language, on a page that may be in the staff's."""
    return state().catalogues.gettext(resident_lang(), message)


def translate(message: str, **params: Any) -> str:
    text = state().catalogues.gettext(current_lang(), message)
    return text % params if params else text


def translate_plural(singular: str, plural: str, n: int, **params: Any) -> str:
    text = state().catalogues.ngettext(current_lang(), singular, plural, n)
    return text % {"num": n, **params}
