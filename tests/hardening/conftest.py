"""Shared by the hardening tests: the one place they make API tokens (tokens move from flags.ApiToken to core)."""


def make_api_token(*, user, environments):
    """A write token scoped to `environments`, acting as `user`; returns the raw token."""
    from environments.models import Environment
    from flags.models import ApiToken

    raw, prefix, digest = ApiToken.generate()
    token = ApiToken.objects.create(name="fuzz", prefix=prefix, digest=digest, can_write=True, acts_as=user)
    token.environments.set(Environment.objects.filter(key__in=environments))
    return raw
