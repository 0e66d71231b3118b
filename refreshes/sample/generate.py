"""Build the sample commerce database set-based: every table is one INSERT ... SELECT over generate_series.

Names are made from syllables, not from Faker's lists, so that a masked copy (whose fake names come
from Faker) can never be mistaken for a leak of a production name.
"""

from pathlib import Path

from psycopg import sql

HERE = Path(__file__).resolve().parent
SCHEMA_SQL = (HERE / "schema.sql").read_text()
CONSTRAINTS_SQL = (HERE / "constraints.sql").read_text()
VIEWS_SQL = (HERE / "views.sql").read_text()
TABLES = [
    "customers", "addresses", "payment_methods", "rituals", "moods", "products", "orders", "carts", "order_items",
    "reviews", "wishlists", "newsletter_subscriptions", "sessions", "auth_tokens",
]  # fmt: skip

RITUALS = [
    ("morning-awakening", "Morning Awakening"),
    ("evening-unwind", "Evening Unwind"),
    ("sunday-reset", "Sunday Reset"),
    ("slow-bath", "Slow Bath"),
    ("tea-ceremony", "Tea Ceremony"),
    ("moon-journal", "Moon Journal"),
]
MOODS = [
    ("calm", "Calm"),
    ("bright", "Bright"),
    ("grounded", "Grounded"),
    ("tender", "Tender"),
    ("bold", "Bold"),
    ("dreamy", "Dreamy"),
]

_SYLLABLES = "ka lo mi ra ve sen dor an el ia mar tis qu zo bel fen gri hal jun ost".split()

# Each statement gets the counts as parameters; random() after setseed() makes a run repeatable.
_STATEMENTS = [
    "SELECT setseed(0.42)",
    """
    INSERT INTO customers
    SELECT g,
           lower(f) || '.' || lower(l) || g || '@'
               || (ARRAY['gmail.com','yahoo.fr','outlook.com','icloud.com'])[1 + g % 4],
           f, l,
           '+33 6 ' || lpad((random() * 99999999)::bigint::text, 8, '0'),
           date '1950-01-01' + (random() * 18000)::int,
           'pbkdf2_sha256$600000$' || md5(g::text || 'salt') || '$' || md5(g::text),
           random() < 0.4,
           ('10.' || (g % 250) || '.' || (g / 250 % 250) || '.' || (g % 7 + 1))::inet,
           timestamptz '2020-01-01' + random() * interval '1800 days'
    FROM (
        SELECT g,
               initcap(s[1 + (random() * 19)::int] || s[1 + (random() * 19)::int] || s[1 + (random() * 19)::int]) AS f,
               initcap(s[1 + (random() * 19)::int] || s[1 + (random() * 19)::int] || s[1 + (random() * 19)::int]
                       || s[1 + (random() * 19)::int]) AS l
        FROM generate_series(1, %(customers)s) g, (SELECT %(syllables)s AS s) syl
    ) n
    """,
    """
    INSERT INTO addresses
    SELECT c.id, c.id, (1 + c.id % 180) || ' rue ' || c.last_name, CASE WHEN c.id % 3 = 0 THEN 'Apt ' || c.id % 40 END,
           (ARRAY['Paris','Lyon','Marseille','Bordeaux','Lille','Nantes'])[1 + c.id % 6],
           lpad((10000 + c.id % 85000)::text, 5, '0'), 'FR', c.phone
    FROM customers c
    """,
    """
    INSERT INTO payment_methods
    SELECT c.id / 2, c.id, 'stripe', 'pm_' || substr(md5('pm' || c.id), 1, 24), substr(md5('fp' || c.id), 1, 16),
           lpad((c.id % 10000)::text, 4, '0'), 1 + c.id % 12, 2027 + c.id % 5
    FROM customers c WHERE c.id % 2 = 0
    """,
    "INSERT INTO rituals SELECT row_number() OVER (), slug, name"
    " FROM unnest(%(ritual_slugs)s::text[], %(ritual_names)s::text[]) AS r(slug, name)",
    "INSERT INTO moods SELECT row_number() OVER (), slug, name"
    " FROM unnest(%(mood_slugs)s::text[], %(mood_names)s::text[]) AS m(slug, name)",
    """
    INSERT INTO products
    SELECT g, 'AMR-' || lpad(g::text, 5, '0'),
           r.name || ' ' || (ARRAY['Candle','Oil','Balm','Tea','Robe','Mist','Stone','Journal'])[1 + g % 8],
           'A ' || lower(m.name) || ' companion for the ' || lower(r.name) || ' ritual.',
           1500 + (g * 37) % 20000, r.id, m.id, timestamptz '2019-06-01' + g * interval '1 day'
    FROM generate_series(1, %(products)s) g
    JOIN rituals r ON r.id = 1 + g % (SELECT count(*) FROM rituals)
    JOIN moods m ON m.id = 1 + (g / 7) % (SELECT count(*) FROM moods)
    """,
    """
    INSERT INTO orders
    SELECT g, c.id, c.id, (ARRAY['paid','shipped','delivered','refunded'])[1 + g % 4], c.email,
           2000 + (random() * 30000)::int, 'pi_' || substr(md5('pi' || g), 1, 24),
           CASE WHEN g % 5 = 0 THEN 'For ' || c.first_name || ', with love' END,
           c.created_at + random() * interval '900 days'
    FROM generate_series(1, %(orders)s) g
    JOIN customers c ON c.id = 1 + (g * 7919::bigint) % %(customers)s
    """,
    # Carts: four in ten paid (the order they became), three abandoned (half of them at checkout), one still
    # in checkout, two just created; guests (no customer) leave an email only once they start checkout.
    """
    INSERT INTO carts
    SELECT g, CASE WHEN g % 5 = 4 THEN NULL ELSE c.id END, md5('cart' || g),
           CASE WHEN g % 10 < 4 OR g % 10 IN (5, 7) THEN c.email END,
           CASE WHEN g % 10 < 4 THEN 'paid' WHEN g % 10 < 7 THEN 'abandoned'
                WHEN g % 10 = 7 THEN 'checkout_started' ELSE 'created' END,
           1500 + (g * 37) % 30000,
           CASE WHEN g % 10 < 4 THEN 1 + (g * 7919::bigint) % %(orders)s END,
           t, CASE WHEN g % 10 < 4 OR g % 10 IN (5, 7) THEN t + interval '4 minutes' END, t + interval '9 minutes'
    FROM generate_series(1, %(carts)s) g
    JOIN customers c ON c.id = 1 + (g * 6007::bigint) % %(customers)s
    CROSS JOIN LATERAL (SELECT c.created_at + random() * interval '900 days' AS t) ct
    """,
    """
    INSERT INTO order_items
    SELECT i, (i + 1) / 2, 1 + (i * 31) % %(products)s, 1 + i % 3, 1500 + (i * 37) % 20000
    FROM generate_series(1, %(orders)s * 2) i
    """,
    """
    INSERT INTO reviews
    SELECT g, c.id, 1 + (g * 13) % %(products)s, 1 + g % 5,
           CASE g % 10
               WHEN 0 THEN 'Loved it. Write to me at ' || c.email || ' if you want photos.'
               WHEN 1 THEN 'Call me on ' || c.phone || ' and I will tell you all about it.'
               WHEN 2 THEN 'Bought it for my sister. Signed, ' || c.first_name || ' ' || c.last_name
               ELSE 'The scent is soft and warm, perfect for the evening ritual.'
           END,
           c.created_at + random() * interval '600 days'
    FROM generate_series(1, greatest(%(customers)s / 5, 1)) g
    JOIN customers c ON c.id = 1 + (g * 104729::bigint) % %(customers)s
    """,
    """
    INSERT INTO wishlists
    SELECT g, 1 + (g * 3) % %(customers)s, 1 + (g * 17) % %(products)s,
           timestamptz '2024-01-01' + g * interval '1 minute'
    FROM generate_series(1, greatest(%(customers)s / 2, 1)) g
    """,
    """
    INSERT INTO newsletter_subscriptions
    SELECT c.id, c.email, c.id, (ARRAY['footer','checkout','popup'])[1 + c.id % 3], c.created_at
    FROM customers c WHERE c.id % 2 = 1
    """,
    """
    INSERT INTO sessions
    SELECT g, 1 + (g * 7) % %(customers)s, md5('session' || g), ('192.168.' || g % 250 || '.' || g % 200)::inet,
           'Mozilla/5.0', timestamptz '2026-01-01' + g * interval '1 second'
    FROM generate_series(1, greatest(%(customers)s / 2, 1)) g
    """,
    """
    INSERT INTO auth_tokens
    SELECT g, 1 + (g * 11) % %(customers)s, md5('token' || g) || md5('t' || g), (ARRAY['reset','login'])[1 + g % 2],
           timestamptz '2026-01-01' + g * interval '1 second'
    FROM generate_series(1, greatest(%(customers)s / 4, 1)) g
    """,
]


def params_for(customers: int) -> dict:
    return {
        "customers": customers,
        "orders": customers * 2,
        "carts": customers * 3,
        "products": max(60, min(2000, customers // 100)),
        "ritual_slugs": [s for s, _ in RITUALS],
        "ritual_names": [n for _, n in RITUALS],
        "mood_slugs": [s for s, _ in MOODS],
        "mood_names": [n for _, n in MOODS],
        "syllables": _SYLLABLES,
    }


def _render(statement: str, params: dict) -> str:
    # Inlined rather than bound: the statements use % as modulo, and every value here is ours.
    for name, value in params.items():
        literal = (
            "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in value) + "]"
            if isinstance(value, list)
            else str(int(value))
        )
        statement = statement.replace(f"%({name})s", literal)
    return statement


def build(conn, *, customers: int) -> dict:
    """Create the schema and fill it in `conn`'s database (which must hold no commerce tables yet).

    Returns the row count of every table.
    """
    if customers < 1:
        raise ValueError("--customers must be at least 1")
    existing = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY(%s)",
        [TABLES],
    ).fetchone()[0]
    if existing:
        raise ValueError("the database already holds commerce tables: point --dsn at an empty database")
    params = params_for(customers)
    with conn.transaction():
        conn.execute(SCHEMA_SQL)
        for statement in _STATEMENTS:
            conn.execute(_render(statement, params))
        conn.execute(CONSTRAINTS_SQL)
        conn.execute(VIEWS_SQL)
    conn.execute("ANALYZE")
    return count_rows(conn, TABLES)


def count_rows(conn, tables) -> dict:
    return {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0] for t in tables}
