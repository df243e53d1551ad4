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

/// Bytes the operating system's generator is read for at a time.
const POOL: usize = 4096;

/// The operating system's random generator, read [`POOL`] bytes at a time: the writer asks
/// for a 16-byte salt per request, and a system call for each was a measurable part of its
/// time. Bytes are handed out once and wiped from the pool as they are.
#[derive(Debug, Default)]
pub struct OsEntropy {
    pool: std::sync::Mutex<Pool>,
}

#[derive(Debug)]
struct Pool {
    bytes: Box<[u8]>,
    /// Bytes already handed out (all of them when the pool is new).
    used: usize,
}

impl Default for Pool {
    fn default() -> Self {
        Self {
            bytes: vec![0; POOL].into_boxed_slice(),
            used: POOL,
        }
    }
}

fn os_fill(buf: &mut [u8]) {
    // getrandom only fails when the OS has no generator at all; a salt of zeros would
    // still be a valid entry, so the failure is not fatal, but it is never silent.
    if let Err(e) = getrandom::fill(buf) {
        eprintln!("warning: the operating system's random generator failed: {e}");
    }
}

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        if buf.len() > POOL / 4 {
            os_fill(buf);
            return;
        }
        let mut pool = self
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut filled = 0;
        while filled < buf.len() {
            if pool.used == POOL {
                os_fill(&mut pool.bytes);
                pool.used = 0;
            }
            let from = pool.used;
            let n = (buf.len() - filled).min(POOL - from);
            buf[filled..filled + n].copy_from_slice(&pool.bytes[from..from + n]);
            pool.bytes[from..from + n].fill(0);
            pool.used += n;
            filled += n;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_salts_are_never_handed_out_twice_even_across_refills() {
        let entropy = OsEntropy::default();
        // 16-byte salts, as the writer asks, well past one pool; and some odd sizes between.
        let mut seen = std::collections::HashSet::new();
        for i in 0..1000 {
            let mut salt = [0u8; 16];
            entropy.fill(&mut salt);
            assert_ne!(salt, [0u8; 16], "salt {i} is all zeros");
            assert!(seen.insert(salt), "salt {i} was handed out before");
            let mut odd = vec![0u8; 1 + i % 37];
            entropy.fill(&mut odd);
        }
        // A request larger than a quarter of the pool goes to the generator directly.
        let mut big = vec![0u8; POOL];
        entropy.fill(&mut big);
        assert!(big.iter().filter(|b| **b == 0).count() < POOL / 64);
    }
}
