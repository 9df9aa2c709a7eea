"""The generic cell rate algorithm (GCRA), atomic in Redis.

A rate of `limit` requests per `period` lets a client send `limit` requests at once,
then one every `period / limit` (the emission interval). Redis keeps one number per
client and policy: the theoretical arrival time (TAT), when the client's allowance is
whole again. A request is allowed when `TAT + interval - period <= now`, and then moves
the TAT on by one interval. The key expires when the TAT is reached, so an idle client
costs nothing.

One Lua script does the read, the decision and the write (Redis runs a script alone:
concurrent requests, from any number of processes, are counted exactly) and reads the
clock from Redis, so processes on hosts whose clocks differ agree. redis-py sends it
with EVALSHA (the script's hash), loading it once when Redis does not know it yet: one
round trip per decision.
"""

from dataclasses import dataclass
from math import ceil

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from app.features.ratelimit.config import Rate

# KEYS[1]: the client's key for one policy. ARGV: the limit, the period (ms).
# Returns {allowed (0/1), remaining, ms until the next request is allowed,
# ms until the whole limit is available again}.
GCRA = """
if redis.replicate_commands then redis.replicate_commands() end
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local interval = period / limit
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local next_tat = tat + interval
local allowed_at = next_tat - period
if allowed_at > now then
  return {0, 0, math.ceil(allowed_at - now), math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX',
           math.max(1, math.ceil(next_tat - now)))
local remaining = math.floor((period - (next_tat - now)) / interval + 1e-6)
return {1, remaining, 0, math.ceil(next_tat - now)}
"""


@dataclass(frozen=True)
class Decision:
    """The answer for one request under one policy."""

    allowed: bool
    rate: Rate
    # Requests the client may still send right now.
    remaining: int
    # Seconds until the next request is allowed (0 when this one was).
    retry_after: float
    # Seconds until the whole limit is available again.
    reset: float

    def headers(self) -> list[tuple[bytes, bytes]]:
        """`RateLimit-Limit`, `-Remaining`, `-Reset` and `-Policy` (the IETF
        httpapi draft's fields), and `Retry-After` when refused; whole seconds,
        rounded up."""
        values = [
            (b"ratelimit-limit", str(self.rate.limit)),
            (b"ratelimit-remaining", str(self.remaining)),
            (b"ratelimit-reset", str(ceil(self.reset))),
            (b"ratelimit-policy", f"{self.rate.limit};w={ceil(self.rate.period)}"),
        ]
        if not self.allowed:
            values.append((b"retry-after", str(max(1, ceil(self.retry_after)))))
        return [(name, value.encode("latin-1")) for name, value in values]


def create_client(redis_url: str, timeout: float) -> Redis:
    """A client of the limiter's own: short timeouts, one retry (a connection Redis
    dropped is replaced once), replies as bytes. It connects on first use."""
    client: Redis = Redis.from_url(
        redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )
    return client


class Limiter:
    """Counts requests in Redis under `prefix`."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(GCRA)

    async def hit(self, key: str, rate: Rate) -> Decision:
        """Count one request of `key` (`<policy>:<client>`) under `rate`; raises
        redis' errors when Redis cannot be asked."""
        reply = await self._script(
            keys=[self.prefix + key], args=[rate.limit, int(rate.period * 1000)]
        )
        allowed, remaining, retry_ms, reset_ms = (int(v) for v in reply)
        return Decision(
            allowed=bool(allowed),
            rate=rate,
            remaining=max(0, remaining),
            retry_after=retry_ms / 1000,
            reset=reset_ms / 1000,
        )
