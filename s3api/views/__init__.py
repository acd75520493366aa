"""flask-smorest blueprints, one per resource."""

from __future__ import annotations

from s3api.api import Api


def register(api: Api) -> None:
    from s3api.views import (
        accounts,
        audit,
        buckets,
        keys,
        links,
        objects,
        operations,
        orders,
        plans,
        system,
        tenants,
        users,
        webhooks,
        websites,
    )

    modules = (system, keys, audit, operations, accounts, buckets, users, objects, websites, plans, webhooks, tenants)
    for module in (*modules, orders, links):
        api.register_blueprint(module.blp)
