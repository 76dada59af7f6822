//! Access providers (emqttd_access_control's `auth` and `acl` modules): what an auth provider
//! sees and answers, and what an ACL provider sees and answers.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

/// What an auth provider sees of a connecting client.
#[derive(Debug, Clone, Copy)]
pub struct ClientAuth<'a> {
    pub client_id: &'a str,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
    pub ip: IpAddr,
}

/// Why a client is refused; the CONNACK return code follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthDenied {
    /// CONNACK 4: the username or password is wrong.
    BadUsernameOrPassword,
    /// CONNACK 5: the client may not connect.
    NotAuthorized,
    /// CONNACK 3: the provider cannot answer now (its backend is down or too slow).
    ServerUnavailable,
}

/// An auth provider's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthResult {
    /// Accept the client; a superuser skips every ACL check.
    Allow {
        superuser: bool,
    },
    Deny(AuthDenied),
    /// Not this provider's business: ask the next one.
    Ignore,
}

/// An auth provider's answer, now or later. Slow checks (bcrypt, a database, LDAP) answer
/// `Pending` with a future that runs off the session's thread (e.g. on a blocking pool); the
/// connecting session waits for it without blocking anyone else.
pub enum AuthCheck {
    Ready(AuthResult),
    Pending(Pin<Box<dyn Future<Output = AuthResult> + Send + 'static>>),
}

impl From<AuthResult> for AuthCheck {
    fn from(result: AuthResult) -> Self {
        AuthCheck::Ready(result)
    }
}

/// An authentication provider (a plugin's username or client id database, LDAP, ...).
pub trait AuthProvider: Send + Sync {
    fn check(&self, client: &ClientAuth<'_>) -> AuthCheck;

    /// For logs.
    fn name(&self) -> &str {
        "auth provider"
    }
}

/// The access a rule covers (`subscribe | publish | pubsub`); a check asks for
/// `Publish` or `Subscribe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    Subscribe,
    Publish,
    PubSub,
}

impl Access {
    /// Does a rule for `self` cover a request for `wanted`?
    pub fn covers(self, wanted: Access) -> bool {
        self == Access::PubSub || self == wanted || wanted == Access::PubSub
    }
}

/// The client an ACL check is about.
#[derive(Debug, Clone, Copy)]
pub struct AclClient<'a> {
    pub client_id: &'a str,
    pub username: Option<&'a str>,
    /// The peer address; `None` for a client without one (e.g. the HTTP publish API).
    pub ip: Option<IpAddr>,
}

/// An ACL provider's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclResult {
    Allow,
    Deny,
    Ignore,
}

/// An ACL provider (the internal acl.conf, or a plugin's).
pub trait AclProvider: Send + Sync {
    /// `access` is `Publish` or `Subscribe`; `topic` is the PUBLISH topic or the SUBSCRIBE filter.
    fn check_acl(&self, client: &AclClient<'_>, access: Access, topic: &str) -> AclResult;

    /// For logs.
    fn name(&self) -> &str {
        "acl provider"
    }
}
