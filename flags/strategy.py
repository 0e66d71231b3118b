"""§3 of the strategy as data: the FeatureFlags interface and the "Flag Configuration by Environment" table."""

from flags.choices import Category, Kind

APPLY_SCHEDULED_TASK = "flags.apply_due_scheduled_changes"

# (key, category, description, kind, owner) in the interface's order. The description is the strategy's comment.
FLAGS = [
    ("checkoutEnabled", Category.COMMERCE, "Master checkout toggle", Kind.KILL_SWITCH, "commerce"),
    ("guestCheckout", Category.COMMERCE, "Allow guest purchases", Kind.PERMISSION, "commerce"),
    ("preOrders", Category.COMMERCE, "Pre-order functionality", Kind.RELEASE, "commerce"),
    ("wishlist", Category.COMMERCE, "Wishlist feature", Kind.RELEASE, "commerce"),
    ("reviews", Category.COMMERCE, "Product reviews", Kind.RELEASE, "commerce"),
    ("browseByRitual", Category.DISCOVERY, "Ritual-based browsing", Kind.RELEASE, "discovery"),
    ("browseByMood", Category.DISCOVERY, "Mood-based browsing", Kind.RELEASE, "discovery"),
    ("relatedProducts", Category.DISCOVERY, "Related products section", Kind.RELEASE, "discovery"),
    ("recentlyViewed", Category.DISCOVERY, "Recently viewed tracking", Kind.RELEASE, "discovery"),
    ("journal", Category.CONTENT, "Journal section", Kind.RELEASE, "content"),
    ("lookbook", Category.CONTENT, "Lookbook section", Kind.RELEASE, "content"),
    ("stories", Category.CONTENT, "Product stories", Kind.RELEASE, "content"),
    ("darkMode", Category.UI, "Dark mode toggle", Kind.RELEASE, "ui"),
    ("animations", Category.UI, "Motion effects", Kind.OPERATIONAL, "ui"),
    ("launchCountdown", Category.UI, "Collection countdown", Kind.RELEASE, "ui"),
    ("stockIndicator", Category.UI, "Show stock levels", Kind.OPERATIONAL, "ui"),
    ("aiRecommendations", Category.EXPERIMENTAL, "AI-powered suggestions", Kind.EXPERIMENT, "experimental"),
    ("arTryOn", Category.EXPERIMENTAL, "AR product preview", Kind.EXPERIMENT, "experimental"),
    ("liveChat", Category.EXPERIMENTAL, "Live chat support", Kind.OPERATIONAL, "experimental"),
]

ENVIRONMENTS = ("local", "dev", "staging", "production")

# The table, verbatim: flag -> (local, dev, staging, production).
TABLE = {
    "checkoutEnabled": (True, True, True, True),
    "guestCheckout": (True, True, True, False),
    "preOrders": (True, True, True, False),
    "wishlist": (True, True, True, True),
    "reviews": (True, True, False, False),
    "browseByRitual": (True, True, True, True),
    "journal": (True, True, True, True),
    "darkMode": (True, True, False, False),
    "aiRecommendations": (True, True, False, False),
}


def planned_value(key: str, environment: str) -> bool:
    """The strategy's value for a cell. Flags the table leaves out follow §2: Local has every flag on and
    Dev equals Local; Staging "matches the production plan"; Production is off until someone configures it."""
    if key in TABLE:
        return TABLE[key][ENVIRONMENTS.index(environment)]
    return environment in ("local", "dev")


def plan() -> dict[str, dict[str, bool]]:
    return {key: {env: planned_value(key, env) for env in ENVIRONMENTS} for key, *_ in FLAGS}
