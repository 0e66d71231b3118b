from django.core.management.base import BaseCommand, CommandError

from secrets_registry import services
from secrets_registry.exceptions import SecretsError
from secrets_registry.models import RotationRun, SecretReference


class Command(BaseCommand):
    help = (
        "Rotate an automatic secret by its manager name (production waits for a second person's approval in the "
        "admin), request every due rotation (--due, as beat does daily), or queue a stalled run again (--resume N)."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("name", nargs="?", help="e.g. amarise/staging/DATABASE_URL")
        group.add_argument("--due", action="store_true")
        group.add_argument("--resume", type=int, metavar="RUN_ID")
        group.add_argument("--resume-stalled", action="store_true", help="As beat does: every run with no progress.")

    def handle(self, *args, name=None, due=False, resume=None, resume_stalled=False, **options):
        try:
            if resume_stalled:
                ids = services.resume_stalled_rotations()
                self.stdout.write(f"{len(ids)} stalled rotations queued again: " + ", ".join(f"#{i}" for i in ids))
                return
            if due:
                runs = services.rotate_due()
                self.stdout.write(f"{len(runs)} rotations requested: " + ", ".join(f"#{r.pk}" for r in runs))
                return
            if resume is not None:
                run = services.resume_rotation(run_id=resume)
                self.stdout.write(f"Rotation #{run.pk} queued again at step {run.step}.")
                return
            reference = SecretReference.objects.filter(name=name).first()
            if reference is None:
                raise CommandError(f"No secret reference named {name!r}.")
            run = services.request_rotation(reference_id=reference.pk, via="command")
        except (SecretsError, RotationRun.DoesNotExist) as exc:
            raise CommandError(str(exc) or "No such rotation run.") from None
        self.stdout.write(f"Rotation #{run.pk} of {reference.name}: {run.get_status_display().lower()}.")
