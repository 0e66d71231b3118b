"""One confirmation, with a required reason, for every action that moves traffic, replaces a database or deletes
a production object (issue 18 item 1).

An admin view hands its action to `confirm`:

    return confirm(
        request,
        Confirmation(action="Roll back now", effect="All traffic goes back to blue.", environment=env.name,
                     production=env.is_production, cancel_url=back),
        lambda reason: do_it(reason),      # the service call; returns the response (a redirect, usually)
        admin_site=self.admin_site,
    )

GET, or a POST without a reason, renders the page (nothing is done); the POST fields that brought the person here
(an admin action's name and selected rows, a form's values) ride along as hidden inputs. A POST with a valid reason
runs `perform(reason)` with the reason on the current caller, so every audit entry the action writes carries it;
the service writes it into its own timeline. A blank or multi-line reason shows the page again, nothing done.

`summary` adds rows under the effect ("From" / "To" of a switch back); `refusal` says why it can't be done now:
the page shows it with no button, and a POST does nothing (409). The service still checks: `perform` may render
`refused(...)` when the state moved between the page and the click.
"""

from dataclasses import dataclass, replace

from django import forms
from django.template.response import TemplateResponse

from core.caller import acting, current

REASON = "confirm_reason"
MAX_REASON = 300  # the services, the APIs and the timeline columns take 300 too
# Never carried along: the token is the page's own, the reason is asked again.
_NOT_CARRIED = {"csrfmiddlewaretoken", REASON}


@dataclass(frozen=True)
class Confirmation:
    action: str  # what the button says: "Roll back now"
    effect: str  # what will happen, in a sentence or two
    environment: str  # where: "Production"
    production: bool = False
    cancel_url: str = ""
    summary: tuple[tuple[str, str], ...] = ()  # (label, value) rows: what moves, from where to where
    refusal: str = ""  # why not now: shown instead of the reason and the button


class ReasonForm(forms.Form):
    confirm_reason = forms.CharField(
        label="Reason",
        max_length=MAX_REASON,
        widget=forms.TextInput(attrs={"size": 80, "autofocus": True, "id": "confirm-reason"}),
        help_text="Kept in the timeline and the audit log.",
        error_messages={"required": "Give a reason: it is kept in the timeline and the audit log."},
    )

    def clean_confirm_reason(self):
        reason = self.cleaned_data[REASON].strip()
        if any(ord(c) < 32 for c in reason):
            raise forms.ValidationError("One line, please: the reason goes into the timeline as it is.")
        if not reason:
            raise forms.ValidationError("Give a reason: it is kept in the timeline and the audit log.")
        return reason


def carried_fields(request):
    """[(name, value)] of the POST fields to submit again with the reason."""
    return [(name, value) for name, values in request.POST.lists() if name not in _NOT_CARRIED for value in values]


def confirm(request, confirmation: Confirmation, perform, *, admin_site, action_url=""):
    """Ask for the reason, or act with it; see the module's docstring."""
    if confirmation.refusal:
        return _page(request, confirmation, ReasonForm(), admin_site, action_url,
                     status=409 if request.method == "POST" else 200)  # fmt: skip
    form = ReasonForm(request.POST if request.method == "POST" and REASON in request.POST else None)
    if form.is_bound and form.is_valid():
        reason = form.cleaned_data[REASON]
        with acting(current().but(reason=reason)):
            return perform(reason)
    return _page(request, confirmation, form, admin_site, action_url, status=400 if form.is_bound else 200)


def refused(request, confirmation: Confirmation, why: str, *, admin_site):
    """The page again, saying why the service refused (the state moved since the page was shown)."""
    return _page(request, replace(confirmation, refusal=why), ReasonForm(), admin_site, "", status=409)


def _page(request, confirmation, form, admin_site, action_url, *, status):
    context = {
        **admin_site.each_context(request),
        "title": f"{confirmation.action}: {confirmation.environment}",
        "confirmation": confirmation,
        "form": form,
        "carried": carried_fields(request),
        "action_url": action_url or request.get_full_path(),
    }
    return TemplateResponse(request, "admin/core/confirm.html", context, status=status)
