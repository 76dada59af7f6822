//! Verifying a password for the auth chain: cheap hashes answer at once; bcrypt and pbkdf2 run
//! on tokio's blocking pool, at most one per core at a time, so a burst of logins never stalls
//! the session threads (emqttd's username check ran in the connecting client's own process).

use crate::password::Stored;
use emqttd_plugin_api::{AuthCheck, AuthDenied, AuthResult};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Runs password checks, the expensive ones off the caller's thread.
#[derive(Clone)]
pub struct Verifier {
    /// Bounds the expensive checks running at once; the rest wait their turn.
    permits: Arc<Semaphore>,
}

impl Default for Verifier {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Verifier::new(cores)
    }
}

/// The answer for a known user or client: allowed, or a wrong password (CONNACK 4).
pub fn answer(matches: bool) -> AuthResult {
    if matches {
        AuthResult::Allow { superuser: false }
    } else {
        AuthResult::Deny(AuthDenied::BadUsernameOrPassword)
    }
}

impl Verifier {
    /// At most `concurrent` expensive checks at a time (at least one).
    pub fn new(concurrent: usize) -> Verifier {
        Verifier {
            permits: Arc::new(Semaphore::new(concurrent.max(1))),
        }
    }

    /// Check `password` against `stored`: `Ready` for plain, md5 and sha256; `Pending` for
    /// bcrypt and pbkdf2, whose future does the work on the blocking pool when polled.
    pub fn check(&self, stored: Stored, password: &[u8]) -> AuthCheck {
        if !stored.is_expensive() {
            return AuthCheck::Ready(answer(stored.verify(password)));
        }
        let permits = self.permits.clone();
        let password = password.to_vec();
        AuthCheck::Pending(Box::pin(async move {
            let Ok(permit) = permits.acquire_owned().await else {
                return AuthResult::Deny(AuthDenied::ServerUnavailable);
            };
            // The permit goes with the work: a client that gives up early does not free a
            // slot while its hash is still being computed.
            let work = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                stored.verify(&password)
            });
            match work.await {
                Ok(matches) => answer(matches),
                // Fail closed: a check that did not finish admits nobody (CONNACK 3).
                Err(error) => {
                    log::error!("password check did not finish: {error}");
                    AuthResult::Deny(AuthDenied::ServerUnavailable)
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::{Algorithm, Hasher};

    fn stored(algorithm: Algorithm) -> Stored {
        Hasher {
            algorithm,
            pbkdf2_iterations: 50,
            bcrypt_cost: 4,
        }
        .hash(b"pw")
        .unwrap()
    }

    async fn result(check: AuthCheck) -> AuthResult {
        match check {
            AuthCheck::Ready(result) => result,
            AuthCheck::Pending(future) => future.await,
        }
    }

    #[test]
    fn cheap_hashes_answer_at_once() {
        let verifier = Verifier::default();
        for algorithm in [Algorithm::Plain, Algorithm::Md5, Algorithm::Sha256] {
            let AuthCheck::Ready(result) = verifier.check(stored(algorithm), b"pw") else {
                panic!("{algorithm} should answer at once");
            };
            assert_eq!(result, AuthResult::Allow { superuser: false });
            let AuthCheck::Ready(result) = verifier.check(stored(algorithm), b"px") else {
                panic!("{algorithm} should answer at once");
            };
            assert_eq!(result, AuthResult::Deny(AuthDenied::BadUsernameOrPassword));
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn expensive_hashes_answer_later_from_the_blocking_pool() {
        let verifier = Verifier::new(1);
        for algorithm in [Algorithm::Pbkdf2, Algorithm::Bcrypt] {
            let right = verifier.check(stored(algorithm), b"pw");
            assert!(matches!(right, AuthCheck::Pending(_)), "{algorithm}");
            let wrong = verifier.check(stored(algorithm), b"px");
            // both wait for the single permit in turn
            let (right, wrong) = tokio::join!(result(right), result(wrong));
            assert_eq!(right, AuthResult::Allow { superuser: false });
            assert_eq!(wrong, AuthResult::Deny(AuthDenied::BadUsernameOrPassword));
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_work_leaves_the_calling_thread() {
        // bcrypt at cost 12 takes a few hundred milliseconds; meanwhile this single-threaded
        // runtime keeps running other tasks.
        let slow = Hasher {
            algorithm: Algorithm::Bcrypt,
            bcrypt_cost: 12,
            ..Hasher::default()
        }
        .hash(b"pw")
        .unwrap();
        let AuthCheck::Pending(check) = Verifier::new(1).check(slow, b"pw") else {
            panic!("bcrypt answers later");
        };
        let check = tokio::spawn(check);
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move { tx.send(()) });
        rx.await.unwrap();
        assert!(
            !check.is_finished(),
            "the other task ran while bcrypt was still working"
        );
        assert_eq!(check.await.unwrap(), AuthResult::Allow { superuser: false });
    }
}
