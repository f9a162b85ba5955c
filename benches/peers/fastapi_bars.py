"""The design candlestore replaces: a FastAPI + uvicorn app serving a range scan from PostgreSQL.

`GET /api/v1/bars/{table}/{symbol}?start=&end=&fields=` answers the same query as
candlestore's `GET /api/v1/bars/...?format=json`: the rows of one symbol in [start, end), the
requested columns (all when `fields` is absent), oldest first, as a JSON object with a `rows`
array. It is written the way such a service is usually written, given its best chance: an
asyncpg connection pool (prepared statements cached per connection), orjson for the body, no
access log, uvicorn with uvloop/httptools, one worker process per core.

Configuration from the environment: PG_DSN (asyncpg DSN), PG_TABLE (the table, default
`bars`).
"""

import datetime as dt
import os

import asyncpg
import orjson
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import Response

DSN = os.environ["PG_DSN"]
TABLE = os.environ.get("PG_TABLE", "bars")

app = FastAPI()
pool: asyncpg.Pool | None = None
columns: list[str] = []


@app.on_event("startup")
async def startup() -> None:
    global pool, columns
    pool = await asyncpg.create_pool(DSN, min_size=8, max_size=16)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "select column_name from information_schema.columns "
            "where table_name = $1 order by ordinal_position",
            TABLE,
        )
    columns = [r["column_name"] for r in rows]


def _instant(name: str, text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        d = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise HTTPException(400, f"{name}: {e}") from e
    return d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)


@app.get("/api/v1/bars/{table}/{symbol}")
async def bars(
    table: str,
    symbol: str,
    start: str | None = None,
    end: str | None = None,
    fields: str | None = Query(None),
) -> Response:
    wanted = columns
    if fields:
        wanted = ["symbol", "datetime"] + [f for f in fields.split(",") if f not in ("symbol", "datetime")]
        unknown = [f for f in wanted if f not in columns]
        if unknown:
            raise HTTPException(400, f"unknown fields: {unknown}")
    lo = _instant("start", start) or dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    hi = _instant("end", end) or dt.datetime(9999, 1, 1, tzinfo=dt.timezone.utc)
    sql = (
        f"select {', '.join(wanted)} from {TABLE} "
        "where symbol = $1 and datetime >= $2 and datetime < $3 order by datetime"
    )
    assert pool is not None
    async with pool.acquire() as conn:
        rows = await conn.fetch(sql, symbol, lo, hi)
    if not rows:
        raise HTTPException(404, f"no bars for {symbol}")
    body = {"table": table, "symbol": symbol, "rows": [dict(r) for r in rows]}
    return Response(orjson.dumps(body), media_type="application/json")
