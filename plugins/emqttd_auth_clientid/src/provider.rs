//! The auth provider (emq_auth_clientid:check/3): a known client id from the wrong address is
//! refused (CONNACK 5), with a wrong or missing password refused (CONNACK 4), otherwise
//! allowed; unknown client ids are not its business.

use crate::config::ClientRule;
use emqttd_auth_username::verify::Verifier;
use emqttd_plugin_api::{AuthCheck, AuthDenied, AuthProvider, AuthResult, ClientAuth};
use std::collections::HashMap;

pub struct ClientIdAuth {
    pub clients: HashMap<String, ClientRule>,
    pub verifier: Verifier,
}

impl AuthProvider for ClientIdAuth {
    fn check(&self, client: &ClientAuth<'_>) -> AuthCheck {
        let Some(rule) = self.clients.get(client.client_id) else {
            return AuthResult::Ignore.into();
        };
        if let Some(network) = &rule.ipaddr {
            if !network.contains(client.ip) {
                return AuthResult::Deny(AuthDenied::NotAuthorized).into();
            }
        }
        match (&rule.password, client.password) {
            (None, _) => AuthResult::Allow { superuser: false }.into(),
            (Some(stored), Some(password)) => self.verifier.check(stored.clone(), password),
            (Some(_), None) => AuthResult::Deny(AuthDenied::BadUsernameOrPassword).into(),
        }
    }

    fn name(&self) -> &str {
        "emqttd_auth_clientid"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use std::path::Path;

    fn provider(text: &str) -> ClientIdAuth {
        let table = text.parse().unwrap();
        ClientIdAuth {
            clients: config::parse(&table, Path::new("x.toml")).unwrap().clients,
            verifier: Verifier::new(1),
        }
    }

    fn check(auth: &ClientIdAuth, client_id: &str, password: Option<&[u8]>, ip: &str) -> AuthCheck {
        auth.check(&ClientAuth {
            client_id,
            username: None,
            password,
            ip: ip.parse().unwrap(),
        })
    }

    async fn result(check: AuthCheck) -> AuthResult {
        match check {
            AuthCheck::Ready(result) => result,
            AuthCheck::Pending(future) => future.await,
        }
    }

    const ALLOW: AuthResult = AuthResult::Allow { superuser: false };
    const BAD_PASSWORD: AuthResult = AuthResult::Deny(AuthDenied::BadUsernameOrPassword);
    const NOT_AUTHORIZED: AuthResult = AuthResult::Deny(AuthDenied::NotAuthorized);

    #[tokio::test(flavor = "current_thread")]
    async fn answers() {
        let auth = provider(
            r#"
            password_hash = "bcrypt"
            bcrypt_cost = 4
            [[client]]
            clientid = "open"
            [[client]]
            clientid = "lan"
            ipaddr = "192.168.0.1/24"
            [[client]]
            clientid = "both"
            password = "pw"
            ipaddr = "10.0.0.0/8"
            "#,
        );
        let r = |id, password, ip| result(check(&auth, id, password, ip));
        assert_eq!(r("open", None, "8.8.8.8").await, ALLOW);
        assert_eq!(
            r("stranger", Some(b"pw"), "10.0.0.1").await,
            AuthResult::Ignore
        );
        assert_eq!(r("lan", None, "192.168.0.9").await, ALLOW);
        assert_eq!(r("lan", None, "192.168.1.9").await, NOT_AUTHORIZED);
        assert_eq!(r("both", Some(b"pw"), "10.1.2.3").await, ALLOW);
        assert_eq!(r("both", Some(b"px"), "10.1.2.3").await, BAD_PASSWORD);
        assert_eq!(r("both", None, "10.1.2.3").await, BAD_PASSWORD);
        // the address is checked first, without hashing anything
        assert!(matches!(
            check(&auth, "both", Some(b"pw"), "127.0.0.1"),
            AuthCheck::Ready(NOT_AUTHORIZED)
        ));
        assert!(matches!(
            check(&auth, "both", Some(b"pw"), "10.0.0.1"),
            AuthCheck::Pending(_)
        ));
    }
}
