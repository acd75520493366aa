"""tenants: filled in by its issue work."""

from __future__ import annotations
