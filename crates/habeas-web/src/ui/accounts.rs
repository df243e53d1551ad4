//! The administrators' page: every account, and the forms that add one, lock, unlock, set a
//! new password and revoke tokens, under the same rules as the API (`crate::users`) and each
//! change in the access log. A new account's second factor is shown once, as a QR code.

use super::*;

pub struct AccountLine {
    pub username: String,
    pub role: String,
    pub facilities: String,
    pub second_factor: String,
    pub locked: bool,
    pub state: String,
    pub machine: bool,
}

#[derive(Template)]
#[template(path = "ui/accounts.html")]
struct AccountsPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    accounts: Vec<AccountLine>,
    roles: Vec<(&'static str, String)>,
    /// What the last change did, or why it was refused (and the field at fault).
    done: Option<String>,
    error: Option<String>,
    error_field: String,
    /// A new account's second factor, shown once: the QR code (SVG) and the secret.
    qr: Option<String>,
    secret: String,
    /// A new machine token, shown once.
    token: String,
    /// The add form's values, kept after a refusal.
    values: std::collections::BTreeMap<String, String>,
}

fn accounts_view(state: &AppState, caller: &Caller) -> ApiResult<AccountsPage> {
    let tr = Tr::new(lang_of(caller))?;
    let accounts = state
        .accounts
        .users()?
        .into_iter()
        .map(|u| AccountLine {
            role: tr.t(&format!("role-{}", u.role)),
            facilities: if u.facilities.is_empty() {
                tr.t("accounts-every-facility")
            } else {
                u.facilities.join(", ")
            },
            second_factor: tr.t(if u.machine {
                "accounts-token-only"
            } else if u.mfa {
                "accounts-totp"
            } else {
                "accounts-password-only"
            }),
            locked: u.locked_at.is_some(),
            state: match u.locked_at {
                Some(at) => tr.t1(
                    "accounts-locked-since",
                    "date",
                    &i18n::date_time(tr.lang, &habeas_register::Timestamp(at).to_string()),
                ),
                None => tr.t("accounts-active"),
            },
            machine: u.machine,
            username: u.username,
        })
        .collect();
    let roles = crate::auth::Role::ALL
        .iter()
        .map(|r| (r.as_str(), tr.t(&format!("role-{}", r.as_str()))))
        .collect();
    Ok(AccountsPage {
        who: who(state, caller, "/ui/accounts"),
        csrf: caller.csrf.clone().unwrap_or_default(),
        accounts,
        roles,
        done: None,
        error: None,
        error_field: String::new(),
        qr: None,
        secret: String::new(),
        token: String::new(),
        values: Default::default(),
        tr,
    })
}

pub(crate) async fn accounts_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = only(state, &caller, &[Role::Administrator], "manage accounts") {
            return Ok(r);
        }
        Ok(html(StatusCode::OK, &accounts_view(state, &caller)?))
    })
    .await
}

/// The QR code of an `otpauth://` address, as SVG.
fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

pub(crate) async fn accounts_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<std::collections::BTreeMap<String, String>>,
) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = only(&state, &caller, &[Role::Administrator], "manage accounts") {
            return Ok(r);
        }
        let field = |k: &str| form.get(k).cloned().unwrap_or_default();
        let action = field("action");
        if let Some(r) = check_form(
            &state,
            &caller,
            &field("csrf"),
            &format!("change an account: {action}"),
        ) {
            return Ok(r);
        }
        let now = state.now();
        let a = &state.accounts;
        let username = field("username");
        let done = match action.as_str() {
            "add" => crate::users::add(
                a,
                &state.store,
                &crate::users::NewAccount {
                    username: username.clone(),
                    role: field("role"),
                    facilities: field("facilities")
                        .split([',', ' '])
                        .filter(|f| !f.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    language: form
                        .get("language")
                        .cloned()
                        .unwrap_or_else(|| "es".to_owned()),
                    totp: form.contains_key("totp"),
                    password: field("password"),
                    machine: form.contains_key("machine"),
                },
                now,
            ),
            "lock" => crate::users::set_locked(a, &username, true, now),
            "unlock" => crate::users::set_locked(a, &username, false, now),
            "reset_password" => crate::users::reset_password(a, &username, &field("password"), now),
            "issue_token" => crate::users::issue_token(
                a,
                crate::users::Issuer::ForMachine {
                    username: &username,
                },
                &field("name"),
                None,
                &format!("user:{}", caller.user.username),
                now,
            ),
            "revoke_tokens" => crate::users::revoke_tokens(a, &username, &field("name"), now),
            _ => Err(crate::users::UserError::Invalid(crate::auth::Invalid {
                field: "action",
                message: format!("{action:?} is not something this page does"),
            })),
        };
        let mut page = accounts_view(&state, &caller)?;
        match done {
            Ok(d) => {
                state.log(&[crate::access::Event::Account {
                    by: &format!("user:{}", caller.user.username),
                    username: &d.username,
                    action: d.action,
                    detail: d.detail.clone(),
                }])?;
                page.done = Some(page.tr.t2(
                    "accounts-done",
                    "user",
                    &d.username,
                    "action",
                    &page.tr.t(&format!("accounts-action-{}", d.action)),
                ));
                match (d.action, d.show_once) {
                    ("token_issued", Some(token)) => page.token = token,
                    (_, Some(uri)) => {
                        page.qr = qr_svg(&uri);
                        page.secret = uri
                            .split("secret=")
                            .nth(1)
                            .and_then(|s| s.split('&').next())
                            .unwrap_or_default()
                            .to_owned();
                    }
                    _ => {}
                }
                Ok(html(StatusCode::OK, &page))
            }
            Err(e) => {
                if let crate::users::UserError::Forbidden(i) = &e {
                    state.refuse(&caller, EVERY_FACILITY, "change an account", &i.message)?;
                }
                let status = match &e {
                    crate::users::UserError::Conflict(_) => StatusCode::CONFLICT,
                    crate::users::UserError::Forbidden(_) => StatusCode::FORBIDDEN,
                    crate::users::UserError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
                    crate::users::UserError::Invalid(_) => StatusCode::BAD_REQUEST,
                };
                page.error_field = e.field().unwrap_or("").to_owned();
                page.error = Some(e.to_string());
                if action == "add" {
                    page.values = form
                        .iter()
                        .filter(|(k, _)| k.as_str() != "password" && k.as_str() != "csrf")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                }
                Ok(html(status, &page))
            }
        }
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}
