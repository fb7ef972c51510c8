"""The registry's reads and writes for publishing: status-change marks, the slots a status list
marks, and the published files every host serves (schema.PublishedFile, PublicationMark).

Each function runs inside a transaction the caller holds; api.issuer.publisher decides what to
publish and when.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .schema import (
    REVOKED,
    SUPERSEDED,
    SUSPENDED,
    CardRecord,
    PublicationMark,
    PublishedFile,
    StatusListRow,
)


def marks(session: Session) -> dict[str, tuple[int, int]]:
    """list id -> (changes counted, changes published), for every list with a mark."""
    return {
        row.list_id: (int(row.changed), int(row.published))
        for row in session.scalars(select(PublicationMark))
    }


def mark(session: Session, list_id: str) -> tuple[int, int]:
    """(changes counted, changes published) of one list; (0, 0) before its first change."""
    row = session.get(PublicationMark, list_id)
    return (0, 0) if row is None else (int(row.changed), int(row.published))


def mark_published(session: Session, list_id: str, changed: int) -> None:
    """The list's published token shows its first `changed` changes (never goes back)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    session.execute(
        insert(PublicationMark)
        .values(list_id=list_id, changed=changed, published=changed)
        .on_conflict_do_nothing(index_elements=["list_id"])
    )
    session.execute(
        update(PublicationMark)
        .where(PublicationMark.list_id == list_id, PublicationMark.published < changed)
        .values(published=changed)
    )


def status_list_ids(session: Session) -> list[str]:
    """Every status list the registry holds, in the order they were opened (any host may
    open one; the publisher names it in its trust list)."""
    rows = session.execute(select(StatusListRow.created_at, StatusListRow.list_id)).all()
    # "10" after "9" when opened in the same second
    return [str(i) for _at, i in sorted(rows, key=lambda r: (r[0], len(r[1]), r[1]))]


def marked_slots(session: Session, list_id: str) -> Iterator[tuple[int, str]]:
    """(index, status) of every revoked, suspended or superseded card in the list.

    `IN (revoked, suspended)` rather than `!= valid`: it uses the (list, status) index on
    SQLite too, where the inequality scans every card of the list (75 times slower at 1 M)."""
    for idx, status in session.execute(
        select(CardRecord.status_index, CardRecord.status).where(
            CardRecord.status_list == list_id, CardRecord.status.in_((REVOKED, SUSPENDED, SUPERSEDED))
        )
    ):
        yield int(idx), str(status)


def file_versions(session: Session) -> dict[str, tuple[int, int]]:
    """name -> (version, published_at) of every stored file."""
    return {
        str(name): (int(version), int(at))
        for name, version, at in session.execute(
            select(PublishedFile.name, PublishedFile.version, PublishedFile.published_at)
        )
    }


def file_version(session: Session, name: str) -> int | None:
    version = session.scalar(select(PublishedFile.version).where(PublishedFile.name == name))
    return None if version is None else int(version)


def stored_file(session: Session, name: str) -> PublishedFile | None:
    return session.get(PublishedFile, name)


def store_file(session: Session, name: str, body: bytes, etag: str, now: int) -> None:
    """Keep `body` as the published `name` (a new version, unless the bytes are the same)."""
    row = session.get(PublishedFile, name)
    if row is None:
        session.add(PublishedFile(name=name, body=body, etag=etag, version=1, published_at=now))
    elif row.body != body:
        row.body, row.etag, row.version, row.published_at = body, etag, row.version + 1, now


def forget_file(session: Session, name: str) -> None:
    """Withdraw a published file (tests, and a city that unpublishes a list)."""
    row = session.get(PublishedFile, name)
    if row is not None:
        session.delete(row)
