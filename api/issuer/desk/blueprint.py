"""The service desk's blueprint (its routes are in the routes_* modules of this package)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("desk", __name__, url_prefix="/desk")
