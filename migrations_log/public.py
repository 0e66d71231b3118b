"""The migrations log's front door: what other apps may use. Nothing else is imported across apps."""

__all__: list[str] = []
