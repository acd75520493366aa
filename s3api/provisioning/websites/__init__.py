"""Static websites: an S3 bucket named after the site, served by CloudFront under the site's name with the
domain's ACM certificate, an A and AAAA alias in the domain's Route53 zone, and IAM groups for its users.

The package, in the order its modules build on each other (none imports one further down):

- :mod:`.naming`: what a site may be called (one label under a configured domain) and the shared names;
- :mod:`.pages`: the default index pages, and whether a bucket holds anything else;
- :mod:`.distribution`: the CloudFront configuration and finding the site's verified distribution;
- :mod:`.groups`: the site's IAM groups, proven the site's, and its users' scope;
- :mod:`.create`, :mod:`.manage`, :mod:`.delete`: the routes of a website;
- :mod:`.users`: the routes of its users;
- :mod:`.sweep`: the sweeper tasks (disabled distributions, stale DNS records).

Callers (views, the sweeper) use the names below.
"""

from s3api.provisioning.websites.create import create
from s3api.provisioning.websites.delete import delete
from s3api.provisioning.websites.distribution import distribution_config, website_endpoint
from s3api.provisioning.websites.manage import bookmark, head, invalidate, invalidation, show, update_tags
from s3api.provisioning.websites.naming import Site
from s3api.provisioning.websites.sweep import sweep_distributions, sweep_dns_records
from s3api.provisioning.websites.users import (
    create_user,
    delete_user,
    list_users,
    rotate_user_keys,
    set_user_key_status,
    show_user,
)

__all__ = [
    "Site",
    "bookmark",
    "create",
    "create_user",
    "delete",
    "delete_user",
    "distribution_config",
    "head",
    "invalidate",
    "invalidation",
    "list_users",
    "rotate_user_keys",
    "set_user_key_status",
    "show",
    "show_user",
    "sweep_distributions",
    "sweep_dns_records",
    "update_tags",
    "website_endpoint",
]
