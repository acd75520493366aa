"""`s3api serve` with no configuration starts with its two plans (free and paid, sold in ``local``), and the plan
routes work against it: list, change, history."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.conftest import TOKEN, serve

pytestmark = pytest.mark.e2e
AUTH = {"X-Auth-Token": TOKEN}


def test_the_embedded_default_sells_a_free_and_a_paid_plan() -> None:
    with serve(workers=1) as srv:
        listed = requests.get(srv.url("/plans"), headers=AUTH, timeout=10).json()["Plans"]
        by_name = {p["Name"]: p for p in listed}
        assert sorted(by_name) == ["free", "standard"]
        assert by_name["free"]["Free"] is True and by_name["free"]["Locations"] == ["local"]
        paid = by_name["standard"]
        assert paid["Free"] is False and paid["Prices"][0]["Location"] == "local" and paid["Prices"][0]["Monthly"]
        changed = requests.patch(srv.url("/plans/free"), json={"MaxBuckets": 2}, headers=AUTH, timeout=10)
        assert changed.status_code == 200 and changed.json()["Revision"] == 2
        history = requests.get(srv.url("/plans/free/history"), headers=AUTH, timeout=10).json()["Revisions"]
        assert history[0]["CallerName"] == "embedded-seed"
        assert history[1]["Changes"] == {"MaxBuckets": {"Old": 3, "New": 2}}
