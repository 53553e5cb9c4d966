//! The fork gate: process-wide bookkeeping of SQLite work, so that `fork()` never
//! copies a connection of ours in the middle of a transaction.
//!
//! SQLite keeps per-process lock bookkeeping for every open file (one record per
//! inode, shared by all connections of the process). A forked child inherits that
//! record but not the POSIX locks it describes, so a child that opens the same file
//! sees "locked by another connection of this process" (a write in flight at the
//! fork: `database is locked` forever) or, in WAL mode, holds no real lock at all
//! (the parent closing its last connection then checkpoints and deletes the WAL the
//! child is still writing to). The cure is to have no connection of ours open at
//! the fork: before it, new work waits at the gate, work in flight finishes (up to
//! a timeout) and the idle connections are closed; after it, both processes reopen
//! on first use.
//!
//! Every piece of SQLite work holds a [`Pass`] while it runs. The gate's mutex is
//! held by the forking thread across `fork()` (as `pthread_atfork` prescribes), so
//! the child never inherits it locked by a thread that no longer exists.

use std::cell::RefCell;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct GateState {
    /// Pieces of SQLite work running now.
    in_flight: usize,
    /// A fork is being prepared: new work waits.
    forking: bool,
}

pub struct ForkGate {
    state: Mutex<GateState>,
    /// Signalled when `in_flight` drops to zero.
    idle: Condvar,
    /// Signalled when a fork is over.
    open: Condvar,
}

/// Proof that a piece of SQLite work is counted as in flight; dropping it ends it.
pub struct Pass<'a>(&'a ForkGate);

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            self.0.idle.notify_all();
        }
    }
}

/// The gate held across a fork by the forking thread (see [`ForkGate::prepare`]).
pub struct Held<'a> {
    gate: &'a ForkGate,
    state: MutexGuard<'a, GateState>,
    /// Work still in flight when the wait ended (0: quiesced).
    pub in_flight: usize,
}

impl Held<'_> {
    /// In the parent after the fork: let the waiting work in.
    pub fn release_in_parent(mut self) {
        self.state.forking = false;
        drop(self.state);
        self.gate.open.notify_all();
    }

    /// In the child: the threads that were in flight do not exist here.
    pub fn release_in_child(mut self) {
        self.state.forking = false;
        self.state.in_flight = 0;
    }
}

impl ForkGate {
    pub const fn new() -> Self {
        Self {
            state: Mutex::new(GateState {
                in_flight: 0,
                forking: false,
            }),
            idle: Condvar::new(),
            open: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        // No code panics while holding it; a poisoned counter is still right.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Start a piece of SQLite work, waiting while a fork is being prepared.
    pub fn enter(&self) -> Pass<'_> {
        let mut state = self.lock();
        while state.forking {
            state = self
                .open
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.in_flight += 1;
        Pass(self)
    }

    /// Stop new work and wait up to `timeout` for the work in flight to finish. The
    /// returned [`Held`] keeps the gate shut (and its mutex locked) until released
    /// after the fork, in the parent and in the child.
    pub fn prepare(&self, timeout: Duration) -> Held<'_> {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.lock();
        state.forking = true;
        while state.in_flight > 0 {
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                break;
            }
            state = self
                .idle
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let in_flight = state.in_flight;
        Held {
            gate: self,
            state,
            in_flight,
        }
    }
}

impl Default for ForkGate {
    fn default() -> Self {
        Self::new()
    }
}

/// The one gate of this process: every SQLite connection of the checkpoint store uses it.
pub static GATE: ForkGate = ForkGate::new();

thread_local! {
    /// The gate held by this thread between the before- and after-fork hooks.
    static HELD: RefCell<Option<Held<'static>>> = const { RefCell::new(None) };
}

/// Before-fork hook: shut the gate (see [`ForkGate::prepare`]) and keep it shut in
/// this thread. Returns the number of pieces of work still in flight.
pub fn before_fork(timeout: Duration) -> usize {
    let held = GATE.prepare(timeout);
    let in_flight = held.in_flight;
    HELD.with(|h| *h.borrow_mut() = Some(held));
    in_flight
}

/// After-fork hook, in the parent or the child. A no-op without a `before_fork`.
pub fn after_fork(in_child: bool) {
    if let Some(held) = HELD.with(|h| h.borrow_mut().take()) {
        if in_child {
            held.release_in_child()
        } else {
            held.release_in_parent()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn prepare_waits_for_work_in_flight() {
        let gate = Arc::new(ForkGate::new());
        let g = gate.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            let pass = g.enter();
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            drop(pass);
        });
        rx.recv().unwrap();
        let start = Instant::now();
        let held = gate.prepare(Duration::from_secs(5));
        assert_eq!(held.in_flight, 0);
        assert!(start.elapsed() >= Duration::from_millis(20));
        held.release_in_parent();
        worker.join().unwrap();
    }

    #[test]
    fn prepare_gives_up_after_the_timeout_and_new_work_waits() {
        let gate = Arc::new(ForkGate::new());
        let pass = gate.enter();
        let held = gate.prepare(Duration::from_millis(20));
        assert_eq!(held.in_flight, 1);
        let g = gate.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let late = std::thread::spawn(move || {
            let _pass = g.enter();
            tx.send(()).unwrap();
        });
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        held.release_in_parent();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        late.join().unwrap();
        drop(pass);
    }

    #[test]
    fn the_child_forgets_work_in_flight() {
        let gate = ForkGate::new();
        let pass = gate.enter();
        gate.prepare(Duration::ZERO).release_in_child();
        std::mem::forget(pass);
        let held = gate.prepare(Duration::ZERO);
        assert_eq!(held.in_flight, 0);
        held.release_in_parent();
    }
}
