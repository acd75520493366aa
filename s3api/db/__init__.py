"""The control plane's own state (what AWS cannot hold): SQLAlchemy 2 models, Alembic migrations, sessions.

``models`` (tables), ``engine`` (engines: SQLite pragmas, ``BEGIN IMMEDIATE`` for writes), ``migrate``
(Alembic under a lock), ``session`` (one lazily created engine per process, a session per unit of work),
``keys`` (API keys: the store and the per-process verifier). Nothing here does I/O at import time.
"""
