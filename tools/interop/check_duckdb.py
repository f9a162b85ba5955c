"""Interop check: DuckDB reading a store's Parquet files directly returns exactly what
`candlestore query` returns, including after corrections rewrote partitions.

usage: check_duckdb.py CANDLESTORE_BIN STORE_DIR
The store must already hold data (e.g. from `candlestore demo`). Exits non-zero on any
difference, naming the table, column and first differing row.
"""

import csv
import os
import subprocess
import sys
import tempfile

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def normalise(table: pa.Table) -> pa.Table:
    """Dictionary columns read back as strings in DuckDB: compare values, not encodings."""
    cols = []
    for name in table.column_names:
        col = table[name].combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        elif pa.types.is_large_string(col.type):
            col = col.cast(pa.string())
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def correct_some_bars(cli: str, store: str, workdir: str) -> None:
    """Rewrites three AAPL closes: the partitions holding them are rewritten (copy-on-write)."""
    path = os.path.join(workdir, "corrections.csv")
    rows = [
        ("AAPL", "2017-03-01", 137.89, 140.15, 137.595, 139.79 + 1.0, 36414585),
        ("AAPL", "2017-03-02", 140.0, 140.2786, 138.76, 138.96 + 1.0, 26210984),
        ("AAPL", "2018-02-07", 163.085, 163.4, 159.0685, 159.54 + 1.0, 51608580),
    ]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["symbol", "datetime", "open", "high", "low", "close", "volume"])
        w.writerows(rows)
    run([cli, "import", "--store", store, "--table", "stocks_daily", path, "--source", "interop-check"])


def check_table(cli: str, store: str, table: str, workdir: str) -> int:
    con = duckdb.connect()
    glob = os.path.join(store, table, "**", "*.parquet")
    relation = con.sql(
        f"SELECT * FROM read_parquet('{glob}', hive_partitioning=true, union_by_name=true) "
        "ORDER BY symbol, datetime"
    )
    # The method's name changed across DuckDB releases.
    to_arrow = getattr(relation, "to_arrow_table", None) or getattr(relation, "arrow")
    duck = to_arrow()
    partition_cols = [c for c in ("month", "day") if c in duck.column_names]
    duck = duck.drop(partition_cols)
    symbols = sorted(set(duck["symbol"].to_pylist()))
    out = os.path.join(workdir, f"{table}.parquet")
    run([cli, "query", "--store", store, "--table", table, "--symbol", ",".join(symbols),
         "--format", "parquet", "--output", out])
    ours = pq.read_table(out)
    if ours.column_names != duck.column_names:
        raise SystemExit(f"{table}: column names differ:\n ours  {ours.column_names}\n duckdb {duck.column_names}")
    if ours.num_rows != duck.num_rows:
        raise SystemExit(f"{table}: candlestore returned {ours.num_rows} rows, DuckDB {duck.num_rows}")
    a, b = normalise(ours), normalise(duck)
    for name in a.column_names:
        x, y = a[name], b[name]
        if x.type != y.type:
            y = y.cast(x.type)
        if not x.equals(y):
            same = pc.fill_null(pc.equal(x, y), False)
            both_null = pc.and_(pc.is_null(x), pc.is_null(y))
            bad = pc.invert(pc.or_(same, both_null))
            first = pc.index(bad, True).as_py()
            raise SystemExit(
                f"{table}.{name}: first difference at row {first}: candlestore {x[first]} vs DuckDB {y[first]}"
            )
    print(f"{table}: {ours.num_rows} rows x {ours.num_columns} columns identical in candlestore and DuckDB")
    return ours.num_rows


def main() -> None:
    cli, store = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as workdir:
        correct_some_bars(cli, store, workdir)
        tables = sorted(
            d for d in os.listdir(store) if not d.startswith("_") and os.path.isdir(os.path.join(store, d))
        )
        if not tables:
            raise SystemExit(f"{store} holds no tables")
        total = sum(check_table(cli, store, t, workdir) for t in tables)
        # The corrected closes are what DuckDB sees (exactly one version per key).
        con = duckdb.connect()
        glob = os.path.join(store, "stocks_daily", "**", "*.parquet")
        close, revision = con.execute(
            f"SELECT close, revision FROM read_parquet('{glob}', hive_partitioning=true) "
            "WHERE symbol = 'AAPL' AND datetime = TIMESTAMPTZ '2017-03-01 00:00:00+00'"
        ).fetchall()[0]
        if abs(close - 140.79) > 1e-9 or revision < 2:
            raise SystemExit(f"DuckDB sees close {close} revision {revision} for the corrected AAPL bar")
        print(f"interop ok: {len(tables)} tables, {total} rows; corrected bar seen at revision {revision}")


if __name__ == "__main__":
    main()
