//! How long to wait between attempts to reach a peer again, and how many
//! to make: the reconnecting client's policy, and the Redis bus listener's.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Capped exponential backoff with jitter, for as many attempts as allowed.
///
/// Attempt `n` (from 1) waits between half and all of
/// `initial_delay × 2^(n-1)`, capped at `max_delay`: the random half keeps
/// a thousand clients cut off together from coming back in one wave, and
/// the fixed half keeps a wait from collapsing to nothing. The count starts
/// over after each successful reconnect.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use wirecall::client::ReconnectPolicy;
///
/// let policy = ReconnectPolicy::default()
///     .initial_delay(Duration::from_millis(100))
///     .max_delay(Duration::from_secs(5))
///     .max_attempts(20);
/// let third = policy.delay(3);
/// assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
/// assert!(policy.delay(30) <= Duration::from_secs(5));
/// assert!(policy.allows(20) && !policy.allows(21));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectPolicy {
    initial_delay: Duration,
    max_delay: Duration,
    max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    /// 250 ms doubling up to 30 s, trying forever.
    fn default() -> ReconnectPolicy {
        ReconnectPolicy {
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// The wait before the first attempt (before jitter). Default 250 ms.
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest wait between attempts. Default 30 s.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Gives up after `attempts` failed attempts in a row; the client then
    /// closes. Default: never gives up.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Never gives up (the default).
    #[must_use]
    pub fn forever(mut self) -> Self {
        self.max_attempts = None;
        self
    }

    /// Whether attempt `attempt` (from 1) may be made.
    pub fn allows(&self, attempt: u32) -> bool {
        self.max_attempts.is_none_or(|max| attempt <= max)
    }

    /// The wait before attempt `attempt` (from 1), jitter included.
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let ceiling = self
            .initial_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay);
        let half = ceiling / 2;
        half + half.mul_f64(random_unit())
    }
}

/// A number in [0, 1], different on every call (std's hasher keys are
/// random per `RandomState`).
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        crate::rt::SystemTime::now()
            .duration_since(crate::rt::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    f64::from((hasher.finish() >> 32) as u32) / f64::from(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_their_jitter_and_stop_at_the_cap() {
        let policy = ReconnectPolicy::default()
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1));
        for (attempt, ceiling) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            let ceiling = Duration::from_millis(ceiling);
            for _ in 0..50 {
                let delay = policy.delay(attempt);
                assert!(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "{attempt}: {delay:?}"
                );
            }
        }
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let policy = ReconnectPolicy::default();
        let delays: std::collections::HashSet<_> = (0..20).map(|_| policy.delay(4)).collect();
        assert!(delays.len() > 10, "{delays:?}");
    }

    #[test]
    fn attempts_are_bounded_only_when_asked() {
        assert!(ReconnectPolicy::default().allows(u32::MAX));
        let policy = ReconnectPolicy::default().max_attempts(3);
        assert!(policy.allows(3) && !policy.allows(4));
        assert!(policy.forever().allows(4));
    }
}
