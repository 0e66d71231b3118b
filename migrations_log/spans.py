"""Release migration sets as spans of registration numbers: the conversion from whole copies, kept pure.

Migration 0007 uses it on the old per-release rows; it imports nothing from the app, so that migration keeps
working whatever the models become."""

from collections.abc import Iterable


def spans_from_sets(sets: Iterable[tuple[object, Iterable[int]]]):
    """Number registrations in the order given and store each set as the changes from the one before.

    `sets`: (release key, its migration ids), oldest registration first. Returns ([(key, seq, size)],
    [(migration id, first_seq, last_seq or None while still in the latest set)]), numbers starting at 1.
    """
    numbered, spans = [], []
    open_since = {}  # migration id -> the registration that added it
    for seq, (key, members) in enumerate(sets, start=1):
        members = set(members)
        for migration in sorted(open_since.keys() - members):
            spans.append((migration, open_since.pop(migration), seq - 1))
        for migration in sorted(members - open_since.keys()):
            open_since[migration] = seq
        numbered.append((key, seq, len(members)))
    spans.extend((migration, first, None) for migration, first in sorted(open_since.items()))
    return numbered, spans
