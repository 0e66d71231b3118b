"""django-timezone-field's default choices are built on first use (core/lazy_timezones.py), with the same result."""

import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule
from timezone_field import TimeZoneField
from timezone_field.choices import standard

from core import lazy_timezones


def _upstream_choices():
    """What the library builds in its own __init__: every available zone but Factory, as ZoneInfo, sorted."""
    return standard([zoneinfo.ZoneInfo(name) for name in zoneinfo.available_timezones() - {"Factory"}])


def test_default_field__its_choices_are_the_library_s_own():
    field = TimeZoneField()
    assert list(field.choices) == _upstream_choices()
    assert ("Europe/Paris" in {str(value) for value, _ in field.flatchoices}) is True


def test_default_field__builds_no_choice_until_one_is_read():
    # Given a field as a model class defines it
    field = TimeZoneField()
    # Then nothing was listed or opened yet
    assert "default_tzs" not in field.__dict__
    # When the choices are read, Then they are built once and kept
    first = list(field.choices)
    assert field.__dict__["default_tzs"] and list(field.choices) == first


def test_field_given_its_own_choices__is_built_by_the_library_as_before():
    field = TimeZoneField(choices=[("Europe/Paris", "Paris"), ("Asia/Tokyo", "Tokyo")])
    assert list(field.choices) == [
        (zoneinfo.ZoneInfo("Europe/Paris"), "Paris"),
        (zoneinfo.ZoneInfo("Asia/Tokyo"), "Tokyo"),
    ]
    with_offsets = TimeZoneField(choices_display="WITH_GMT_OFFSET")
    assert any(label.startswith("GMT+01:00 Europe/Paris") for _, label in with_offsets.choices)


def test_max_length_by_position__still_refused():
    with pytest.raises(ValueError, match="max_length"):
        TimeZoneField("tz", "tz", False, 63)


@pytest.mark.django_db
def test_crontab_timezone__deconstructs_as_beat_s_migrations_wrote_it():
    # The default choices stay out of the deconstruction, so makemigrations sees no change in beat's app
    _, path, args, kwargs = CrontabSchedule._meta.get_field("timezone").deconstruct()
    assert path == "timezone_field.fields.TimeZoneField"
    assert "choices" not in kwargs and kwargs["use_pytz"] is False
    call_command("makemigrations", "django_celery_beat", check=True, dry_run=True, verbosity=0)


def test_install__twice__changes_nothing():
    init = TimeZoneField.__init__
    lazy_timezones.install()
    assert TimeZoneField.__init__ is init


@pytest.mark.django_db
def test_crontab_schedule__stores_and_validates_its_zone():
    schedule = CrontabSchedule(minute="0", hour="3", timezone="Europe/Paris")
    schedule.full_clean()
    schedule.save()
    assert CrontabSchedule.objects.get(pk=schedule.pk).timezone == zoneinfo.ZoneInfo("Europe/Paris")

    unknown = CrontabSchedule(minute="0", hour="3", timezone="Europe/Paris")
    with pytest.raises(ValidationError, match="Invalid timezone 'Mars/Olympus_Mons'"):
        unknown.timezone = "Mars/Olympus_Mons"


@pytest.mark.django_db
def test_crontab_admin_page__offers_every_zone(admin_client):
    page = admin_client.get("/admin/django_celery_beat/crontabschedule/add/")
    assert page.status_code == 200
    body = page.content.decode()
    assert '<option value="Europe/Paris">Europe/Paris</option>' in body
    assert body.count("<option value=") >= len(_upstream_choices())
