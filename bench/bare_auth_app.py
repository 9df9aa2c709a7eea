"""The baseline of the auth benchmark: a bare FastAPI app doing the same JWT check as
the auth feature's authenticator, by hand: read `Authorization: Bearer`, pick the key
by the token's `kid`, verify HS256 with PyJWT (one algorithm, `exp`, `iat`, `sub`,
`sid` and `typ` required), answer `{"principal": "user:<sub>"}`; no header: `{"principal":
null}`. `GET /api/v1/probe` stops there, with no database; `GET /api/v1/probe-db` then
asks PostgreSQL what the generated app asks for every authenticated request (the user
active, the session not revoked, the permissions now: the same query, an engine with
the template's pool settings), so the two show what the JWT costs and what the
database check adds.

Run from the generated project's environment: `uvicorn bare_auth_app:app --app-dir
bench` with BENCH_AUTH_KEY=`kid:secret` (the generated app's AUTH_SIGNING_KEYS).
"""

import os

import jwt
from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

KID, _, SECRET = os.environ["BENCH_AUTH_KEY"].partition(":")
KEYS = {KID: SECRET.encode()}

engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=5, max_overflow=10, pool_pre_ping=True)
# The query of app/features/auth/service.py (_USER_OF_SESSION).
USER_OF_SESSION = text(
    """SELECT u.id, u.is_superuser, ARRAY(
        SELECT DISTINCT permission
        FROM auth_user_roles AS ur
        JOIN auth_roles AS r ON r.id = ur.role_id, unnest(r.permissions) AS permission
        WHERE ur.user_id = u.id
    ) AS permissions
    FROM auth_users AS u JOIN auth_sessions AS s ON s.user_id = u.id
    WHERE u.id = :user_id AND u.is_active
      AND s.id = :session_id AND s.revoked_at IS NULL"""
)

# No documentation routes, as the template under production settings.
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


def claims_of(request: Request) -> dict[str, str] | None:
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
    return claims


@app.get("/api/v1/probe")
async def probe(request: Request) -> dict[str, str | None]:
    claims = claims_of(request)
    return {"principal": None if claims is None else f"user:{claims['sub']}"}


@app.get("/api/v1/probe-db")
async def probe_db(request: Request) -> dict[str, str | None]:
    claims = claims_of(request)
    if claims is None:
        return {"principal": None}
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        params = {"user_id": int(claims["sub"]), "session_id": claims["sid"]}
        row = (await connection.execute(USER_OF_SESSION, params)).first()
    if row is None:
        raise HTTPException(401, "Not authenticated.")
    return {"principal": f"user:{row.id}"}
