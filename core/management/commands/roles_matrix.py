from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.roles import markdown_matrix

START, END = "<!-- roles-matrix:start -->", "<!-- roles-matrix:end -->"


def readme_path() -> Path:
    return Path(settings.BASE_DIR) / "README.md"


def readme_matrix(text: str) -> str:
    """The generated block of the README, between its markers."""
    if START not in text or END not in text:
        raise CommandError(f"README.md has no {START} … {END} block.")
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def with_matrix(text: str) -> str:
    head, rest = text.split(START, 1)
    return f"{head}{START}\n{markdown_matrix()}{END}{rest.split(END, 1)[1]}"


class Command(BaseCommand):
    help = "Print the role × action matrix from core/roles.py; --write puts it in README.md, --check compares."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--write", action="store_true", help="Rewrite the README's matrix block.")
        group.add_argument("--check", action="store_true", help="Exit 1 when the README's matrix is out of date.")

    def handle(self, *args, write=False, check=False, **options):
        path = readme_path()
        if write:
            path.write_text(with_matrix(path.read_text()))
            self.stdout.write(f"Wrote the roles matrix into {path}.")
        elif check:
            if readme_matrix(path.read_text()) != markdown_matrix():
                raise CommandError("README.md's roles matrix is out of date: run `manage.py roles_matrix --write`.")
            self.stdout.write("README.md's roles matrix matches core/roles.py.")
        else:
            self.stdout.write(markdown_matrix(), ending="")
