"""Operation kinds of the control plane (tenant provisioning and termination), on the job engine's ``@kind``."""

from __future__ import annotations
