"""The embedded emulator made stricter where the service's guarantees depend on it (moto-notes: moto is more
lenient than AWS): an **inactive access key is refused**, as AWS refuses it (S3: ``InvalidAccessKeyId``, other
services: ``InvalidClientTokenId``). moto 5 matches a request's key id against every IAM user's keys and never
looks at the key's ``Status``, so a key switched off would keep working against the emulator.

:func:`patch` changes moto's IAM enforcement in this process (idempotent); ``python -m s3api.emulator`` runs
moto's server with it (what :mod:`s3api.embedded` starts), and the tests apply it to the in-process ``mock_aws``.
Only the emulator is touched: against real AWS nothing here runs.
"""

from __future__ import annotations

import sys
from typing import Any

_PATCHED = False


def patch() -> None:
    """Make moto's IAM enforcement refuse inactive access keys (once per process)."""
    global _PATCHED
    if _PATCHED:
        return
    from moto.iam import access_control

    original = access_control.IAMUserAccessKey.__init__

    def init(self: Any, account_id: str, partition: str, access_key_id: str, headers: dict[str, str]) -> None:
        original(self, account_id, partition, access_key_id, headers)
        user = self.backend.get_user(self._owner_user_name)
        for key in user.access_keys:
            if key.access_key_id == access_key_id and key.status != "Active":
                raise access_control.CreateAccessKeyFailure(reason="InvalidId")

    access_control.IAMUserAccessKey.__init__ = init  # type: ignore[method-assign]
    _PATCHED = True


def main(argv: list[str] | None = None) -> None:
    """``python -m s3api.emulator [moto.server arguments]``: moto's server with :func:`patch` applied."""
    patch()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
