"""The connection pool of Django's Redis cache, named in settings by its path (OPTIONS["pool_class"]).

So reading settings imports no redis (redis-py is among the heaviest imports); the cache loads this module on
its first use.
"""

from redis import ConnectionPool
from redis.backoff import NoBackoff
from redis.retry import Retry


class NoRetryConnectionPool(ConnectionPool):
    """No retry: a hung Redis costs one timeout, not one per attempt."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(*args, **kwargs)
