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


def register_section(name: str, *, order: int, lines: Callable[[Iterable], dict]):
    _sections[name] = CardSection(name=name, order=order, lines=lines)


def environment_cards():
    from environments.models import Environment

    environments = list(Environment.objects.order_by("order"))
    by_section = [(s, s.lines(environments)) for s in sorted(_sections.values(), key=lambda s: s.order)]
    return [
        {"environment": env, "sections": [(s.name, lines.get(env.pk, [])) for s, lines in by_section]}
        for env in environments
    ]
