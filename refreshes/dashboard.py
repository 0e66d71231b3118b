from django.urls import reverse
from django.utils import timezone

from core.dashboard import CardLine
from environments.public import age_text
from refreshes.choices import RunStatus


def data_age(environment, run, now):
    """(text, tone) of an environment's data age against its policy: red once older than allowed."""
    max_age = environment.data_max_age
    if max_age is None:
        return None
    if run is None:
        return "never refreshed", "bad"
    age = now - run.finished_at
    policy = f"policy {max_age.days} day{'s' if max_age.days != 1 else ''}"
    return f"{age_text(run.finished_at)} ({policy})", "bad" if age > max_age else "ok"


def data_lines(environments):
    from refreshes import services

    environments = list(environments)
    ids = [e.pk for e in environments if e.data_max_age is not None]
    latest = services.latest_runs(ids, status=RunStatus.SUCCEEDED) if ids else {}
    now = timezone.now()
    lines = {}
    for env in environments:
        age = data_age(env, latest.get(env.pk), now)
        if age is None:
            continue
        text, tone = age
        run = latest.get(env.pk)
        url = reverse("admin:refreshes_refreshrun_change", args=[run.pk]) if run else ""
        lines[env.pk] = [CardLine("Data age", text, tone=tone, url=url)]
        if run is not None and run.leak_scan_passed is not None:
            lines[env.pk].append(
                CardLine(
                    "Leak scan", "passed" if run.leak_scan_passed else "FAILED", "ok" if run.leak_scan_passed else "bad"
                )
            )
    return lines
