"""The admin index: first what needs a person, then one card per environment that every app can add lines to.

An app registers a section in its AppConfig.ready(); a section receives all
environments at once (so it can fetch what it needs in one query) and returns,
per environment id, the lines to show. An app registers what waits for a person with register_attention:
a callable returning AttentionItems (firing alerts, deployments waiting, open incidents...).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CardLine:
    label: str
    value: str
    tone: str = ""  # "ok", "warn", "bad" or "" (neutral)
    url: str = ""


@dataclass(frozen=True)
class CardSection:
    name: str
    order: int
    lines: Callable[[Iterable], dict]


@dataclass(frozen=True)
class AttentionItem:
    """One thing that needs a person now. `since` is when it began (its age is shown); `rank` sorts within
    a group (lower first: production before staging, critical before high)."""

    group: str  # the heading it is listed under, e.g. "Firing alerts"
    text: str
    tone: str = "bad"
    url: str = ""
    since: datetime | None = None
    rank: tuple = ()
    detail: str = ""


@dataclass(frozen=True)
class AttentionSource:
    name: str
    order: int
    items: Callable[[], Iterable[AttentionItem]]


_sections: dict[str, CardSection] = {}
_attention: dict[str, AttentionSource] = {}
_subjects: Callable[[], Iterable] = list  # the environments app registers where its cards come from
_quiet: Callable[[object], bool] = lambda subject: False  # noqa: E731


def register_subjects(subjects: Callable[[], Iterable], *, quiet: Callable[[object], bool] | None = None):
    """Say which objects get a card, in order (the environments app does, so core imports no app).
    `quiet(subject)` marks a card shown smaller (a developer's machine weighs less than production)."""
    global _subjects, _quiet
    _subjects = subjects
    if quiet is not None:
        _quiet = quiet


def register_attention(name: str, *, order: int, items: Callable[[], Iterable[AttentionItem]]):
    """Add a group of things needing a person to the top of the index (lower order first)."""
    _attention[name] = AttentionSource(name=name, order=order, items=items)


def needs_a_person(now=None) -> list[dict]:
    """[{"group": heading, "items": [(item, age text)...]}...] in the sources' order; empty groups left out."""
    from core.formatting import age

    groups = []
    for source in sorted(_attention.values(), key=lambda s: s.order):
        items = sorted(source.items(), key=lambda i: i.rank)
        by_group: dict[str, list] = {}
        for item in items:
            by_group.setdefault(item.group, []).append((item, age(item.since, now) if item.since else ""))
        groups += [{"group": group, "items": rows} for group, rows in by_group.items()]
    return groups


def register_section(name: str, *, order: int, lines: Callable[[Iterable], dict]):
    _sections[name] = CardSection(name=name, order=order, lines=lines)


def environment_cards():
    environments = list(_subjects())
    by_section = [(s, s.lines(environments)) for s in sorted(_sections.values(), key=lambda s: s.order)]
    return [
        {
            "environment": env,
            "quiet": _quiet(env),
            "sections": [(s.name, lines.get(env.pk, [])) for s, lines in by_section],
        }
        for env in environments
    ]
