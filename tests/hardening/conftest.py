"""Shared by the hardening tests: the one place they make API tokens."""

import pytest

from core.models import Scope


def make_api_token(*, user, environments):
    """A token with every scope in `environments`, owned by `user`; returns the raw token."""
    from tests.core.tokens import make_token

    return make_token(user, environments=environments, scopes=[scope.value for scope in Scope], name="fuzz")


@pytest.fixture(autouse=True)
def cache_trusted_again():
    """A test that hangs the cache leaves the token lookup skipping it for a second; the next test starts clean."""
    yield
    from core import tokens

    tokens._cache_down_until = 0.0
