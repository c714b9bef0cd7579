//! The application's clock: the system clock in production, a clock tests move
//! by hand (session expiry, throttling windows, overdue alerts).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use veille_domain::Timestamp;

/// A source of the current instant.
#[derive(Clone, Debug)]
pub enum Clock {
    /// The system clock.
    System,
    /// A clock that only moves when told to.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock starting at `start`.
    pub fn manual(start: Timestamp) -> Self {
        Clock::Manual(Arc::new(AtomicI64::new(start.as_micros())))
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => Timestamp::from_datetime(chrono::Utc::now()),
            Clock::Manual(t) => Timestamp::from_micros(t.load(Ordering::SeqCst)),
        }
    }

    /// Moves a manual clock forward (no effect on the system clock).
    pub fn advance_seconds(&self, seconds: i64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(seconds * 1_000_000, Ordering::SeqCst);
        }
    }
}
