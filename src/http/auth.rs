//! HTTP Basic authentication of the HTTP API against the admin users of `[http.users]`
//! (emqttd's dashboard admins). Pure.

use base64::Engine;
use std::collections::BTreeMap;

/// The user and password of an `Authorization: Basic <base64(user:password)>` header.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Whether the `Authorization` header names an admin user with the right password.
pub fn authorized(header: Option<&str>, users: &BTreeMap<String, String>) -> bool {
    let Some((user, password)) = header.and_then(basic_credentials) else {
        return false;
    };
    users
        .get(&user)
        .is_some_and(|expected| constant_time_eq(expected.as_bytes(), password.as_bytes()))
}

/// Compares without stopping at the first difference (the length is not hidden).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("admin".into(), "public".into()),
            ("ops".into(), "a:b".into()),
        ])
    }

    #[test]
    fn parses_basic_headers() {
        // admin:public
        assert_eq!(
            basic_credentials("Basic YWRtaW46cHVibGlj"),
            Some(("admin".into(), "public".into()))
        );
        assert_eq!(
            basic_credentials("basic   YWRtaW46cHVibGlj "),
            Some(("admin".into(), "public".into()))
        );
        assert_eq!(basic_credentials("Bearer YWRtaW46cHVibGlj"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials("Basic YWRtaW4="), None); // "admin", no colon
        assert_eq!(basic_credentials("Basic"), None);
    }

    #[test]
    fn checks_users_and_passwords() {
        let users = users();
        assert!(authorized(Some("Basic YWRtaW46cHVibGlj"), &users));
        // ops:a:b — the password may contain ':'
        assert!(authorized(Some("Basic b3BzOmE6Yg=="), &users));
        // admin:wrong
        assert!(!authorized(Some("Basic YWRtaW46d3Jvbmc="), &users));
        // nobody:public
        assert!(!authorized(Some("Basic bm9ib2R5OnB1YmxpYw=="), &users));
        assert!(!authorized(None, &users));
        assert!(!authorized(
            Some("Basic YWRtaW46cHVibGlj"),
            &BTreeMap::new()
        ));
    }
}
