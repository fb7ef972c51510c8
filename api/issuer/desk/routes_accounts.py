"""The desk's account pages (admins only) and its audit log.

    GET  /desk/accounts                           staff and kiosk accounts
    POST /desk/accounts/staff                     a new staff account; its token shown once
    POST /desk/accounts/staff/<id>/password       set its desk password (ends its sessions)
    POST /desk/accounts/staff/<id>/role           admin or staff
    POST /desk/accounts/staff/<id>/disable        token, password and sessions stop working
    POST /desk/accounts/kiosks/<id>/disable       the kiosk's account and signing key revoked
    GET  /desk/audit                              the newest audit events

The account rules are api.issuer.accounts' (the same as `citycard-api staff` and
`citycard-api kiosk`); every change is audited with the admin's staff id.
"""

from __future__ import annotations

import time

from flask import Response, request

from cardio.errors import CitycardError

from ..accounts import Actor
from ..registry import audit_queries
from ..web import state
from .blueprint import bp
from .common import N_, login_required, page
from .history import history_lines, when
from .sessions import DeskSession

SAVED = {
    "password": N_("The password is set. The account's open sessions have ended."),
    "disabled": N_("The account is disabled."),
    "role": N_("The role is changed."),
    "kiosk": N_("The kiosk is disabled: cards it makes from now on are refused."),
}
MISMATCH = N_("The two passwords differ; type the same password twice.")


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


@bp.get("/accounts")
@login_required(admin=True)
def accounts(session: DeskSession) -> Response:
    return _accounts_page(session)


@bp.post("/accounts/staff")
@login_required(admin=True)
def add_staff(session: DeskSession) -> Response:
    staff_id = request.form.get("staff_id", "").strip()
    try:
        token = state().issuer.accounts.add_staff(staff_id, int(time.time()), _actor(session))
    except CitycardError as exc:
        return _accounts_page(session, 400, str(exc))
    return _accounts_page(session, new_staff=staff_id, new_token=token)


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
            accounts_.set_role(staff_id, request.form.get("role") == "admin", now, actor)
        elif what == "disable":
            accounts_.revoke_staff(staff_id, now, actor)
            what = "disabled"
        else:
            return _accounts_page(session, 404, N_("There is no such action."))
    except CitycardError as exc:
        return _accounts_page(session, 400, str(exc))
    return _accounts_page(session, message=SAVED[what], ok=True)


@bp.post("/accounts/kiosks/<kiosk_id>/disable")
@login_required(admin=True)
def disable_kiosk(session: DeskSession, kiosk_id: str) -> Response:
    try:
        state().issuer.accounts.revoke_kiosk(kiosk_id, int(time.time()), _actor(session))
    except CitycardError as exc:
        return _accounts_page(session, 400, str(exc))
    return _accounts_page(session, message=SAVED["kiosk"], ok=True)


@bp.get("/audit")
@login_required()
def audit_log(session: DeskSession) -> Response:
    with state().issuer.registry.read() as s:
        events = audit_queries.recent(s)
    rows = [
        {"line": line, "number": event.document_number or "", "detail": event.detail or ""}
        for line, event in zip(history_lines(events, every=True), events, strict=True)
    ]
    return page("desk/audit.html", session, rows=rows, when=when)
