"""Website create and delete as long work (``Prefer: respond-async``): the synchronous workflow, then the wait
for CloudFront that a request never does.

- :func:`create_deployed`: :func:`~s3api.provisioning.websites.create.create` (its checks, its steps, its
  rollback on failure: unchanged), then :func:`wait_deployed` until the new distribution is ``Deployed``. The
  answer is the synchronous route's body plus ``Deployed`` (bool) and ``DistributionStatus``. A wait that
  reaches its bound (``website_deploy_wait_seconds``) still **succeeds**, with ``Deployed: false``: the website
  exists and works once CloudFront finishes (``GET /websites/{site}`` says ``Deploying`` until then); nothing
  is rolled back for being slow.
- :func:`delete_deployed`: :func:`~s3api.provisioning.websites.delete.delete` (unchanged: DNS records, disable,
  IAM, default pages, bucket), then it waits for the disabled distribution to deploy and deletes it itself
  (``DistributionDeleted: true``), instead of leaving it to the periodic task (``sweep.delete_distributions``).
  At the bound, or when the delete is refused (enabled again, still deploying for AWS), it is left to the
  periodic task (``DistributionDeleted: false`` and a ``Note``).

Cancel: the work that was done stays done. A create canceled while waiting keeps its website (cancel stops
only the wait; nothing is rolled back); a delete canceled while waiting leaves the disabled distribution to the
periodic task. Cancel during the synchronous part takes effect at the first checkpoint after it, so it never
interrupts the transaction (a create that fails still rolls back as always).

Resuming (a worker died, or a retry after an AWS error while waiting): the counter ``Created`` (``Deleted``) is
saved at the checkpoint right after the workflow; a resumed task skips the workflow and waits again, finding
the distribution by reads (the bucket's distribution tag, verified; for a delete: the site's disabled,
verified distribution by alias). Such a result says ``Resumed: true`` and holds what reads can give: the
create's Policies, Groups and DnsChange, the delete's Users, Policies, Groups and DnsChange are not answered
again. ``WaitSeconds`` (seconds slept between polls, all attempts together) and ``Polls`` count the wait.

A create that failed past its distribution step was rolled back with the distribution only disabled; on AWS a
disabled distribution keeps its alias until it is deleted, so the engine's retry of that create may meet
CNAMEAlreadyExists (409: Failed at once) until the periodic task has deleted the rolled-back distribution, as
a client's retry of the synchronous create does. moto does not enforce it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from s3api.aws import cloudfront, s3
from s3api.aws.clients import AccountAws
from s3api.errors import ApiError, Conflict, NotFound
from s3api.provisioning.progress import Canceled, Progress
from s3api.provisioning.websites.create import create
from s3api.provisioning.websites.delete import delete
from s3api.provisioning.websites.distribution import find_distribution, tagged
from s3api.provisioning.websites.naming import resolve

log = logging.getLogger("s3api.websites")

DEPLOYED = "Deployed"
#: seconds between two GetDistribution polls (CloudFront deploys in minutes)
POLL_SECONDS = 15.0


def sleep(seconds: float) -> None:
    """The wait between polls (tests replace it)."""
    time.sleep(seconds)


@dataclass(frozen=True)
class Wait:
    """How long to wait for a deployment: at most ``max_seconds`` slept in all (every attempt of the task
    together: the counter ``WaitSeconds``), polling every ``poll_seconds``, sleeping with ``sleep``."""

    max_seconds: float
    poll_seconds: float = POLL_SECONDS
    sleep: Callable[[float], None] = sleep


def wait_deployed(aws: AccountAws, dist_id: str, progress: Progress, wait: Wait) -> str | None:
    """Poll the distribution's status (GetDistribution) until ``Deployed``, or until ``wait.max_seconds`` have
    been slept; a checkpoint before and after each pause (so a cancel stops the wait within one poll). The
    last status seen: ``Deployed``, ``InProgress`` at the bound, None when the distribution is gone."""
    while True:
        status = cloudfront.distribution_status(aws, dist_id)
        progress.add(Polls=1)
        if status is None or status == DEPLOYED:
            return status
        waited = progress.counters.get("WaitSeconds", 0)
        if waited >= wait.max_seconds:
            log.warning("distribution not deployed in time", extra={"distribution": dist_id, "waited": waited})
            return status
        pause = max(0.0, min(wait.poll_seconds, wait.max_seconds - waited))
        progress.checkpoint()
        wait.sleep(pause)
        progress.add(WaitSeconds=max(1, math.ceil(pause)))
        progress.checkpoint()


def create_deployed(
    aws: AccountAws,
    site_name: str,
    tags: list[Any] | None,
    configuration: Mapping[str, Any] | None,
    progress: Progress,
    wait: Wait,
    owner: str | None = None,
) -> dict[str, Any]:
    """Create the website (a tenant's when ``owner``), then wait for its distribution (see the module docstring):
    the create's body plus ``Deployed`` and ``DistributionStatus`` (and ``Note`` when the wait ended without a
    deployment)."""
    if not progress.counters.get("Created"):
        body = create(aws, site_name, tags, configuration, owner=owner)
        progress.set(Created=1)
    else:
        body = _created_again(aws, site_name)
    dist_id = body["Distribution"]["Id"]
    try:
        progress.checkpoint()  # the first of the attempt: saves Created, so a resumed task never creates again
        status = wait_deployed(aws, dist_id, progress, wait)
    except Canceled as exc:
        raise Canceled(
            f"website '{site_name}' was created and stays created (distribution {dist_id}); the cancel stopped "
            "only the wait for CloudFront to deploy it: GET the website for its Status"
        ) from exc
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 429:
            raise  # retried: the task resumes with Created set
        return {**body, "Deployed": False, "DistributionStatus": None, "Note": _not_followed(exc)}
    answer = {**body, "Deployed": status == DEPLOYED, "DistributionStatus": status}
    if status != DEPLOYED:
        answer["Note"] = (
            "the distribution is gone" if status is None else "not deployed within the wait: it deploys on its own"
        )
    return answer


def _not_followed(exc: ApiError) -> str:
    return f"the website was created; its deployment could not be followed ({exc.code}: {exc.message})"


def _created_again(aws: AccountAws, site_name: str) -> dict[str, Any]:
    """A resumed create: what reads can say about the website created by an earlier attempt."""
    site = resolve(aws, site_name, "BucketInput.Bucket")
    if s3.head_bucket(aws, site.name) is None:
        raise NotFound(f"website '{site.name}' was created by an earlier attempt and is gone")
    distribution, why = find_distribution(aws, site.name, s3.get_tags(aws, site.name))
    if distribution is None:
        raise NotFound(f"website '{site.name}' was created by an earlier attempt, but {why}")
    return {"Bucket": f"/{site.name}", "Distribution": distribution, "Resumed": True}


def delete_deployed(aws: AccountAws, site_name: str, progress: Progress, wait: Wait) -> dict[str, Any]:
    """Delete the website, then wait for its disabled distribution and delete it (see the module docstring):
    the delete's body plus ``DistributionDeleted`` (and ``Note`` when it is left to the periodic task)."""
    if not progress.counters.get("Deleted"):
        body = delete(aws, site_name)
        progress.set(Deleted=1)
        distribution = body.get("Distribution")
    else:
        site = resolve(aws, site_name)
        body = {"Website": site.name, "Resumed": True}
        distribution = cloudfront.find_by_alias(
            aws, site.name, accept=lambda d: not d.get("Enabled") and cloudfront.serves_site(d, site.name)
        )
    if not distribution:
        return {**body, "DistributionDeleted": False, "Note": "no distribution was left to delete"}
    dist_id = distribution["Id"]
    left = "it is left disabled: the periodic task deletes it once deployed"
    try:
        progress.checkpoint()  # saves Deleted: a resumed task never runs the delete again
        status = wait_deployed(aws, dist_id, progress, wait)
        if status is None:
            return {**body, "DistributionDeleted": True, "Note": "the distribution was already deleted"}
        if status != DEPLOYED:
            return {**body, "DistributionDeleted": False, "Note": f"the disable did not deploy within the wait; {left}"}
        cloudfront.delete_distribution(aws, dist_id)  # False: the periodic task was quicker; gone either way
    except Canceled as exc:
        raise Canceled(
            f"website '{site_name}' was deleted; the cancel stopped only the wait for its disabled distribution "
            f"{dist_id}: {left}"
        ) from exc
    except Conflict as exc:  # enabled again, or AWS still deploying the disable
        log.warning("disabled distribution not deleted", extra={**tagged(site_name, dist_id), "error": exc.code})
        return {**body, "DistributionDeleted": False, "Note": f"{exc.message}; {left}"}
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 429:
            raise
        return {**body, "DistributionDeleted": False, "Note": f"{exc.code}: {exc.message}; {left}"}
    log.info("website distribution deleted", extra=tagged(site_name, dist_id))
    return {**body, "DistributionDeleted": True}
