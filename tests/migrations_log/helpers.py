"""Migration files for the tests, as a CI checkout's migrations directory would hold them."""

from deployments.models import Release

BASE = {
    "0001_add_gift_wrap.sql": "-- estimate: 1s\nALTER TABLE orders ADD COLUMN gift_wrap boolean;\n",
    "0002_create_wishlists.sql": "-- estimate: 1s\nCREATE TABLE wishlists (id bigint PRIMARY KEY, name text);\n",
}


def release(version, ref_kind="branch"):
    """A staging release (release/* branch) or a production one (v* tag), as deployments know them."""
    ref = f"release/{version}" if ref_kind == "branch" else version
    return Release.objects.get_or_create(version=version, defaults={"ref": ref, "ref_kind": ref_kind})[0]
