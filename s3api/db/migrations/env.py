"""Alembic environment: always run from code (:mod:`s3api.db.migrate`) on a connection it hands over; batch mode
on SQLite (ALTER TABLE there means rebuilding the table)."""

from __future__ import annotations

from alembic import context

from s3api.db.models import Base, include_name


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `s3api db upgrade` (s3api.db.migrate), not the alembic command")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
