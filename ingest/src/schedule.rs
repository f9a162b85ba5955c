//! The daily backfill schedule: when the next run is due, as a pure function of (config, last
//! run, now), with misfire handling; its state persisted under `<store>/_ingest/`.
//!
//! A *slot* is the configured local time on one calendar date, as a UTC instant. On the day
//! clocks spring forward a slot inside the skipped hour runs at the first valid local instant
//! after it; on the day they fall back, an ambiguous slot runs at its first occurrence. Every
//! slot runs at most once: the state records the last slot run, and a slot missed while the
//! process was down runs once at start-up if it is at most `grace` old, else it is skipped.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Days, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::backfill::frame::{self, FrameKind, StateFileError};

/// The schedule-state file's framing.
const SCHEDULE_STATE: FrameKind =
    FrameKind { magic: *b"CSSCHED\n", version: 1, what: "schedule state" };

/// Errors of the `[schedule]` configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The configuration file cannot be read.
    #[error("cannot read configuration file {path}: {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or `[schedule]` does not have the expected keys.
    #[error("{path}: {message}", path = path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A value of `[schedule]` is invalid.
    #[error("{path}: [schedule] {key} = {value:?}: {reason}", path = path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// The value given.
        value: String,
        /// What is wrong.
        reason: String,
    },
}

/// The `[schedule]` section of the configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleConfig {
    /// Local time of the daily run.
    pub time: NaiveTime,
    /// The zone of `time`.
    pub timezone: Tz,
    /// The table to backfill.
    pub table: String,
    /// The symbols.
    pub universe: Vec<String>,
    /// Each run covers the `lookback_days` days up to the slot's local date.
    pub lookback_days: u32,
    /// A missed slot at most this old runs at start-up.
    pub grace: Duration,
}

#[derive(Debug, Deserialize)]
struct RawFile {
    schedule: Option<RawSchedule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    time: String,
    timezone: String,
    table: String,
    universe: Option<Vec<String>>,
    universe_file: Option<PathBuf>,
    lookback_days: Option<u32>,
    grace: Option<String>,
}

impl ScheduleConfig {
    /// Reads `[schedule]` from the TOML file at `path` (`universe_file` is relative to it).
    pub fn load(path: &Path) -> Result<Self, ScheduleError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ScheduleError::Io { path: path.to_owned(), source })?;
        Self::from_toml(&text, path)
    }

    /// Parses `[schedule]` from `text`; `path` names the file in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ScheduleError> {
        let parse = |message: String| ScheduleError::Parse { path: path.to_owned(), message };
        let raw: RawFile = toml::from_str(text).map_err(|e| parse(e.to_string()))?;
        let raw = raw.schedule.ok_or_else(|| parse("no [schedule] section".to_owned()))?;
        let invalid = |key, value: &str, reason: &str| ScheduleError::Invalid {
            path: path.to_owned(),
            key,
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let time = NaiveTime::parse_from_str(raw.time.trim(), "%H:%M")
            .map_err(|_| invalid("time", &raw.time, "expected HH:MM (24-hour local time)"))?;
        let timezone: Tz = raw
            .timezone
            .parse()
            .map_err(|_| invalid("timezone", &raw.timezone, "not an IANA time zone"))?;
        let universe = match (raw.universe, raw.universe_file) {
            (Some(list), None) => list.into_iter().map(|s| s.trim().to_ascii_uppercase()).collect(),
            (None, Some(file)) => {
                let file = path.parent().unwrap_or(Path::new(".")).join(file);
                let text = std::fs::read_to_string(&file)
                    .map_err(|source| ScheduleError::Io { path: file.clone(), source })?;
                text.lines()
                    .map(|l| l.split('#').next().unwrap_or("").trim().to_ascii_uppercase())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            _ => {
                return Err(invalid(
                    "universe",
                    "",
                    "give exactly one of universe or universe_file",
                ));
            }
        };
        let universe: Vec<String> = universe;
        if universe.is_empty() || universe.iter().any(String::is_empty) {
            return Err(invalid("universe", "", "no symbols (or an empty one)"));
        }
        let lookback_days = raw.lookback_days.unwrap_or(7);
        if lookback_days == 0 {
            return Err(invalid("lookback_days", "0", "must be at least 1"));
        }
        let grace = match raw.grace {
            None => Duration::hours(6),
            Some(g) => crate::config::parse_duration(&g)
                .ok()
                .and_then(|d| Duration::from_std(d).ok())
                .ok_or_else(|| invalid("grace", &g, "not a duration (e.g. \"2h\")"))?,
        };
        Ok(Self { time, timezone, table: raw.table, universe, lookback_days, grace })
    }

    /// The slot of local date `date`, as a UTC instant.
    pub fn slot_on(&self, date: NaiveDate) -> DateTime<Utc> {
        let local = date.and_time(self.time);
        match self.timezone.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => {
                // Inside the spring-forward gap: the first local minute that exists after it.
                let mut probe = local;
                loop {
                    probe += Duration::minutes(1);
                    if let Some(t) = self.timezone.from_local_datetime(&probe).earliest() {
                        return t.with_timezone(&Utc);
                    }
                }
            }
        }
    }

    /// The latest slot at or before `now`.
    pub fn slot_at_or_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.with_timezone(&self.timezone).date_naive();
        let slot = self.slot_on(today);
        if slot <= now { slot } else { self.slot_on(today - Days::new(1)) }
    }

    /// The first slot strictly after `now`.
    pub fn slot_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.with_timezone(&self.timezone).date_naive();
        let slot = self.slot_on(today);
        if slot > now { slot } else { self.slot_on(today + Days::new(1)) }
    }

    /// The session-date window a run of `slot` backfills: the `lookback_days` local dates
    /// ending on the slot's local date.
    pub fn window(&self, slot: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
        let end = slot.with_timezone(&self.timezone).date_naive();
        (end - Days::new(u64::from(self.lookback_days) - 1), end)
    }
}

/// What the scheduler should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Run the backfill of this slot now (on time, or a misfire within the grace period).
    Run {
        /// The slot being run.
        slot: DateTime<Utc>,
        /// Whether it is a late run of a missed slot.
        misfire: bool,
    },
    /// Nothing to do until `until` (the next slot).
    Wait {
        /// The next slot.
        until: DateTime<Utc>,
        /// A missed slot older than the grace period, skipped.
        skipped: Option<DateTime<Utc>>,
    },
}

/// Decides from the config, the last slot run (if any) and the current time. Pure: the
/// caller owns the clock.
pub fn decide(
    config: &ScheduleConfig,
    last_slot: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Decision {
    let due = config.slot_at_or_before(now);
    let next = config.slot_after(now);
    if last_slot.is_some_and(|l| l >= due) {
        return Decision::Wait { until: next, skipped: None };
    }
    let late = now - due;
    // Within a minute of the slot counts as on time (the sleep's own jitter).
    if late <= Duration::minutes(1) {
        return Decision::Run { slot: due, misfire: false };
    }
    if late <= config.grace {
        return Decision::Run { slot: due, misfire: true };
    }
    Decision::Wait { until: next, skipped: Some(due) }
}

/// The persisted schedule state, `<store>/_ingest/schedule.state` (framing as the job state).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// The last slot that ran, µs UTC.
    pub last_slot: Option<i64>,
    /// When that run started, µs UTC.
    pub last_started: Option<i64>,
    /// When it finished, µs UTC.
    pub last_finished: Option<i64>,
    /// Its one-line summary (or error).
    pub last_outcome: Option<String>,
    /// The next slot, µs UTC.
    pub next_slot: Option<i64>,
}

impl ScheduleState {
    /// `<store>/_ingest/schedule.state`.
    pub fn path(store_root: &Path) -> PathBuf {
        store_root.join("_ingest").join("schedule.state")
    }

    /// Reads the state (the default when none was written yet).
    pub fn load(store_root: &Path) -> Result<Self, StateFileError> {
        Ok(frame::load(SCHEDULE_STATE, &Self::path(store_root))?.unwrap_or_default())
    }

    /// Replaces the file atomically.
    pub fn save(&self, store_root: &Path) -> Result<(), StateFileError> {
        frame::write_atomic(&Self::path(store_root), &frame::encode(SCHEDULE_STATE, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(time: &str) -> ScheduleConfig {
        let text = format!(
            "[schedule]\ntime = \"{time}\"\ntimezone = \"America/New_York\"\ntable = \
             \"stocks_daily\"\nuniverse = [\"aapl\", \"MSFT\"]\nlookback_days = 5\ngrace = \"2h\"\n"
        );
        ScheduleConfig::from_toml(&text, Path::new("c.toml")).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn slots_follow_local_time_across_dst() {
        let c = config("18:30");
        assert_eq!(c.universe, vec!["AAPL", "MSFT"]);
        // EST (UTC-5) before 2024-03-10, EDT (UTC-4) after.
        assert_eq!(c.slot_on("2024-03-08".parse().unwrap()), utc("2024-03-08T23:30:00Z"));
        assert_eq!(c.slot_on("2024-03-11".parse().unwrap()), utc("2024-03-11T22:30:00Z"));
        assert_eq!(c.slot_after(utc("2024-03-09T23:30:00Z")), utc("2024-03-10T22:30:00Z"));
        // 02:30 does not exist on 2024-03-10: 03:00 EDT; on 2024-11-03 it exists twice: first.
        let night = config("02:30");
        assert_eq!(night.slot_on("2024-03-10".parse().unwrap()), utc("2024-03-10T07:00:00Z"));
        let fall = config("01:30");
        assert_eq!(fall.slot_on("2024-11-03".parse().unwrap()), utc("2024-11-03T05:30:00Z"));
        assert_eq!(
            c.window(utc("2024-03-11T22:30:00Z")),
            ("2024-03-07".parse().unwrap(), "2024-03-11".parse().unwrap())
        );
    }

    #[test]
    fn misfires_run_once_within_grace_never_twice() {
        let c = config("18:30");
        let slot = utc("2024-03-11T22:30:00Z");
        // On time.
        assert_eq!(decide(&c, None, slot), Decision::Run { slot, misfire: false });
        // Already ran: wait for the next day's slot.
        let next = utc("2024-03-12T22:30:00Z");
        assert_eq!(
            decide(&c, Some(slot), slot + Duration::minutes(5)),
            Decision::Wait { until: next, skipped: None }
        );
        // Down at the slot, back 90 minutes later: one late run.
        let back = slot + Duration::minutes(90);
        assert_eq!(
            decide(&c, Some(slot - Duration::days(1)), back),
            Decision::Run { slot, misfire: true }
        );
        // ... and not a second one after it recorded the slot.
        assert!(matches!(decide(&c, Some(slot), back), Decision::Wait { .. }));
        // Back 3 hours later: beyond the grace, skipped.
        let late = slot + Duration::hours(3);
        assert_eq!(
            decide(&c, Some(slot - Duration::days(1)), late),
            Decision::Wait { until: next, skipped: Some(slot) }
        );
        // Down for a week: only the latest slot is considered, never a catch-up of each day.
        let week = utc("2024-03-18T23:00:00Z");
        assert_eq!(
            decide(&c, Some(slot), week),
            Decision::Run { slot: utc("2024-03-18T22:30:00Z"), misfire: true }
        );
        // Across the spring-forward night: the slot moves from 23:30Z to 22:30Z.
        let sat = utc("2024-03-09T23:30:00Z");
        assert_eq!(
            decide(&c, Some(sat), utc("2024-03-10T22:00:00Z")),
            Decision::Wait { until: utc("2024-03-10T22:30:00Z"), skipped: None }
        );
    }

    #[test]
    fn bad_config_names_key_and_value() {
        let bad =
            |t: &str| ScheduleConfig::from_toml(t, Path::new("c.toml")).unwrap_err().to_string();
        let base = "time = \"18:30\"\ntimezone = \"America/New_York\"\ntable = \"stocks_daily\"\n";
        let e = bad(&format!("[schedule]\n{}universe = []\n", base));
        assert!(e.contains("universe"), "{e}");
        let e = bad(&format!("[schedule]\n{}", base.replace("18:30", "6pm")));
        assert!(e.contains("time") && e.contains("6pm"), "{e}");
        let e = bad(&format!(
            "[schedule]\n{}universe = [\"A\"]\n",
            base.replace("America/New_York", "Mars/Base")
        ));
        assert!(e.contains("Mars/Base"), "{e}");
        let e = bad(&format!("[schedule]\n{}universe = [\"A\"]\ngrace = \"soon\"\n", base));
        assert!(e.contains("grace"), "{e}");
        assert!(bad("[other]\n").contains("no [schedule]"));
        assert!(bad("[schedule]\ntime = \n").contains("c.toml"));
    }

    #[test]
    fn state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ScheduleState::load(dir.path()).unwrap(), ScheduleState::default());
        let s = ScheduleState {
            last_slot: Some(5),
            next_slot: Some(9),
            last_outcome: Some("ok".into()),
            ..Default::default()
        };
        s.save(dir.path()).unwrap();
        assert_eq!(ScheduleState::load(dir.path()).unwrap(), s);
        std::fs::write(ScheduleState::path(dir.path()), b"garbage").unwrap();
        assert!(ScheduleState::load(dir.path()).is_err());
    }
}
