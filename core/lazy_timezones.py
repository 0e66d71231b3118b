"""django-timezone-field's choices, built on first use instead of when a model class is defined.

`TimeZoneField()` lists the system's time zones twice and opens all ~600 of them when it is defined. Beat's
`CrontabSchedule` defines one, so every process paid about 80 ms at start-up for a select box that only the
crontab admin page draws. Upstream has the same fix open (mfogel/django-timezone-field#156). This keeps the
field's behaviour, values, validation and migrations; only when the work happens changes. Installed from
`core.apps`, which Django imports before any models module. Fields given their own `choices` or
`choices_display` are built by the library as before.
"""

from functools import cached_property

from django.db import models
from django.utils.choices import BaseChoiceIterator


class _ZoneChoices(BaseChoiceIterator):
    """The field's default choices, worked out on first iteration (Django keeps such iterators lazy)."""

    def __init__(self, field):
        self.field = field
        self._choices = None

    def __iter__(self):
        if self._choices is None:
            from timezone_field.choices import standard

            self._choices = standard(self.field.default_tzs)
        return iter(self._choices)


def _lazy_init(original_init):
    def __init__(self, *args, **kwargs):
        if "choices" in kwargs or kwargs.get("choices_display") is not None or len(args) > 3:
            return original_init(self, *args, **kwargs)
        kwargs.setdefault("max_length", self.default_max_length)
        self.use_pytz = kwargs.pop("use_pytz", None)
        self.choices_display = kwargs.pop("choices_display", None)
        kwargs["choices"] = _ZoneChoices(self)
        models.Field.__init__(self, *args, **kwargs)

    __init__.ops_lazy = True
    return __init__


def _tz_backend(self):
    from timezone_field.backends import get_tz_backend

    return get_tz_backend(self.use_pytz)


def _default_tzs(self):
    return [self.tz_backend.to_tzobj(name) for name in self.tz_backend.base_tzstrs]


def install():
    """Idempotent. The library's own `__init__` sets these two as instance attributes, which take precedence."""
    from timezone_field.fields import TimeZoneField

    if getattr(TimeZoneField.__init__, "ops_lazy", False):
        return
    for name, compute in (("tz_backend", _tz_backend), ("default_tzs", _default_tzs)):
        prop = cached_property(compute)
        prop.__set_name__(TimeZoneField, name)
        setattr(TimeZoneField, name, prop)
    TimeZoneField.__init__ = _lazy_init(TimeZoneField.__init__)
