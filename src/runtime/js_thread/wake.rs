//! Waking a connection polled on the JS thread: its waker, which any thread may call,
//! the state that makes a wake-up during a drive one more round rather than a nested
//! drive or a lost one, and the ids that name connections across threads.

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::Wake;

use crate::runtime::js_thread::handles::AsyncShared;

const IDLE: u8 = 0;
const QUEUED: u8 = 1;
const RUNNING: u8 = 2;
const REDO: u8 = 3;

/// The ids other threads woke, for the JS thread to drive (the inbox of its async
/// handle).
pub type Woken = AsyncShared<Vec<u32>>;

/// A connection's waker: any thread may wake it; the JS thread runs it.
pub struct TaskWake {
    id: u32,
    state: AtomicU8,
    lp: Arc<Woken>,
}

impl Wake for TaskWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let next = match s {
                IDLE => QUEUED,
                RUNNING => REDO,
                _ => return,
            };
            match self
                .state
                .compare_exchange(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if next == QUEUED {
                        self.queue();
                    }
                    return;
                }
                Err(actual) => s = actual,
            }
        }
    }
}

impl TaskWake {
    /// An idle connection `id` of the loop that `lp` wakes.
    pub fn new(id: u32, lp: Arc<Woken>) -> Self {
        TaskWake {
            id,
            state: AtomicU8::new(IDLE),
            lp,
        }
    }

    /// Its id on its thread (the poll handle's data word, the async wake-up's entry).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Asks the loop to drive it on its next turn (once the loop is gone, nothing will).
    fn queue(&self) {
        let id = self.id;
        self.lp.post(|ids| ids.push(id));
    }

    /// Claims the task for a drive; `false` when a drive of it is under way already (it
    /// is asked to go round once more instead).
    pub fn claim(&self) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let (next, ok) = match s {
                IDLE | QUEUED => (RUNNING, true),
                _ => (REDO, false),
            };
            match self
                .state
                .compare_exchange(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return ok,
                Err(actual) => s = actual,
            }
        }
    }

    /// Ends a round of a drive: `true` when it may stop (now idle), `false` when it was
    /// woken meanwhile and must poll again (still running).
    pub fn release(&self) -> bool {
        if self
            .state
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return true;
        }
        self.state.store(RUNNING, Ordering::Release);
        false
    }

    /// A drive found the task busy (its state already borrowed further up the stack):
    /// idle again, for the drive under way to finish.
    pub fn abandon(&self) {
        self.state.store(IDLE, Ordering::Release);
    }

    /// Still woken after a drive's rounds: let the other connections and JS go first,
    /// and drive it again on the loop's next turn.
    pub fn requeue(&self) {
        self.state.store(QUEUED, Ordering::Release);
        self.queue();
    }
}

/// The ids of the connections polled on one thread. A new connection never gets the id
/// of a live one, whose place in the executor it would take: the live one would never
/// be driven again, and its poll callbacks would drive the new one. (An id that wrapped
/// once a connection outlived four billion others used to do that.)
#[derive(Debug)]
pub struct Ids {
    next: Cell<u32>,
}

impl Default for Ids {
    fn default() -> Self {
        Ids::starting_at(1)
    }
}

impl Ids {
    /// Ids from `first` on (0 is never one).
    pub fn starting_at(first: u32) -> Self {
        Ids {
            next: Cell::new(first.max(1)),
        }
    }

    /// The next id for which `live` is false, after the last one given, wrapping past
    /// `u32::MAX`. There are far fewer live connections than ids, so this ends.
    pub fn next(&self, live: impl Fn(u32) -> bool) -> u32 {
        loop {
            let id = self.next.get();
            self.next.set(id.wrapping_add(1).max(1));
            if !live(id) {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn a_wake_during_a_drive_asks_for_another_round_and_is_never_lost() {
        // No loop behind it: a queued wake-up is recorded in the state only.
        let wake = Arc::new(TaskWake::new(7, Arc::new(Woken::default())));
        let waker = Waker::from(wake.clone());
        waker.wake_by_ref();
        assert_eq!(wake.state.load(Ordering::Acquire), QUEUED, "idle → queued");
        waker.wake_by_ref();
        assert_eq!(wake.state.load(Ordering::Acquire), QUEUED, "queued once");
        assert!(wake.claim());
        assert!(!wake.claim(), "a nested drive only asks for another round");
        assert!(!wake.release(), "so the running drive goes round again");
        assert!(wake.release(), "then stops");
        assert!(wake.claim());
        // A wake-up meanwhile (a timer, JS taking a batch) is a round more, not lost.
        waker.wake_by_ref();
        assert!(!wake.release());
        assert!(wake.release());
        assert_eq!(wake.state.load(Ordering::Acquire), IDLE);
        waker.wake_by_ref();
        assert_eq!(
            wake.state.load(Ordering::Acquire),
            QUEUED,
            "idle again → queued"
        );
    }

    #[test]
    fn ids_wrap_past_the_top_without_naming_a_live_connection_or_zero() {
        let ids = Ids::starting_at(u32::MAX - 1);
        let live = std::collections::HashSet::from([u32::MAX, 1, 2, 4]);
        let is_live = |id| live.contains(&id);
        assert_eq!(ids.next(is_live), u32::MAX - 1);
        assert_eq!(ids.next(is_live), 3, "skips u32::MAX, 0, 1 and 2");
        assert_eq!(ids.next(is_live), 5, "skips 4");
        assert_eq!(Ids::starting_at(0).next(|_| false), 1);
    }
}
