"""The baseline of the auth benchmark: a bare FastAPI app doing the same JWT check as
the auth feature's authenticator, by hand: read `Authorization: Bearer`, pick the key
by the token's `kid`, verify HS256 with PyJWT (one algorithm, `exp`, `iat`, `sub`,
`sid` and `typ` required), answer `{"principal": "user:<sub>"}`; no header: `{"principal":
null}`. No database: the generated app also checks the user and the session there,
and that difference is part of what the benchmark shows.

Run from the generated project's environment: `uvicorn bare_auth_app:app --app-dir
bench` with BENCH_AUTH_KEY=`kid:secret` (the generated app's AUTH_SIGNING_KEYS).
"""

import os

import jwt
from fastapi import FastAPI, HTTPException, Request

KID, _, SECRET = os.environ["BENCH_AUTH_KEY"].partition(":")
KEYS = {KID: SECRET.encode()}

app = FastAPI()


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


def principal(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise HTTPException(401, "Not authenticated.")
    try:
        key = KEYS[str(jwt.get_unverified_header(token).get("kid"))]
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            options={"require": ["exp", "iat", "sub", "sid", "typ"]},
        )
    except (KeyError, jwt.PyJWTError):
        raise HTTPException(401, "Not authenticated.") from None
    if claims["typ"] != "access":
        raise HTTPException(401, "Not authenticated.")
    return f"user:{claims['sub']}"


@app.get("/api/v1/probe")
async def probe(request: Request) -> dict[str, str | None]:
    return {"principal": principal(request)}
