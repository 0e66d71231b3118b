"""The post-deployment checklist of §4, carried out by the console.

journeys: synthetic user journeys (a sequence of HTTP steps) and their runner. performance: the new slot's error
rate and p95 since 100%, beside the previous release's last hour. services: one round of checks (journeys,
metrics, status page, stakeholders), each automated item ticked only when its check passed; the "keep release"
decision and the error-log link. tasks: thin Celery tasks on the default queue (they make HTTP calls; engine ticks
never wait behind them).
"""
