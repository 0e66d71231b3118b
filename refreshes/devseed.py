"""The dev reset's data: Faker from a fixed seed, so the same seed always gives the same rows.

Nothing here depends on the clock or on the database's sequences: dates are offsets from a fixed day.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from psycopg import sql

from refreshes.sample.generate import CONSTRAINTS_SQL, MOODS, RITUALS, SCHEMA_SQL, TABLES, count_rows

TEST_CUSTOMERS = 12
PRODUCTS = 48
ORDERS = 60
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_KINDS = ["Candle", "Oil", "Balm", "Tea", "Robe", "Mist", "Stone", "Journal"]


def _password_hash(password: str, salt: str) -> str:
    # Django's pbkdf2 format, with few iterations: these are test logins, and the reset must stay quick.
    iterations = 1000
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${digest.hex()}"


def test_logins(seed: int) -> list[dict]:
    """The known test accounts of the dev environment (listed on its page in the admin)."""
    return [
        {"email": f"test{i}@dev.amarise.invalid", "password": f"amarise-dev-{i}-{seed % 10000:04d}"}
        for i in range(1, TEST_CUSTOMERS + 1)
    ]


def rows(seed: int) -> dict[str, list[tuple]]:
    from faker import Faker  # heavy (~0.2 s): only the dev reset needs it

    fake = Faker("en_US")
    fake.seed_instance(seed)
    data: dict[str, list[tuple]] = {t: [] for t in TABLES}
    data["rituals"] = [(i, slug, name) for i, (slug, name) in enumerate(RITUALS, 1)]
    data["moods"] = [(i, slug, name) for i, (slug, name) in enumerate(MOODS, 1)]
    for i in range(1, PRODUCTS + 1):
        ritual, mood = RITUALS[i % len(RITUALS)], MOODS[(i // 3) % len(MOODS)]
        data["products"].append(
            (
                i,
                f"DEV-{i:04d}",
                f"{ritual[1]} {_KINDS[i % len(_KINDS)]}",
                f"A {mood[1].lower()} companion for the {ritual[1].lower()} ritual. {fake.sentence()}",
                fake.random_int(1500, 21500),
                1 + i % len(RITUALS),
                1 + (i // 3) % len(MOODS),
                _EPOCH + timedelta(days=i),
            )
        )
    for i, login in enumerate(test_logins(seed), 1):
        first, last = fake.first_name(), fake.last_name()
        data["customers"].append(
            (
                i,
                login["email"],
                first,
                last,
                f"+1 555 01{i:02d}",
                fake.date_of_birth(minimum_age=18, maximum_age=80),
                _password_hash(login["password"], f"devsalt{i}"),
                i % 2 == 0,
                None,
                _EPOCH + timedelta(hours=i),
            )
        )
        data["addresses"].append(
            (i, i, fake.street_address(), None, fake.city(), fake.postcode(), "US", f"+1 555 01{i:02d}")
        )
        data["newsletter_subscriptions"].append((i, login["email"], i, "footer", _EPOCH + timedelta(hours=i)))
    item = 0
    for o in range(1, ORDERS + 1):
        customer = 1 + fake.random_int(0, TEST_CUSTOMERS - 1)
        lines = []
        for _ in range(fake.random_int(1, 3)):
            item += 1
            product = data["products"][fake.random_int(0, PRODUCTS - 1)]
            quantity = fake.random_int(1, 3)
            lines.append((item, o, product[0], quantity, product[4]))
        data["order_items"].extend(lines)
        total = sum(q * p for _, _, _, q, p in lines)
        email = data["customers"][customer - 1][1]
        status = ["paid", "shipped", "delivered"][o % 3]
        placed = _EPOCH + timedelta(days=30, hours=o)
        data["orders"].append((o, customer, customer, status, email, total, None, None, placed))
    for r in range(1, 31):
        data["reviews"].append(
            (
                r,
                1 + r % TEST_CUSTOMERS,
                1 + (r * 7) % PRODUCTS,
                1 + r % 5,
                fake.paragraph(nb_sentences=2),
                _EPOCH + timedelta(days=40, hours=r),
            )
        )
    for w in range(1, 25):
        data["wishlists"].append((w, 1 + w % TEST_CUSTOMERS, 1 + (w * 5) % PRODUCTS, _EPOCH + timedelta(days=50 + w)))
    return data


def build(conn, *, seed: int) -> dict:
    """Create the sample schema in `conn`'s (new, empty) database and seed it. Returns row counts."""
    data = rows(seed)
    with conn.transaction():
        conn.execute(SCHEMA_SQL)
        for table in TABLES:
            if not data[table]:
                continue
            with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))) as copy:
                for row in data[table]:
                    copy.write_row(row)
        conn.execute(CONSTRAINTS_SQL)
    return count_rows(conn, TABLES)
