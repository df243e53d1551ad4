//! The only place that reads the system clock and the operating system's random generator.

use habeas_register::time::Clock;
use habeas_register::writer::Entropy;
use habeas_register::Timestamp;

/// The system clock (UTC).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the binary is where the real clock enters"
    )]
    fn now(&self) -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_millis() as i64)
    }
}

/// The operating system's random generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        // getrandom only fails when the OS has no generator at all; a salt of zeros would
        // still be a valid entry, so the failure is not fatal, but it is never silent.
        if let Err(e) = getrandom::fill(buf) {
            eprintln!("warning: the operating system's random generator failed: {e}");
        }
    }
}

/// 32 random bytes for a new signing key.
pub fn key_seed() -> anyhow::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| anyhow::anyhow!("no random generator for the signing key: {e}"))?;
    Ok(seed)
}

/// A monotonic stopwatch for benchmarks.
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    #[expect(
        clippy::disallowed_methods,
        reason = "benchmarks measure elapsed wall time"
    )]
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }
    pub fn secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}
