//! The auth provider (emq_auth_username:check/3): a known username with the right password is
//! allowed, with a wrong or missing one refused (CONNACK 4); anyone else is not its business.

use crate::users::Users;
use crate::verify::Verifier;
use emqttd_plugin_api::{AuthCheck, AuthDenied, AuthProvider, AuthResult, ClientAuth};
use std::sync::Arc;

pub struct UsernameAuth {
    pub users: Arc<Users>,
    pub verifier: Verifier,
}

impl AuthProvider for UsernameAuth {
    fn check(&self, client: &ClientAuth<'_>) -> AuthCheck {
        let Some(stored) = client.username.and_then(|name| self.users.lookup(name)) else {
            return AuthResult::Ignore.into();
        };
        match client.password {
            Some(password) => self.verifier.check(stored, password),
            None => AuthResult::Deny(AuthDenied::BadUsernameOrPassword).into(),
        }
    }

    fn name(&self) -> &str {
        "emqttd_auth_username"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::{Algorithm, Hasher};
    use std::path::Path;

    fn provider(algorithm: Algorithm) -> UsernameAuth {
        let hasher = Hasher {
            algorithm,
            pbkdf2_iterations: 10,
            bcrypt_cost: 4,
        };
        let fixed = vec![("admin".to_string(), hasher.hash(b"public").unwrap())];
        let file = std::env::temp_dir().join("emqttd-auth-username-provider-unused.json");
        UsernameAuth {
            users: Arc::new(Users::open(hasher, fixed, Path::new("x.toml"), &file).unwrap()),
            verifier: Verifier::new(1),
        }
    }

    fn client<'a>(username: Option<&'a str>, password: Option<&'a [u8]>) -> ClientAuth<'a> {
        ClientAuth {
            client_id: "c1",
            username,
            password,
            ip: "127.0.0.1".parse().unwrap(),
        }
    }

    fn ready(check: AuthCheck) -> AuthResult {
        match check {
            AuthCheck::Ready(result) => result,
            AuthCheck::Pending(_) => panic!("expected an answer at once"),
        }
    }

    #[test]
    fn answers() {
        let auth = provider(Algorithm::Sha256);
        let check = |u, p| ready(auth.check(&client(u, p)));
        assert_eq!(
            check(Some("admin"), Some(b"public")),
            AuthResult::Allow { superuser: false }
        );
        assert_eq!(
            check(Some("admin"), Some(b"wrong")),
            AuthResult::Deny(AuthDenied::BadUsernameOrPassword)
        );
        assert_eq!(
            check(Some("admin"), None),
            AuthResult::Deny(AuthDenied::BadUsernameOrPassword)
        );
        assert_eq!(check(Some("eve"), Some(b"public")), AuthResult::Ignore);
        assert_eq!(check(None, None), AuthResult::Ignore);
    }

    #[test]
    fn bcrypt_users_answer_later() {
        let auth = provider(Algorithm::Bcrypt);
        assert!(matches!(
            auth.check(&client(Some("admin"), Some(b"public"))),
            AuthCheck::Pending(_)
        ));
        // unknown users and missing passwords cost nothing
        assert_eq!(
            ready(auth.check(&client(Some("eve"), Some(b"x")))),
            AuthResult::Ignore
        );
        assert_eq!(
            ready(auth.check(&client(Some("admin"), None))),
            AuthResult::Deny(AuthDenied::BadUsernameOrPassword)
        );
    }
}
