"""The masking rules of the AMARISÉ commerce schema (§2: staging is an anonymized copy), as data.

(schema.table, column, strategy, params, note). A blank column rules the whole table. A table named without its
schema ("customers") is read as public.customers (split_table), so rules written in the old 2-part form still
seed; write new ones qualified.
"""

from refreshes.choices import Strategy as S

K = S.KEEP

RULES = [
    ("public.customers", "id", K, {}, ""),
    (
        "public.customers",
        "email",
        S.EMAIL,
        {"domain": "customers"},
        "same HMAC as orders and newsletter: joins by email hold",
    ),
    ("public.customers", "first_name", S.FAKE, {"dictionary": "first_name"}, ""),
    ("public.customers", "last_name", S.FAKE, {"dictionary": "last_name"}, ""),
    ("public.customers", "phone", S.PHONE, {}, ""),
    ("public.customers", "birth_date", S.DATE_SHIFT, {"days": 90}, ""),
    ("public.customers", "password_hash", S.PSEUDONYM, {"length": 32}, "real customers cannot log in to staging"),
    ("public.customers", "marketing_opt_in", K, {}, ""),
    ("public.customers", "last_login_ip", S.NULL, {}, ""),
    ("public.customers", "created_at", K, {}, ""),
    ("public.addresses", "id", K, {}, ""),
    ("public.addresses", "customer_id", K, {}, ""),
    ("public.addresses", "line1", S.FAKE, {"dictionary": "street"}, ""),
    ("public.addresses", "line2", S.NULL, {}, ""),
    ("public.addresses", "city", S.FAKE, {"dictionary": "city"}, ""),
    ("public.addresses", "postal_code", K, {}, "declared safe: a postal code alone names nobody"),
    ("public.addresses", "country", K, {}, ""),
    ("public.addresses", "phone", S.PHONE, {}, ""),
    ("public.payment_methods", "", S.TRUNCATE, {}, "no real payment methods in staging"),
    ("public.rituals", "id", K, {}, ""),
    ("public.rituals", "slug", K, {}, ""),
    ("public.rituals", "name", K, {}, "catalogue, not a person"),
    ("public.moods", "id", K, {}, ""),
    ("public.moods", "slug", K, {}, ""),
    ("public.moods", "name", K, {}, "catalogue, not a person"),
    ("public.products", "id", K, {}, ""),
    ("public.products", "sku", K, {}, ""),
    ("public.products", "title", K, {}, ""),
    ("public.products", "description", K, {}, ""),
    ("public.products", "price_cents", K, {}, ""),
    ("public.products", "ritual_id", K, {}, ""),
    ("public.products", "mood_id", K, {}, ""),
    ("public.products", "created_at", K, {}, ""),
    ("public.orders", "id", K, {}, ""),
    ("public.orders", "customer_id", K, {}, ""),
    ("public.orders", "shipping_address_id", K, {}, ""),
    ("public.orders", "status", K, {}, ""),
    ("public.orders", "contact_email", S.EMAIL, {"domain": "customers"}, ""),
    ("public.orders", "total_cents", K, {}, ""),
    ("public.orders", "payment_provider_id", S.NULL, {}, "no payment provider id may remain"),
    ("public.orders", "gift_message", S.SCRUB, {}, ""),
    ("public.orders", "placed_at", K, {}, ""),
    ("public.order_items", "id", K, {}, ""),
    ("public.order_items", "order_id", K, {}, ""),
    ("public.order_items", "product_id", K, {}, ""),
    ("public.order_items", "quantity", K, {}, ""),
    ("public.order_items", "unit_price_cents", K, {}, ""),
    ("public.reviews", "id", K, {}, ""),
    ("public.reviews", "customer_id", K, {}, ""),
    ("public.reviews", "product_id", K, {}, ""),
    ("public.reviews", "rating", K, {}, ""),
    ("public.reviews", "body", S.SCRUB, {}, "free text: emails, phones and names inside are replaced"),
    ("public.reviews", "created_at", K, {}, ""),
    ("public.wishlists", "id", K, {}, ""),
    ("public.wishlists", "customer_id", K, {}, ""),
    ("public.wishlists", "product_id", K, {}, ""),
    ("public.wishlists", "added_at", K, {}, ""),
    ("public.newsletter_subscriptions", "id", K, {}, ""),
    ("public.newsletter_subscriptions", "email", S.EMAIL, {"domain": "customers"}, ""),
    ("public.newsletter_subscriptions", "customer_id", K, {}, ""),
    ("public.newsletter_subscriptions", "source", K, {}, ""),
    ("public.newsletter_subscriptions", "subscribed_at", K, {}, ""),
    ("public.sessions", "", S.TRUNCATE, {}, ""),
    ("public.auth_tokens", "", S.TRUNCATE, {}, ""),
    ("public.carts", "id", K, {}, ""),
    ("public.carts", "customer_id", K, {}, ""),
    ("public.carts", "session_key", S.PSEUDONYM, {"length": 32}, "a storefront session id: it could be replayed"),
    ("public.carts", "contact_email", S.EMAIL, {"domain": "customers"}, "same HMAC as customers and orders"),
    ("public.carts", "status", K, {}, "the checkout funnel the monitoring catalog reads"),
    ("public.carts", "total_cents", K, {}, ""),
    ("public.carts", "order_id", K, {}, ""),
    ("public.carts", "created_at", K, {}, ""),
    ("public.carts", "checkout_started_at", K, {}, ""),
    ("public.carts", "updated_at", K, {}, ""),
]

# Which process variable holds each environment's database URL (§7: DATABASE_URL, per environment).
DATA_TARGETS = {
    "production": "PRODUCTION_DATABASE_URL",
    "staging": "STAGING_DATABASE_URL",
    "dev": "DEV_DATABASE_URL",
}


def split_table(name: str) -> tuple[str, str]:
    """("schema", "table") of "schema.table"; a bare "table" (the old 2-part rule form) is in public."""
    schema, _, table = name.rpartition(".")
    return (schema or "public"), table


def as_rules(rows=None) -> list:
    """The rules as unsaved MaskingRule objects (the bench and the tests mask with them)."""
    from refreshes.models import MaskingRule

    out = []
    for qualified, column, strategy, params, note in RULES if rows is None else rows:
        schema, table = split_table(qualified)
        out.append(MaskingRule(schema=schema, table=table, column=column, strategy=strategy, params=params, note=note))
    return out
