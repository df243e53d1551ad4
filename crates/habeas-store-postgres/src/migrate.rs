//! Append-only schema migrations. A migration that has landed is never edited: add a new one.

use postgres::Client;

/// (version, name, SQL), in order.
pub(crate) const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "register",
        include_str!("../migrations/0001_register.sql"),
    ),
    (
        2,
        "accounts",
        include_str!("../migrations/0002_accounts.sql"),
    ),
    (
        3,
        "totp_last_step",
        include_str!("../migrations/0003_totp_last_step.sql"),
    ),
    (
        4,
        "tokens_and_machines",
        include_str!("../migrations/0004_tokens_and_machines.sql"),
    ),
    (
        5,
        "cosignatures",
        include_str!("../migrations/0005_cosignatures.sql"),
    ),
    (
        6,
        "register_frontier",
        include_str!("../migrations/0006_register_frontier.sql"),
    ),
];

/// The advisory-lock class under which migrations run, so that two processes opening a new
/// database at once do not both apply them. (The writer's lock is another class.)
const MIGRATION_LOCK: i32 = 0x4862_6d67;

/// Applies every migration not yet applied, each in its own transaction, in the schema the
/// connection's `search_path` names.
pub(crate) fn run(client: &mut Client) -> Result<(), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))",
        &[&MIGRATION_LOCK],
    )?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )?;
    for (version, name, sql) in MIGRATIONS {
        let done = tx
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[version],
            )?
            .is_some();
        if done {
            continue;
        }
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )?;
    }
    tx.commit()
}
