"""The desk's account pages (admins only) and its audit log.

    GET  /desk/accounts                           staff and kiosk accounts
    POST /desk/accounts/staff                     a new staff account; its token shown once
    POST /desk/accounts/staff/<id>/password       set its desk password (ends its sessions)
    POST /desk/accounts/staff/<id>/role           admin or staff
    POST /desk/accounts/staff/<id>/disable        token, password and sessions stop working
                                                  (a ticked `confirm`: it cannot be undone)
    POST /desk/accounts/kiosks/<id>/disable       the kiosk's account and signing key revoked
                                                  (a ticked `confirm`: its cards stop verifying)

A change that worked answers 303 to /desk/accounts, which shows its sentence (and a new
token) once (desk.flash): a reload neither posts again nor shows the token again.
    GET  /desk/audit                              the newest audit events

The account rules are api.issuer.accounts' (the same as `citycard-api staff` and
`citycard-api kiosk`); every change is audited with the admin's staff id.
"""

from __future__ import annotations

import logging
import time

from flask import Response, request

from cardio.errors import CitycardError

from .. import passwords
from ..accounts import Actor
from ..errors import (
    AccountExistsError,
    AccountIdError,
    LastAdminError,
    PasswordCharacterError,
    PasswordRuleError,
    UnknownAccountError,
)
from ..page_i18n import N_
from ..pages import redirect
from ..registry import audit_queries
from ..web import state
from . import flash
from .blueprint import bp
from .common import login_required, page
from .history import detail_word, history_lines, when
from .sessions import DeskSession

SAVED = {
    "password": N_("The password is set. The account's open sessions have ended."),
    "disabled": N_("The account is disabled."),
    "role": N_("The role is changed."),
    "kiosk": N_(
        "The kiosk is disabled: its signing key is withdrawn, so every card it ever made no "
        "longer verifies (readers say KEY_REVOKED). Its holders need a new card."
    ),
}
CONFIRM_KIOSK = N_(
    "Tick the box to confirm: every card kiosk %(id)s ever made stops verifying, and this "
    "cannot be undone."
)
CONFIRM_STAFF = N_(
    "Tick the box to confirm that staff account %(id)s is to be disabled; it cannot be used "
    "again, nor its id added again."
)
TOKEN_SHOWN = N_(
    "The new account's token was shown once and cannot be shown again. If it was not written "
    "down, disable the account and add another."
)
MISMATCH = N_("The two passwords differ; type the same password twice.")
# The account rules' refusals, as the page's sentences (the exceptions' own are English, for
# the command line); %(id)s is the account's id.
BAD_ID = N_(
    "The staff id '%(id)s' is not usable: use 1 to 63 lower-case letters, digits, '.', '_' or "
    "'-', starting with a letter or digit."
)
TAKEN = N_("There is already a staff account '%(id)s'; choose another id.")
PASSWORD_RULE = N_(
    "A password needs %(min)s to %(max)s characters; a few unrelated words make a good one."
)
PASSWORD_CONTROL = N_(
    "A password cannot hold control characters (such as a tab or a line break); choose another."
)
BAD_ROLE = N_("Choose one of the roles the page offers; the role was not changed.")
NO_STAFF = N_("There is no active staff account '%(id)s'.")
NO_KIOSK = N_("There is no kiosk '%(id)s'.")
LAST_ADMIN = N_("'%(id)s' is the last desk admin. Make another staff account an admin first.")
NOT_DONE = N_("This could not be done; try again, or ask the technician who runs the issuer.")

log = logging.getLogger("citycard.desk")


def _actor(session: DeskSession) -> Actor:
    return ("staff", session.staff.staff_id)


def _accounts_page(
    session: DeskSession, status: int = 200, message: str | None = None, ok: bool = False, **extra: object
) -> Response:
    issuer = state().issuer
    return page(
        "desk/accounts.html",
        session,
        status,
        staff=issuer.accounts.staff_accounts(),
        kiosks=issuer.accounts.kiosks(),
        message=message,
        ok=ok,
        **extra,
    )


def _refused(session: DeskSession, exc: CitycardError, kiosk: bool = False) -> Response:
    """The accounts page saying, in its language, why the change was refused."""
    account_id = getattr(exc, "account_id", "")
    status, message, values = 400, NOT_DONE, {"id": account_id}
    if isinstance(exc, AccountIdError):
        message = BAD_ID
    elif isinstance(exc, AccountExistsError):
        message = TAKEN
    elif isinstance(exc, PasswordCharacterError):
        message = PASSWORD_CONTROL
    elif isinstance(exc, PasswordRuleError):
        message = PASSWORD_RULE
        values = {"min": str(passwords.MIN_LENGTH), "max": str(passwords.MAX_LENGTH)}
    elif isinstance(exc, UnknownAccountError):
        status, message = 404, NO_KIOSK if kiosk else NO_STAFF
    elif isinstance(exc, LastAdminError):
        status, message = 409, LAST_ADMIN
    else:  # a rule with no sentence of the page's own: the English one goes to the log
        log.warning("desk account change refused: %s", exc)
    return _accounts_page(session, status, message, message_values=values)


@bp.get("/accounts")
@login_required(admin=True)
def accounts(session: DeskSession) -> Response:
    saved, added = flash.take(session, "saved"), flash.take(session, "token")
    if added is not None:
        response = _accounts_page(session, new_staff=added["id"], new_token=added["token"])
    elif saved is not None and saved.get("what") in SAVED:
        response = _accounts_page(session, message=SAVED[saved["what"]], ok=True)
    elif request.args.get("added"):  # the token's page again: it was shown already
        response = _accounts_page(session, message=TOKEN_SHOWN)
    else:
        response = _accounts_page(session)
    return flash.forget(response)


def _saved(session: DeskSession, what: str, to: str = "/desk/accounts") -> Response:
    """After a change: 303 to the accounts page (or `to`), which says `SAVED[what]` once."""
    return flash.put(redirect(to), session, "saved", what=what)


@bp.post("/accounts/staff")
@login_required(admin=True)
def add_staff(session: DeskSession) -> Response:
    staff_id = request.form.get("staff_id", "").strip()
    try:
        token = state().issuer.accounts.add_staff(staff_id, int(time.time()), _actor(session))
    except CitycardError as exc:
        return _refused(session, exc)
    response = redirect(f"/desk/accounts?added={staff_id}")
    return flash.put(response, session, "token", id=staff_id, token=token)


@bp.post("/accounts/staff/<staff_id>/<what>")
@login_required(admin=True)
def change_staff(session: DeskSession, staff_id: str, what: str) -> Response:
    accounts_ = state().issuer.accounts
    now, actor = int(time.time()), _actor(session)
    try:
        if what == "password":
            password = request.form.get("password", "")
            if password != request.form.get("password2", ""):
                return _accounts_page(session, 400, MISMATCH)
            accounts_.set_password(staff_id, password, now, actor)
        elif what == "role":
            role = request.form.get("role")
            if role not in ("admin", "staff"):  # a made-up role is no demotion
                return _accounts_page(session, 400, BAD_ROLE)
            accounts_.set_role(staff_id, role == "admin", now, actor)
        elif what == "disable":
            # The account rules refuse first (unknown, last admin); then the tick is needed.
            account = accounts_.staff_account(staff_id)
            if account is None or not account.active:
                raise UnknownAccountError(f"no active staff account {staff_id!r}", staff_id)
            # Asked before the tick (revoke_staff enforces it again, under its lock).
            accounts_.check_keeps_an_admin(staff_id)
            if request.form.get("confirm") != "yes":
                return _accounts_page(session, 400, CONFIRM_STAFF, message_values={"id": staff_id})
            accounts_.revoke_staff(staff_id, now, actor)
            what = "disabled"
        else:
            return _accounts_page(session, 404, N_("There is no such action."))
    except CitycardError as exc:
        return _refused(session, exc)
    if what == "role" and staff_id == session.staff.staff_id and role == "staff":
        # An admin who stepped down may no longer see the accounts page: to the desk's home.
        return _saved(session, what, "/desk/")
    return _saved(session, what)


@bp.post("/accounts/kiosks/<kiosk_id>/disable")
@login_required(admin=True)
def disable_kiosk(session: DeskSession, kiosk_id: str) -> Response:
    accounts_ = state().issuer.accounts
    try:
        kiosk = accounts_.kiosk(kiosk_id)
        if kiosk is None or kiosk.state not in ("active", "retired"):  # retired, found compromised later
            raise UnknownAccountError(f"no active kiosk {kiosk_id!r}", kiosk_id)
        # Every card the kiosk ever signed stops verifying, and nothing undoes it: a tick first.
        if request.form.get("confirm") != "yes":
            return _accounts_page(session, 400, CONFIRM_KIOSK, message_values={"id": kiosk_id})
        accounts_.revoke_kiosk(kiosk_id, int(time.time()), _actor(session))
    except CitycardError as exc:
        return _refused(session, exc, kiosk=True)
    return _saved(session, "kiosk")


@bp.get("/audit")
@login_required()
def audit_log(session: DeskSession) -> Response:
    with state().issuer.registry.read() as s:
        events = audit_queries.recent(s)
    rows = [
        {"line": line, "number": event.document_number or "", "detail": text, "word": word}
        for line, event in zip(history_lines(events, every=True), events, strict=True)
        for text, word in [detail_word(event.detail)]
    ]
    return page("desk/audit.html", session, rows=rows, when=when)
