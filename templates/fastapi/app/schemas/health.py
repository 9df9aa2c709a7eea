from typing import Literal

from pydantic import BaseModel


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """`checks` maps each dependency to `ok`, `error` or `timeout`."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
