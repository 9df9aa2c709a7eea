"""Logging: one JSON object per line, each carrying the id of the request it belongs to.

The request id lives in a context variable that `RequestContextMiddleware` sets for the
duration of a request, so every log line written while handling it carries the id,
whichever logger wrote it. Use the standard library as usual:

    logger = logging.getLogger(__name__)
    logger.info("item created", extra={"item_id": str(item.id)})

Keys passed in `extra` become fields of the JSON object.
"""

import json
import logging
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any, TextIO

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime", "request_id", "rid", "taskName", "color_message"}


# The arguments of uvicorn's access log line, in order.
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


def get_request_id() -> str | None:
    """The id of the request being handled, or None outside a request."""
    return _request_id.get()


# The context variable's own methods, not functions around them: the middleware calls
# them on every request.
set_request_id: Callable[[str | None], Token[str | None]] = _request_id.set
reset_request_id: Callable[[Token[str | None]], None] = _request_id.reset


_factory_installed = False


def _install_record_factory() -> None:
    """Stamp every record with the current request id when it is created."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = _request_id.get()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


_second_cache: tuple[int, str] = (0, "")


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC with milliseconds; the date part is cached per second."""
    global _second_cache
    second = int(created)
    if _second_cache[0] != second:
        _second_cache = (
            second,
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)),
        )
    return f"{_second_cache[1]}.{int((created - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        attributes = record.__dict__
        payload: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = attributes.get("request_id")
        if request_id is not None:
            payload["request_id"] = request_id
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            payload.update(zip(_ACCESS_FIELDS, record.args, strict=False))
        extra = attributes.keys() - _RECORD_ATTRIBUTES
        for key in sorted(extra):
            if not key.startswith("_"):
                payload[key] = attributes[key]
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human-readable lines for local development (`LOG_JSON=false`)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-8s %(name)s [%(rid)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.rid = getattr(record, "request_id", None) or "-"
        return super().format(record)


class _AppHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs (and replaces when called again)."""


def configure_logging(level: str = "INFO", *, json_format: bool = True) -> None:
    """Send every log record to stdout through one formatter.

    Uvicorn's loggers are routed to the root logger so that their lines have the same
    format; its access log line, written while the response starts, carries the
    request id. When uvicorn runs with `--no-access-log`, it stays off.
    """
    _install_record_factory()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _AppHandler):
            root.removeHandler(handler)
    handler = _AppHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if json_format else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        if uvicorn_logger.handlers:  # configured by uvicorn (not turned off)
            uvicorn_logger.handlers.clear()
            uvicorn_logger.propagate = True
