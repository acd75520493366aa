"""Tenants in AWS: their credentials (:mod:`.credentials`), provisioning and termination."""
