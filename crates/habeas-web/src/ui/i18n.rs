//! The interface's words in Spanish and English (Project Fluent, `locales/*.ftl`), and numbers
//! and dates written the way each language writes them. Spanish follows the conventions of
//! Latin America and El Salvador (es-419: `40,000`, `0.6`, `25/11/2026`); English writes
//! `40,000`, `0.6` and `25 Nov 2026`.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Es,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "es" => Some(Self::Es),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Es => "es",
            Self::En => "en",
        }
    }

    /// The first of Spanish or English that an `Accept-Language` header names; Spanish
    /// otherwise (most users work in Spanish).
    pub fn from_accept(header: Option<&str>) -> Self {
        header
            .into_iter()
            .flat_map(|h| h.split(','))
            .filter_map(|part| part.split(';').next())
            .map(|tag| tag.trim().to_ascii_lowercase())
            .find_map(|tag| Self::parse(tag.split('-').next().unwrap_or("")))
            .unwrap_or(Self::Es)
    }
}

/// Both bundles, parsed once at start.
pub struct I18n {
    es: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("I18n")
    }
}

fn bundle(lang: &str, source: &str) -> Result<FluentBundle<FluentResource>, String> {
    let id: unic_langid::LanguageIdentifier = lang.parse().map_err(|e| format!("{lang}: {e}"))?;
    let resource = FluentResource::try_new(source.to_owned())
        .map_err(|(_, errors)| format!("locales/{lang}.ftl: {errors:?}"))?;
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: the pages are plain HTML.
    b.set_use_isolating(false);
    b.add_resource(resource)
        .map_err(|errors| format!("locales/{lang}.ftl: {errors:?}"))?;
    Ok(b)
}

impl I18n {
    pub fn load() -> Result<Self, String> {
        Ok(Self {
            es: bundle("es", include_str!("../../locales/es.ftl"))?,
            en: bundle("en", include_str!("../../locales/en.ftl"))?,
        })
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::Es => &self.es,
            Lang::En => &self.en,
        }
    }

    /// The message `id` with `args`; the id itself when a message is missing, so that a gap
    /// shows on the page (and in the tests) instead of failing it.
    pub fn message(&self, lang: Lang, id: &str, args: &[(&str, String)]) -> String {
        let b = self.bundle(lang);
        let Some(pattern) = b.get_message(id).and_then(|m| m.value()) else {
            return id.to_owned();
        };
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            fargs.set(*k, FluentValue::from(v.clone()));
        }
        let mut errors = Vec::new();
        b.format_pattern(pattern, Some(&fargs), &mut errors)
            .into_owned()
    }

    /// Every message id of a language, to check that both have the same.
    pub fn ids(lang: Lang) -> Vec<String> {
        let source = match lang {
            Lang::Es => include_str!("../../locales/es.ftl"),
            Lang::En => include_str!("../../locales/en.ftl"),
        };
        let mut ids: Vec<String> = source
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' '))
            .filter_map(|l| l.split_once(" = ").map(|(id, _)| id.trim().to_owned()))
            .collect();
        ids.sort();
        ids
    }
}

/// An integer as the language writes it: thousands separated by a point in Spanish
/// (`14.496`), by a comma in English (`14,496`).
pub fn int(lang: Lang, n: u64) -> String {
    let sep = match lang {
        Lang::Es => '.',
        Lang::En => ',',
    };
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A number with `places` decimals as the language writes it: `12.345,7` in Spanish,
/// `12,345.7` in English.
pub fn decimal(lang: Lang, x: f64, places: usize) -> String {
    let text = format!("{:.*}", places, x.abs());
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let whole = int(lang, whole.parse().unwrap_or(0));
    let sign = if x < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    let point = match lang {
        Lang::Es => ',',
        Lang::En => '.',
    };
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}{point}{frac}")
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A date (`YYYY-MM-DD…`) as the language writes it: `25/11/2026` or `25 Nov 2026`; anything
/// else is returned as it is.
pub fn date(lang: Lang, iso: &str) -> String {
    let parts: Option<(u32, u32, u32)> = (|| {
        let y = iso.get(0..4)?.parse().ok()?;
        let m = iso.get(5..7)?.parse().ok()?;
        let d = iso.get(8..10)?.parse().ok()?;
        Some((y, m, d))
    })();
    match (parts, lang) {
        (Some((y, m, d)), Lang::Es) => format!("{d:02}/{m:02}/{y}"),
        (Some((y, m, d)), Lang::En) => match MONTHS_EN.get((m as usize).wrapping_sub(1)) {
            Some(name) => format!("{d} {name} {y}"),
            None => iso.to_owned(),
        },
        (None, _) => iso.to_owned(),
    }
}

/// A timestamp (`YYYY-MM-DDTHH:MM…`, UTC) as a date and a time of day, saying that the time is
/// UTC: the register keeps every time in UTC. Pages of one facility show its local time
/// instead ([`date_time_at`]).
pub fn date_time(lang: Lang, iso: &str) -> String {
    match iso.get(11..16) {
        Some(hm) if iso.len() >= 16 => format!("{} {hm} UTC", date(lang, iso)),
        _ => date(lang, iso),
    }
}

/// A fixed offset from UTC as a reader names it: `UTC` for none, else `UTC−06:00`,
/// `UTC+05:30` (with a true minus sign).
pub fn zone(offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return "UTC".to_owned();
    }
    let sign = if offset_minutes < 0 { '\u{2212}' } else { '+' };
    let m = offset_minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

/// A register time (or any RFC 3339 time) as the wall clock `offset_minutes` from UTC reads
/// it, written as the register writes times (`YYYY-MM-DDTHH:MM:SS.sssZ`, the `Z` meaning
/// nothing here); `None` for what is not a time.
pub fn wall_clock(iso: &str, offset_minutes: i32) -> Option<String> {
    let t = habeas_core::dates::parse_time(iso)?;
    Some(habeas_register::Timestamp(t.millis() + i64::from(offset_minutes) * 60_000).to_string())
}

/// A timestamp (UTC) as a date and a time of day at `offset_minutes` from UTC (a facility's
/// local time), naming the offset: `7 Dec 2026 10:37 (UTC−06:00)`, `07/12/2026 10:37
/// (UTC−06:00)`; at offset 0 as [`date_time`] (`… UTC`). What is not a time (a date) is
/// written as [`date_time`] writes it.
pub fn date_time_at(lang: Lang, iso: &str, offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return date_time(lang, iso);
    }
    match wall_clock(iso, offset_minutes) {
        Some(local) => format!(
            "{} {} ({})",
            date(lang, &local),
            local.get(11..16).unwrap_or(""),
            zone(offset_minutes)
        ),
        None => date_time(lang, iso),
    }
}

/// A time typed in a form as a register time (UTC): a `datetime-local` value
/// (`YYYY-MM-DDTHH:MM`, or with seconds) is the wall clock at `offset_minutes` from UTC (the
/// facility's local time) and is converted; a time that says its own offset or `Z` is kept
/// as typed, for the domain to read; what is not a time is kept too, for the domain to refuse
/// naming the field.
pub fn form_time(v: &str, offset_minutes: i32) -> String {
    let v = v.trim();
    let utc = match v.len() {
        16 => format!("{v}:00.000Z"),
        19 => format!("{v}.000Z"),
        _ => return v.to_owned(),
    };
    match habeas_register::Timestamp::parse(&utc) {
        Ok(t) => {
            habeas_register::Timestamp(t.millis() - i64::from(offset_minutes) * 60_000).to_string()
        }
        Err(_) => utc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_messages_and_format_their_arguments() {
        let i = I18n::load().unwrap();
        assert_eq!(I18n::ids(Lang::Es), I18n::ids(Lang::En));
        assert!(I18n::ids(Lang::Es).len() > 50);
        let args = [("facility", "CECOT".to_owned())];
        assert_eq!(
            i.message(Lang::Es, "board-title", &args),
            "Tablero de CECOT"
        );
        assert_eq!(i.message(Lang::En, "board-title", &args), "CECOT board");
        // A missing message shows its id.
        assert_eq!(
            i.message(Lang::En, "no-such-message", &[]),
            "no-such-message"
        );
    }

    #[test]
    fn numbers_and_dates_by_language() {
        assert_eq!(int(Lang::En, 0), "0");
        assert_eq!(int(Lang::En, 999), "999");
        assert_eq!(int(Lang::En, 40_000), "40,000");
        assert_eq!(int(Lang::En, 2_000_000), "2,000,000");
        assert_eq!(int(Lang::Es, 14_496), "14.496");
        assert_eq!(decimal(Lang::En, 0.6, 2), "0.60");
        assert_eq!(decimal(Lang::En, 12_345.678, 1), "12,345.7");
        assert_eq!(decimal(Lang::Es, 12_345.678, 1), "12.345,7");
        assert_eq!(decimal(Lang::Es, 1.77, 2), "1,77");
        assert_eq!(decimal(Lang::En, -1.25, 1), "-1.2");
        assert_eq!(date(Lang::Es, "2025-03-16"), "16/03/2025");
        assert_eq!(date(Lang::En, "2025-03-16"), "16 Mar 2025");
        assert_eq!(
            date_time(Lang::Es, "2025-03-16T08:05:00.000Z"),
            "16/03/2025 08:05 UTC"
        );
        assert_eq!(date(Lang::En, "someday"), "someday");
        assert_eq!(date_time(Lang::En, "2025-03-16"), "16 Mar 2025");
        assert_eq!(Lang::from_accept(Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept(Some("fr-FR, es-SV;q=0.8")), Lang::Es);
        assert_eq!(Lang::from_accept(None), Lang::Es);
    }

    #[test]
    fn times_at_a_facilitys_offset_name_it() {
        // 02:05 UTC on 8 December is the evening before at -06:00.
        let t = "2026-12-08T02:05:00.000Z";
        assert_eq!(
            date_time_at(Lang::En, t, -360),
            "7 Dec 2026 20:05 (UTC\u{2212}06:00)"
        );
        assert_eq!(
            date_time_at(Lang::Es, t, -360),
            "07/12/2026 20:05 (UTC\u{2212}06:00)"
        );
        // At offset 0 the time is said as UTC, as before.
        assert_eq!(date_time_at(Lang::En, t, 0), "8 Dec 2026 02:05 UTC");
        assert_eq!(date_time_at(Lang::Es, t, 0), date_time(Lang::Es, t));
        for (lang, utc, offset, local) in [
            // Positive and not whole hours: 21:40 UTC is the next day at +05:30.
            (
                Lang::En,
                "2026-12-31T21:40:00.000Z",
                330,
                "1 Jan 2027 03:10 (UTC+05:30)",
            ),
            (
                Lang::Es,
                "2026-03-01T00:30:00.000Z",
                -45,
                "28/02/2026 23:45 (UTC\u{2212}00:45)",
            ),
            // Either side of local midnight, in a leap year.
            (
                Lang::En,
                "2024-03-01T05:59:59.999Z",
                -360,
                "29 Feb 2024 23:59 (UTC\u{2212}06:00)",
            ),
            (
                Lang::En,
                "2024-03-01T06:00:00.000Z",
                -360,
                "1 Mar 2024 00:00 (UTC\u{2212}06:00)",
            ),
            // Any RFC 3339 time is read.
            (
                Lang::En,
                "2026-12-07T20:05:00-06:00",
                -360,
                "7 Dec 2026 20:05 (UTC\u{2212}06:00)",
            ),
        ] {
            assert_eq!(date_time_at(lang, utc, offset), local, "{utc} at {offset}");
        }
        // A date is a date.
        assert_eq!(date_time_at(Lang::En, "2026-12-07", -360), "7 Dec 2026");
        assert_eq!(zone(0), "UTC");
        assert_eq!(zone(-360), "UTC\u{2212}06:00");
        assert_eq!(zone(840), "UTC+14:00");
        assert_eq!(zone(-570), "UTC\u{2212}09:30");
    }

    #[test]
    fn a_local_time_typed_in_a_form_becomes_the_utc_instant() {
        // 20:05 on 7 December at -06:00 is 02:05 UTC on the 8th.
        assert_eq!(
            form_time("2026-12-07T20:05", -360),
            "2026-12-08T02:05:00.000Z"
        );
        assert_eq!(
            form_time("2026-12-07T20:05:30", -360),
            "2026-12-08T02:05:30.000Z"
        );
        assert_eq!(
            form_time("2027-01-01T03:10", 330),
            "2026-12-31T21:40:00.000Z"
        );
        assert_eq!(form_time("2026-12-07T20:05", 0), "2026-12-07T20:05:00.000Z");
        // A time that says its offset, or Z, is the instant it says.
        assert_eq!(
            form_time(" 2026-12-07T20:05:00Z ", -360),
            "2026-12-07T20:05:00Z"
        );
        assert_eq!(
            form_time("2026-12-07T20:05:00-06:00", 120),
            "2026-12-07T20:05:00-06:00"
        );
        // What is not a time is left for the domain to refuse.
        assert_eq!(
            form_time("2026-13-07T20:05", -360),
            "2026-13-07T20:05:00.000Z"
        );
        assert_eq!(form_time("ayer", -360), "ayer");
        // The wall clock is the form's value again.
        assert_eq!(
            wall_clock("2026-12-08T02:05:00.000Z", -360).as_deref(),
            Some("2026-12-07T20:05:00.000Z")
        );
        assert_eq!(wall_clock("someday", -360), None);
    }
}
