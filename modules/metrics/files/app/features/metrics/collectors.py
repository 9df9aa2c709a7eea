"""The application's metrics, kept in a registry of its own.

Each application (`create_app` runs once per test, too) gets a fresh
`CollectorRegistry`: registering the same metric names twice in prometheus_client's
global registry raises, and one registry per application keeps tests apart. Metrics
your own code defines at module level belong in the global registry (the default of
`Counter(...)` and friends); `/metrics` exposes it too while `METRICS_PROCESS` is true.
"""

from bisect import bisect_left
from collections.abc import Iterable, Sequence

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy.pool import QueuePool

from app.core.db import Database

# Methods kept as they are in the `method` label; any other becomes OTHER, so that
# clients cannot grow the number of time series with made-up methods.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


class HttpMetrics(Collector):
    """Request counts, latencies and requests in progress.

    Kept in plain dictionaries rather than prometheus_client's `Counter`, `Histogram`
    and `Gauge`, whose every update takes a lock: the middleware updates them on the
    event loop's thread only, and a scrape copies them before reading. This makes
    recording a request several times cheaper; the exposition is the same.
    """

    def __init__(self, buckets: Sequence[float]) -> None:
        self.bounds = tuple(sorted(set(buckets)))
        self._le = [repr(float(bound)) for bound in self.bounds]  # 1 -> '1.0'
        # (method, route, status) -> requests per bucket (the last: above every
        # bound), then the sum of their durations.
        self._series: dict[tuple[str, str, int], list[float]] = {}
        self._running: dict[str, int] = {}

    def start(self, method: str) -> None:
        """A request with `method` (already normalised) has begun."""
        self._running[method] = self._running.get(method, 0) + 1

    def finish(self, method: str, route: str, status: int, seconds: float) -> None:
        """That request has been answered with `status` after `seconds`."""
        self._running[method] -= 1
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = [0.0] * (len(self.bounds) + 2)
        series[bisect_left(self.bounds, seconds)] += 1  # le: seconds <= bound
        series[-1] += seconds

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def _families(
        self,
    ) -> tuple[CounterMetricFamily, HistogramMetricFamily, GaugeMetricFamily]:
        labels = ("method", "route", "status")
        return (
            CounterMetricFamily(
                "http_requests",
                "HTTP requests answered, by method, route template and status.",
                labels=labels,
            ),
            HistogramMetricFamily(
                "http_request_duration_seconds",
                "Time from receiving an HTTP request to sending the end of its "
                "response.",
                labels=labels,
            ),
            GaugeMetricFamily(
                "http_requests_in_progress",
                "HTTP requests being handled now, by method.",
                labels=("method",),
            ),
        )

    def collect(self) -> Iterable[Metric]:
        requests, duration, running = self._families()
        for (method, route, status), series in list(self._series.items()):
            counts = series[:-1]  # a copy: requests may go on meanwhile
            labels = [method, route, str(status)]
            total = sum(counts)
            requests.add_metric(labels, total)
            buckets, cumulative = [], 0.0
            for le, count in zip(self._le, counts, strict=False):
                cumulative += count
                buckets.append((le, cumulative))
            buckets.append(("+Inf", total))
            duration.add_metric(labels, buckets, sum_value=series[-1])
        for method, count in list(self._running.items()):
            running.add_metric([method], count)
        return (requests, duration, running)


def normalise_method(method: str) -> str:
    return method if method in KNOWN_METHODS else "OTHER"


class DatabasePoolCollector(Collector):
    """Gauges of the application's SQLAlchemy connection pool, read at each scrape."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _families(self) -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "db_pool_size",
                "Connections the pool keeps open when idle (DATABASE_POOL_SIZE).",
            ),
            GaugeMetricFamily(
                "db_pool_checked_out", "Pool connections in use by the application."
            ),
            GaugeMetricFamily(
                "db_pool_checked_in", "Open pool connections waiting to be used."
            ),
            GaugeMetricFamily(
                "db_pool_overflow",
                "Connections beyond the pool size (DATABASE_MAX_OVERFLOW at most).",
            ),
        )

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        pool = self.database.engine.pool
        if not isinstance(pool, QueuePool):  # NullPool and friends keep nothing
            return ()
        size, checked_out, checked_in, overflow = self._families()
        size.add_metric([], pool.size())
        checked_out.add_metric([], pool.checkedout())
        checked_in.add_metric([], pool.checkedin())
        # SQLAlchemy counts from -pool_size up; below zero means no overflow.
        overflow.add_metric([], max(pool.overflow(), 0))
        return (size, checked_out, checked_in, overflow)


class GlobalRegistryCollector(Collector):
    """prometheus_client's global registry, exposed through an application's."""

    def describe(self) -> Iterable[Metric]:
        return ()  # no duplicate check against metrics that may come and go

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


class AppMetrics:
    """Everything one application exposes."""

    def __init__(
        self,
        *,
        buckets: Sequence[float],
        database: Database | None = None,
        include_global: bool = True,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http = HttpMetrics(buckets)
        self.registry.register(self.http)
        if database is not None:
            self.registry.register(DatabasePoolCollector(database))
        if include_global:
            self.registry.register(GlobalRegistryCollector())
