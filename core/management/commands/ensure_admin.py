import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from environ import Env


class Command(BaseCommand):
    help = "Create the first admin login and print its password once (or use OPS_ADMIN_PASSWORD)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        users = get_user_model()
        if users.objects.filter(username=username).exists():
            self.stdout.write(
                f"Admin login '{username}' already exists; its password is unchanged "
                f"(reset it with: python manage.py changepassword {username})."
            )
            return
        password = Env().str("OPS_ADMIN_PASSWORD", default="") or secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.SUCCESS("Admin login created. It is printed this once:"))
        self.stdout.write(f"    username: {username}\n    password: {password}")
