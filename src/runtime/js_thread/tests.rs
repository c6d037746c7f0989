//! The executor's bookkeeping on libuv stand-ins (`uv::fake`): `cargo test` has no
//! Node, so connections are not adopted here (the JS suites cover them); what is
//! tested is what keeps handles, holds and the teardown in step.

use std::cell::Cell;
use std::sync::atomic::AtomicUsize;

use super::*;
use crate::runtime::js_thread::uv::fake;

/// A batch callback that counts what the executor does with it.
#[derive(Default)]
struct Counting {
    holds: Cell<i32>,
    calls: Cell<u32>,
    /// Unholds, visible from another thread.
    unholds: Arc<AtomicUsize>,
}

impl Deliver for Counting {
    fn deliver(&self) {
        self.calls.set(self.calls.get() + 1);
    }
    fn hold(&self) {
        self.holds.set(self.holds.get() + 1);
    }
    fn unhold(&self) {
        self.holds.set(self.holds.get() - 1);
        self.unholds.fetch_add(1, Ordering::SeqCst);
    }
}

/// This thread's executor on the stand-ins.
fn set_up() -> Rc<LocalLoop> {
    fake::install();
    // SAFETY: the stand-ins never read the loop.
    let setup = unsafe { ensure_thread(std::ptr::null_mut()) };
    assert_eq!(setup, Setup::Created);
    this_loop().unwrap()
}

fn check_callback() {
    // SAFETY: the stand-ins never pass handles; on_check ignores its argument.
    unsafe { on_check(std::ptr::null_mut()) };
}

#[test]
fn the_teardown_ends_once_libuv_has_freed_every_handle() {
    let lp = set_up();
    // SAFETY: as in `set_up`.
    let again = unsafe { ensure_thread(std::ptr::null_mut()) };
    assert_eq!(again, Setup::Ready);
    drop(lp);
    let done = Rc::new(Cell::new(false));
    let flag = done.clone();
    teardown(Box::new(move || flag.set(true)));
    assert_eq!(fake::pending_closes(), 2, "the check and the async handle");
    assert!(!done.get(), "not before libuv frees them");
    fake::run_closes();
    assert!(done.get());
    assert!(this_loop().is_none());
    // A new environment on this thread gets a new executor.
    drop(set_up());
}

#[test]
fn a_callback_stays_held_until_the_batch_an_ended_connection_owes_is_delivered() {
    let lp = set_up();
    let counting = Rc::new(Counting::default());
    let deliver: Rc<dyn Deliver> = counting.clone();
    let task_hold = Held::new(deliver.clone());
    let other = Held::new(deliver);
    assert_eq!(counting.holds.get(), 2);
    lp.owe(&task_hold).unwrap();
    lp.owe(&other).unwrap();
    assert_eq!(counting.holds.get(), 3, "owed once per queue");
    // The connection ends; its terminal events wait for the check callback.
    drop((task_hold, other));
    assert_eq!(counting.holds.get(), 1, "still callable");
    check_callback();
    assert_eq!(counting.calls.get(), 1, "one call per queue");
    assert_eq!(counting.holds.get(), 0, "released once delivered");
    check_callback();
    assert_eq!(counting.calls.get(), 1, "nothing owed any more");
}

#[test]
fn a_refused_check_start_delivers_at_once_instead_of_never() {
    let lp = set_up();
    let counting = Rc::new(Counting::default());
    let held = Held::new(counting.clone());
    fake::set_start_status(0, -22);
    let err = lp.owe(&held).unwrap_err();
    assert_eq!(err.call, "uv_check_start");
    assert!(
        lp.owed.borrow().is_empty(),
        "nothing waits on a check that never runs"
    );
    lp.owe_or_deliver_now(&held);
    assert_eq!(counting.calls.get(), 1);
    drop(held);
    assert_eq!(counting.holds.get(), 0);
}

#[test]
fn the_teardown_releases_what_was_owed() {
    let lp = set_up();
    let counting = Rc::new(Counting::default());
    lp.owe(&Held::new(counting.clone())).unwrap();
    assert_eq!(counting.holds.get(), 1);
    drop(lp);
    teardown(Box::new(|| {}));
    assert_eq!(counting.holds.get(), 0);
    assert_eq!(counting.calls.get(), 0, "no JS left to call");
    fake::run_closes();
}

#[test]
fn a_thread_that_ends_without_a_teardown_leaves_its_executor_alone() {
    let unholds = Arc::new(AtomicUsize::new(0));
    let seen = unholds.clone();
    std::thread::spawn(move || {
        let lp = set_up();
        let counting = Rc::new(Counting {
            unholds: seen,
            ..Counting::default()
        });
        let held = Held::new(counting);
        lp.owe(&held).unwrap();
        drop(held);
    })
    .join()
    .unwrap();
    assert_eq!(
        unholds.load(Ordering::SeqCst),
        1,
        "the owed hold is left as it is: no napi call once the environment may be gone"
    );
}

#[test]
fn wake_ups_for_connections_not_polled_here_are_ignored() {
    let lp = set_up();
    assert!(lp.woken.post(|ids| ids.extend([1, 2, 3])));
    // SAFETY: on_async ignores its argument.
    unsafe { on_async(std::ptr::null_mut()) };
    assert!(lp.woken.take().is_empty());
    assert!(!drive_now(1));
}

#[test]
fn a_panic_is_caught_and_reported_as_none() {
    assert_eq!(no_unwind("a test", || 5), Some(5));
    assert_eq!(no_unwind("a test", || -> u8 { panic!("a bug") }), None);
}
