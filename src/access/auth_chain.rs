//! Walking the auth chain (emqttd_access_control:auth/2): providers in priority order, each
//! allow / deny / ignore, now or (for slow checks) later; `mqtt.allow_anonymous` at the end.
//!
//! A provider that answers `Pending` suspends the walk: the rest of the chain then runs in a
//! future over an owned copy of the client's credentials, so the session can wait for it
//! without blocking its thread. Panics in providers (and in their futures) refuse the client.

use super::{AuthCheck, AuthDenied, AuthProvider, AuthResult, ClientAuth};
use futures_util::FutureExt;
use std::future::Future;
use std::net::IpAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;

/// The outcome of authentication: `Ok(superuser)` or why the client is refused.
pub type AuthOutcome = Result<bool, AuthDenied>;

/// Authentication finished now, or a future that finishes it.
pub enum Authenticating {
    Done(AuthOutcome),
    Pending(Pin<Box<dyn Future<Output = AuthOutcome> + Send + 'static>>),
}

impl Authenticating {
    /// The outcome when it is already known.
    pub fn ready(self) -> Option<AuthOutcome> {
        match self {
            Authenticating::Done(outcome) => Some(outcome),
            Authenticating::Pending(_) => None,
        }
    }
}

/// The chain as it was when the client connected: providers, highest priority first.
pub(super) type Providers = Arc<Vec<Arc<dyn AuthProvider>>>;

/// One provider's answer turned into "decided" or "ask the next".
fn decide(provider: &dyn AuthProvider, client_id: &str, result: AuthResult) -> Option<AuthOutcome> {
    match result {
        AuthResult::Allow { superuser } => Some(Ok(superuser)),
        AuthResult::Deny(why) => {
            log::debug!(
                "{} refused client {}: {:?}",
                provider.name(),
                client_id,
                why
            );
            Some(Err(why))
        }
        AuthResult::Ignore => None,
    }
}

fn panicked(provider: &dyn AuthProvider, client_id: &str) -> AuthOutcome {
    log::error!(
        "{} panicked checking client {}: refused",
        provider.name(),
        client_id
    );
    Err(AuthDenied::NotAuthorized)
}

/// When every provider ignored the client.
fn anonymous(allow_anonymous: bool, has_username: bool) -> AuthOutcome {
    if allow_anonymous {
        Ok(false)
    } else if has_username {
        // Nobody could verify the credentials given.
        Err(AuthDenied::BadUsernameOrPassword)
    } else {
        Err(AuthDenied::NotAuthorized)
    }
}

/// Ask the providers in order.
pub(super) fn run(
    providers: Providers,
    client: &ClientAuth<'_>,
    allow_anonymous: bool,
) -> Authenticating {
    for (index, provider) in providers.iter().enumerate() {
        match catch_unwind(AssertUnwindSafe(|| provider.check(client))) {
            Ok(AuthCheck::Ready(result)) => {
                if let Some(outcome) = decide(&**provider, client.client_id, result) {
                    return Authenticating::Done(outcome);
                }
            }
            Ok(AuthCheck::Pending(future)) => {
                let owned = OwnedClient::from(client);
                return Authenticating::Pending(Box::pin(finish(
                    providers.clone(),
                    index,
                    future,
                    owned,
                    allow_anonymous,
                )));
            }
            Err(_) => return Authenticating::Done(panicked(&**provider, client.client_id)),
        }
    }
    Authenticating::Done(anonymous(allow_anonymous, client.username.is_some()))
}

/// The credentials, owned, for the part of the walk that runs later.
struct OwnedClient {
    client_id: String,
    username: Option<String>,
    password: Option<Vec<u8>>,
    ip: IpAddr,
}

impl From<&ClientAuth<'_>> for OwnedClient {
    fn from(client: &ClientAuth<'_>) -> Self {
        OwnedClient {
            client_id: client.client_id.to_string(),
            username: client.username.map(str::to_string),
            password: client.password.map(<[u8]>::to_vec),
            ip: client.ip,
        }
    }
}

impl OwnedClient {
    fn borrow(&self) -> ClientAuth<'_> {
        ClientAuth {
            client_id: &self.client_id,
            username: self.username.as_deref(),
            password: self.password.as_deref(),
            ip: self.ip,
        }
    }
}

/// Await provider `index`'s pending answer, then go on down the chain.
async fn finish(
    providers: Providers,
    mut index: usize,
    first: Pin<Box<dyn Future<Output = AuthResult> + Send>>,
    client: OwnedClient,
    allow_anonymous: bool,
) -> AuthOutcome {
    let mut pending = Some(first);
    loop {
        let provider = &providers[index];
        let result = match pending.take() {
            Some(future) => match AssertUnwindSafe(future).catch_unwind().await {
                Ok(result) => result,
                Err(_) => return panicked(&**provider, &client.client_id),
            },
            None => match catch_unwind(AssertUnwindSafe(|| provider.check(&client.borrow()))) {
                Ok(AuthCheck::Ready(result)) => result,
                Ok(AuthCheck::Pending(future)) => {
                    pending = Some(future);
                    continue;
                }
                Err(_) => return panicked(&**provider, &client.client_id),
            },
        };
        if let Some(outcome) = decide(&**provider, &client.client_id, result) {
            return outcome;
        }
        index += 1;
        if index == providers.len() {
            return anonymous(allow_anonymous, client.username.is_some());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers `result`, later when `slow`.
    struct Answer {
        result: AuthResult,
        slow: bool,
    }

    impl AuthProvider for Answer {
        fn check(&self, _: &ClientAuth<'_>) -> AuthCheck {
            if self.slow {
                let result = self.result;
                AuthCheck::Pending(Box::pin(async move {
                    tokio::task::yield_now().await;
                    result
                }))
            } else {
                AuthCheck::Ready(self.result)
            }
        }
    }

    struct PanicsLater;

    impl AuthProvider for PanicsLater {
        fn check(&self, _: &ClientAuth<'_>) -> AuthCheck {
            AuthCheck::Pending(Box::pin(async { panic!("provider bug") }))
        }
    }

    fn chain(providers: Vec<Arc<dyn AuthProvider>>) -> Providers {
        Arc::new(providers)
    }

    fn answer(result: AuthResult, slow: bool) -> Arc<dyn AuthProvider> {
        Arc::new(Answer { result, slow })
    }

    fn client() -> ClientAuth<'static> {
        ClientAuth {
            client_id: "c",
            username: Some("u"),
            password: Some(b"p"),
            ip: "127.0.0.1".parse().unwrap(),
        }
    }

    async fn outcome(authenticating: Authenticating) -> AuthOutcome {
        match authenticating {
            Authenticating::Done(outcome) => outcome,
            Authenticating::Pending(future) => future.await,
        }
    }

    #[test]
    fn ready_answers_decide_without_a_future() {
        let providers = chain(vec![
            answer(AuthResult::Ignore, false),
            answer(AuthResult::Allow { superuser: true }, false),
        ]);
        assert_eq!(run(providers, &client(), false).ready(), Some(Ok(true)));
        assert_eq!(
            run(chain(vec![]), &client(), false).ready(),
            Some(Err(AuthDenied::BadUsernameOrPassword))
        );
    }

    #[tokio::test]
    async fn a_pending_ignore_goes_on_down_the_chain() {
        let providers = chain(vec![
            answer(AuthResult::Ignore, true),
            answer(AuthResult::Ignore, false),
            answer(AuthResult::Deny(AuthDenied::NotAuthorized), true),
        ]);
        let walking = run(providers, &client(), true);
        assert!(walking.ready().is_none());
        let providers = chain(vec![
            answer(AuthResult::Ignore, true),
            answer(AuthResult::Deny(AuthDenied::NotAuthorized), true),
        ]);
        assert_eq!(
            outcome(run(providers, &client(), true)).await,
            Err(AuthDenied::NotAuthorized)
        );
        let providers = chain(vec![answer(AuthResult::Ignore, true)]);
        assert_eq!(outcome(run(providers, &client(), true)).await, Ok(false));
        let providers = chain(vec![answer(AuthResult::Allow { superuser: true }, true)]);
        assert_eq!(outcome(run(providers, &client(), false)).await, Ok(true));
    }

    #[tokio::test]
    async fn a_panicking_future_refuses_the_client() {
        let providers = chain(vec![Arc::new(PanicsLater)]);
        assert_eq!(
            outcome(run(providers, &client(), true)).await,
            Err(AuthDenied::NotAuthorized)
        );
    }
}
