//! Opening the store, the signing key and the writer from the command line's options.

use crate::system::{OsEntropy, SystemClock};
use anyhow::{bail, Context, Result};
use habeas_register::note::Signer;
use habeas_register::writer::{Register, WriterConfig, WriterParts};
use habeas_store_sqlite::SqliteStore;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the register is and how its writer behaves.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// The register's SQLite file.
    #[arg(long, global = true, env = "HABEAS_DB", default_value = "habeas.db")]
    pub db: PathBuf,
    /// The signing key file [default: <db>.key].
    #[arg(long, global = true, env = "HABEAS_KEY")]
    pub key: Option<PathBuf>,
    /// Sign a checkpoint automatically every N entries (0: never).
    #[arg(
        long,
        global = true,
        env = "HABEAS_CHECKPOINT_EVERY",
        default_value_t = 10_000
    )]
    pub checkpoint_every: u64,
    /// Sign a checkpoint automatically every T seconds when there are new entries (0: never).
    #[arg(
        long,
        global = true,
        env = "HABEAS_CHECKPOINT_INTERVAL",
        default_value_t = 60
    )]
    pub checkpoint_interval: u64,
}

impl DbArgs {
    pub fn key_path(&self) -> PathBuf {
        self.key.clone().unwrap_or_else(|| {
            let mut s = self.db.as_os_str().to_owned();
            s.push(".key");
            PathBuf::from(s)
        })
    }

    pub fn writer_config(&self) -> WriterConfig {
        WriterConfig {
            checkpoint_every_entries: self.checkpoint_every,
            checkpoint_every_millis: (self.checkpoint_interval as i64).saturating_mul(1000),
            ..WriterConfig::default()
        }
    }

    pub fn open_store(&self) -> Result<SqliteStore> {
        SqliteStore::open(&self.db).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Opens the store and starts its writer with the signing key.
    pub fn open_writer(&self) -> Result<(Arc<SqliteStore>, Register)> {
        let store = Arc::new(self.open_store()?);
        let signer = read_signer(&self.key_path())?;
        let sink = store.sink().map_err(|e| anyhow::anyhow!("{e}"))?;
        let register = Register::start(WriterParts {
            sink: Box::new(sink),
            store: store.clone(),
            signer,
            clock: Arc::new(SystemClock),
            entropy: Arc::new(OsEntropy),
            config: self.writer_config(),
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((store, register))
    }
}

/// Reads a `PRIVATE+KEY+…` signing key, refusing a file others can read.
pub fn read_signer(path: &Path) -> Result<Signer> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the signing key {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "the signing key {} can be read by others (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    Signer::parse(&text)
        .map_err(|e| anyhow::anyhow!("the signing key {} is not valid: {e}", path.display()))
}

/// Writes a new signing key with mode 0600. Refuses to overwrite.
pub fn write_signer(path: &Path, signer: &Signer) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| {
        format!(
            "cannot create the signing key {} (does it exist already?)",
            path.display()
        )
    })?;
    writeln!(f, "{}", signer.to_secret_string())?;
    f.sync_all()?;
    Ok(())
}
