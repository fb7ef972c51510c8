"""The resident's steps: language → about (a new card, a renewal or a replacement) → the old card
(renewal and replacement only) → details → documents → photo → signature (where
printed) → attendant → fee → review → personalising → done.

Every step is a GET that shows a form and a POST that checks it and redirects (POST/redirect/GET),
so the kiosk works without JavaScript. A step can be reached only when the steps before it are
done. The attendant approves the documents and the photo together, so changing the details, the
documents, the photo or the signature asks the attendant again.

One module per group of steps; `pages` holds what they share (the blueprint, the step order
and its guard, the page frame). Importing this package registers every step on `bp`.
"""

from __future__ import annotations

from . import details, documents, old_card, photo, progress, review, start
from .pages import bp, error_page
from .photo import photo_page

__all__ = [
    "bp",
    "details",
    "documents",
    "error_page",
    "old_card",
    "photo",
    "photo_page",
    "progress",
    "review",
    "start",
]
