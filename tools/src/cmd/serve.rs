//! `candlestore serve`: the HTTP server over a store, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use candlestore_ingest::{
    Backfill, Connectors, FreshnessConfig, ProvidersConfig, ScheduleConfig, Scheduler,
    master_tickers,
};
use candlestore_server::{
    DEFAULT_ADDR, KeyHash, Server, ServerBuilder, ServerConfig, serve_until_signal,
};
use clap::Args;

use crate::error::{UsageError, usage};
use crate::open::{Access, open_store};

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Store directory.
    #[arg(long, value_name = "DIR", required_unless_present = "hash_key")]
    store: Option<PathBuf>,
    /// Address to listen on (default: the config's `server.addr`, else 127.0.0.1:8080; port
    /// 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    addr: Option<SocketAddr>,
    /// TOML config file; its `[server]` section holds the API keys (as SHA-256 hashes), the
    /// rate limit and whether reads are public. Without one, read endpoints are public and
    /// there is no admin key.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the SHA-256 of KEY, to put in the config's `[[server.keys]]`, and exit.
    #[arg(long, value_name = "KEY", conflicts_with_all = ["store", "addr", "config"])]
    hash_key: Option<String>,
    /// Also run the daily backfill of the config's `[schedule]` section inside the server
    /// (as `candlestore schedule` does), through the server's backfill runner.
    #[arg(long, requires = "config")]
    schedule: bool,
}

pub(crate) fn run(args: &ServeArgs, read_only: bool) -> anyhow::Result<ExitCode> {
    if let Some(key) = &args.hash_key {
        if key.trim().len() < 16 {
            return usage("an API key should be at least 16 characters long");
        }
        println!("{}", KeyHash::of(key.trim()).to_hex());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(dir) = &args.store else { return usage("--store DIR is required") };
    let config = load_config(args.config.as_deref())?;
    let addr = address(args.addr, &config)?;
    let thresholds = match &args.config {
        Some(p) => FreshnessConfig::load(p).map_err(|e| UsageError::new(e.to_string()))?,
        None => FreshnessConfig::default(),
    };
    let providers = ProvidersConfig::load(args.config.as_deref())
        .map_err(|e| UsageError::new(e.to_string()))?;
    let schedule = match (&args.config, args.schedule) {
        (Some(p), true) => {
            Some(ScheduleConfig::load(p).map_err(|e| UsageError::new(e.to_string()))?)
        }
        _ => None,
    };
    let backfills = !providers.configured().is_empty();
    if schedule.is_some() && (read_only || !backfills) {
        return usage(
            "--schedule needs a writable store and vendor providers ([providers.<name>] in \
             --config, or CANDLESTORE_<NAME>_BASE_URL / _API_KEY)",
        );
    }
    let store = open_store(dir, Access::Read { read_only })?;
    let mut builder = Server::builder(store.clone(), config).with_freshness(thresholds);
    // Backfill jobs write to the store: only a writable one with providers configured gets
    // a runner (POST /api/v1/backfill answers 503 otherwise).
    if backfills && !read_only {
        let backfill = Backfill::new(store.clone(), Connectors::new(&providers)?)
            .with_tickers(master_tickers(store));
        builder = builder.with_backfill(backfill);
        if let Some(s) = schedule {
            builder = builder.with_schedule(Scheduler::new(s, dir.clone(), 8));
        }
    }
    serve(builder, addr, &[])
}

/// The config file's `[server]` section, or public reads without one.
pub(crate) fn load_config(path: Option<&Path>) -> anyhow::Result<ServerConfig> {
    match path {
        Some(p) => Ok(ServerConfig::from_file(p)?),
        None => Ok(ServerConfig::default().with_public_read(true)),
    }
}

/// `--addr`, else the config's, else the default.
pub(crate) fn address(
    given: Option<SocketAddr>,
    config: &ServerConfig,
) -> anyhow::Result<SocketAddr> {
    match given.or(config.addr) {
        Some(a) => Ok(a),
        None => DEFAULT_ADDR.parse().context("the default address"),
    }
}

/// Serves `store` until SIGINT/SIGTERM, printing the URL and `examples` (curl lines with
/// `{url}` standing for the base URL) once listening.
pub(crate) fn serve(
    builder: ServerBuilder,
    addr: SocketAddr,
    examples: &[&str],
) -> anyhow::Result<ExitCode> {
    let public = builder.config().public_read;
    let keys = builder.config().keys.len();
    serve_until_signal(builder, addr, |bound| {
        let url = format!("http://{bound}");
        println!(
            "serving on {url} (read endpoints {}, {keys} API keys); Ctrl-C stops",
            if public { "public" } else { "need a key" }
        );
        for e in examples {
            println!("  {}", e.replace("{url}", &url));
        }
        // Tests and scripts wait for the line above before connecting.
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
    })
    .context("the server failed")?;
    println!("stopped: in-flight requests finished, store closed");
    Ok(ExitCode::SUCCESS)
}
