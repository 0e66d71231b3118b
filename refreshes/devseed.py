"""The dev reset's data: Faker rows for the tables dev's real schema has, driven by the masking rules' column kinds,
from a fixed seed, so the same seed and schema always give the same rows.

dev's schema is built first from the migrations live on dev (services._build_dev). Then each table is filled only
when the rules say what every one of its columns is: an email column gets test emails, a `fake` column a pick from
its dictionary, a phone column a 555 number, a kept integer key a sequence, a foreign key a row of its parent...
A table the rules do not fully cover, one emptied by its rule (as staging has it), or one whose columns the
generator has no value for is left empty and reported, never filled with guesses.

Nothing here depends on the clock: dates are offsets from a fixed day.
"""

import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from psycopg import sql

from refreshes import dictionaries
from refreshes.choices import Strategy
from refreshes.schema import count_rows, read_columns

TEST_CUSTOMERS = 12
ROWS = 24  # rows per table; the first TEST_CUSTOMERS rows of the login table are the test logins
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_INTEGERS = {"smallint", "integer", "bigint"}
_TEXT = {"text", "character varying", "citext"}
_PASSWORD = ("password", "passwd")


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


def _facts(conn):
    """Single-column keys: {(schema, table): pk column}, {(schema, table, column): (parent table key, parent
    column)}, unique (schema, table, column)s, and character lengths."""
    pks, uniques = {}, set()
    for schema, table, column, primary in conn.execute(
        """
        SELECT n.nspname, c.relname, a.attname, i.indisprimary
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
        WHERE i.indnatts = 1 AND (i.indisunique OR i.indisprimary)
        """
    ).fetchall():
        uniques.add((schema, table, column))
        if primary:
            pks[(schema, table)] = column
    fks = {}
    for schema, table, column, pschema, ptable, pcolumn in conn.execute(
        """
        SELECT cn.nspname, c.relname, ca.attname, pn.nspname, p.relname, pa.attname
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
        JOIN pg_class p ON p.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
        JOIN pg_attribute ca ON ca.attrelid = c.oid AND ca.attnum = con.conkey[1]
        JOIN pg_attribute pa ON pa.attrelid = p.oid AND pa.attnum = con.confkey[1]
        WHERE con.contype = 'f' AND array_length(con.conkey, 1) = 1
        """
    ).fetchall():
        fks[(schema, table, column)] = ((pschema, ptable), pcolumn)
    lengths = {
        (s, t, c): n
        for s, t, c, n in conn.execute(
            "SELECT table_schema, table_name, column_name, character_maximum_length FROM information_schema.columns "
            "WHERE character_maximum_length IS NOT NULL"
        ).fetchall()
    }
    return pks, fks, uniques, lengths


class _Table:
    def __init__(self, key, columns):
        self.key, self.columns = key, columns
        self.label = ".".join(key)


def _order(tables, fks):
    """Parents before children (a foreign key to itself or a cycle is left to the NULLs it allows)."""
    done, ordered = set(), []
    pending = list(tables)
    while pending:
        progress = False
        for table in list(pending):
            parents = {fks[(*table.key, c.column)][0] for c in table.columns if (*table.key, c.column) in fks}
            if all(p in done or p == table.key or p not in {t.key for t in pending} for p in parents):
                ordered.append(table)
                done.add(table.key)
                pending.remove(table)
                progress = True
        if not progress:
            ordered.extend(pending)
            break
    return ordered


def build(conn, *, rules, seed: int) -> tuple[dict, dict, list]:
    """Fill dev's (migrated, empty) database.

    Returns ({"schema.table": rows}, {"schema.table": why it is left empty}, the test logins made).
    """
    from faker import Faker  # heavy (~0.2 s): only the dev reset needs it

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    by_key = {r.key: r for r in rules}
    emptied = {r.table_key for r in rules if r.strategy == Strategy.TRUNCATE}
    pks, fks, uniques, lengths = _facts(conn)
    grouped: dict[tuple, list] = {}
    for column in read_columns(conn):
        if not column.console_owned:
            grouped.setdefault(column.table_key, []).append(column)
    tables = [_Table(key, cols) for key, cols in sorted(grouped.items())]

    left_empty, generated, counts = {}, {}, {}
    logins_table = _logins_table(tables, by_key)
    logins = test_logins(seed)
    with conn.transaction():
        for table in _order(tables, fks):
            if table.key in emptied:
                left_empty[table.label] = "emptied by its masking rule (as in staging)"
                continue
            unruled = [c.column for c in table.columns if (c.schema, c.table, c.column) not in by_key]
            if unruled:
                left_empty[table.label] = f"no masking rule for {', '.join(unruled)}"
                continue
            existing = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table.key))).fetchone()
            if existing[0]:
                left_empty[table.label] = f"kept the {existing[0]} row(s) its migrations inserted"
                continue
            try:
                rows = [
                    [
                        _value(
                            column,
                            i,
                            rule=by_key[(column.schema, column.table, column.column)],
                            rng=rng,
                            fake=fake,
                            pk=pks.get(table.key) == column.column,
                            fk=fks.get((column.schema, column.table, column.column)),
                            unique=(column.schema, column.table, column.column) in uniques,
                            length=lengths.get((column.schema, column.table, column.column)),
                            generated=generated,
                            login=logins[i - 1] if table.key == logins_table and i <= len(logins) else None,
                        )
                        for column in table.columns
                    ]
                    for i in range(1, ROWS + 1)
                ]
            except _NoValue as exc:
                left_empty[table.label] = str(exc)
                continue
            names = [c.column for c in table.columns]
            with conn.cursor().copy(
                sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(*table.key), sql.SQL(", ").join(map(sql.Identifier, names))
                )
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            for at, name in enumerate(names):
                generated[(*table.key, name)] = [row[at] for row in rows]
        counts = count_rows(conn, [t.key for t in tables])
    made = logins if logins_table is not None and logins_table not in left_empty_keys(left_empty) else []
    return counts, left_empty, made


def _logins_table(tables, by_key):
    """The table of people who log in: an email column and a password column, both masked."""
    for table in tables:
        kinds = {
            by_key[(c.schema, c.table, c.column)].strategy for c in table.columns if (*table.key, c.column) in by_key
        }
        passwords = [c for c in table.columns if any(p in c.column for p in _PASSWORD)]
        if Strategy.EMAIL in kinds and passwords:
            return table.key
    return None


def left_empty_keys(left_empty):
    return {tuple(label.split(".", 1)) for label in left_empty}


class _NoValue(Exception):
    pass


def _value(column, i, *, rule, rng, fake, pk, fk, unique, length, generated, login):  # noqa: C901 - one case per kind
    strategy, params = rule.strategy, rule.params or {}
    if strategy == Strategy.NULL:
        return None
    if fk is not None and not pk:
        (parent, parent_column) = fk
        choices = generated.get((*parent, parent_column))
        if not choices:
            if column.nullable:
                return None
            raise _NoValue(f"{column.column} refers to {'.'.join(parent)}, which is left empty")
        return rng.choice(choices)
    if strategy == Strategy.EMAIL:
        if login:
            return login["email"]
        return f"dev{i}.{column.table}@{params.get('domain', 'masked')}.invalid"
    if strategy == Strategy.FAKE:
        return rng.choice(dictionaries.values(params["dictionary"]))
    if strategy == Strategy.PHONE:
        return f"+1 555 {i:07d}"
    if strategy == Strategy.PSEUDONYM:
        if any(p in column.column for p in _PASSWORD):
            password = login["password"] if login else f"amarise-dev-row-{i}"
            return _password_hash(password, f"devsalt{i}")
        return fake.hexify("^" * int(params.get("length", 16)))
    if strategy == Strategy.SCRUB:
        return fake.sentence()
    if strategy == Strategy.DATE_SHIFT:
        if column.data_type == "date":
            return (_EPOCH - timedelta(days=rng.randint(18 * 365, 80 * 365))).date()
        return _EPOCH + timedelta(hours=rng.randint(0, 24 * 365))
    return _kept(column, i, rng=rng, fake=fake, pk=pk, unique=unique, length=length)


def _kept(column, i, *, rng, fake, pk, unique, length):
    """A value for a column declared safe, by its type."""
    kind = column.data_type
    if kind in _INTEGERS:
        return i if (pk or unique) else rng.randint(1, 5 if kind == "smallint" else 10_000)
    if kind == "numeric":
        return Decimal(rng.randint(100, 100_000)) / 100
    if kind == "boolean":
        return i % 2 == 0
    if kind in _TEXT:
        value = f"{column.column}-{i}" if (pk or unique) else fake.word()
        return value[:length] if length else value
    if kind == "character":
        return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(length or 1))
    if kind == "date":
        return (_EPOCH + timedelta(days=i)).date()
    if kind in {"timestamp with time zone", "timestamp without time zone"}:
        value = _EPOCH + timedelta(days=i, hours=rng.randint(0, 23))
        return value if kind.endswith("with time zone") else value.replace(tzinfo=None)
    if kind == "inet":
        return f"192.0.2.{i % 250 + 1}"  # TEST-NET-1: documentation addresses
    if kind == "uuid":
        return uuid.UUID(int=rng.getrandbits(128))
    if kind in {"json", "jsonb"}:
        return "{}"
    raise _NoValue(f"no generator for {column.column} ({kind})")
