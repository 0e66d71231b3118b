"""Each app's layers import on their own: a cycle (services <-> tasks, say) fails here, whichever is first.

Every module is imported first thing after django.setup(), in a fresh interpreter, since a cycle only
shows when one of its modules is imported before the other. The rule that forbids the cycle's usual
cause (services or admin importing tasks) is checked by `lint-imports` (pyproject.toml, `make lint`).
"""

import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from tests.conftest import ROOT

APPS = ["core", "environments", "flags", "deployments", "incidents", "migrations_log", "backups", "refreshes"]
LAYERS = ["models", "services", "tasks", "admin", "api", "views", "public", "engine", "drivers"]


def _modules():
    return [f"{app}.{layer}" for app in APPS for layer in LAYERS if find_spec(f"{app}.{layer}") is not None]


@pytest.mark.parametrize("module", _modules())
def test_module__imported_first_in_a_fresh_process__imports(module):
    code = f"import django; django.setup(); import {module}"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy(), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, f"import {module} failed on its own:\n{done.stderr[-3000:]}"


# The apps whose boundaries hold today; migrations_log, backups and refreshes join as their imports are fixed.
HELD = ["environments", "flags", "deployments", "incidents"]


def test_import_boundaries__lint_imports__contracts_kept():
    contracts = ["core-imports-no-app"]
    for app in HELD:
        contracts += [f"{app}-public-only", f"{app}-services-admin-no-tasks"]
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache",
                           *(f"--contract={c}" for c in contracts)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"Contracts: {len(contracts)} kept, 0 broken." in done.stdout
