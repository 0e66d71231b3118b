"""The post-deployment checklist, carried out: journeys (proof 4), performance, status page, stakeholders, and the
person's items. In-process, on the module's seeding, with a local storefront stand-in as the new slot."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from deployments import services as deployment_services
from deployments.exceptions import DeploymentRefused, NotAllowed
from deployments.models import (
    ChecklistItem,
    Deployment,
    DeploymentChecklistItem,
    DeploymentPolicy,
    MetricSample,
    Release,
    ReleaseCommit,
    ReleaseNotification,
    Slot,
)
from deployments.postdeploy import notify, services
from deployments.public import published_release_notes
from incidents.public import SIGNATURE_HEADER, sign
from monitoring.models import Alert
from tests.deployments.standins import Storefront, free_port
from tests.incidents.standins import WebhookReceiver

CHECKOUT = "Checkout to payment (sandbox)"


@pytest.fixture(scope="module")
def broken_shop():
    server = Storefront(failing={"/cart/add"})
    yield server
    server.close()


@pytest.fixture(scope="module")
def shop():
    server = Storefront()
    yield server
    server.close()


def _succeeded(env, *, address="127.0.0.1:9002", note="", status="succeeded", watching_until=None, version="v2.0"):
    blue, green = env.slots.get(color="blue"), env.slots.get(color="green")
    Slot.objects.filter(pk=green.pk).update(address=address)
    release = Release.objects.create(version=version, ref=version, ref_kind="tag", changelog="Faster checkout")
    ReleaseCommit.objects.create(release=release, sha="a1b2c3d", committed_at=timezone.now(), message="Cache the cart")
    now = timezone.now()
    deployment = Deployment.objects.create(
        release=release, environment=env, status=status, strategy="blue_green", from_slot=blue, to_slot=green,
        started_at=now - timedelta(minutes=10), finished_at=now, traffic_weight=100, traffic_step=2,
        hold_started_at=now - timedelta(minutes=5), release_note=note, watching_until=watching_until,
    )  # fmt: skip
    DeploymentChecklistItem.objects.bulk_create(
        DeploymentChecklistItem(deployment=deployment, item=item) for item in ChecklistItem.objects.all()
    )
    return Deployment.objects.select_related("environment__deployment_policy", "release", "from_slot", "to_slot").get(
        pk=deployment.pk
    )


def _item(deployment, key):
    return DeploymentChecklistItem.objects.get(deployment=deployment, item__key=key)


OPERATOR_PERMISSIONS = ["operate_deployment", "deploy_production", "check_checklist", "view_deployment"]


def _operator(make_user, name="olivia", codenames=OPERATOR_PERMISSIONS):
    """A staff member with an unusable password (no hashing: these tests log in with force_login)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(name, f"{name}@amarise.invalid", None, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="deployments", codename__in=codenames))
    return get_user_model().objects.get(pk=user.pk)


# --- Seeds ------------------------------------------------------------------------------------------


def test_seed__every_policy__four_journeys_and_the_5_minute_job(seeded_module, db):
    for policy in DeploymentPolicy.objects.select_related("environment"):
        names = [j.name for j in policy.journeys.all()]
        assert names == ["Home page", "Product page", "Add to cart", CHECKOUT], policy.environment.key
        checkout = policy.journeys.get(name=CHECKOUT)
        assert checkout.steps.last().path == "/checkout/payment?sandbox=1"
    task = PeriodicTask.objects.get(name="Post-deployment checks (bake period)")
    assert (task.task, task.interval.every, task.interval.period) == ("postdeploy.run_due", 5, "minutes")


# --- Proof 4: a journey failing on the new slot is reported on the deployment, and alerts ------------------


def test_proof4__add_to_cart_500_on_new_slot__reported_on_deployment_and_alerts(
    production_once, broken_shop, make_user, client
):
    deployment = _succeeded(production_once, address=broken_shop.address)

    outcome = services.run_round(deployment.pk)

    assert "journeys: 2 of 4 failed" in outcome
    runs = {r.journey_name: r for r in services.latest_runs(deployment)}
    assert runs["Home page"].passed and runs["Product page"].passed
    assert (runs["Add to cart"].passed, runs["Add to cart"].failing_step) == (False, "Add to cart")
    assert runs[CHECKOUT].failing_step == "Add to cart"
    assert "POST /cart/add → 500, expected 200" in runs["Add to cart"].detail
    item = _item(deployment, "verify_user_journeys")
    assert not item.checked
    assert "“Add to cart” failed at step “Add to cart”" in item.note
    # Production: critical, so an incident opens and on-call is told; one alert per failing journey.
    alerts = Alert.objects.filter(name=services.JOURNEY_ALERT, environment=production_once)
    assert {a.labels["journey"] for a in alerts} == {"Add to cart", CHECKOUT}
    assert {a.severity for a in alerts} == {"critical"}
    assert all(a.incident_id for a in alerts)
    assert deployment.events.filter(kind="alert", detail__contains="failed at step “Add to cart”").count() == 2

    client.force_login(_operator(make_user))
    page = client.get(reverse("admin:deployments_deployment_change", args=[deployment.pk])).content.decode()
    assert "Journey “Add to cart” failed at step “Add to cart” — decide: switch back or keep." in page
    assert 'id="keep-release"' in page

    # The success hook and beat asking within the minute: one round.
    assert services.run_round(deployment.pk) == "a round ran less than a minute ago"
    # A second round: the alert stays firing (not duplicated), the timeline does not repeat itself.
    services.run_round(deployment.pk, force=True)
    assert Alert.objects.filter(name=services.JOURNEY_ALERT, environment=production_once).count() == 2
    assert deployment.events.filter(kind="alert", detail__contains="failed at step").count() == 2


def test_journeys__all_pass_on_the_new_slot__ticked(production_once, shop):
    deployment = _succeeded(production_once, address=shop.address)

    assert services.run_journeys(deployment) == "journeys: 4 passed"

    item = _item(deployment, "verify_user_journeys")
    assert item.checked and item.source == "engine"
    assert not Alert.objects.filter(name=services.JOURNEY_ALERT).exists()


def test_journeys__fail_then_pass__alert_resolved(production_once, shop):
    deployment = _succeeded(production_once, address=f"127.0.0.1:{free_port()}")
    services.run_journeys(deployment)
    assert Alert.objects.filter(name=services.JOURNEY_ALERT, status="firing").count() == 4

    Slot.objects.filter(pk=deployment.to_slot_id).update(address=shop.address)
    deployment.to_slot.refresh_from_db()
    services.run_journeys(deployment)

    assert not Alert.objects.filter(name=services.JOURNEY_ALERT, status="firing").exists()
    assert _item(deployment, "verify_user_journeys").checked


def test_keep_release__no_reason__refused_and_nothing_recorded(production_once, broken_shop, make_user):
    deployment = _succeeded(production_once, address=broken_shop.address)
    services.run_journeys(deployment)

    with pytest.raises(DeploymentRefused, match="Give a reason"):
        services.keep_release(deployment_id=deployment.pk, user=_operator(make_user), reason="  ")

    assert not deployment.journey_runs.filter(kept_at__isnull=False).exists()
    assert len(services.awaiting_decision(deployment)) == 2


def test_keep_release__with_reason__who_when_why_recorded_and_no_longer_asked(production_once, broken_shop, make_user):
    deployment = _succeeded(production_once, address=broken_shop.address)
    services.run_journeys(deployment)
    person = _operator(make_user)

    kept = services.keep_release(deployment_id=deployment.pk, user=person, reason="Cart fix is a flag flip")

    assert {r.journey_name for r in kept} == {"Add to cart", CHECKOUT}
    run = deployment.journey_runs.get(journey_name="Add to cart")
    assert (run.kept_by, run.keep_reason) == (person, "Cart fix is a flag flip") and run.kept_at
    assert services.awaiting_decision(deployment) == []
    assert deployment.events.get(kind="decision").user == person


def test_keep_release__without_permission__refused(production_once, broken_shop, make_user):
    deployment = _succeeded(production_once, address=broken_shop.address)
    services.run_journeys(deployment)

    with pytest.raises(NotAllowed):
        services.keep_release(
            deployment_id=deployment.pk,
            user=_operator(make_user, "viewer2", codenames=["view_deployment"]),
            reason="fine",
        )

    assert len(services.awaiting_decision(deployment)) == 2


# --- Status page -------------------------------------------------------------------------------------


def test_status_page__note_of_a_deployment_still_shifting__not_published(production_once, client):
    deployment = _succeeded(production_once, note="New: gift wrapping", status="shifting_traffic")

    assert services.run_round(deployment.pk) == "nothing to do: shifting_traffic"
    services.publish_release_note(deployment)

    deployment.refresh_from_db()
    assert deployment.release_note_published_at is None
    assert "gift wrapping" not in client.get("/status/").content.decode()


def test_status_page__succeeded_with_note__published_and_ticked(production_once, client):
    deployment = _succeeded(production_once, note="New: gift wrapping <b>now</b>")

    services.publish_release_note(deployment)

    page = client.get("/status/").content.decode()
    assert "New: gift wrapping &lt;b&gt;now&lt;/b&gt;" in page and "v2.0" in page
    assert _item(deployment, "update_status_page").checked
    assert [n.version for n in published_release_notes()] == ["v2.0"]


def test_status_page__succeeded_without_note__not_ticked_and_says_why(production_once):
    deployment = _succeeded(production_once)

    services.publish_release_note(deployment)

    item = _item(deployment, "update_status_page")
    assert not item.checked
    assert "No public release note was written at start" in item.note


def test_start__release_note_too_long__refused_and_nothing_created(production_once):
    release = Release.objects.create(version="v2.1", ref="v2.1", ref_kind="tag", changelog="x")

    with pytest.raises(DeploymentRefused, match="keep it under 1000"):
        deployment_services.start_deployment(release=release, environment=production_once, release_note="x" * 1001)

    assert not Deployment.objects.filter(release=release).exists()


def test_start__release_note__kept_on_the_deployment(production_once):
    release = Release.objects.create(version="v2.1", ref="v2.1", ref_kind="tag", changelog="x")

    deployment = deployment_services.start_deployment(
        release=release, environment=production_once, release_note=" Gift wrapping "
    )

    assert deployment.release_note == "Gift wrapping"


# --- Stakeholders -----------------------------------------------------------------------------------


@pytest.fixture
def receiver(monkeypatch):
    server = WebhookReceiver()  # the incidents tests' stand-in: one receiver for every signed webhook
    monkeypatch.setenv("OPS_INCIDENT_WEBHOOK_URL", server.url)
    monkeypatch.setenv("OPS_INCIDENT_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("OPS_INCIDENT_STAKEHOLDERS", "team@amarise.example, cto@amarise.example")
    yield server
    server.close()


def test_notify__on_success__email_and_signed_webhook_with_the_changelog_then_ticked(
    production_once, receiver, django_capture_on_commit_callbacks
):
    deployment = _succeeded(production_once, note="Gift wrapping")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        notify.queue_notifications(deployment)
    assert len(queued) == 2  # a task per channel, on commit
    assert not _item(deployment, "notify_stakeholders").checked

    for channel in ("email", "webhook"):
        notify.deliver_notification(deployment_id=deployment.pk, channel=channel)

    (message,) = mail.outbox
    assert message.to == ["team@amarise.example", "cto@amarise.example"]
    assert message.subject == "Released: v2.0 to Production"
    assert "Faster checkout" in message.body and "a1b2c3d Cache the cart" in message.body
    (request,) = receiver.requests
    assert request["headers"][SIGNATURE_HEADER] == sign("s3cret", request["body"])
    payload = request["json"]
    assert payload["event"] == "release" and payload["release"]["changelog"] == "Faster checkout"
    assert payload["release"]["commits"] == [{"sha": "a1b2c3d", "message": "Cache the cart"}]
    assert _item(deployment, "notify_stakeholders").checked
    # Sent is sent: a duplicate task sends nothing twice.
    assert notify.deliver_notification(deployment_id=deployment.pk, channel="email") == "already sent"
    assert len(mail.outbox) == 1


def test_notify__webhook_down__retried_then_failed_shown_and_not_ticked(production_once, monkeypatch):
    monkeypatch.setenv("OPS_INCIDENT_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/hook")
    monkeypatch.setenv("OPS_INCIDENT_WEBHOOK_SECRET", "s3cret")
    deployment = _succeeded(production_once)
    ReleaseNotification.objects.create(deployment=deployment, channel="webhook")

    with pytest.raises(notify.NotificationFailed):
        notify.deliver_notification(deployment_id=deployment.pk, channel="webhook")
    row = ReleaseNotification.objects.get(deployment=deployment)
    assert (row.state, row.attempts) == ("pending", 1) and "URLError" in row.last_error

    with pytest.raises(notify.NotificationFailed):
        notify.deliver_notification(deployment_id=deployment.pk, channel="webhook", final=True)
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("failed", 2)
    item = _item(deployment, "notify_stakeholders")
    assert not item.checked and "Signed webhook failed after 2 attempt(s)" in item.note
    assert deployment.events.filter(kind="alert", detail__contains="failed after 2 attempt(s)").exists()


def test_notify__nobody_on_the_list__failed_at_once_and_says_why(production_once, monkeypatch):
    monkeypatch.setenv("OPS_INCIDENT_STAKEHOLDERS", "")
    deployment = _succeeded(production_once)
    ReleaseNotification.objects.create(deployment=deployment, channel="email")

    with pytest.raises(notify.NotificationFailed) as failure:
        notify.deliver_notification(deployment_id=deployment.pk, channel="email")

    assert failure.value.permanent
    assert "nobody is on the stakeholders' list" in _item(deployment, "notify_stakeholders").note


# --- Performance --------------------------------------------------------------------------------------


def _samples(deployment, slot, *, start, points):
    MetricSample.objects.bulk_create(
        MetricSample(deployment=deployment, slot=slot, taken_at=start + timedelta(seconds=10 * i), req_tot=req,
                     hrsp_5xx=errors, p95_seconds=p95)
        for i, (req, errors, p95) in enumerate(points)
    )  # fmt: skip


def test_performance__within_thresholds__ticked_with_both_releases_side_by_side(production_once):
    deployment = _succeeded(production_once)
    since = deployment.hold_started_at
    _samples(deployment, deployment.to_slot, start=since, points=[(0, 0, 0.2), (1000, 10, 0.3)])
    _samples(deployment, deployment.from_slot, start=since - timedelta(minutes=30),
             points=[(0, 0, 0.2), (2000, 4, 0.25)])  # fmt: skip

    services.check_performance(deployment)

    reading = services.latest_reading(deployment)
    assert (reading.new_error_rate, reading.new_p95, reading.new_requests) == (1.0, 0.3, 1000)
    assert (reading.previous_error_rate, reading.previous_requests) == (0.2, 2000)
    assert reading.passed and reading.source.startswith("HAProxy")
    assert _item(deployment, "check_performance").checked


def test_performance__error_rate_over_threshold__not_ticked_and_says_why(production_once):
    deployment = _succeeded(production_once)
    _samples(deployment, deployment.to_slot, start=deployment.hold_started_at, points=[(0, 0, 0.2), (1000, 100, 0.3)])

    services.check_performance(deployment)

    item = _item(deployment, "check_performance")
    assert not item.checked
    assert "error rate 10.00% is over 5%" in item.note


def test_performance__passing_during_the_bake_period__waits_for_its_end(production_once):
    deployment = _succeeded(production_once, watching_until=timezone.now() + timedelta(minutes=30))
    _samples(deployment, deployment.to_slot, start=deployment.hold_started_at, points=[(0, 0, 0.2), (1000, 1, 0.3)])

    services.check_performance(deployment)

    item = _item(deployment, "check_performance")
    assert not item.checked and "ticks when the bake period ends" in item.note
    assert services.latest_reading(deployment).passed


# --- Review error logs, the schedule, the command ------------------------------------------------------


def test_review_error_logs__bad_link__refused_and_nothing_ticked(production_once, make_user):
    deployment = _succeeded(production_once)

    with pytest.raises(DeploymentRefused, match="is not an http"):
        services.review_error_logs(deployment_id=deployment.pk, user=_operator(make_user), link="javascript:alert(1)")

    assert not _item(deployment, "review_error_logs").checked


def test_review_error_logs__link__a_persons_tick_with_where_they_looked(production_once, make_user):
    deployment = _succeeded(production_once)
    person = _operator(make_user)

    services.review_error_logs(deployment_id=deployment.pk, user=person, link="https://logs.example/q?release=v2.0")

    item = _item(deployment, "review_error_logs")
    assert (item.checked_by, item.link) == (person, "https://logs.example/q?release=v2.0")


def test_due__watching_or_just_finished__only(production_once):
    now = timezone.now()
    watching = _succeeded(production_once, watching_until=now + timedelta(minutes=30), version="v2.0")
    old = _succeeded(production_once, version="v1.8")
    Deployment.objects.filter(pk=old.pk).update(finished_at=now - timedelta(hours=2))
    rolled = _succeeded(production_once, status="rolled_back", version="v1.7")

    due = services.due_deployment_ids(now)

    assert watching.pk in due and old.pk not in due and rolled.pk not in due


@pytest.fixture
def sent_tasks(monkeypatch):
    """Tasks sent on commit, by name and arguments, instead of reaching the broker."""
    from core import tasks

    sent = []

    class FakeTask:
        def __init__(self, name):
            self.name = name

        def apply_async(self, args, kwargs=None, **options):
            sent.append((self.name, tuple(args)))

    monkeypatch.setattr(tasks, "_task", FakeTask)
    return sent


def test_engine_success_hook__enqueues_one_round_on_commit(
    production_once, django_capture_on_commit_callbacks, sent_tasks
):
    deployment = _succeeded(production_once)

    with django_capture_on_commit_callbacks(execute=True):
        deployment_services.enqueue_post_deploy_checks(deployment)

    assert sent_tasks == [("postdeploy.run_checks", (deployment.pk,))]


def test_command__deployment_not_succeeded__refused(production_once):
    deployment = _succeeded(production_once, status="rolled_back")

    with pytest.raises(CommandError, match="is rolled back"):
        call_command("post_deploy_checks", deployment=deployment.pk)


class FakePrometheus:
    """Answers every instant query with one value and keeps the queries, to see what the comparison asks."""

    def __init__(self, value):
        self.queries = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                from urllib.parse import parse_qs, urlsplit

                fake.queries.append({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()})
                body = json.dumps(
                    {"status": "success", "data": {"resultType": "vector", "result": [{"value": [0, str(value)]}]}}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_performance__with_prometheus__catalog_queries_for_both_slots_and_the_previous_hour(production_once):
    prometheus = FakePrometheus(0.5)
    try:
        DeploymentPolicy.objects.filter(environment=production_once).update(prometheus_url=prometheus.url)
        deployment = _succeeded(production_once)

        services.check_performance(deployment)
    finally:
        prometheus.close()

    reading = services.latest_reading(deployment)
    assert (reading.source, reading.new_error_rate, reading.new_p95, reading.passed) == ("Prometheus", 0.5, 0.5, True)
    new, previous = prometheus.queries[0], prometheus.queries[2]
    assert 'slot="green"' in new["query"] and "time" not in new
    assert 'slot="blue"' in previous["query"] and "[1h]" in previous["query"]
    assert float(previous["time"]) == pytest.approx(deployment.started_at.timestamp(), abs=0.01)
    assert _item(deployment, "check_performance").checked


def test_admin_keep__empty_reason__message_and_nothing_kept(production_once, broken_shop, make_user, client):
    deployment = _succeeded(production_once, address=broken_shop.address)
    services.run_journeys(deployment)
    client.force_login(_operator(make_user))

    response = client.post(reverse("admin:deployments_deployment_keep", args=[deployment.pk]), {"reason": ""},
                           follow=True)  # fmt: skip

    assert "Give a reason to keep the release" in response.content.decode()
    assert len(services.awaiting_decision(deployment)) == 2


def test_admin_action__run_checks__enqueues_a_round_and_never_runs_it_inline(
    production_once, make_user, client, django_capture_on_commit_callbacks
):
    deployment = _succeeded(production_once)
    client.force_login(_operator(make_user))

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(
            reverse("admin:deployments_deployment_changelist"),
            {"action": "run_post_deploy_checks", "_selected_action": [deployment.pk]},
            follow=True,
        )

    assert "Post-deployment checks queued for #" in response.content.decode()
    assert len(queued) == 2  # the email notice and the round, on commit
    assert not deployment.journey_runs.exists()


def test_command__succeeded_deployment__runs_a_round_by_hand(production_once, shop, capsys):
    deployment = _succeeded(production_once, address=shop.address)

    call_command("post_deploy_checks", deployment=deployment.pk)

    out = capsys.readouterr().out
    assert f"#{deployment.pk}: " in out and "journeys: 4 passed" in out
    assert deployment.journey_runs.count() == 4


def test_rolled_back__journey_alerts_resolved(
    production_once, broken_shop, django_capture_on_commit_callbacks, sent_tasks
):
    from deployments.signals import deployment_rolled_back

    deployment = _succeeded(production_once, address=broken_shop.address)
    services.run_journeys(deployment)
    with django_capture_on_commit_callbacks(execute=True):
        deployment_rolled_back.send(sender=Deployment, deployment_id=deployment.pk)
    assert ("postdeploy.resolve_journey_alerts", (deployment.pk,)) in sent_tasks

    assert services.resolve_journey_alerts(deployment.pk) == f"resolved journey alerts: Add to cart, {CHECKOUT}"
    assert not Alert.objects.filter(name=services.JOURNEY_ALERT, status="firing").exists()


def test_judge__a_persons_tick__keeps_its_note(production_once, make_user):
    deployment = _succeeded(production_once)
    deployment_services.check_item(
        deployment_id=deployment.pk, item_key="update_status_page", user=_operator(make_user)
    )

    services.publish_release_note(deployment)  # no note: the console would say why not

    item = _item(deployment, "update_status_page")
    assert item.checked and item.note == ""


def test_api_start__release_note__kept_and_a_non_text_note_refused(production_once, client):
    from tests.deployments.test_api import _post, _token

    Release.objects.create(version="v2.2", ref="v2.2", ref_kind="tag", changelog="x")
    headers = _token("production")
    body = {"release": "v2.2", "environment": "production"}

    refused = _post(client, "/api/deployments/", body | {"release_note": ["not", "text"]}, headers)
    assert refused.status_code == 400 and not Deployment.objects.filter(release__version="v2.2").exists()

    started = _post(client, "/api/deployments/", body | {"release_note": "Gift wrapping"}, headers)
    assert started.status_code == 201
    assert Deployment.objects.get(pk=started.json()["id"]).release_note == "Gift wrapping"
