"""The sample commerce database: built set-based, complete, and never over an existing one."""

import pytest
from django.core.management import CommandError, call_command

from refreshes.sample import generate
from tests.refreshes.conftest import PREFIX, build_sample, count, db_url, drop, query

pytestmark = pytest.mark.django_db


def test_make_sample_commerce__small__fills_every_table_with_keys():
    name = f"{PREFIX}sample"
    drop(name)
    call_command("make_sample_commerce", dsn=db_url(name), customers=50)
    counts = {t: count(name, t) for t in generate.TABLES}
    assert counts["customers"] == 50 and counts["orders"] == 100 and counts["order_items"] == 200
    assert all(counts[t] > 0 for t in counts), counts
    fks = query(name, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")[0][0]
    assert fks >= 15
    # Reviews sometimes hold a customer's email, phone or name: what the scrub has to find.
    bodies = " ".join(r[0] for r in query(name, "SELECT body FROM reviews"))
    assert "@" in bodies and "+33 6" in bodies and "Signed," in bodies
    assert query(name, "SELECT count(*) FROM products WHERE ritual_id IS NULL OR mood_id IS NULL")[0][0] == 0
    drop(name)


def test_make_sample_commerce__database_already_filled__refuses_and_changes_nothing():
    name = f"{PREFIX}sample_twice"
    build_sample(name, customers=10)
    with pytest.raises(CommandError, match="already holds commerce tables"):
        call_command("make_sample_commerce", dsn=db_url(name), customers=20)
    assert query(name, "SELECT count(*) FROM customers")[0][0] == 10
    drop(name)


def test_make_sample_commerce__production_dsn__refused(targets, production):
    with pytest.raises(CommandError, match="production's database"):
        call_command("make_sample_commerce", dsn=db_url(production).replace("127.0.0.1", "localhost"), customers=5)


def test_make_sample_commerce__bad_dsn__clear_message():
    with pytest.raises(CommandError, match="postgres://USER@HOST:PORT/NAME"):
        call_command("make_sample_commerce", dsn="mysql://x/y", customers=5)
