"""Loads a candlestore table's Parquet files into PostgreSQL (the FastAPI peer's database).

usage: pg_load.py STORE TABLE DSN

Reads `<STORE>/<TABLE>/**/*.parquet` with pyarrow (the Hive layout DuckDB and Spark read),
creates `bars` with the same columns (double precision, boolean, integer, bigint, timestamptz,
text) keyed by (symbol, datetime) and COPYs the rows in, then ANALYZE.
"""

import asyncio
import io
import sys

import asyncpg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds


def pg_type(t: pa.DataType) -> str:
    if pa.types.is_floating(t):
        return "double precision"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int32(t) or pa.types.is_int16(t) or pa.types.is_int8(t):
        return "integer"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_timestamp(t):
        return "timestamptz"
    return "text"


async def main(store: str, table: str, dsn: str) -> None:
    data = ds.dataset(f"{store}/{table}", format="parquet", partitioning="hive").to_table()
    # The Hive partition key (month=/day=) is not a column of the bars.
    data = data.select([n for n in data.column_names if n not in ("month", "day")])
    cols = []
    for field in data.schema:
        t = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        arr = data.column(field.name)
        if pa.types.is_dictionary(field.type):
            arr = arr.cast(t)
        cols.append((field.name, pg_type(t), arr))
    plain = pa.table({n: a for n, _, a in cols})
    buf = io.BytesIO()
    pacsv.write_csv(plain, buf, pacsv.WriteOptions(include_header=False))
    conn = await asyncpg.connect(dsn)
    await conn.execute("drop table if exists bars")
    ddl = ", ".join(f'"{n}" {t}' for n, t, _ in cols)
    await conn.execute(f"create table bars ({ddl}, primary key (symbol, datetime))")
    buf.seek(0)
    await conn.copy_to_table("bars", source=buf, format="csv")
    await conn.execute("analyze bars")
    n = await conn.fetchval("select count(*) from bars")
    await conn.close()
    print(f"loaded {n} rows x {len(cols)} columns into PostgreSQL")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
