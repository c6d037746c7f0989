//! Receive flow control (issue #10): how many received bytes of one connection wait for
//! JS. The I/O thread counts what it hands to the event queue, JS's taking of a batch
//! gives it back, and past [`RECEIVE_HIGH_WATER_BYTES`] the connection stops reading
//! its socket, so TCP pushes back on a peer that sends faster than JS consumes. Without
//! it a fast peer grows the process by whatever it sends (`bench/README.md`, "Design
//! measurements", D5).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Context;

use futures_util::task::AtomicWaker;

use crate::constants::RECEIVE_HIGH_WATER_BYTES;

/// Received-but-undelivered bytes of one connection, and the task to wake when JS
/// takes them.
#[derive(Default)]
pub struct Credit {
    undelivered: AtomicUsize,
    waker: AtomicWaker,
}

impl Credit {
    /// `n` more bytes are waiting for JS.
    pub fn add(&self, n: usize) {
        self.undelivered.fetch_add(n, Ordering::AcqRel);
    }

    /// JS took `n` bytes; wakes a task that paused on them.
    pub fn release(&self, n: usize) {
        let before = self.undelivered.fetch_sub(n, Ordering::AcqRel);
        if before > RECEIVE_HIGH_WATER_BYTES {
            self.waker.wake();
        }
    }

    /// Bytes waiting for JS now.
    pub fn undelivered(&self) -> usize {
        self.undelivered.load(Ordering::Acquire)
    }

    /// Whether the connection must stop reading, with `held` more bytes of events it has
    /// not submitted yet (it will, at the end of this poll). When pausing, the task's
    /// waker is registered first, so JS's next take wakes it.
    pub fn must_pause(&self, held: usize, cx: &mut Context<'_>) -> bool {
        if self.undelivered() + held <= RECEIVE_HIGH_WATER_BYTES {
            return false;
        }
        self.waker.register(cx.waker());
        // Held bytes are submitted after this and released by a later take; without
        // any, JS may have taken everything between the check and the registration.
        held > 0 || self.undelivered() > RECEIVE_HIGH_WATER_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as Count;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Wakes(Count);
    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn pauses_past_the_high_water_mark_and_wakes_on_release() {
        let wakes = Arc::new(Wakes(Count::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let c = Credit::default();
        assert!(
            !c.must_pause(RECEIVE_HIGH_WATER_BYTES, &mut cx),
            "at the mark: read on"
        );
        c.add(RECEIVE_HIGH_WATER_BYTES);
        assert!(c.must_pause(1, &mut cx), "held bytes past the mark");
        c.add(1);
        assert!(c.must_pause(0, &mut cx));
        c.release(RECEIVE_HIGH_WATER_BYTES + 1);
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            1,
            "the take wakes the paused task"
        );
        assert!(!c.must_pause(0, &mut cx));
        c.add(10);
        c.release(10);
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            1,
            "no wake-up below the mark"
        );
    }
}
