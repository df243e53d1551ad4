//! The food register of a facility: each unit's day, the meals served and whether drinking
//! water was available whenever needed (Mandela Rule 22). The staff who keep the file record
//! it; inspectors and the national administration read it. A day with fewer meals than the
//! policy's, or without water whenever needed, is a finding; a day of a unit holding people with
//! no record is missing evidence.

use super::*;
use habeas_core::record::RecordInput;

/// Who records a unit's day: the staff who keep the file, as `POST /api/records` allows.
const STAFF: &[Role] = &[Role::Registry, Role::Custody, Role::Legal, Role::Director];

/// Who reads the register: the staff, inspectors and the national administration.
const READERS: &[Role] = &[
    Role::Registry,
    Role::Custody,
    Role::Legal,
    Role::Director,
    Role::Inspector,
    Role::National,
];

/// The days the register shows, up to the day shown.
const DAYS: i64 = 14;

#[derive(Template)]
#[template(path = "ui/food.html")]
struct FoodPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    facility: String,
    facilities: Vec<String>,
    summary: String,
    /// Each row's class (`expired` for fewer meals than the policy's, or no water whenever
    /// needed) and cells.
    rows: Vec<(&'static str, Vec<String>)>,
    /// Whether the caller records (the form is shown), the facility's units and the day shown.
    can_record: bool,
    units: Vec<String>,
    day: String,
    done: Option<String>,
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FoodQuery {
    facility: Option<String>,
    /// The entry just recorded.
    recorded: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FoodForm {
    csrf: String,
    facility: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    meals: String,
    /// `yes` or `no`.
    #[serde(default)]
    water_available: String,
    #[serde(default)]
    water_hours: String,
    #[serde(default)]
    water_litres: String,
    #[serde(default)]
    recorded_by: String,
    #[serde(default)]
    notes: String,
}

fn view(
    state: &AppState,
    caller: &Caller,
    asked: Option<String>,
) -> ApiResult<Result<FoodPage, Response>> {
    let (facility, facilities) =
        match register_facility(state, caller, READERS, asked, "read the food register")? {
            Ok(f) => f,
            Err(r) => return Ok(Err(r)),
        };
    let tr = local_tr(state, caller, &facility)?;
    // The units' days are the facility's local days.
    let day = state.default_day_at(tr.offset).day;
    let records = state
        .store
        .food_services(&facility, day.plus_days(1 - DAYS), 1000)?;
    state.listed(caller, &facility, "food register", None, 0)?;
    let meals = habeas_core::compliance::Policy::mandela_minimum()
        .map_err(|e| ApiError::internal(e.to_string()))?
        .food
        .meals_per_day;
    let rows = records
        .iter()
        .map(|r| {
            let mut water = tr.t(if r.water_available { "yes" } else { "no" });
            if let Some(h) = r.water_hours {
                water.push_str(&format!(
                    " ({})",
                    tr.t1("food-hours", "count", &h.to_string())
                ));
            }
            if let Some(l) = r.water_litres {
                water.push_str(&format!(
                    " ({})",
                    tr.t1("food-litres", "count", &l.to_string())
                ));
            }
            (
                if r.meals < u64::from(meals) || !r.water_available {
                    "expired"
                } else {
                    ""
                },
                vec![
                    i18n::date(tr.lang, &r.day),
                    r.unit.clone(),
                    i18n::int(tr.lang, r.meals),
                    water,
                    r.recorded_by.clone(),
                    r.idx.to_string(),
                ],
            )
        })
        .collect();
    let units = state
        .store
        .facility(&facility)?
        .map(|f| f.units.into_iter().map(|(code, _)| code).collect())
        .unwrap_or_default();
    Ok(Ok(FoodPage {
        who: who_at(state, caller, "/ui/food", tr.offset),
        csrf: caller.csrf.clone().unwrap_or_default(),
        summary: tr.t2(
            "food-summary",
            "count",
            &i18n::int(tr.lang, records.len() as u64),
            "day",
            &i18n::date(tr.lang, &day.to_string()),
        ),
        can_record: STAFF.contains(&caller.role),
        facility,
        facilities,
        rows,
        units,
        day: day.to_string(),
        done: None,
        refusal: None,
        tr,
    }))
}

record_page!(FoodPage, "food-field");

pub(crate) async fn food_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<FoodQuery>,
    headers: HeaderMap,
) -> Response {
    record_page_get(state, headers, (q.facility, q.recorded), view, "food-done").await
}

/// The form's record, as the API would take it: empty fields are absent; a number that is not
/// one is named.
fn input(form: &FoodForm) -> Result<RecordInput, &'static str> {
    let number = |field: &'static str, v: &str| -> Result<Option<u32>, &'static str> {
        match v.trim() {
            "" => Ok(None),
            n => n.parse().map(Some).map_err(|_| field),
        }
    };
    Ok(RecordInput::FoodService {
        facility: form.facility.clone(),
        unit: form.unit.clone(),
        day: form.day.clone(),
        meals: number("meals", &form.meals)?.ok_or("meals")?,
        water_available: form.water_available != "no",
        water_hours: number("water_hours", &form.water_hours)?,
        water_litres: number("water_litres", &form.water_litres)?,
        recorded_by: form.recorded_by.clone(),
        notes: Some(form.notes.trim().to_owned()).filter(|n| !n.is_empty()),
    })
}

pub(crate) async fn food_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<FoodForm>,
) -> Response {
    record_form(
        state,
        headers,
        (form.csrf.clone(), form.facility.clone()),
        STAFF,
        ("record food and water", "/ui/food"),
        view,
        move |state, caller, page: &FoodPage| {
            Ok(match input(&form) {
                Ok(i) => i
                    .validate(state.clock.now(), &crate::api::actor(caller)?)
                    .map_err(|e| page.tr.refused(e)),
                Err(field) => Err((field.to_owned(), page.tr.t("food-not-a-number"))),
            })
        },
    )
    .await
}
