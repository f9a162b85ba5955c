//! Running a backfill: plan each symbol's missing ranges from the stored timestamps and the
//! calendar, fetch them with bounded concurrency across symbols (each provider's rate limiter
//! bounds the request rate), store only the bars that fill a gap, and record job state and
//! the fetch log as each range lands.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{AsArray, BooleanArray};
use arrow::datatypes::TimestampMicrosecondType;
use arrow::record_batch::RecordBatch;
use candlestore::{AppendOptions, Durability, InvalidRows, Store};
use chrono::NaiveDate;
use tokio::task::JoinSet;

use crate::backfill::error::BackfillError;
use crate::backfill::frame::StateFileError;
use crate::backfill::log::{FetchLog, FetchRecord};
use crate::backfill::plan::{FetchChunk, max_days_per_request, plan_chunks};
use crate::backfill::state::{JobState, JobStatus, SymbolJob};
use crate::backfill::tickers::{TickerMap, default_tickers};
use crate::coverage::{stored_timestamps, table_calendar};
use crate::gaps::GapFinder;
use crate::provider::clock::{Clock, SystemClock};
use crate::provider::error::FetchError;
use crate::provider::fallback::{Connectors, FallbackRequest};
use crate::provider::fetched::{Fetched, QuotaKind};
use crate::provider::request::{AssetClass, ProviderKind, Timeframe};

/// What to backfill.
#[derive(Debug, Clone)]
pub struct BackfillSpec {
    /// The table (its asset class picks the calendar and the provider chain).
    pub table: String,
    /// Engine symbols.
    pub symbols: Vec<String>,
    /// First session date of the window.
    pub start: NaiveDate,
    /// Last session date of the window (inclusive).
    pub end: NaiveDate,
    /// Only this provider instead of the asset class's fallback chain.
    pub source: Option<ProviderKind>,
    /// Symbols worked on at once (at least 1).
    pub concurrency: usize,
}

/// How one symbol's backfill ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every gap of the window was fetched and stored (or there was none).
    Ok,
    /// A fetch or write failed; the ranges before it landed.
    Failed,
    /// A previous run already completed this window.
    Skipped,
}

/// One symbol's result.
#[derive(Debug, Clone)]
pub struct SymbolOutcome {
    /// The engine symbol.
    pub symbol: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Bars the calendar expected but the store lacked when the run started.
    pub missing: u64,
    /// Bars stored.
    pub bars_written: u64,
    /// Fetches made (one per planned range).
    pub fetches: u32,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Retries among them.
    pub retries: u64,
    /// The error of a failed symbol, with its provider(s).
    pub error: Option<String>,
}

/// The result of a backfill.
#[derive(Debug, Clone, Default)]
pub struct BackfillSummary {
    /// Per symbol, in the order given.
    pub symbols: Vec<SymbolOutcome>,
}

impl BackfillSummary {
    fn count(&self, o: Outcome) -> usize {
        self.symbols.iter().filter(|s| s.outcome == o).count()
    }
    /// Symbols completed.
    pub fn ok(&self) -> usize {
        self.count(Outcome::Ok)
    }
    /// Symbols that failed.
    pub fn failed(&self) -> usize {
        self.count(Outcome::Failed)
    }
    /// Symbols a previous run had completed.
    pub fn skipped(&self) -> usize {
        self.count(Outcome::Skipped)
    }
    /// Bars stored.
    pub fn bars_written(&self) -> u64 {
        self.symbols.iter().map(|s| s.bars_written).sum()
    }
    /// HTTP requests sent.
    pub fn requests(&self) -> u64 {
        self.symbols.iter().map(|s| s.requests).sum()
    }
    /// Retries among them.
    pub fn retries(&self) -> u64 {
        self.symbols.iter().map(|s| s.retries).sum()
    }
}

/// A symbol's plan: its missing bars and the fetches that fill them.
#[derive(Debug, Clone)]
pub struct SymbolPlan {
    /// The engine symbol.
    pub symbol: String,
    /// Missing bars in the window.
    pub missing: u64,
    /// The fetches, in time order.
    pub chunks: Vec<FetchChunk>,
    /// Whether a previous run already completed the window (nothing will be fetched).
    pub skip: bool,
}

/// Backfills tables of a store from the vendors.
#[derive(Clone)]
pub struct Backfill {
    store: Store,
    connectors: Arc<Connectors>,
    tickers: TickerMap,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Backfill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backfill").field("root", &self.store.root()).finish_non_exhaustive()
    }
}

/// Shared by a run's tasks.
struct RunShared {
    root: PathBuf,
    table: String,
    class: AssetClass,
    timeframe: Timeframe,
    source: Option<ProviderKind>,
    window: (NaiveDate, NaiveDate),
    state: Mutex<JobState>,
    /// Bumped with every change of `state`, under its lock.
    generation: AtomicU64,
    /// The generation the file holds; its lock serialises the writes.
    saved: Mutex<u64>,
    log: Mutex<FetchLog>,
}

impl Backfill {
    /// A backfill writing to `store` (which must live in a directory) and fetching through
    /// `connectors`, with [`default_tickers`] and the system clock.
    pub fn new(store: Store, connectors: Connectors) -> Self {
        Self {
            store,
            connectors: Arc::new(connectors),
            tickers: default_tickers(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Maps engine symbols to vendor tickers with `tickers` (the symbol master's seam).
    pub fn with_tickers(mut self, tickers: TickerMap) -> Self {
        self.tickers = tickers;
        self
    }

    /// The store it writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stamps job state and fetch log with `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn table_kinds(
        &self,
        table: &str,
    ) -> Result<(AssetClass, Timeframe, GapFinderArgs), BackfillError> {
        let (calendar, engine_tf) = table_calendar(&self.store, table)?;
        let timeframe = match engine_tf {
            candlestore::Timeframe::Day1 => Timeframe::Day1,
            candlestore::Timeframe::Hour1 => Timeframe::Hour1,
            candlestore::Timeframe::Min1 => Timeframe::Minute1,
            other => {
                return Err(BackfillError::UnsupportedTimeframe {
                    table: table.to_owned(),
                    timeframe: format!("{other:?}"),
                });
            }
        };
        let class = match self.store.table_spec(table).map(|s| s.asset_class) {
            Ok(candlestore::AssetClass::Crypto) => AssetClass::Crypto,
            _ => AssetClass::Equity,
        };
        Ok((class, timeframe, GapFinderArgs { calendar, timeframe: engine_tf }))
    }

    /// What each symbol of `spec` misses in its window and how it will be fetched. Reads the
    /// stored timestamps and the job state; fetches nothing.
    pub fn plan(&self, spec: &BackfillSpec) -> Result<Vec<SymbolPlan>, BackfillError> {
        if spec.symbols.is_empty() {
            return Err(BackfillError::NoSymbols);
        }
        let root = self.store.root().ok_or(BackfillError::NoStoreDirectory)?;
        let (_, timeframe, g) = self.table_kinds(&spec.table)?;
        let calendar_err = |source| BackfillError::Calendar { table: spec.table.clone(), source };
        let finder =
            GapFinder::new(g.calendar, g.timeframe, spec.start, spec.end).map_err(calendar_err)?;
        let state = JobState::load(root, &spec.table)?;
        let stored = stored_timestamps(&self.store, &spec.table, Some(&spec.symbols))?;
        let max_days = max_days_per_request(timeframe);
        let mut out = Vec::with_capacity(spec.symbols.len());
        for symbol in &spec.symbols {
            let skip = state.symbols.get(symbol).is_some_and(|j| j.covers(spec.start, spec.end));
            let ts = stored.get(symbol).map(Vec::as_slice).unwrap_or(&[]);
            let gaps = finder.find(ts).map_err(calendar_err)?;
            let chunks = if skip { Vec::new() } else { plan_chunks(&gaps.ranges, max_days) };
            out.push(SymbolPlan { symbol: symbol.clone(), missing: gaps.missing, chunks, skip });
        }
        Ok(out)
    }

    /// Runs the backfill of `spec`; `progress` is called after each symbol ends. A symbol's
    /// failure is recorded (outcome, job state, fetch log) and does not stop the others.
    pub async fn run(
        &self,
        spec: &BackfillSpec,
        progress: impl Fn(&SymbolOutcome) + Send + Sync + 'static,
    ) -> Result<BackfillSummary, BackfillError> {
        if !self.store.tables().iter().any(|t| t == &spec.table) {
            // A conventional name (`stocks_daily`, `crypto_1hour`) is declared on first use,
            // as `Store::append` does.
            if let Some(table_spec) = candlestore::TableSpec::from_conventional_name(&spec.table) {
                self.store
                    .declare_table(table_spec)
                    .map_err(|source| BackfillError::Flush { table: spec.table.clone(), source })?;
            }
        }
        let plans = self.plan(spec)?;
        let root = self.store.root().ok_or(BackfillError::NoStoreDirectory)?.to_owned();
        let (class, timeframe, _) = self.table_kinds(&spec.table)?;
        let shared = Arc::new(RunShared {
            state: Mutex::new(JobState::load(&root, &spec.table)?),
            generation: AtomicU64::new(0),
            saved: Mutex::new(0),
            log: Mutex::new(FetchLog::open(&root)?),
            root,
            table: spec.table.clone(),
            class,
            timeframe,
            source: spec.source,
            window: (spec.start, spec.end),
        });
        let progress = Arc::new(progress);
        let mut results: BTreeMap<usize, SymbolOutcome> = BTreeMap::new();
        let mut tasks = JoinSet::new();
        let mut pending = plans.into_iter().enumerate();
        let concurrency = spec.concurrency.max(1);
        let mut names = BTreeMap::new();
        loop {
            while tasks.len() < concurrency {
                let Some((i, plan)) = pending.next() else { break };
                names.insert(i, plan.symbol.clone());
                let (this, shared) = (self.clone(), shared.clone());
                tasks.spawn(async move { (i, this.run_symbol(&shared, plan).await) });
            }
            let Some(joined) = tasks.join_next().await else { break };
            let (i, outcome) = joined.map_err(|e| BackfillError::Task {
                symbol: String::from("(unknown)"),
                detail: e.to_string(),
            })?;
            progress(&outcome);
            results.insert(i, outcome);
        }
        shared.log.lock().unwrap_or_else(|p| p.into_inner()).sync()?;
        let store = self.store.clone();
        let table = spec.table.clone();
        tokio::task::spawn_blocking(move || store.flush().map(|_| ()))
            .await
            .map_err(|e| BackfillError::Task { symbol: "(flush)".into(), detail: e.to_string() })?
            .map_err(|source| BackfillError::Flush { table, source })?;
        Ok(BackfillSummary { symbols: results.into_values().collect() })
    }

    async fn run_symbol(&self, shared: &Arc<RunShared>, plan: SymbolPlan) -> SymbolOutcome {
        let mut out = SymbolOutcome {
            symbol: plan.symbol.clone(),
            outcome: Outcome::Ok,
            missing: plan.missing,
            bars_written: 0,
            fetches: 0,
            requests: 0,
            retries: 0,
            error: None,
        };
        if plan.skip {
            out.outcome = Outcome::Skipped;
            return out;
        }
        // Retries of the last chunk, recorded with the final state.
        let mut carried = 0;
        for (i, chunk) in plan.chunks.iter().enumerate() {
            out.fetches += 1;
            let (record, result) = self.fetch_chunk(shared, &plan.symbol, chunk).await;
            out.requests += u64::from(record.requests);
            out.retries += u64::from(record.retries);
            out.bars_written += record.stored;
            if let Err(e) = self.log(shared, &record).await {
                out.error = Some(e.to_string());
                out.outcome = Outcome::Failed;
                break;
            }
            if result.is_ok() && i + 1 == plan.chunks.len() {
                // The `Done` write below follows at once: one state write, not two.
                carried = u64::from(record.retries);
                continue;
            }
            let job = match &result {
                Ok(()) => (JobStatus::Running, Some(chunk.end), None),
                Err(e) => (JobStatus::Failed, None, Some(e.clone())),
            };
            if let Err(e) =
                self.update_state(shared, &plan.symbol, job, u64::from(record.retries)).await
            {
                out.error = Some(e.to_string());
                out.outcome = Outcome::Failed;
                break;
            }
            if let Err(e) = result {
                out.error = Some(e);
                out.outcome = Outcome::Failed;
                return out;
            }
        }
        if out.outcome == Outcome::Ok {
            let done = (JobStatus::Done, Some(shared.window.1), None);
            if let Err(e) = self.update_state(shared, &plan.symbol, done, carried).await {
                out.error = Some(e.to_string());
                out.outcome = Outcome::Failed;
            }
        }
        out
    }

    /// Fetches one chunk and stores the bars that fill its gaps; the record is the fetch log
    /// line, the result the symbol's error text when it failed.
    async fn fetch_chunk(
        &self,
        shared: &RunShared,
        symbol: &str,
        chunk: &FetchChunk,
    ) -> (FetchRecord, Result<(), String>) {
        let provider_symbols = match shared.source {
            Some(p) => {
                (self.tickers)(symbol, shared.class, p).into_iter().map(|t| (p, t)).collect()
            }
            None => ProviderKind::ALL
                .into_iter()
                .filter_map(|p| (self.tickers)(symbol, shared.class, p).map(|t| (p, t)))
                .collect(),
        };
        let request = FallbackRequest {
            symbol: symbol.to_owned(),
            provider_symbols,
            timeframe: shared.timeframe,
            start: chunk.start,
            end: chunk.end,
        };
        let started = std::time::Instant::now();
        let fetched = match shared.source {
            Some(p) => match request.provider_symbols.get(&p) {
                Some(ticker) => {
                    let one = crate::provider::request::FetchRequest::new(
                        symbol,
                        ticker.clone(),
                        shared.timeframe,
                        chunk.start,
                        chunk.end,
                    );
                    self.connectors.get(p).fetch(&one).await
                }
                None => Err(FetchError::NoProvider {
                    symbol: symbol.to_owned(),
                    asset_class: shared.class.name().to_owned(),
                }),
            },
            None => self.connectors.fetch(shared.class, &request).await,
        };
        let mut record = FetchRecord {
            at: self.clock.now().timestamp_micros(),
            table: shared.table.clone(),
            provider: String::from("none"),
            symbol: symbol.to_owned(),
            start: chunk.start,
            end: chunk.end,
            rows: 0,
            stored: 0,
            requests: 0,
            retries: 0,
            latency_ms: started.elapsed().as_millis() as u64,
            status: String::from("ok"),
            error: None,
            quota_left: None,
        };
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                record.provider = last_provider(&e).map_or("none", ProviderKind::name).to_owned();
                let (req, ret) = spent(&e);
                (record.requests, record.retries) = (req, ret);
                let text = e.to_string();
                record.status = String::from("failed");
                record.error = Some(text.clone());
                return (record, Err(text));
            }
        };
        let m = &fetched.meta;
        record.provider = m.provider.name().to_owned();
        record.rows = m.rows as u64;
        record.requests =
            m.requests + m.fallback_failures.iter().map(|f| spent(&f.error).0).sum::<u32>();
        record.retries =
            m.retries + m.fallback_failures.iter().map(|f| spent(&f.error).1).sum::<u32>();
        record.latency_ms = m.latency.as_millis() as u64;
        record.quota_left = m.quota.filter(|q| q.kind == QuotaKind::Remaining).map(|q| q.value);
        match self.store_gap_bars(&shared.table, chunk, &fetched).await {
            Ok(n) => {
                record.stored = n;
                (record, Ok(()))
            }
            Err(text) => {
                record.status = String::from("failed");
                record.error = Some(text.clone());
                (record, Err(text))
            }
        }
    }

    /// Appends the fetched bars that fill one of the chunk's gaps, durably.
    async fn store_gap_bars(
        &self,
        table: &str,
        chunk: &FetchChunk,
        fetched: &Fetched,
    ) -> Result<u64, String> {
        let mut batch = gap_rows(&fetched.batch, chunk).map_err(|e| e.to_string())?;
        // Futures columns (Binance with `futures = true`) are stored by crypto tables only.
        let crypto = candlestore::TableSpec::from_conventional_name(table)
            .is_some_and(|s| s.asset_class == candlestore::AssetClass::Crypto);
        if !crypto {
            batch = crate::provider::binance_futures::without_futures(&batch);
        }
        if batch.num_rows() == 0 {
            return Ok(0);
        }
        let store = self.store.clone();
        let table = table.to_owned();
        let source = fetched.meta.provider.name();
        tokio::task::spawn_blocking(move || {
            let options = AppendOptions::default()
                .with_source(source)
                .with_invalid_rows(InvalidRows::Skip)
                .with_durability(Durability::Durable);
            store
                .append_with(&table, &batch, &options)
                .map(|r| r.inserted as u64 + r.revised as u64)
                .map_err(|e| format!("appending to {table} failed: {e}"))
        })
        .await
        .map_err(|e| format!("append task failed: {e}"))?
    }

    async fn log(
        &self,
        shared: &Arc<RunShared>,
        record: &FetchRecord,
    ) -> Result<(), BackfillError> {
        let shared = shared.clone();
        let record = record.clone();
        tokio::task::spawn_blocking(move || {
            shared.log.lock().unwrap_or_else(|p| p.into_inner()).append(&record)
        })
        .await
        .map_err(|e| BackfillError::Task { symbol: "(log)".into(), detail: e.to_string() })?
        .map_err(BackfillError::from)
    }

    /// Sets a symbol's job state and replaces the file (after the bars are durable, so the
    /// file never claims more than landed). Writes are coalesced: while one is in progress,
    /// the updates made meanwhile wait and the next write covers them all (each write costs
    /// two fsyncs; one write per update would queue every symbol's progress behind the disk
    /// one update at a time); every update returns once a write that includes it is durable.
    async fn update_state(
        &self,
        shared: &Arc<RunShared>,
        symbol: &str,
        (status, last_good, error): (JobStatus, Option<NaiveDate>, Option<String>),
        retries: u64,
    ) -> Result<(), BackfillError> {
        let shared = shared.clone();
        let symbol = symbol.to_owned();
        let now = self.clock.now().timestamp_micros();
        tokio::task::spawn_blocking(move || -> Result<(), StateFileError> {
            let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
            let mine = shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
            let (start, end) = shared.window;
            let job = state.symbols.entry(symbol).or_insert(SymbolJob {
                status: JobStatus::Pending,
                window_start: start,
                window_end: end,
                last_good: None,
                failures: 0,
                retries: 0,
                last_error: None,
                updated: now,
            });
            if (job.window_start, job.window_end) != (start, end) {
                // A new window: what the old one reached says nothing about this one.
                (job.window_start, job.window_end, job.last_good) = (start, end, None);
            }
            job.status = status;
            job.updated = now;
            job.retries += retries;
            if let Some(d) = last_good {
                job.last_good = Some(d);
            }
            match status {
                JobStatus::Failed => {
                    job.failures += 1;
                    job.last_error = error;
                }
                JobStatus::Done => {
                    job.failures = 0;
                    job.last_error = None;
                }
                _ => {}
            }
            drop(state);
            let mut saved = shared.saved.lock().unwrap_or_else(|p| p.into_inner());
            if *saved >= mine {
                return Ok(());
            }
            let (snapshot, generation) = {
                let state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
                (state.clone(), shared.generation.load(Ordering::SeqCst))
            };
            snapshot.save(&shared.root)?;
            *saved = generation;
            Ok(())
        })
        .await
        .map_err(|e| BackfillError::Task { symbol: "(state)".into(), detail: e.to_string() })?
        .map_err(BackfillError::from)
    }
}

struct GapFinderArgs {
    calendar: crate::calendar::Calendar,
    timeframe: candlestore::Timeframe,
}

/// The rows of `batch` whose datetime fills a gap of `chunk`.
fn gap_rows(
    batch: &RecordBatch,
    chunk: &FetchChunk,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let idx = batch.schema().index_of("datetime")?;
    let t = batch.column(idx).as_primitive::<TimestampMicrosecondType>();
    let keep: BooleanArray = t.iter().map(|v| Some(v.is_some_and(|v| chunk.wants(v)))).collect();
    arrow::compute::filter_record_batch(batch, &keep)
}

/// The provider of a failed fetch (the last one tried of a fallback chain).
fn last_provider(e: &FetchError) -> Option<ProviderKind> {
    match e {
        FetchError::AllProvidersFailed { failures, .. } => failures.last().map(|f| f.provider),
        other => other.provider(),
    }
}

/// Requests and retries a failed fetch spent (as far as the error says).
fn spent(e: &FetchError) -> (u32, u32) {
    match e {
        FetchError::AllProvidersFailed { failures, .. } => {
            failures.iter().map(|f| spent(&f.error)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        }
        FetchError::RetriesExhausted { attempts, .. } => (*attempts, attempts.saturating_sub(1)),
        FetchError::NoProvider { .. } | FetchError::InvalidRequest { .. } => (0, 0),
        _ => (1, 0),
    }
}
