"""Alembic's environment for the issuer registry (run by api.issuer.registry.migrate).

The registry passes its own connection, inside its transaction; a `sqlalchemy.url` option is
used otherwise. There is no offline (`--sql`) mode: the first migration looks at the database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from api.issuer.registry.schema import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("Set sqlalchemy.url, or migrate with 'citycard-api db upgrade'.")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


# Alembic runs this file with its context in place; imported for any other reason (a check
# that every module imports) it does nothing.
if hasattr(context, "config"):
    _main()
