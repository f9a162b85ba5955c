//! The 24/7 calendar of crypto markets: every UTC day is one session, 00:00..24:00 UTC.

use chrono::NaiveDate;

use super::session::{Session, SessionHours, date_micros};

/// First date of the 24/7 calendar (the Unix epoch; nothing about crypto markets is older).
pub(super) const FIRST_DATE: (i32, u32, u32) = (1970, 1, 1);
/// Last date of the 24/7 calendar (kept equal to the NYSE calendar's last year).
pub(super) const LAST_DATE: (i32, u32, u32) = (2099, 12, 31);

/// The session of a UTC date. `opens_week` is decided by the caller (Mondays, and the first
/// supported date).
pub(super) fn session(date: NaiveDate, opens_week: bool) -> Session {
    let open = date_micros(date);
    Session { date, open, close: open + 86_400_000_000, hours: SessionHours::Regular, opens_week }
}
