"""The job engine: long work as operations that any worker can finish.

- :mod:`.kinds` — what an operation kind is (its task function, lock, preflight), the registry, the task's
  :class:`~s3api.jobs.kinds.Context` (a :class:`~s3api.provisioning.progress.Progress` that saves to the row).
- :mod:`.tasks` — the kinds this service runs (forced bucket delete, async websites, usage recount).
- :mod:`.execute` — one attempt at an operation: the same code for both engines (retries, cancel, audit).
- :mod:`.operations` — what the edge calls: start (preflight, row, queue), cancel.
- :mod:`.local` — SQLite (one replica): the in-process runner that claims operation rows, and runs the
  periodic tasks.
- :mod:`.queue` — PostgreSQL: procrastinate (one job per operation, a lock per target, retries, periodic tasks
  once per period across all workers, stalled-job recovery).
- :mod:`.schedule` — the periodic tasks and their period.
- :mod:`.worker` — ``s3api worker``: the engine of the configured database.
"""
