//! A token bucket per connection: calls per second with a burst.

use crate::rt::Instant;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use crate::protocol::{ErrorCode, ErrorObject};
use crate::router::{Call, CallKind, Layer, Next, Running};

/// Limits how fast each connection may call: `per_second` calls on
/// average, with bursts of up to `burst`. A call over the limit is answered
/// with [`ErrorCode::RATE_LIMITED`] (-32005, `data.retry_after_ms` says
/// when the next call would pass) and its handler does not run; the
/// connection stays open. Notifications and subscribe calls count too (a
/// notification over the limit is dropped, since it cannot be answered);
/// unsubscribe calls always pass, so a client over its limit can still
/// stop what it receives.
///
/// Each connection has its own bucket, kept in its
/// [`Context`](crate::Context). Outside a connection the bucket lives in
/// whatever context the caller passes (`Router::handle` makes a fresh one
/// per frame, so there only a batch's calls share a bucket).
#[derive(Debug)]
pub struct RateLimit {
    per_second: f64,
    burst: f64,
    /// Tells this layer's buckets from another `RateLimit`'s on the same
    /// connection.
    key: usize,
}

/// The buckets of every `RateLimit` on one connection, by layer.
#[derive(Debug, Default)]
struct Buckets(Vec<(usize, Bucket)>);

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl RateLimit {
    /// `per_second` calls per second on average (more than 0), bursts of up
    /// to `burst` calls (at least 1).
    pub fn per_connection(per_second: f64, burst: u32) -> RateLimit {
        static NEXT_KEY: AtomicUsize = AtomicUsize::new(0);
        RateLimit {
            per_second: per_second.max(f64::MIN_POSITIVE),
            burst: f64::from(burst.max(1)),
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Takes a token, or says how many milliseconds until one is back.
    fn take(&self, buckets: &mut Buckets, now: Instant) -> Result<(), u64> {
        let index = if let Some(index) = buckets.0.iter().position(|(key, _)| *key == self.key) {
            index
        } else {
            let full = Bucket {
                tokens: self.burst,
                refilled: now,
            };
            buckets.0.push((self.key, full));
            buckets.0.len() - 1
        };
        let bucket = &mut buckets.0[index].1;
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            // Positive and bounded by 1 / per_second: the cast keeps it.
            #[allow(clippy::cast_sign_loss)]
            Err((wait * 1000.0).ceil() as u64)
        }
    }
}

impl Layer for RateLimit {
    fn handle(&self, call: &Call<'_>, next: Next<'_>) -> Running {
        if call.kind() == CallKind::Unsubscribe {
            return next.run();
        }
        let now = Instant::now();
        match call.context().with_local(|buckets| self.take(buckets, now)) {
            Ok(()) => next.run(),
            Err(retry_after_ms) => {
                let error = ErrorObject::new(
                    ErrorCode::RATE_LIMITED,
                    format!(
                        "rate limit: {} calls per second, bursts of {}",
                        self.per_second, self.burst
                    ),
                )
                .with_data(&json!({ "retry_after_ms": retry_after_ms }));
                Next::answer(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_the_rate() {
        let limit = RateLimit::per_connection(10.0, 3);
        let mut buckets = Buckets::default();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limit.take(&mut buckets, start), Ok(()));
        }
        assert_eq!(limit.take(&mut buckets, start), Err(100));
        let later = start + Duration::from_millis(250);
        assert_eq!(limit.take(&mut buckets, later), Ok(()), "2.5 tokens back");
        assert_eq!(limit.take(&mut buckets, later), Ok(()));
        assert_eq!(limit.take(&mut buckets, later), Err(50));
    }

    #[test]
    fn two_limits_on_one_connection_keep_their_own_buckets() {
        let strict = RateLimit::per_connection(1.0, 1);
        let loose = RateLimit::per_connection(1.0, 5);
        let mut buckets = Buckets::default();
        let now = Instant::now();
        assert_eq!(strict.take(&mut buckets, now), Ok(()));
        assert!(strict.take(&mut buckets, now).is_err());
        assert_eq!(loose.take(&mut buckets, now), Ok(()));
    }
}
