//! Rule 10 statistics of the prison population: who is held on a day (by legal status, sex,
//! age band, nationality, placement), occupancy against certified capacity, and the flows of
//! each calendar month (admissions, releases, transfers, deaths).
//!
//! The store reads the rows; the counting is here, as pure functions of those rows and the day.

use crate::dates::Date;
use habeas_register::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// The age bands of the population statistics, from the age in whole years on the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBand {
    Under18,
    From18To20,
    From21To29,
    From30To39,
    From40To49,
    From50To59,
    From60,
}

impl AgeBand {
    /// Every band, youngest first.
    pub const ALL: [Self; 7] = [
        Self::Under18,
        Self::From18To20,
        Self::From21To29,
        Self::From30To39,
        Self::From40To49,
        Self::From50To59,
        Self::From60,
    ];

    /// The band of someone born on `birth`, on the day `on` (a birthday counts from its day).
    pub fn of(birth: Date, on: Date) -> Self {
        match birth.age_on(on) {
            ..=17 => Self::Under18,
            18..=20 => Self::From18To20,
            21..=29 => Self::From21To29,
            30..=39 => Self::From30To39,
            40..=49 => Self::From40To49,
            50..=59 => Self::From50To59,
            _ => Self::From60,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Under18 => "under 18",
            Self::From18To20 => "18-20",
            Self::From21To29 => "21-29",
            Self::From30To39 => "30-39",
            Self::From40To49 => "40-49",
            Self::From50To59 => "50-59",
            Self::From60 => "60 and over",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// Where a person held on the day is, as far as the projections know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Allocated a cell and not away (in it, or out of it within the facility).
    InCell,
    /// Out of the facility: court, hospital or temporary absence.
    Away,
    /// Admitted and not yet allocated a cell.
    NotAllocated,
    /// Held on the day but released, transferred or dead since: the projections no longer
    /// say where they were.
    LeftSince,
}

impl Placement {
    pub const ALL: [Self; 4] = [
        Self::InCell,
        Self::Away,
        Self::NotAllocated,
        Self::LeftSince,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::InCell => "in_cell",
            Self::Away => "away",
            Self::NotAllocated => "not_allocated",
            Self::LeftSince => "left_since",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// How a custody ended, for the monthly flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    Release,
    TransferOut,
    Death,
    Escape,
}

impl EndKind {
    /// `death` is a death; `transfer_out` (a transfer within the system, or a release for
    /// one) and `transfer_to_another_state` are transfers out; `escape` an escape; every
    /// other reason a release.
    pub fn of(end_reason: &str) -> Self {
        match end_reason {
            "death" => Self::Death,
            "escape" => Self::Escape,
            "transfer_out" | "transfer_to_another_state" => Self::TransferOut,
            _ => Self::Release,
        }
    }
}

/// Whether a custody admitted at `admitted` and ended at `ended` (if it has) was held at the
/// end of the day `as_of`: admitted by then and not ended by then.
pub fn held_on(admitted: Timestamp, ended: Option<Timestamp>, as_of: Date) -> bool {
    let day_end = as_of.plus_days(1).start();
    admitted < day_end && ended.is_none_or(|e| e >= day_end)
}

/// The first of a comma-separated list of nationalities (ISO 3166-1 codes), or `none` when
/// no nationality is recorded.
pub fn first_nationality(nationalities: &str) -> &str {
    match nationalities.split(',').map(str::trim).next() {
        Some(n) if !n.is_empty() => n,
        _ => "none",
    }
}

/// People held, in percent of the certified normal accommodation (none without a CNA),
/// to a tenth.
pub fn occupancy_pct(population: u64, cna: u64) -> Option<f64> {
    (cna > 0).then(|| (1000.0 * population as f64 / cna as f64).round() / 10.0)
}

/// Floor area per person in m², to a hundredth (none for an empty place).
pub fn m2_per_person(area_cm2: u64, population: u64) -> Option<f64> {
    (population > 0).then(|| (area_cm2 as f64 / population as f64 / 100.0).round() / 100.0)
}

/// One line of a breakdown: a key and how many people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub key: String,
    pub people: u64,
}

/// The population held on a day and its breakdowns. Each breakdown adds up to `total`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Population {
    pub total: u64,
    pub by_legal_status: Vec<Count>,
    pub by_sex: Vec<Count>,
    /// Every band, youngest first, zeros included.
    pub by_age_band: Vec<Count>,
    /// By the first nationality recorded; most people first.
    pub by_nationality: Vec<Count>,
    pub foreign_nationals: u64,
    /// Every placement, zeros included.
    pub by_placement: Vec<Count>,
    /// People held on an order (issued by the day, in force or lapsed) that invokes a state of
    /// exception (ICCPR 4) not ended by the day.
    pub under_emergency: u64,
    /// The same people by the regime's name (only those held under one: it adds up to
    /// `under_emergency`, not to `total`).
    pub by_emergency: Vec<Count>,
}

/// One person held on the day, as the tally needs them.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    pub legal_status: &'a str,
    pub sex: &'a str,
    pub birth: Date,
    pub nationalities: &'a str,
    pub foreign_national: bool,
    pub placement: Placement,
    /// The name of the state of exception their latest order invoking one was issued under,
    /// if it has not ended by the day.
    pub emergency: Option<&'a str>,
}

/// Counts the people held on a day.
#[derive(Debug, Clone)]
pub struct PopulationTally {
    as_of: Date,
    total: u64,
    legal_status: BTreeMap<String, u64>,
    sex: BTreeMap<String, u64>,
    age: [u64; 7],
    nationality: BTreeMap<String, u64>,
    foreign_nationals: u64,
    placement: [u64; 4],
    emergency: BTreeMap<String, u64>,
}

fn counts(map: BTreeMap<String, u64>) -> Vec<Count> {
    map.into_iter()
        .map(|(key, people)| Count { key, people })
        .collect()
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

impl PopulationTally {
    pub fn new(as_of: Date) -> Self {
        Self {
            as_of,
            total: 0,
            legal_status: BTreeMap::new(),
            sex: BTreeMap::new(),
            age: [0; 7],
            nationality: BTreeMap::new(),
            foreign_nationals: 0,
            placement: [0; 4],
            emergency: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, p: &Held<'_>) {
        self.total += 1;
        bump(&mut self.legal_status, p.legal_status);
        bump(&mut self.sex, p.sex);
        self.age[AgeBand::of(p.birth, self.as_of).slot()] += 1;
        bump(&mut self.nationality, first_nationality(p.nationalities));
        self.foreign_nationals += u64::from(p.foreign_national);
        self.placement[p.placement.slot()] += 1;
        if let Some(name) = p.emergency {
            bump(&mut self.emergency, name);
        }
    }

    pub fn finish(self) -> Population {
        let mut by_nationality = counts(self.nationality);
        by_nationality.sort_by(|a, b| b.people.cmp(&a.people).then_with(|| a.key.cmp(&b.key)));
        Population {
            total: self.total,
            by_legal_status: counts(self.legal_status),
            by_sex: counts(self.sex),
            by_age_band: AgeBand::ALL
                .iter()
                .map(|b| Count {
                    key: b.label().to_owned(),
                    people: self.age[b.slot()],
                })
                .collect(),
            by_nationality,
            foreign_nationals: self.foreign_nationals,
            by_placement: Placement::ALL
                .iter()
                .map(|p| Count {
                    key: p.label().to_owned(),
                    people: self.placement[p.slot()],
                })
                .collect(),
            under_emergency: self.emergency.values().sum(),
            by_emergency: counts(self.emergency),
        }
    }
}

/// Population and capacity of a facility (`unit` none) or of one of its units.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occupancy {
    pub facility: String,
    pub unit: Option<String>,
    pub cells: u64,
    pub population: u64,
    /// Certified normal accommodation: the sum over the cells.
    pub cna: u64,
    pub operational_capacity: u64,
    /// Population in percent of the CNA (none without a CNA).
    pub occupancy_pct: Option<f64>,
    pub area_m2: f64,
    pub m2_per_person: Option<f64>,
}

impl Occupancy {
    pub fn new(
        facility: &str,
        unit: Option<&str>,
        cells: u64,
        population: u64,
        cna: u64,
        operational_capacity: u64,
        area_cm2: u64,
    ) -> Self {
        Self {
            facility: facility.to_owned(),
            unit: unit.map(str::to_owned),
            cells,
            population,
            cna,
            operational_capacity,
            occupancy_pct: occupancy_pct(population, cna),
            area_m2: (area_cm2 as f64 / 100.0).round() / 100.0,
            m2_per_person: m2_per_person(area_cm2, population),
        }
    }
}

/// The flows of one calendar month (up to the end of the day of the statistics for its month).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthFlow {
    /// `YYYY-MM`.
    pub month: String,
    /// New custodies from an admission.
    pub admissions: u64,
    /// New custodies from a transfer from another facility of the system.
    pub transfers_in: u64,
    /// Custodies ended other than by death, transfer or escape.
    pub releases: u64,
    pub transfers_out: u64,
    /// Custodies ended by an escape (a disappearance, Rule 71(1)).
    pub escapes: u64,
    /// Deaths in custody, from the death cases.
    pub deaths: u64,
    /// Serious injuries of people held, from the serious-harm cases (Rules 69 and 71(1)), by
    /// when they happened.
    pub serious_injuries: u64,
    /// Every ended custody by its recorded reason (`death` included).
    pub ended_by_reason: Vec<Count>,
}

/// Counts the flows of the `months` calendar months ending with the month of `as_of`, up to
/// the end of that day; anything outside is not counted.
#[derive(Debug, Clone)]
pub struct FlowTally {
    first: i64,
    from: Timestamp,
    until: Timestamp,
    months: Vec<MonthFlow>,
    reasons: Vec<BTreeMap<String, u64>>,
}

fn month_number(d: Date) -> i64 {
    d.year * 12 + d.month - 1
}

fn month_label(n: i64) -> String {
    format!("{:04}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1)
}

impl FlowTally {
    pub fn new(as_of: Date, months: u32) -> Self {
        let last = month_number(as_of);
        let first = last - i64::from(months) + 1;
        let from = Timestamp::from_parts(
            first.div_euclid(12),
            first.rem_euclid(12) + 1,
            1,
            0,
            0,
            0,
            0,
        )
        .unwrap_or_default();
        Self {
            first,
            from,
            until: as_of.plus_days(1).start(),
            months: (first..=last)
                .map(|n| MonthFlow {
                    month: month_label(n),
                    admissions: 0,
                    transfers_in: 0,
                    releases: 0,
                    transfers_out: 0,
                    escapes: 0,
                    deaths: 0,
                    serious_injuries: 0,
                    ended_by_reason: Vec::new(),
                })
                .collect(),
            reasons: (first..=last).map(|_| BTreeMap::new()).collect(),
        }
    }

    fn slot(&self, at: Timestamp) -> Option<usize> {
        if at < self.from || at >= self.until {
            return None;
        }
        usize::try_from(month_number(Date::of(at)) - self.first)
            .ok()
            .filter(|&i| i < self.months.len())
    }

    /// A new custody at `at`, from an admission or (`transfer`) a transfer in.
    pub fn admitted(&mut self, at: Timestamp, transfer: bool) {
        if let Some(m) = self.slot(at).and_then(|i| self.months.get_mut(i)) {
            if transfer {
                m.transfers_in += 1;
            } else {
                m.admissions += 1;
            }
        }
    }

    /// A custody ended at `at` for `reason`.
    pub fn ended(&mut self, at: Timestamp, reason: &str) {
        let Some(i) = self.slot(at) else { return };
        if let Some(m) = self.months.get_mut(i) {
            match EndKind::of(reason) {
                EndKind::Release => m.releases += 1,
                EndKind::TransferOut => m.transfers_out += 1,
                EndKind::Escape => m.escapes += 1,
                EndKind::Death => {}
            }
        }
        if let Some(r) = self.reasons.get_mut(i) {
            bump(r, reason);
        }
    }

    /// A death in custody at `at`.
    pub fn death(&mut self, at: Timestamp) {
        if let Some(m) = self.slot(at).and_then(|i| self.months.get_mut(i)) {
            m.deaths += 1;
        }
    }

    /// A serious injury of a person held at `at`.
    pub fn serious_injury(&mut self, at: Timestamp) {
        if let Some(m) = self.slot(at).and_then(|i| self.months.get_mut(i)) {
            m.serious_injuries += 1;
        }
    }

    pub fn finish(self) -> Vec<MonthFlow> {
        self.months
            .into_iter()
            .zip(self.reasons)
            .map(|(m, r)| MonthFlow {
                ended_by_reason: counts(r),
                ..m
            })
            .collect()
    }
}

/// Rule 10 statistics of a facility (or of every facility) on a day.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statistics {
    pub facility: Option<String>,
    pub as_of: String,
    pub months: u32,
    pub population: Population,
    /// Each facility (`unit` none) followed by its units.
    pub occupancy: Vec<Occupancy>,
    /// Oldest month first.
    pub flows: Vec<MonthFlow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse("d", s).unwrap()
    }

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn age_bands_change_on_the_birthday_itself() {
        let birth = d("2007-06-15");
        assert_eq!(AgeBand::of(birth, d("2025-06-14")), AgeBand::Under18);
        assert_eq!(AgeBand::of(birth, d("2025-06-15")), AgeBand::From18To20);
        assert_eq!(AgeBand::of(birth, d("2025-06-16")), AgeBand::From18To20);
        assert_eq!(AgeBand::of(birth, d("2028-06-14")), AgeBand::From18To20);
        assert_eq!(AgeBand::of(birth, d("2028-06-15")), AgeBand::From21To29);
        assert_eq!(AgeBand::of(birth, d("2067-06-14")), AgeBand::From50To59);
        assert_eq!(AgeBand::of(birth, d("2067-06-15")), AgeBand::From60);
        assert_eq!(AgeBand::of(birth, d("2067-06-16")), AgeBand::From60);
        // Born on 29 February: 18 on 1 March of a common year, not on 28 February.
        let leap = d("2004-02-29");
        assert_eq!(AgeBand::of(leap, d("2022-02-28")), AgeBand::Under18);
        assert_eq!(AgeBand::of(leap, d("2022-03-01")), AgeBand::From18To20);
        // Every bound, one day before and on the day.
        for (age, below, at) in [
            (30, AgeBand::From21To29, AgeBand::From30To39),
            (40, AgeBand::From30To39, AgeBand::From40To49),
            (50, AgeBand::From40To49, AgeBand::From50To59),
        ] {
            let birth = d(&format!("{}-01-01", 2000 - age));
            assert_eq!(AgeBand::of(birth, d("1999-12-31")), below, "{age}");
            assert_eq!(AgeBand::of(birth, d("2000-01-01")), at, "{age}");
        }
    }

    #[test]
    fn held_means_admitted_by_the_end_of_the_day_and_not_ended_by_then() {
        let day = d("2025-05-31");
        assert!(held_on(t("2025-05-31T23:59:59.999Z"), None, day));
        assert!(!held_on(t("2025-06-01T00:00:00.000Z"), None, day));
        let admitted = t("2025-01-01T10:00:00.000Z");
        assert!(!held_on(admitted, Some(t("2025-05-31T23:59:59.999Z")), day));
        assert!(held_on(admitted, Some(t("2025-06-01T00:00:00.000Z")), day));
        assert!(held_on(admitted, Some(t("2025-07-01T00:00:00.000Z")), day));
    }

    #[test]
    fn nationality_is_the_first_recorded() {
        assert_eq!(first_nationality("VE,CO"), "VE");
        assert_eq!(first_nationality("SV"), "SV");
        assert_eq!(first_nationality(""), "none");
    }

    #[test]
    fn occupancy_against_cna_and_space_per_person() {
        assert_eq!(occupancy_pct(60, 24), Some(250.0));
        assert_eq!(occupancy_pct(1, 3), Some(33.3));
        assert_eq!(occupancy_pct(5, 0), None);
        assert_eq!(m2_per_person(1_000_000, 80), Some(1.25));
        assert_eq!(m2_per_person(1_000_000, 0), None);
        let o = Occupancy::new("F", None, 2, 48, 24, 160, 2_000_000);
        assert_eq!(
            (o.occupancy_pct, o.area_m2, o.m2_per_person),
            (Some(200.0), 200.0, Some(4.17))
        );
    }

    #[test]
    fn every_breakdown_adds_up_to_the_total() {
        let mut tally = PopulationTally::new(d("2025-05-31"));
        let people = [
            (
                "remand",
                "male",
                "2010-01-01",
                "SV",
                false,
                Placement::InCell,
            ),
            (
                "sentenced",
                "male",
                "1990-05-31",
                "VE,CO",
                true,
                Placement::Away,
            ),
            (
                "remand",
                "female",
                "1965-06-01",
                "",
                false,
                Placement::NotAllocated,
            ),
            (
                "sentenced",
                "male",
                "1965-05-31",
                "SV",
                false,
                Placement::LeftSince,
            ),
        ];
        for (status, sex, birth, nats, foreign, placement) in people {
            tally.add(&Held {
                legal_status: status,
                sex,
                birth: d(birth),
                nationalities: nats,
                foreign_national: foreign,
                placement,
                emergency: (status == "remand").then_some("régimen de excepción"),
            });
        }
        let p = tally.finish();
        assert_eq!(p.total, 4);
        for breakdown in [
            &p.by_legal_status,
            &p.by_sex,
            &p.by_age_band,
            &p.by_nationality,
            &p.by_placement,
        ] {
            assert_eq!(breakdown.iter().map(|c| c.people).sum::<u64>(), 4);
        }
        let ages: Vec<u64> = p.by_age_band.iter().map(|c| c.people).collect();
        assert_eq!(ages, [1, 0, 0, 1, 0, 1, 1]);
        assert_eq!(
            p.by_nationality[0],
            Count {
                key: "SV".into(),
                people: 2
            }
        );
        assert_eq!(p.foreign_nationals, 1);
        assert_eq!(p.by_placement.len(), 4);
        // The two on remand are held under the state of exception; the others under none.
        assert_eq!(p.under_emergency, 2);
        assert_eq!(
            p.by_emergency,
            [Count {
                key: "régimen de excepción".into(),
                people: 2
            }]
        );
    }

    #[test]
    fn flows_fall_in_their_month_and_nothing_after_the_day_is_counted() {
        let mut f = FlowTally::new(d("2025-03-15"), 3);
        f.admitted(t("2024-12-31T23:59:59.999Z"), false); // before the first month
        f.admitted(t("2025-01-01T00:00:00.000Z"), false);
        f.admitted(t("2025-02-10T00:00:00.000Z"), true);
        f.admitted(t("2025-03-15T23:00:00.000Z"), false);
        f.admitted(t("2025-03-16T00:00:00.000Z"), false); // after the day
        f.ended(t("2025-01-20T00:00:00.000Z"), "bail");
        f.ended(t("2025-02-20T00:00:00.000Z"), "transfer_out");
        f.ended(t("2025-03-01T00:00:00.000Z"), "death");
        f.ended(t("2025-03-02T04:00:00.000Z"), "escape");
        f.death(t("2025-03-01T00:00:00.000Z"));
        f.serious_injury(t("2025-02-28T23:59:59.999Z"));
        f.serious_injury(t("2025-03-16T00:00:00.000Z")); // after the day
        let m = f.finish();
        let months: Vec<&str> = m.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(months, ["2025-01", "2025-02", "2025-03"]);
        assert_eq!((m[0].admissions, m[0].releases), (1, 1));
        assert_eq!((m[1].transfers_in, m[1].transfers_out), (1, 1));
        assert_eq!(
            (m[2].admissions, m[2].deaths, m[2].releases, m[2].escapes),
            (1, 1, 0, 1)
        );
        assert_eq!(
            m.iter().map(|m| m.serious_injuries).collect::<Vec<_>>(),
            [0, 1, 0]
        );
        assert_eq!(
            m[2].ended_by_reason,
            [
                Count {
                    key: "death".into(),
                    people: 1
                },
                Count {
                    key: "escape".into(),
                    people: 1
                }
            ]
        );
    }

    #[test]
    fn months_cross_the_year() {
        let m = FlowTally::new(d("2025-02-28"), 14).finish();
        assert_eq!(m.len(), 14);
        assert_eq!(m[0].month, "2024-01");
        assert_eq!(m[11].month, "2024-12");
        assert_eq!(m[13].month, "2025-02");
    }
}
