//! The threads that do the blocking work of logins — password hashing,
//! PAM, SQL and LDAP queries — so that a flood of logins (or of costly
//! passwords) occupies a fixed number of threads instead of growing
//! tokio's blocking pool without bound. Logins beyond the threads wait in
//! a bounded queue; when that is full too, a login fails at once as
//! temporarily unavailable.
//!
//! A channel and a few threads rather than a crate: the pool needs
//! nothing but `sync_channel`'s bounded `try_send` and a oneshot back to
//! the async side.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// A bounded set of threads (started as logins arrive) with a bounded
/// queue in front.
#[derive(Debug)]
pub struct LoginPool {
    jobs: SyncSender<Job>,
    waiting: Arc<Mutex<Receiver<Job>>>,
    threads: usize,
    started: AtomicUsize,
}

/// The pool and its queue are full (or a job panicked): the login is
/// temporarily unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl LoginPool {
    /// A pool of up to `threads` threads (0: as many as the
    /// authentication process has checkers, which these wait on) behind a
    /// queue of `queue` waiting jobs. Threads start with the first logins
    /// (a process that never checks a password starts none) and end when
    /// the pool is dropped.
    pub fn new(threads: usize, queue: usize) -> Arc<LoginPool> {
        let threads = match threads {
            0 => crate::authd::service::checkers(),
            n => n,
        };
        let (jobs, waiting) = sync_channel::<Job>(queue);
        Arc::new(LoginPool {
            jobs,
            waiting: Arc::new(Mutex::new(waiting)),
            threads,
            started: AtomicUsize::new(0),
        })
    }

    /// Starts one more thread while fewer than the maximum run.
    fn grow(&self) {
        let n = self.started.load(Ordering::Relaxed);
        if n >= self.threads
            || self
                .started
                .compare_exchange(n, n + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let waiting = Arc::clone(&self.waiting);
        let spawned = std::thread::Builder::new()
            .name("courser-login".into())
            .spawn(move || work(&waiting));
        if let Err(e) = spawned {
            self.started.fetch_sub(1, Ordering::Relaxed);
            tracing::warn!("cannot start a login thread: {e}");
        }
    }

    /// The number of threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on a pool thread and waits for its result without holding
    /// a runtime thread; [`Busy`] when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic drops `tx`: the waiting login fails temporarily and
            // the thread lives on.
            if let Ok(value) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                let _ = tx.send(value);
            }
        });
        self.grow();
        match self.jobs.try_send(job) {
            Ok(()) => rx.await.map_err(|_| Busy),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

fn work(waiting: &Mutex<Receiver<Job>>) {
    loop {
        let job = match waiting.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // the pool is gone
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn runs_jobs_bounds_the_queue_and_survives_panics() {
        let pool = LoginPool::new(2, 1);
        assert_eq!(pool.run(|| 6 * 7).await, Ok(42));
        assert_eq!(pool.run(|| -> u8 { panic!("boom") }).await, Err(Busy));
        // Two threads busy, one job waiting: the next is refused.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let started = Arc::new(AtomicUsize::new(0));
        let mut held = Vec::new();
        for _ in 0..3 {
            let (gate, started, pool) =
                (Arc::clone(&gate), Arc::clone(&started), Arc::clone(&pool));
            held.push(tokio::spawn(async move {
                pool.run(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    let _ = gate.lock().unwrap().recv();
                })
                .await
            }));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Both threads run a job (the third waits in the queue).
        while started.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(pool.run(|| ()).await, Err(Busy));
        for _ in 0..3 {
            release.send(()).unwrap();
        }
        for h in held {
            assert_eq!(h.await.unwrap(), Ok(()));
        }
        assert_eq!(pool.run(|| 1).await, Ok(1));
    }
}
