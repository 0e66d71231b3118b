"""The journey runner: a sequence of HTTP steps against one base URL, cookies kept across the steps of a journey.

Plain functions over plain values, so the rules are tested in-process against a tiny local server.
"""

from dataclasses import dataclass, field

STEP_TIMEOUT = 5.0  # seconds, per request: a storefront slower than this fails the journey
BODY_EXCERPT = 120


@dataclass(frozen=True)
class Step:
    name: str
    method: str
    path: str
    expected_status: int = 200
    body_contains: str = ""
    form: tuple = ()  # ((name, value), ...)


@dataclass
class JourneyResult:
    passed: bool
    failing_step: str = ""
    log: list = field(default_factory=list)  # one line per step run

    @property
    def detail(self):
        return "\n".join(self.log)


def steps_of(journey) -> list[Step]:
    """The steps of a SyntheticJourney row, as the runner takes them."""
    return [
        Step(
            name=s.name,
            method=s.method,
            path=s.path,
            expected_status=s.expected_status,
            body_contains=s.body_contains,
            form=tuple(s.form_fields()),
        )
        for s in journey.steps.all()
    ]


def _excerpt(text):
    text = " ".join(text.split())
    return text[:BODY_EXCERPT] + ("…" if len(text) > BODY_EXCERPT else "")


def run(base_url: str, steps: list[Step], *, timeout: float = STEP_TIMEOUT) -> JourneyResult:
    """Run `steps` in order in one session (cookies carry over); stop at the first that fails, and say why."""
    import requests  # heavy: only the worker running journeys needs it

    if not steps:
        return JourneyResult(False, "", ["The journey has no steps: nothing was verified."])
    base = base_url.rstrip("/")
    log = []
    with requests.Session() as session:
        for step in steps:
            url = base + step.path
            try:
                if step.method == "POST":
                    response = session.post(url, data=list(step.form), timeout=timeout, allow_redirects=False)
                else:
                    response = session.get(url, timeout=timeout, allow_redirects=False)
            except requests.Timeout:
                log.append(f"{step.name}: {step.method} {step.path} timed out after {timeout:g} s")
                return JourneyResult(False, step.name, log)
            except requests.RequestException as exc:
                log.append(f"{step.name}: {step.method} {step.path} failed: {type(exc).__name__}")
                return JourneyResult(False, step.name, log)
            line = f"{step.name}: {step.method} {step.path} → {response.status_code}"
            if response.status_code != step.expected_status:
                log.append(f"{line}, expected {step.expected_status} ({_excerpt(response.text)!r})")
                return JourneyResult(False, step.name, log)
            if step.body_contains and step.body_contains not in response.text:
                log.append(f"{line}, but the body lacks {step.body_contains!r}")
                return JourneyResult(False, step.name, log)
            log.append(line)
    return JourneyResult(True, "", log)
