"""One registry style for every adapter to an outside system, as healthchecks registers transports.

Each app keeps its adapters in `<app>/drivers/`: a base class, one module per backend, and in
`drivers/__init__.py` one Registry mapping a kind to a dotted path. Backends are imported only when
first asked for, so a heavy client library costs nothing to a process that never uses it.
"""

from importlib import import_module


class UnknownDriver(LookupError):
    pass


class Registry:
    def __init__(self, what: str, paths: dict[str, str] | None = None):
        self.what = what
        self._paths: dict[str, str] = dict(paths or {})
        self._loaded: dict[str, type] = {}

    def register(self, kind: str, path: str) -> None:
        self._paths[kind] = path
        self._loaded.pop(kind, None)

    def kinds(self) -> list[str]:
        return sorted(self._paths)

    def __contains__(self, kind) -> bool:
        return kind in self._paths

    def get(self, kind: str) -> type:
        if kind not in self._loaded:
            try:
                path = self._paths[kind]
            except KeyError:
                known = ", ".join(self.kinds()) or "none"
                raise UnknownDriver(f"No {self.what} driver {kind!r} (known: {known}).") from None
            module, _, name = path.rpartition(".")
            self._loaded[kind] = getattr(import_module(module), name)
        return self._loaded[kind]
