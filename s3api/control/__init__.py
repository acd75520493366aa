"""The control plane's own services: plans, tenants, orders, share links — database state and AWS work together.

Views call one function here; these call the stores (:mod:`s3api.db`), the workflows (:mod:`s3api.provisioning`)
and start operations (:mod:`s3api.jobs.operations`). Operation kinds of the control plane live in
:mod:`s3api.control.tasks` (registered when the job engine loads its kinds).
"""
