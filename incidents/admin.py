from datetime import UTC

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Case, Value, When
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from core.formatting import age as age_text
from core.formatting import human_duration, instant
from incidents.choices import OPEN, TRANSITIONS, IncidentStatus, Phase
from incidents.exceptions import IncidentRefused
from incidents.models import (
    PHASE_SPAN,
    ActionItem,
    Contact,
    Incident,
    NotificationAttempt,
    RunbookUpdate,
    Severity,
    SeverityPolicy,
    Stakeholder,
)

# Services, engines and pages are imported in the functions that use them: start-up stays light (issue 19).

_MARK = {True: ("ops-ok", "✔ met"), False: ("ops-bad", "✘ missed"), None: ("", "—")}
_STATUS_TONE = {"investigating": "ops-bad", "mitigated": "ops-warn", "resolved": "ops-ok", "postmortem_done": "ops-ok"}


@admin.register(Severity)
class SeverityAdmin(SimpleHistoryAdmin):
    list_display = ["name", "detection_minutes", "decision_minutes", "execution_minutes", "total_minutes"]
    list_editable = ["detection_minutes", "decision_minutes", "execution_minutes", "total_minutes"]


@admin.register(Contact)
class ContactAdmin(SimpleHistoryAdmin):
    """Who is told of an environment's incidents. Added and removed through services (the API's rules)."""

    list_display = ["email", "role", "environment", "severity"]
    list_filter = ["environment", "severity", "role"]
    fields = ["environment", "severity", "email", "role"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)  # remove and add instead of editing

    def save_model(self, request, obj, form, change):
        from incidents import services

        try:
            saved = services.add_contact(environment=obj.environment.key, email=obj.email,
                                         severity=obj.severity.key if obj.severity_id else None, role=obj.role,
                                         user=request.user)  # fmt: skip
        except IncidentRefused as exc:
            raise PermissionDenied(str(exc)) from None
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        from incidents import services

        services.remove_contact(contact_id=obj.pk, user=request.user)

    def delete_queryset(self, request, queryset):
        from incidents import services

        for contact in queryset:
            services.remove_contact(contact_id=contact.pk, user=request.user)


@admin.register(SeverityPolicy)
class SeverityPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["cause", "severity"]
    list_editable = ["severity"]


def _phase_filter(phase):
    start, end = PHASE_SPAN[phase]

    class ComplianceFilter(admin.SimpleListFilter):
        title = f"{phase.label.lower()} target"
        parameter_name = f"{phase.value}_target"

        def lookups(self, request, model_admin):
            return [("met", "Met"), ("missed", "Missed")]

        def queryset(self, request, queryset):
            if self.value() not in {"met", "missed"}:
                return queryset
            # Incidents are rare rows: judging them in Python keeps one rule (Incident.met) for every database.
            wanted = self.value() == "met"
            candidates = queryset.filter(**{f"{start}__isnull": False, f"{end}__isnull": False})
            ids = [i.pk for i in candidates.select_related("severity") if i.met(phase) is wanted]
            return queryset.filter(pk__in=ids)

    ComplianceFilter.__name__ = f"{phase.value.capitalize()}TargetFilter"
    return ComplianceFilter


class OpenFilter(admin.SimpleListFilter):
    """Open (investigating or mitigated) or closed: what the dashboard's "N open" links to, with the same count."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("closed", "Closed")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(status__in=sorted(OPEN))
        if self.value() == "closed":
            return queryset.exclude(status__in=sorted(OPEN))
        return queryset


class StakeholderInline(admin.TabularInline):
    model = Stakeholder
    extra = 1


class RunbookUpdateInline(admin.TabularInline):
    model = RunbookUpdate
    extra = 1
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    verbose_name_plural = "Runbook updates"


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 1
    fields = ["title", "owner", "due_date", "status"]


class IncidentForm(forms.ModelForm):
    add_note = forms.CharField(
        label="Add to the timeline",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Entries are never edited; write a correction as a new entry.",
    )

    def clean(self):
        from incidents import services

        data = super().clean()
        if self.instance.pk is None and not self.errors:
            # The opening rules are the service's; shown here so a refusal is a form error, not a crash.
            refusal = services.opening_refusal(
                title=data.get("title", ""),
                environment=data.get("environment"),
                deployment=data.get("deployment"),
                started_at=data.get("started_at"),
                detected_at=data.get("detected_at"),
            )
            if refusal:
                raise forms.ValidationError(refusal)
        return data


def _mark_html(met):
    tone, text = _MARK[met]
    return format_html('<span class="{}">{}</span>', tone, text)


# Fields of the add form passed to open_incident as they are (the rest are its named arguments).
_OPEN_NAMED = {"title", "environment", "severity", "owner", "deployment", "release", "started_at", "detected_at"}
_OPEN_DETAILS = {f.name for f in Incident._meta.concrete_fields if f.editable} - _OPEN_NAMED - {"id"}


@admin.register(Incident)
class IncidentAdmin(SimpleHistoryAdmin):
    form = IncidentForm
    list_display = [
        "id",
        "title",
        "severity_badge",
        "status_badge",
        "environment",
        "opened_by",
        "age",
        "detection_mark",
        "decision_mark",
        "execution_mark",
        "total_mark",
    ]
    list_display_links = ["id", "title"]
    list_filter = [OpenFilter, "severity", "status", "environment", "opened_by", *[_phase_filter(p) for p in Phase]]
    list_select_related = ["severity", "environment"]
    search_fields = ["title", "release__version"]
    date_hierarchy = "opened_at"
    show_full_result_count = False
    raw_id_fields = ["deployment", "release"]
    inlines = [StakeholderInline, RunbookUpdateInline, ActionItemInline]
    readonly_fields = ["status", "cause", "opened_by", "opened", "compliance_table", "timeline_html",
                       "postmortem_invited", "notification_log", "detected", "decided", "executed", "resolved",
                       "started"]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["title", "environment", "severity", "status", "owner", "deployment", "release", "cause",
                           "opened_by", "opened"]}),
        ("Step 1 · Confirm the issue", {"fields": ["error_logs", "affected_functionality", "customer_impact"]}),
        ("Step 2 · Switch traffic: time to recover",
         {"fields": ["started", "detected", "decided", "executed", "resolved"],
          "description": "Recorded by the system. A wrong instant is corrected with “Correct a recorded time” "
                         "at the top of the page, with a reason (audited)."}),
        ("Step 3 · Investigate", {"fields": ["root_cause", "contributing_factors", "hotfix_reference"]}),
        ("Step 4 · Document", {"fields": ["summary", "postmortem_at", "postmortem_minutes", "postmortem_attendees",
                                          "postmortem_invited", "add_note"]}),
        ("Status page", {"fields": ["published", "public_title", "public_summary"]}),
        ("Notifications", {"fields": ["notification_log"], "classes": ["collapse"]}),
    ]  # fmt: skip
    add_fieldsets = [
        (None, {"fields": ["title", "environment", "severity", "owner", "deployment", "release"]}),
        ("Time to recover", {"fields": ["started_at", "detected_at", "decided_at", "executed_at"]}),
        ("Step 1 · Confirm the issue", {"fields": ["error_logs", "affected_functionality", "customer_impact"]}),
        ("Timeline", {"fields": ["add_note"]}),
    ]  # fmt: skip

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets if obj else self.add_fieldsets

    def get_ordering(self, request):
        # Open first, most severe first, newest first.
        open_first = Case(When(status__in=sorted(OPEN), then=Value(0)), default=Value(1))
        return [open_first.asc(), "severity__order", "-opened_at"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "severity" and field is not None and hasattr(field.widget, "can_delete_related"):
            # Choosing a severity here never deletes or edits one (that is the severities page's business).
            field.widget.can_delete_related = field.widget.can_change_related = field.widget.can_add_related = False
        return field

    def has_delete_permission(self, request, obj=None):
        return False  # the report is the record of what happened

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj and obj.deployment_id:
            fields += ["deployment", "release", "environment"]
        return fields

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("metrics/", view(self.metrics_view), name="incidents_incident_metrics"),
            path("<int:pk>/status/<str:status>/", view(self.status_view), name="incidents_incident_status"),
            path("<int:pk>/postmortem/", view(self.postmortem_view), name="incidents_incident_postmortem"),
            path("<int:pk>/acknowledge/", view(self.acknowledge_view), name="incidents_incident_acknowledge"),
            path("<int:pk>/note/", view(self.note_view), name="incidents_incident_note"),
            path("<int:pk>/correct/", view(self.correct_view), name="incidents_incident_correct"),
            path("<int:pk>/export.md", view(self.export_view), name="incidents_incident_export"),
        ] + super().get_urls()

    # --- Columns ---------------------------------------------------------------------------

    @admin.display(description="Severity", ordering="severity__order")
    def severity_badge(self, obj):
        return format_html('<span class="ops-sev ops-sev-{}">{}</span>', obj.severity.order, obj.severity.name)

    @admin.display(description="Opened at")
    def opened(self, obj):
        return instant(obj.opened_at)

    @admin.display(description="Impact began")
    def started(self, obj):
        return instant(obj.started_at)

    @admin.display(description="Detected")
    def detected(self, obj):
        return instant(obj.detected_at)

    @admin.display(description="Decided")
    def decided(self, obj):
        return instant(obj.decided_at)

    @admin.display(description="Executed (traffic restored)")
    def executed(self, obj):
        return instant(obj.executed_at)

    @admin.display(description="Resolved")
    def resolved(self, obj):
        return instant(obj.resolved_at)

    @admin.display(description="Post-mortem invitation sent")
    def postmortem_invited(self, obj):
        return instant(obj.postmortem_invited_at)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return format_html('<span class="{}">{}</span>', _STATUS_TONE.get(obj.status, ""), obj.get_status_display())

    @admin.display(description="Age", ordering="opened_at")
    def age(self, obj):
        return age_text(obj.opened_at)

    @admin.display(description="Detect")
    def detection_mark(self, obj):
        return _mark_html(obj.met(Phase.DETECTION))

    @admin.display(description="Decide")
    def decision_mark(self, obj):
        return _mark_html(obj.met(Phase.DECISION))

    @admin.display(description="Execute")
    def execution_mark(self, obj):
        return _mark_html(obj.met(Phase.EXECUTION))

    @admin.display(description="Total")
    def total_mark(self, obj):
        return _mark_html(obj.met(Phase.TOTAL))

    @admin.display(description="Phases against the targets")
    def compliance_table(self, obj):
        if not obj.pk:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>&lt; {} min</td><td>{}</td></tr>",
            (
                (p.label, human_duration(obj.duration(p)), getattr(obj.severity, f"{p.value}_minutes"),
                 _mark_html(obj.met(p)))
                for p in Phase
            ),
        )  # fmt: skip
        return format_html(
            '<table id="incident-compliance"><tr><th>Phase</th><th>Took</th><th>Target</th><th></th></tr>{}</table>',
            rows,
        )

    @admin.display(description="Timeline")
    def timeline_html(self, obj):
        if not obj.pk:
            return "—"
        items = format_html_join(
            "",
            "<li><time>{}</time> · {} · <strong>{}</strong>: {}</li>",
            (
                (instant(e.at), e.user.get_username() if e.user_id else e.get_source_display().lower(), e.kind, e.text)
                for e in obj.timeline.select_related("user").order_by("-at", "-pk")
            ),
        )  # fmt: skip
        return format_html('<ol class="ops-timeline ops-timeline-newest" id="incident-timeline">{}</ol>', items)

    @admin.display(description="Delivery log")
    def notification_log(self, obj):
        if not obj.pk:
            return "—"
        rows = format_html_join(
            "",
            "<li>{} · {} {} #{}: {}</li>",
            ((instant(n.at), n.channel, n.event, n.attempt, "sent" if n.ok else n.error)
             for n in obj.notifications.all()[:50]),
        )  # fmt: skip
        return format_html("<ul>{}</ul>", rows) if rows else "Nothing sent yet."

    # --- Saving ----------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        from incidents import services

        if change:
            super().save_model(request, obj, form, change)
        else:
            details = {name: getattr(obj, name) for name in form.cleaned_data if name in _OPEN_DETAILS}
            incident = services.open_incident(
                title=obj.title,
                environment=obj.environment,
                severity=obj.severity,
                user=request.user,
                owner=obj.owner or request.user,
                deployment=obj.deployment,
                release=obj.release,
                started_at=obj.started_at,
                detected_at=obj.detected_at,
                **details,
            )
            # The form's instance becomes the opened row, so the inlines are saved against it.
            obj.pk = incident.pk
            obj._state.adding = False
            obj.refresh_from_db()
        note = form.cleaned_data.get("add_note", "").strip()
        if note:
            services.add_entry(incident=obj, text=note, user=request.user)

    # --- Pages -----------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = extra_context or {}
        incident = Incident.objects.select_related("severity", "owner").filter(pk=object_id).first()
        if incident:
            extra["next_statuses"] = [IncidentStatus(s) for s in sorted(TRANSITIONS[incident.status])]
            extra["work"] = self.work_context(incident)
            extra.setdefault("title", f"Incident #{incident.pk}")
        return super().change_view(request, object_id, form_url, extra)

    def work_context(self, incident):
        """The top of the incident page: where it stands, its phases against the targets, who has it."""
        from incidents import services

        ack = services.acknowledged_entry(incident)
        end = incident.resolved_at if not incident.is_open else None
        phases = [
            {"label": p.label, "took": human_duration(incident.duration(p)), "target": incident.severity.target(p),
             "target_text": human_duration(incident.severity.target(p)), "met": incident.met(p),
             "mark": _MARK[incident.met(p)]}
            for p in Phase
        ]  # fmt: skip
        return {
            "age": age_text(incident.opened_at, end) if end else age_text(incident.opened_at),
            "closed": end is not None,
            "acknowledged": ack,
            "acknowledged_at": instant(ack.at) if ack else "",
            "phases": phases,
            "instants": [
                (name, name.replace("_at", "").capitalize(), instant(getattr(incident, name)))
                for name in services.RECORDED_INSTANTS
            ],  # fmt: skip
            "status_tone": _STATUS_TONE.get(incident.status, ""),
            "timeline": self.timeline_html(incident),
        }

    def _post_only(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return None

    def acknowledge_view(self, request, pk):
        from incidents import services

        if refused := self._post_only(request):
            return refused
        self._require_operate(request)
        try:
            _, new = services.acknowledge(incident_id=pk, user=request.user)
        except IncidentRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, "Acknowledged: you have it." if new else "Already acknowledged.",
                              messages.SUCCESS if new else messages.INFO)  # fmt: skip
        return redirect(reverse("admin:incidents_incident_change", args=[pk]))

    def note_view(self, request, pk):
        from incidents import services

        if refused := self._post_only(request):
            return refused
        incident = get_object_or_404(Incident, pk=pk)
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        try:
            services.add_entry(incident=incident, text=request.POST.get("text", "").strip(), user=request.user)
        except IncidentRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, "Added to the timeline.", messages.SUCCESS)
        return redirect(reverse("admin:incidents_incident_change", args=[pk]))

    def correct_view(self, request, pk):
        from incidents import services

        if refused := self._post_only(request):
            return refused
        self._require_operate(request)
        field = request.POST.get("field", "")
        raw = request.POST.get("value", "").strip()
        value = parse_datetime(raw.replace("T", " ")) if raw else None
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
        if raw and value is None:
            self.message_user(request, f"“{raw}” is not a date and time (YYYY-MM-DD HH:MM, UTC).", messages.ERROR)
            return redirect(reverse("admin:incidents_incident_change", args=[pk]))
        try:
            services.correct_instant(incident_id=pk, field=field, value=value, reason=request.POST.get("reason", ""),
                                     user=request.user)  # fmt: skip
        except IncidentRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, "Corrected; the reason is in the timeline and the audit log.", messages.SUCCESS)
        return redirect(reverse("admin:incidents_incident_change", args=[pk]))

    def _require_operate(self, request):
        if not request.user.has_perm("incidents.operate_incident"):
            raise PermissionDenied

    def status_view(self, request, pk, status):
        from incidents import services

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require_operate(request)
        try:
            incident, _ = services.change_status(incident_id=pk, status=status, user=request.user)
        except IncidentRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"Incident #{pk} is {incident.get_status_display().lower()}.", messages.SUCCESS)
        return redirect(reverse("admin:incidents_incident_change", args=[pk]))

    def postmortem_view(self, request, pk):
        from incidents import services

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require_operate(request)
        try:
            incident = services.schedule_postmortem(incident_id=pk, user=request.user)
        except (IncidentRefused, forms.ValidationError) as exc:
            message = "; ".join(exc.messages) if hasattr(exc, "messages") else str(exc)
            self.message_user(request, message, messages.ERROR)
        else:
            self.message_user(
                request,
                f"Post-mortem invitation sent to {', '.join(incident.attendee_emails())}.",
                messages.SUCCESS,
            )
        return redirect(reverse("admin:incidents_incident_change", args=[pk]))

    def export_view(self, request, pk):
        from incidents import export

        incident = get_object_or_404(Incident, pk=pk)
        if not self.has_view_permission(request, incident):
            raise PermissionDenied
        response = HttpResponse(export.markdown(incident), content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="incident-{incident.pk}.md"'
        return response

    def metrics_view(self, request):
        from incidents import export, metrics

        if not self.has_view_permission(request):
            raise PermissionDenied
        windows = []
        for days in metrics.WINDOWS:
            rows = metrics.severity_metrics(days=days)
            for row in rows:
                for key in ("mttd", "decide", "execute", "mttr"):
                    row[f"{key}_text"] = export._duration(row[key])
            windows.append({"days": days, "rows": rows, "chart": metrics.chart_svg(rows)})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Incident metrics",
            "windows": windows,
        }
        return TemplateResponse(request, "admin/incidents/incident/metrics.html", context)


@admin.register(NotificationAttempt)
class NotificationAttemptAdmin(admin.ModelAdmin):
    list_display = ["at", "incident", "channel", "event", "attempt", "ok", "final", "error"]
    list_filter = ["channel", "ok", "final"]
    list_select_related = ["incident"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
