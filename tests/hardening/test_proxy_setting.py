"""X-Forwarded-Proto is trusted only when a setting says a proxy sets it."""

import pytest

from tests.amarise_ops.test_settings import run

SHOW = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'amarise_ops.settings'); django.setup(); " \
       "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"  # fmt: skip


@pytest.mark.parametrize(("behind_proxy", "header"), [(None, "None"), ("true", "('HTTP_X_FORWARDED_PROTO', 'https')")])
def test_proxy_ssl_header__only_behind_a_proxy(tmp_path, behind_proxy, header):
    # Given OPS_BEHIND_PROXY unset, off or on
    extra = {} if behind_proxy is None else {"OPS_BEHIND_PROXY": behind_proxy}
    # When the settings load
    result = run(["-c", SHOW], VAR_DIR=str(tmp_path), **extra)
    # Then the proxy header is trusted only when it is on
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == header
