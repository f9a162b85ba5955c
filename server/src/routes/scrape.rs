//! `GET /metrics`: Prometheus text, the request metrics and the store's gauges.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::blocking;
use crate::error::ApiError;
use crate::metrics::escape;
use crate::state::AppState;

pub(super) async fn metrics(
    State(state): State<Arc<AppState>>,
) -> Result<impl IntoResponse, ApiError> {
    let st = state.clone();
    let text = blocking(move || {
        render(&st).map_err(|e| ApiError::internal("rendering the metrics failed", &e))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}

/// A per-table gauge: name, help text, and its value for a table.
type Gauge = (&'static str, &'static str, fn(&candlestore::TableStats) -> u64);

#[derive(Debug, thiserror::Error)]
enum RenderError {
    #[error(transparent)]
    Store(#[from] candlestore::Error),
    #[error("formatting failed")]
    Fmt(#[from] std::fmt::Error),
}

fn render(state: &AppState) -> Result<String, RenderError> {
    let mut out = String::new();
    state.metrics.render(&mut out)?;
    let store = &state.store;
    let s = store.stats()?;
    let gauge = |out: &mut String, name: &str, help: &str, value: u64| -> std::fmt::Result {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} gauge")?;
        writeln!(out, "{name} {value}")
    };
    gauge(
        &mut out,
        "candlestore_store_generation",
        "Manifest generation (commits).",
        s.generation,
    )?;
    gauge(&mut out, "candlestore_wal_files", "Write-ahead log files.", s.wal_files as u64)?;
    gauge(&mut out, "candlestore_wal_bytes", "Bytes of the write-ahead log.", s.wal_bytes)?;
    gauge(
        &mut out,
        "candlestore_cache_bytes",
        "Bytes in the decoded-column cache.",
        s.cache_bytes as u64,
    )?;
    let tables: Vec<_> =
        store.tables().into_iter().map(|t| store.table_stats(&t)).collect::<Result<_, _>>()?;
    let per_table: [Gauge; 6] = [
        ("candlestore_table_bars", "Bars of a table.", |t| t.bars),
        ("candlestore_table_symbols", "Symbols of a table.", |t| t.symbols as u64),
        ("candlestore_table_segments", "Live segments of a table.", |t| t.segments as u64),
        ("candlestore_table_segment_bytes", "Bytes of a table's live segments.", |t| {
            t.segment_bytes
        }),
        ("candlestore_table_level0_segments", "Segments not compacted yet.", |t| {
            t.level0_segments as u64
        }),
        ("candlestore_table_unflushed_rows", "Rows in memtables.", |t| t.unflushed_rows as u64),
    ];
    for (name, help, f) in per_table {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} gauge")?;
        for t in &tables {
            writeln!(out, "{name}{{table=\"{}\"}} {}", escape(t.spec.name.as_str()), f(t))?;
        }
    }
    Ok(out)
}
