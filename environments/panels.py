"""Read-only sections other apps add to each environment's page: (title, render(environment) -> HTML)."""

from collections.abc import Callable

_panels: list[tuple[str, Callable]] = []


def register_panel(title: str, render: Callable):
    """Add a read-only section to the environment page (another app's view of that environment)."""
    _panels.append((title, render))


def panels() -> list[tuple[str, Callable]]:
    return list(_panels)
