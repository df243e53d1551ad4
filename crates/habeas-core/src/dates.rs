//! Calendar dates (`YYYY-MM-DD`) and the checks every command makes on dates and times.

use crate::error::Said;
use crate::DomainError;
use habeas_register::Timestamp;
use std::fmt;

/// The schema of a time in a request (RFC 3339, kept to the millisecond in UTC), for the API's
/// document.
#[cfg(feature = "openapi")]
pub fn time_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::DateTime,
        )))
        .description(Some(
            "A time in RFC 3339, with or without milliseconds, in UTC (Z) or with its offset (2025-05-31T09:30:00-06:00); kept in UTC to the millisecond",
        ))
        .examples(["2025-05-31T09:30:00.000Z"])
        .build()
}

/// The schema of a calendar date in a request, for the API's document.
#[cfg(feature = "openapi")]
pub fn date_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Date,
        )))
        .description(Some("A calendar date: YYYY-MM-DD"))
        .examples(["2025-05-31"])
        .build()
}

/// A calendar date. Ordered as text: `YYYY-MM-DD` sorts chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i64,
    pub month: i64,
    pub day: i64,
}

impl Date {
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let bad = || {
            DomainError::invalid(
                field,
                format!("{raw:?} is not a date of the form YYYY-MM-DD"),
            )
            .said("not-a-date", &[("value", &raw)])
        };
        let b = raw.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, DomainError> {
            let s = raw.get(r).ok_or_else(bad)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        Timestamp::from_parts(year, month, day, 0, 0, 0, 0).ok_or_else(bad)?;
        Ok(Self { year, month, day })
    }

    /// Midnight UTC at the start of this date.
    pub fn start(self) -> Timestamp {
        Timestamp::from_parts(self.year, self.month, self.day, 0, 0, 0, 0).unwrap_or_default()
    }

    /// The UTC date of a timestamp.
    pub fn of(t: Timestamp) -> Self {
        let s = t.date_string();
        Self::parse("time", &s).unwrap_or(Self {
            year: 1970,
            month: 1,
            day: 1,
        })
    }

    /// The date `days` days after this one (before it, for a negative number).
    pub fn plus_days(self, days: i64) -> Self {
        Self::of(Timestamp::from_millis(
            self.start().millis() + days * 86_400_000,
        ))
    }

    /// Whole years from `self` (a birth date) to `on`.
    pub fn age_on(self, on: Date) -> i64 {
        let mut age = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            age -= 1;
        }
        age
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The day a page, report or command shows when none is asked for: today, unless the
/// register's last recorded day is earlier (a demonstration, a restored backup, a facility
/// that stopped recording): then that day, and the reader is told so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultDay {
    pub day: Date,
    pub today: Date,
}

impl DefaultDay {
    /// `last_recorded` is the day of the register's last entry (`YYYY-MM-DD`).
    pub fn new(today: Date, last_recorded: Option<&str>) -> Self {
        let last = last_recorded.and_then(|d| Date::parse("day", d).ok());
        Self {
            day: last.filter(|l| *l < today).unwrap_or(today),
            today,
        }
    }

    /// Whether the day shown is not today (the register ends earlier).
    pub fn earlier(&self) -> bool {
        self.day < self.today
    }

    /// For the command line: which day is shown and why, naming the option that asks for
    /// another (`--as-of`, `--date`); `None` when it is today.
    pub fn note(&self, option: &str) -> Option<String> {
        self.earlier().then(|| {
            format!(
                "note: showing {}, the register's last recorded day (today is {}: nothing is recorded since); pass {option} for another day",
                self.day, self.today
            )
        })
    }
}

/// Parses a time given in RFC 3339 (`2025-05-31T09:30:00Z`, `2025-05-31T09:30:00.250Z`,
/// `2025-05-31T03:30:00-06:00`): the instant, in UTC to the millisecond (finer digits are
/// dropped). `None` for anything else.
pub fn parse_time(raw: &str) -> Option<Timestamp> {
    if let Ok(t) = Timestamp::parse(raw) {
        return Some(t);
    }
    let t = time::OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339)
        .ok()?;
    let ms = i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()?;
    // The register's times run from year 0 to 9999.
    let t = Timestamp::from_millis(ms);
    Timestamp::parse(&t.to_string()).ok()
}

/// Parses a time given in RFC 3339 (see [`parse_time`]), refusing one later than `now`.
pub fn past_time(field: &str, raw: &str, now: Timestamp) -> Result<Timestamp, DomainError> {
    let t = parse_time(raw).ok_or_else(|| {
        DomainError::invalid(
            field,
            format!("{raw:?} is not a time in RFC 3339, such as 2025-05-31T09:30:00Z, 2025-05-31T09:30:00.000Z or 2025-05-31T03:30:00-06:00"),
        )
        .said("not-a-time", &[("value", &raw)])
    })?;
    if t > now {
        return Err(
            DomainError::invalid(field, format!("{t} is in the future (now is {now})"))
                .said("future", &[("at", &t), ("now", &now)]),
        );
    }
    Ok(t)
}

/// Checks a required free-text field: trimmed, non-empty, at most `max` characters.
pub fn text(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(DomainError::invalid(field, "is required").said("required", &[]));
    }
    if t.chars().count() > max {
        return Err(
            DomainError::invalid(field, format!("has more than {max} characters"))
                .said("too-long", &[("max", &max)]),
        );
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DomainError::invalid(field, "contains control characters").said("control", &[]));
    }
    Ok(t.to_owned())
}

/// Like [`text`], for what is written on one line: a name refuses every control character,
/// a line break included.
pub fn line(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    let t = text(field, raw, max)?;
    if t.contains('\n') {
        return Err(DomainError::invalid(
            field,
            "is one line: no line breaks or other control characters",
        )
        .said("one-line", &[]));
    }
    Ok(t)
}

/// Like [`text`], but empty means absent.
pub fn optional_text(
    field: &str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => text(field, t, max).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_refuses_line_breaks_and_text_keeps_them() {
        assert_eq!(line("name", " Ana ", 10).unwrap(), "Ana");
        assert_eq!(line("name", "Ana\nB", 10).unwrap_err().field, "name");
        assert_eq!(line("name", "Ana\u{1b}[2J", 10).unwrap_err().field, "name");
        assert_eq!(text("notes", "a\nb", 10).unwrap(), "a\nb");
    }

    #[test]
    fn the_default_day_is_today_unless_the_register_ends_earlier() {
        let today = Date::parse("d", "2026-12-04").unwrap();
        let d = DefaultDay::new(today, Some("2025-05-31"));
        assert_eq!(
            (d.day.to_string(), d.earlier()),
            ("2025-05-31".into(), true)
        );
        assert!(d.note("--as-of").unwrap().contains("2025-05-31"));
        for last in [
            None,
            Some("2026-12-04"),
            Some("2027-01-01"),
            Some("garbage"),
        ] {
            let d = DefaultDay::new(today, last);
            assert_eq!(d.day, today, "{last:?}");
            assert!(d.note("--as-of").is_none());
        }
    }

    #[test]
    fn dates_and_ages() {
        let b = Date::parse("birth_date", "2006-11-26").unwrap();
        assert_eq!(b.age_on(Date::parse("d", "2024-11-25").unwrap()), 17);
        assert_eq!(b.age_on(Date::parse("d", "2024-11-26").unwrap()), 18);
        assert_eq!(b.to_string(), "2006-11-26");
        assert!(Date::parse("issued", "2024-02-30").is_err());
        assert_eq!(
            Date::parse("issued", "24-02-03").unwrap_err().field,
            "issued"
        );
        assert_eq!(
            Date::of(Timestamp(1_709_210_096_789)).to_string(),
            "2024-02-29"
        );
    }

    #[test]
    fn times_in_the_future_are_refused() {
        let now = Timestamp::parse("2025-01-01T00:00:00.000Z").unwrap();
        // RFC 3339 with or without milliseconds, in UTC or with an offset; kept in UTC.
        for (raw, want) in [
            ("2024-12-31T10:00:00Z", "2024-12-31T10:00:00.000Z"),
            ("2024-12-31T10:00:00.5Z", "2024-12-31T10:00:00.500Z"),
            ("2024-12-31T10:00:00.123456Z", "2024-12-31T10:00:00.123Z"),
            ("2024-12-31T04:00:00-06:00", "2024-12-31T10:00:00.000Z"),
            ("2024-12-31t10:00:00z", "2024-12-31T10:00:00.000Z"),
        ] {
            assert_eq!(
                past_time("at", raw, now).unwrap().to_string(),
                want,
                "{raw}"
            );
        }
        for bad in [
            "2024-12-31 10:00",
            "2024-12-31T10:00Z",
            "2024-02-30T10:00:00Z",
            "yesterday",
        ] {
            let e = past_time("at", bad, now).unwrap_err();
            assert!(e.message.contains("RFC 3339"), "{bad}: {}", e.message);
        }
        assert!(past_time("at", "2025-01-01T00:00:01+00:00", now).is_err());
        assert!(past_time("admitted_at", "2024-12-31T23:59:59.999Z", now).is_ok());
        let e = past_time("admitted_at", "2025-01-01T00:00:00.001Z", now).unwrap_err();
        assert_eq!(e.field, "admitted_at");
        assert!(e.message.contains("future"));
    }
}
