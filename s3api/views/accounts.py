"""Configured accounts: list names, show one."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView

from s3api import runtime
from s3api.api import STRING_LIST, Blueprint, json_response
from s3api.control import isolation

blp = Blueprint("accounts", __name__, url_prefix="/v1/s3", description="Configured AWS accounts")


class AccountSchema(ma.Schema):
    Name = ma.fields.String(required=True)
    AccountId = ma.fields.String(required=True)
    Region = ma.fields.String(required=True)
    S3Endpoint = ma.fields.String(required=True)


@blp.route("/accounts")
class Accounts(MethodView):
    @json_response(blp, STRING_LIST)
    def get(self) -> list[str]:
        """Names of the configured accounts (a tenant key: its own)"""
        return isolation.account_names(runtime.current(), g.get("caller"))


@blp.route("/<account:account>")
class AccountView(MethodView):
    @blp.response(200, AccountSchema)
    def get(self, account: str) -> dict[str, Any]:
        """One account: id, region and the S3 endpoint at which issued keys work"""
        acct = runtime.aws(account).account
        return {"Name": acct.name, "AccountId": acct.account_id, "Region": acct.region, "S3Endpoint": acct.s3_endpoint}
