"""Faker-made dictionaries the `fake` strategy picks from by HMAC. Fixed seed and pinned Faker: stable picks."""

from functools import cache

_SIZE = 500
_SEED = 5_000_011

# name -> the Faker provider method that fills it
DICTIONARIES = {
    "first_name": "first_name",
    "last_name": "last_name",
    "name": "name",
    "street": "street_address",
    "city": "city",
    "company": "company",
}


@cache
def values(name: str) -> tuple[str, ...]:
    from faker import Faker  # heavy (~0.2 s): only the masking and the dev seed need it

    fake = Faker("en_US")
    fake.seed_instance(_SEED)
    make = getattr(fake, DICTIONARIES[name])
    seen: dict[str, None] = {}
    for _ in range(_SIZE * 20):
        value = make()
        if "%" not in value:  # the masking statements bind the key with %(key)s
            seen.setdefault(value, None)
        if len(seen) == _SIZE:
            break
    return tuple(seen)
