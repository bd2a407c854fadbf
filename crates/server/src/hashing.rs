//! Password hashing: argon2id on `concurrency` dedicated threads, because each hash holds its
//! memory cost (19 MiB by default) for its whole run (docs/decisions.md: the
//! machine's throughput is memory-bandwidth bound, not thread bound). Each thread keeps its
//! argon2 memory and reuses it: memory stays at `concurrency` times the cost, where hashing on
//! tokio's blocking pool left glibc holding hundreds of MiB of freed 19 MiB blocks (issue 6,
//! BENCHMARKS.md).

use crate::config::HashParams;
use crate::error::ApiError;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

fn argon2_for(params: HashParams) -> Result<Argon2<'static>, argon2::Error> {
    let params = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// argon2id of `password` into `out`, in this thread's reused memory.
fn hash_into(params: HashParams, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), argon2::Error> {
    thread_local! {
        static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
    }
    let argon2 = argon2_for(params)?;
    let blocks = argon2.params().block_count();
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::new());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    })
}

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    params: HashParams,
    jobs: Sender<Job>,
    /// Jobs sent and not yet started, and how many may be.
    waiting: Arc<AtomicUsize>,
    queue: usize,
}

/// One hashing thread: runs jobs until every `PasswordHasher` clone is dropped.
fn hashing_thread(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A panicking job drops its answer channel (the caller gets InternalErrorException);
        // the thread lives on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

const SALT_LEN: usize = 16;

/// `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`, the PHC string format.
fn phc(params: HashParams, salt: &[u8], hash: &[u8]) -> String {
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    )
}

/// The parameters, salt and hash of a PHC string this module wrote.
fn parse_phc(s: &str) -> Option<(HashParams, Vec<u8>, Vec<u8>)> {
    let mut parts = s.strip_prefix("$argon2id$v=19$")?.split('$');
    let (params, salt, hash) = (parts.next()?, parts.next()?, parts.next()?);
    let mut p = HashParams { memory_kib: 0, iterations: 0, parallelism: 0 };
    for kv in params.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => p.memory_kib = v,
            "t" => p.iterations = v,
            "p" => p.parallelism = v,
            _ => return None,
        }
    }
    Some((p, STANDARD_NO_PAD.decode(salt).ok()?, STANDARD_NO_PAD.decode(hash).ok()?))
}

impl PasswordHasher {
    pub fn new(params: HashParams, concurrency: usize) -> Result<PasswordHasher, String> {
        Self::with_queue(params, concurrency, 64 * concurrency.max(1))
    }

    /// With at most `queue` jobs waiting for a thread: past that, work is refused with
    /// TooManyRequestsException rather than queued without bound (a flood of sign-ins would
    /// otherwise hold every caller for as long as the queue takes to drain).
    pub fn with_queue(params: HashParams, concurrency: usize, queue: usize) -> Result<PasswordHasher, String> {
        argon2_for(params).map_err(|e| format!("invalid argon2 parameters {params:?}: {e}"))?;
        let (jobs, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..concurrency.max(1) {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("userpool-hash-{i}"))
                .spawn(move || hashing_thread(&receiver))
                .map_err(|e| format!("cannot start a hashing thread: {e}"))?;
        }
        Ok(PasswordHasher { params, jobs, waiting: Arc::new(AtomicUsize::new(0)), queue: queue.max(1) })
    }

    /// Jobs sent and not yet started.
    pub fn jobs_waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Runs CPU-heavy work (hashes, SRP, RSA key generation) on the hashing threads, in order of
    /// arrival.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let queue = self.queue;
        if self.waiting.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < queue).then_some(n + 1)).is_err() {
            return Err(crate::api_error!(TooManyRequestsException, "Rate exceeded"));
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        let waiting = Arc::clone(&self.waiting);
        let job: Job = Box::new(move || {
            waiting.fetch_sub(1, Ordering::SeqCst);
            let _ = answer.send(work());
        });
        self.jobs.send(job).map_err(|_| ApiError::internal("the hashing threads have stopped"))?;
        answered.await.map_err(|_| ApiError::internal("a hashing job panicked"))
    }

    /// Hashes a password with a fresh salt (call from blocking code, e.g. inside `run`).
    pub fn hash_blocking(params: HashParams, password: &str) -> Result<String, ApiError> {
        Self::hash_with_salt(params, password, &rand::random::<[u8; SALT_LEN]>())
    }

    /// Hashes a password with a given salt. A user keeps one salt for all their passwords, so
    /// one hash of a candidate can be compared with every earlier hash (password history).
    pub fn hash_with_salt(params: HashParams, password: &str, salt: &[u8]) -> Result<String, ApiError> {
        let mut out = [0u8; 32];
        hash_into(params, password.as_bytes(), salt, &mut out).map_err(ApiError::internal)?;
        Ok(phc(params, salt, &out))
    }

    /// The salt of a PHC string this module wrote.
    pub fn salt_of(stored: &str) -> Option<Vec<u8>> {
        parse_phc(stored).map(|(_, salt, _)| salt)
    }

    /// Whether `password` matches `stored` (call from blocking code). Unreadable stored hashes
    /// never match.
    pub fn verify_blocking(password: &str, stored: &str) -> bool {
        let Some((params, salt, expected)) = parse_phc(stored) else {
            return false;
        };
        let mut out = vec![0u8; expected.len()];
        hash_into(params, password.as_bytes(), &salt, &mut out).is_ok() && bool::from(out.ct_eq(&expected))
    }

    pub async fn verify(&self, password: &str, stored: &str) -> Result<bool, ApiError> {
        let (password, stored) = (password.to_string(), stored.to_string());
        self.run(move || Self::verify_blocking(&password, &stored)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = PasswordHasher::hash_blocking(HashParams::TEST, "Passw0rd!").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{h}");
        assert!(PasswordHasher::verify_blocking("Passw0rd!", &h));
        assert!(!PasswordHasher::verify_blocking("Passw0rd?", &h));
        assert!(!PasswordHasher::verify_blocking("Passw0rd!", "garbage"));
        let again = PasswordHasher::hash_blocking(HashParams::TEST, "Passw0rd!").unwrap();
        assert_ne!(h, again, "each hash has its own salt");
    }

    #[test]
    fn one_salt_makes_equal_passwords_equal_hashes() {
        let first = PasswordHasher::hash_blocking(HashParams::TEST, "Passw0rd!").unwrap();
        let salt = PasswordHasher::salt_of(&first).unwrap();
        assert_eq!(PasswordHasher::hash_with_salt(HashParams::TEST, "Passw0rd!", &salt).unwrap(), first);
        assert_ne!(PasswordHasher::hash_with_salt(HashParams::TEST, "Passw0rd?", &salt).unwrap(), first);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_internal_error_and_the_threads_go_on() {
        let hasher = PasswordHasher::new(HashParams::TEST, 1).unwrap();
        let failed = hasher.run(|| -> u32 { panic!("job failure") }).await;
        assert!(failed.is_err());
        let hash = hasher.run(|| PasswordHasher::hash_blocking(HashParams::TEST, "Passw0rd!")).await.unwrap().unwrap();
        assert!(PasswordHasher::verify_blocking("Passw0rd!", &hash));
    }

    #[test]
    fn owasp_parameters_are_accepted() {
        assert!(PasswordHasher::new(HashParams::OWASP, 2).is_ok());
        assert!(PasswordHasher::new(HashParams { memory_kib: 1, iterations: 0, parallelism: 0 }, 2).is_err());
    }

    /// Issue 12, item 6: the queue is bounded; a job past it is refused at once.
    #[tokio::test]
    async fn a_full_queue_refuses_work() {
        let hasher = PasswordHasher::with_queue(HashParams::TEST, 1, 2).unwrap();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let busy = {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .run(move || {
                        let _ = started.send(());
                        let _ = wait.recv();
                    })
                    .await
            })
        };
        running.await.unwrap();
        let queued: Vec<_> = (0..2)
            .map(|i| {
                tokio::spawn({
                    let hasher = hasher.clone();
                    async move { hasher.run(move || i).await }
                })
            })
            .collect();
        // Let both queue behind the busy thread.
        while hasher.jobs_waiting() < 2 {
            tokio::task::yield_now().await;
        }
        let refused = hasher.run(|| 9).await.unwrap_err();
        assert_eq!((refused.code().as_str(), refused.message()), ("TooManyRequestsException", "Rate exceeded"));
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        for (i, q) in queued.into_iter().enumerate() {
            assert_eq!(q.await.unwrap().unwrap(), i);
        }
        assert_eq!(hasher.run(|| 7).await.unwrap(), 7, "the queue takes work again once it drains");
    }
}
