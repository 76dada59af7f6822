//! Access control: the ordered authentication chain and the ACL chain (replaces
//! emqttd_access_control.erl and emqttd_acl_internal.erl).
//!
//! * **Auth**: providers registered with a priority (higher first) each answer
//!   [`AuthResult::Allow`] (optionally as a superuser), [`AuthResult::Deny`] or
//!   [`AuthResult::Ignore`] (ask the next one); when every provider ignores the client,
//!   `mqtt.allow_anonymous` decides.
//! * **ACL**: providers answer allow / deny / ignore for (client, publish | subscribe, topic);
//!   the internal ACL from `mqtt.acl_file` (emqttd's `acl.conf` syntax, see [`acl_file`]) sits
//!   in the chain at priority 0; when every provider ignores, `mqtt.acl_nomatch` decides.
//!   Superusers skip the ACL. Decisions are cached per session ([`ClientAccess`], `mqtt.cache_acl`)
//!   and every cache is emptied by [`AccessControl::reload_acl`] or a (un)registration.
//!
//! No actix here: sessions call in directly, inline, as emqttd's client process did.

pub mod acl_file;
pub mod acl_rule;
pub mod auth_chain;
pub mod cache;

pub use acl_file::AclSyntaxError;
pub use acl_rule::{Access, AclClient, AclRules, Permission, Rule};
pub use auth_chain::{AuthOutcome, Authenticating};
pub use cache::AclCache;

use crate::config::{AclNomatch, MqttConfig, DEFAULT_ACL_FILE};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

pub use emqttd_plugin_api::access::{
    AclProvider, AclResult, AuthCheck, AuthDenied, AuthProvider, AuthResult, ClientAuth,
};

/// Identifies a registered provider, to unregister it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProviderId(u64);

/// The priority of the internal acl.conf in the ACL chain.
pub const INTERNAL_ACL_PRIORITY: i32 = 0;

struct Entry<P: ?Sized> {
    id: ProviderId,
    priority: i32,
    provider: Arc<P>,
}

impl<P: ?Sized> Clone for Entry<P> {
    fn clone(&self) -> Self {
        Entry {
            id: self.id,
            priority: self.priority,
            provider: self.provider.clone(),
        }
    }
}

type Chain<P> = RwLock<Arc<Vec<Entry<P>>>>;

/// Why an ACL file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclError {
    pub file: PathBuf,
    /// The 1-based line and column of a syntax or rule error.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for AclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "acl file {} (key mqtt.acl_file), line {}, column {}: {}",
                self.file.display(),
                line,
                column,
                self.message
            ),
            None => write!(
                f,
                "acl file {} (key mqtt.acl_file): {}",
                self.file.display(),
                self.message
            ),
        }
    }
}

impl std::error::Error for AclError {}

/// Read and parse an acl.conf: all its rules or an error.
pub fn load_acl_file(path: &Path) -> Result<AclRules, AclError> {
    let error = |position, message| AclError {
        file: path.to_path_buf(),
        position,
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| error(None, format!("cannot read: {}", e)))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        error(
            None,
            format!(
                "not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    acl_file::parse_rules(&text)
        .map(|rules| AclRules { rules })
        .map_err(|e| error(Some((e.line, e.column)), e.message))
}

/// The internal ACL: the rules of `mqtt.acl_file`, swapped as a whole on reload.
struct InternalAcl {
    file: Option<PathBuf>,
    rules: RwLock<Arc<AclRules>>,
}

impl AclProvider for InternalAcl {
    fn check_acl(&self, client: &AclClient<'_>, access: Access, topic: &str) -> AclResult {
        let rules = self.rules.read().unwrap_or_else(|p| p.into_inner()).clone();
        match rules.check(client, access, topic) {
            Some(Permission::Allow) => AclResult::Allow,
            Some(Permission::Deny) => AclResult::Deny,
            None => AclResult::Ignore,
        }
    }

    fn name(&self) -> &str {
        "internal acl"
    }
}

/// The broker's access control, shared by every session.
pub struct AccessControl {
    auth: Chain<dyn AuthProvider>,
    acl: Chain<dyn AclProvider>,
    internal: Arc<InternalAcl>,
    allow_anonymous: bool,
    nomatch: Permission,
    cache_acl: bool,
    /// Bumped whenever a decision may change; session caches compare it.
    generation: AtomicU64,
    next_id: AtomicU64,
}

impl AccessControl {
    /// Access control with the given internal rules and `file` to reload them from.
    pub fn with_rules(mqtt: &MqttConfig, file: Option<PathBuf>, rules: AclRules) -> AccessControl {
        let internal = Arc::new(InternalAcl {
            file,
            rules: RwLock::new(Arc::new(rules)),
        });
        let provider: Arc<dyn AclProvider> = internal.clone();
        AccessControl {
            auth: RwLock::new(Arc::new(Vec::new())),
            acl: RwLock::new(Arc::new(vec![Entry {
                id: ProviderId(0),
                priority: INTERNAL_ACL_PRIORITY,
                provider,
            }])),
            internal,
            allow_anonymous: mqtt.allow_anonymous,
            nomatch: match mqtt.acl_nomatch {
                AclNomatch::Allow => Permission::Allow,
                AclNomatch::Deny => Permission::Deny,
            },
            cache_acl: mqtt.cache_acl,
            generation: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
        }
    }

    /// Access control without acl.conf rules (only `mqtt.acl_nomatch`), e.g. for embedding.
    pub fn without_acl_file(mqtt: &MqttConfig) -> AccessControl {
        Self::with_rules(mqtt, None, AclRules::default())
    }

    /// Boot: load `mqtt.acl_file`. An empty path means no file; the default path
    /// (`etc/acl.conf`) may be missing (a warning, nomatch decides until a reload finds it);
    /// any other missing, unreadable or malformed file is an error naming the file and line.
    pub fn load(mqtt: &MqttConfig) -> Result<AccessControl, AclError> {
        let path = &mqtt.acl_file;
        if path.as_os_str().is_empty() {
            log::info!("mqtt.acl_file is empty: no acl.conf rules, mqtt.acl_nomatch decides");
            return Ok(Self::without_acl_file(mqtt));
        }
        let rules = match load_acl_file(path) {
            Ok(rules) => rules,
            Err(_) if path == Path::new(DEFAULT_ACL_FILE) && !path.exists() => {
                log::warn!(
                    "{} not found: no ACL rules, every check is decided by mqtt.acl_nomatch ({:?})",
                    path.display(),
                    mqtt.acl_nomatch
                );
                AclRules::default()
            }
            Err(error) => return Err(error),
        };
        log::info!(
            "acl file {} loaded: {} rules",
            path.display(),
            rules.rules.len()
        );
        Ok(Self::with_rules(mqtt, Some(path.clone()), rules))
    }

    /// Re-read the acl file: all or nothing. On success every session's cache is emptied and
    /// the number of rules is returned; on error the old rules stay.
    pub fn reload_acl(&self) -> Result<usize, AclError> {
        let Some(file) = &self.internal.file else {
            return Ok(0);
        };
        let rules = load_acl_file(file)?;
        let n = rules.rules.len();
        *self
            .internal
            .rules
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
        self.invalidate();
        log::info!("acl file {} reloaded: {} rules", file.display(), n);
        Ok(n)
    }

    /// The acl file, if one is configured.
    pub fn acl_file(&self) -> Option<&Path> {
        self.internal.file.as_deref()
    }

    /// The internal rules in force.
    pub fn acl_rules(&self) -> Arc<AclRules> {
        self.internal
            .rules
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Empty every session's ACL cache (they notice at their next check).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether sessions cache ACL decisions (`mqtt.cache_acl`).
    pub fn cache_acl(&self) -> bool {
        self.cache_acl
    }

    fn id(&self) -> ProviderId {
        ProviderId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn insert<P: ?Sized>(chain: &Chain<P>, entry: Entry<P>) {
        let mut chain = chain.write().unwrap_or_else(|p| p.into_inner());
        let mut entries: Vec<Entry<P>> = chain.as_ref().clone();
        entries.push(entry);
        // Stable: equal priorities keep their registration order.
        entries.sort_by_key(|e| std::cmp::Reverse(e.priority));
        *chain = Arc::new(entries);
    }

    fn remove<P: ?Sized>(chain: &Chain<P>, id: ProviderId) -> bool {
        let mut chain = chain.write().unwrap_or_else(|p| p.into_inner());
        let before = chain.len();
        let entries: Vec<Entry<P>> = chain.iter().filter(|e| e.id != id).cloned().collect();
        let removed = entries.len() != before;
        *chain = Arc::new(entries);
        removed
    }

    fn snapshot<P: ?Sized>(chain: &Chain<P>) -> Arc<Vec<Entry<P>>> {
        chain.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Add an auth provider; higher priorities are asked first.
    pub fn register_auth(&self, provider: Box<dyn AuthProvider>, priority: i32) -> ProviderId {
        let id = self.id();
        Self::insert(
            &self.auth,
            Entry {
                id,
                priority,
                provider: Arc::from(provider),
            },
        );
        id
    }

    /// Remove an auth provider; `false` if it was not registered.
    pub fn unregister_auth(&self, id: ProviderId) -> bool {
        Self::remove(&self.auth, id)
    }

    /// Add an ACL provider; higher priorities are asked first (the internal acl.conf is at
    /// [`INTERNAL_ACL_PRIORITY`]). Every session's cache is emptied.
    pub fn register_acl(&self, provider: Box<dyn AclProvider>, priority: i32) -> ProviderId {
        let id = self.id();
        Self::insert(
            &self.acl,
            Entry {
                id,
                priority,
                provider: Arc::from(provider),
            },
        );
        self.invalidate();
        id
    }

    /// Remove an ACL provider; `false` if it was not registered.
    pub fn unregister_acl(&self, id: ProviderId) -> bool {
        let removed = Self::remove(&self.acl, id);
        self.invalidate();
        removed
    }

    /// How many auth providers are registered.
    pub fn auth_providers(&self) -> usize {
        Self::snapshot(&self.auth).len()
    }

    /// How many ACL providers are registered, the internal acl.conf included.
    pub fn acl_providers(&self) -> usize {
        Self::snapshot(&self.acl).len()
    }

    /// Run the auth chain: `Ok(superuser)` or why the client is refused, now or (when a
    /// provider is slow) from the returned future.
    pub fn authenticate(&self, client: &ClientAuth<'_>) -> Authenticating {
        let providers: auth_chain::Providers = Arc::new(
            Self::snapshot(&self.auth)
                .iter()
                .map(|entry| entry.provider.clone())
                .collect(),
        );
        auth_chain::run(providers, client, self.allow_anonymous)
    }

    /// Run the ACL chain (no cache, no superuser shortcut): is `access` on `topic` allowed?
    pub fn check_acl(&self, client: &AclClient<'_>, access: Access, topic: &str) -> bool {
        for entry in Self::snapshot(&self.acl).iter() {
            let answer = catch_unwind(AssertUnwindSafe(|| {
                entry.provider.check_acl(client, access, topic)
            }));
            match answer {
                Ok(AclResult::Allow) => return true,
                Ok(AclResult::Deny) => return false,
                Ok(AclResult::Ignore) => {}
                Err(_) => {
                    log::error!(
                        "{} panicked checking {:?} {} for {}: denied",
                        entry.provider.name(),
                        access,
                        topic,
                        client.client_id
                    );
                    return false;
                }
            }
        }
        self.nomatch == Permission::Allow
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// What one session keeps for access control: whether it is a superuser, and its ACL cache.
#[derive(Debug, Default)]
pub struct ClientAccess {
    pub superuser: bool,
    pub cache: AclCache,
}

impl ClientAccess {
    pub fn new(superuser: bool) -> ClientAccess {
        ClientAccess {
            superuser,
            cache: AclCache::new(),
        }
    }

    /// Is `client` allowed `access` on `topic`? Superusers always are; otherwise the ACL chain
    /// decides, through this session's cache when `mqtt.cache_acl` is on.
    pub fn allowed(
        &mut self,
        control: &AccessControl,
        client: &AclClient<'_>,
        access: Access,
        topic: &str,
    ) -> bool {
        if self.superuser {
            return true;
        }
        if !control.cache_acl {
            return control.check_acl(client, access, topic);
        }
        let generation = control.generation();
        if let Some(allowed) = self.cache.get(generation, access, topic) {
            return allowed;
        }
        let allowed = control.check_acl(client, access, topic);
        self.cache.put(generation, access, topic, allowed);
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mqtt(allow_anonymous: bool, nomatch: AclNomatch) -> MqttConfig {
        MqttConfig {
            allow_anonymous,
            acl_nomatch: nomatch,
            ..MqttConfig::default()
        }
    }

    fn auth(client_id: &str, username: Option<&'static str>) -> ClientAuth<'static> {
        ClientAuth {
            client_id: Box::leak(client_id.to_string().into_boxed_str()),
            username,
            password: None,
            ip: "127.0.0.1".parse().unwrap(),
        }
    }

    struct Fixed(AuthResult);
    impl AuthProvider for Fixed {
        fn check(&self, _: &ClientAuth<'_>) -> AuthCheck {
            self.0.into()
        }
    }

    struct OnlyUser(&'static str);
    impl AuthProvider for OnlyUser {
        fn check(&self, client: &ClientAuth<'_>) -> AuthCheck {
            match client.username {
                Some(u) if u == self.0 => AuthResult::Allow { superuser: true },
                Some(_) => AuthResult::Deny(AuthDenied::BadUsernameOrPassword),
                None => AuthResult::Ignore,
            }
            .into()
        }
    }

    struct Panics;
    impl AuthProvider for Panics {
        fn check(&self, _: &ClientAuth<'_>) -> AuthCheck {
            panic!("provider bug")
        }
    }

    #[test]
    fn auth_chain_ends_in_allow_anonymous() {
        let open = AccessControl::without_acl_file(&mqtt(true, AclNomatch::Allow));
        assert_eq!(
            open.authenticate(&auth("c", None)).ready().unwrap(),
            Ok(false)
        );
        let closed = AccessControl::without_acl_file(&mqtt(false, AclNomatch::Allow));
        assert_eq!(
            closed.authenticate(&auth("c", None)).ready().unwrap(),
            Err(AuthDenied::NotAuthorized)
        );
        assert_eq!(
            closed.authenticate(&auth("c", Some("u"))).ready().unwrap(),
            Err(AuthDenied::BadUsernameOrPassword)
        );
    }

    #[test]
    fn providers_run_by_priority_and_ignore_passes_on() {
        let ac = AccessControl::without_acl_file(&mqtt(false, AclNomatch::Allow));
        let low = ac.register_auth(
            Box::new(Fixed(AuthResult::Deny(AuthDenied::NotAuthorized))),
            -10,
        );
        ac.register_auth(Box::new(OnlyUser("admin")), 10);
        assert_eq!(
            ac.authenticate(&auth("c", Some("admin"))).ready().unwrap(),
            Ok(true)
        );
        assert_eq!(
            ac.authenticate(&auth("c", Some("eve"))).ready().unwrap(),
            Err(AuthDenied::BadUsernameOrPassword)
        );
        // anonymous: OnlyUser ignores, the low-priority provider denies
        assert_eq!(
            ac.authenticate(&auth("c", None)).ready().unwrap(),
            Err(AuthDenied::NotAuthorized)
        );
        assert!(ac.unregister_auth(low));
        assert!(!ac.unregister_auth(low));
        assert_eq!(
            ac.authenticate(&auth("c", None)).ready().unwrap(),
            Err(AuthDenied::NotAuthorized)
        );
        ac.register_auth(Box::new(Fixed(AuthResult::Allow { superuser: false })), -20);
        assert_eq!(
            ac.authenticate(&auth("c", None)).ready().unwrap(),
            Ok(false)
        );
    }

    #[test]
    fn a_panicking_provider_refuses_and_the_chain_survives() {
        let ac = AccessControl::without_acl_file(&mqtt(true, AclNomatch::Allow));
        let id = ac.register_auth(Box::new(Panics), 0);
        assert_eq!(
            ac.authenticate(&auth("c", None)).ready().unwrap(),
            Err(AuthDenied::NotAuthorized)
        );
        ac.unregister_auth(id);
        assert_eq!(
            ac.authenticate(&auth("c", None)).ready().unwrap(),
            Ok(false)
        );
    }

    fn acl_client() -> AclClient<'static> {
        AclClient {
            client_id: "c",
            username: Some("u"),
            ip: Some("10.0.0.1".parse().unwrap()),
        }
    }

    fn rules(text: &str) -> AclRules {
        AclRules {
            rules: acl_file::parse_rules(text).unwrap(),
        }
    }

    #[test]
    fn nomatch_decides_when_nothing_matches() {
        let allow = AccessControl::without_acl_file(&mqtt(true, AclNomatch::Allow));
        assert!(allow.check_acl(&acl_client(), Access::Publish, "a"));
        let deny = AccessControl::with_rules(
            &mqtt(true, AclNomatch::Deny),
            None,
            rules(r#"{allow, all, publish, ["a"]}."#),
        );
        assert!(deny.check_acl(&acl_client(), Access::Publish, "a"));
        assert!(!deny.check_acl(&acl_client(), Access::Publish, "b"));
    }

    struct DenyTopic(&'static str);
    impl AclProvider for DenyTopic {
        fn check_acl(&self, _: &AclClient<'_>, _: Access, topic: &str) -> AclResult {
            if topic == self.0 {
                AclResult::Deny
            } else {
                AclResult::Ignore
            }
        }
    }

    #[test]
    fn acl_providers_chain_with_the_internal_rules_and_empty_caches() {
        let ac = AccessControl::with_rules(
            &mqtt(true, AclNomatch::Deny),
            None,
            rules(r#"{allow, all}."#),
        );
        let mut session = ClientAccess::new(false);
        assert!(session.allowed(&ac, &acl_client(), Access::Publish, "x"));
        assert_eq!(session.cache.len(), 1);
        // registered above the internal rules: it speaks first, and the cache is invalidated
        let id = ac.register_acl(Box::new(DenyTopic("x")), 10);
        assert!(!session.allowed(&ac, &acl_client(), Access::Publish, "x"));
        assert!(session.allowed(&ac, &acl_client(), Access::Publish, "y"));
        // below the internal rules it never speaks ({allow, all} matches first)
        ac.unregister_acl(id);
        ac.register_acl(Box::new(DenyTopic("x")), -10);
        assert!(session.allowed(&ac, &acl_client(), Access::Publish, "x"));
        // superusers skip the chain
        let id = ac.register_acl(Box::new(DenyTopic("x")), 10);
        assert!(ClientAccess::new(true).allowed(&ac, &acl_client(), Access::Publish, "x"));
        ac.unregister_acl(id);
    }

    #[test]
    fn reload_is_all_or_nothing() {
        let dir = std::env::temp_dir().join(format!("emqttd-acl-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("acl.conf");
        std::fs::write(&file, "{deny, all, publish, [\"a\"]}.\n").unwrap();
        let config = MqttConfig {
            acl_file: file.clone(),
            ..MqttConfig::default()
        };
        let ac = AccessControl::load(&config).unwrap();
        let mut session = ClientAccess::new(false);
        assert!(!session.allowed(&ac, &acl_client(), Access::Publish, "a"));

        std::fs::write(&file, "{allow, all}.\n{deny, all, publish, [\"a\"]\n").unwrap();
        let error = ac.reload_acl().unwrap_err();
        assert!(error.position.is_some(), "{error}");
        assert!(error.to_string().contains("acl.conf"), "{error}");
        assert!(!session.allowed(&ac, &acl_client(), Access::Publish, "a"));

        std::fs::write(&file, "{allow, all, publish, [\"a\"]}.\n").unwrap();
        assert_eq!(ac.reload_acl().unwrap(), 1);
        assert!(session.allowed(&ac, &acl_client(), Access::Publish, "a"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn load_distinguishes_the_default_path_from_an_explicit_one() {
        let missing = MqttConfig {
            acl_file: PathBuf::from("/nonexistent/emqttd/acl.conf"),
            ..MqttConfig::default()
        };
        let error = AccessControl::load(&missing).err().unwrap();
        assert!(error.to_string().contains("/nonexistent/emqttd/acl.conf"));
        let none = MqttConfig {
            acl_file: PathBuf::new(),
            ..MqttConfig::default()
        };
        assert!(AccessControl::load(&none).unwrap().acl_file().is_none());
    }
}
