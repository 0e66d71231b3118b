from core.seeding import seed_row
from environments.public import Environment
from migrations_log import strategy
from migrations_log.models import MigrationTarget


def seed(report):
    for key, values in strategy.TARGETS.items():
        environment = Environment.objects.filter(key=key).first()
        if environment is not None:
            seed_row(MigrationTarget, lookup={"environment": environment}, values=values, report=report)
