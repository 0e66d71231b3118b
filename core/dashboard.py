"""Cards on the admin index, one per environment, that every app can add lines to.

An app registers a section in its AppConfig.ready(); a section receives all
environments at once (so it can fetch what it needs in one query) and returns,
per environment id, the lines to show.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass


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


_sections: dict[str, CardSection] = {}
_subjects: Callable[[], Iterable] = list  # the environments app registers where its cards come from


def register_subjects(subjects: Callable[[], Iterable]):
    """Say which objects get a card, in order (the environments app does, so core imports no app)."""
    global _subjects
    _subjects = subjects


def register_section(name: str, *, order: int, lines: Callable[[Iterable], dict]):
    _sections[name] = CardSection(name=name, order=order, lines=lines)


def environment_cards():
    environments = list(_subjects())
    by_section = [(s, s.lines(environments)) for s in sorted(_sections.values(), key=lambda s: s.order)]
    return [
        {"environment": env, "sections": [(s.name, lines.get(env.pk, [])) for s, lines in by_section]}
        for env in environments
    ]
