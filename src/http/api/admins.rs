//! The admin users of the HTTP API and the dashboard (emq_dashboard's `mqtt_admin` table),
//! stored in a JSON file (`[http] admins_file`, default `<node.data_dir>/admins.json`) with
//! salted SHA-256 password hashes. Seeded from `[http.users]` when the file does not exist.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The tags a user gets when none are given.
pub const DEFAULT_TAGS: &str = "administrator";

/// One stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRecord {
    pub username: String,
    #[serde(default)]
    pub tags: String,
    /// Hex of 16 random bytes.
    pub salt: String,
    /// Hex of SHA-256(salt bytes ++ password).
    pub hash: String,
}

impl AdminRecord {
    fn new(username: &str, password: &str, tags: &str) -> AdminRecord {
        let salt = hex(&random_salt());
        AdminRecord {
            username: username.to_string(),
            tags: tags.to_string(),
            hash: hash(&salt, password),
            salt,
        }
    }

    pub fn check(&self, password: &str) -> bool {
        constant_time_eq(hash(&self.salt, password).as_bytes(), self.hash.as_bytes())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AdminFile {
    users: Vec<AdminRecord>,
}

/// Why a change to the users was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    NotFound(String),
    Exists(String),
    /// Bad input, or deleting the last user.
    Invalid(String),
    /// The old password did not match.
    WrongPassword,
    /// The file could not be written.
    Io(String),
}

/// The users, in memory and in their file.
pub struct AdminStore {
    path: Option<PathBuf>,
    users: Mutex<BTreeMap<String, AdminRecord>>,
}

impl AdminStore {
    /// Load `path`, or create it with `seed` (user → password) when it does not exist.
    pub fn open(path: &Path, seed: &BTreeMap<String, String>) -> Result<AdminStore, String> {
        let users = match std::fs::read(path) {
            Ok(bytes) => {
                let file: AdminFile = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("{}: not an admins file: {e}", path.display()))?;
                file.users
                    .into_iter()
                    .map(|u| (u.username.clone(), u))
                    .collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => seeded(seed),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let store = AdminStore {
            path: Some(path.to_path_buf()),
            users: Mutex::new(users),
        };
        if !path.exists() {
            store.save(&store.lock()).map_err(|e| match e {
                AdminError::Io(why) => why,
                other => format!("{other:?}"),
            })?;
        }
        Ok(store)
    }

    /// A store that lives in memory only (unit tests).
    pub fn in_memory(seed: &BTreeMap<String, String>) -> AdminStore {
        AdminStore {
            path: None,
            users: Mutex::new(seeded(seed)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, AdminRecord>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self, users: &BTreeMap<String, AdminRecord>) -> Result<(), AdminError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = AdminFile {
            users: users.values().cloned().collect(),
        };
        let io = |e: std::io::Error| AdminError::Io(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_json::to_vec_pretty(&file)
            .map_err(|e| AdminError::Io(format!("{}: {e}", path.display())))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Whether `username` exists with `password`.
    pub fn check(&self, username: &str, password: &str) -> bool {
        self.lock().get(username).is_some_and(|u| u.check(password))
    }

    /// `(username, tags)` of every user, by name.
    pub fn list(&self) -> Vec<(String, String)> {
        self.lock()
            .values()
            .map(|u| (u.username.clone(), u.tags.clone()))
            .collect()
    }

    pub fn add(&self, username: &str, password: &str, tags: &str) -> Result<(), AdminError> {
        if username.is_empty() || username.contains(':') {
            return Err(AdminError::Invalid(
                "username: must be non-empty and without ':'".into(),
            ));
        }
        if password.is_empty() {
            return Err(AdminError::Invalid("password: must not be empty".into()));
        }
        let mut users = self.lock();
        if users.contains_key(username) {
            return Err(AdminError::Exists(format!(
                "user {username} already exists"
            )));
        }
        users.insert(
            username.to_string(),
            AdminRecord::new(username, password, tags),
        );
        self.save(&users)
    }

    pub fn set_tags(&self, username: &str, tags: &str) -> Result<(), AdminError> {
        let mut users = self.lock();
        let user = users
            .get_mut(username)
            .ok_or_else(|| AdminError::NotFound(format!("no such user: {username}")))?;
        user.tags = tags.to_string();
        self.save(&users)
    }

    /// Set a user's password without the old one (an admin resetting another admin's).
    pub fn set_password(&self, username: &str, new: &str) -> Result<(), AdminError> {
        if new.is_empty() {
            return Err(AdminError::Invalid("password: must not be empty".into()));
        }
        let mut users = self.lock();
        let user = users
            .get_mut(username)
            .ok_or_else(|| AdminError::NotFound(format!("no such user: {username}")))?;
        let tags = user.tags.clone();
        *user = AdminRecord::new(username, new, &tags);
        self.save(&users)
    }

    pub fn change_password(&self, username: &str, old: &str, new: &str) -> Result<(), AdminError> {
        if new.is_empty() {
            return Err(AdminError::Invalid("new_pwd: must not be empty".into()));
        }
        let mut users = self.lock();
        let user = users
            .get_mut(username)
            .ok_or_else(|| AdminError::NotFound(format!("no such user: {username}")))?;
        if !user.check(old) {
            return Err(AdminError::WrongPassword);
        }
        let tags = user.tags.clone();
        *user = AdminRecord::new(username, new, &tags);
        self.save(&users)
    }

    pub fn delete(&self, username: &str) -> Result<(), AdminError> {
        let mut users = self.lock();
        if !users.contains_key(username) {
            return Err(AdminError::NotFound(format!("no such user: {username}")));
        }
        if users.len() == 1 {
            return Err(AdminError::Invalid(format!(
                "cannot delete {username}: the last admin user"
            )));
        }
        users.remove(username);
        self.save(&users)
    }
}

fn seeded(seed: &BTreeMap<String, String>) -> BTreeMap<String, AdminRecord> {
    seed.iter()
        .map(|(user, password)| (user.clone(), AdminRecord::new(user, password, DEFAULT_TAGS)))
        .collect()
}

fn hash(salt_hex: &str, password: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(unhex(salt_hex));
    hasher.update(password.as_bytes());
    hex(&hasher.finalize())
}

/// 16 bytes from the OS (`/dev/urandom`), or from the clock and a counter if it is missing.
fn random_salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut salt));
    if from_os.is_err() {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut hasher = Sha256::new();
        hasher.update(nanos.to_le_bytes());
        hasher.update(n.to_le_bytes());
        hasher.update(std::process::id().to_le_bytes());
        salt.copy_from_slice(&hasher.finalize()[..16]);
    }
    salt
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .filter_map(|i| text.get(2 * i..2 * i + 2))
        .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
        .collect()
}

/// Compares without stopping at the first difference (the length is not hidden).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> BTreeMap<String, String> {
        BTreeMap::from([("admin".to_string(), "public".to_string())])
    }

    #[test]
    fn passwords_are_salted_hashes() {
        let a = AdminRecord::new("u", "secret", "");
        let b = AdminRecord::new("u", "secret", "");
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.hash, b.hash);
        assert!(!a.hash.contains("secret"));
        assert!(a.check("secret") && b.check("secret"));
        assert!(!a.check("Secret"));
    }

    #[test]
    fn add_change_and_delete() {
        let store = AdminStore::in_memory(&seed());
        assert!(store.check("admin", "public"));
        store.add("alice", "pw", "viewer").unwrap();
        assert!(matches!(
            store.add("alice", "x", ""),
            Err(AdminError::Exists(_))
        ));
        assert!(matches!(
            store.add("", "x", ""),
            Err(AdminError::Invalid(_))
        ));
        assert!(matches!(
            store.add("bob", "", ""),
            Err(AdminError::Invalid(_))
        ));
        assert_eq!(store.list()[1], ("alice".into(), "viewer".into()));
        assert_eq!(
            store.change_password("alice", "bad", "new"),
            Err(AdminError::WrongPassword)
        );
        store.change_password("alice", "pw", "new").unwrap();
        assert!(store.check("alice", "new") && !store.check("alice", "pw"));
        store.set_tags("alice", "ops").unwrap();
        assert_eq!(store.list()[1].1, "ops");
        store.delete("admin").unwrap();
        assert!(matches!(store.delete("alice"), Err(AdminError::Invalid(_))));
        assert!(matches!(
            store.delete("nobody"),
            Err(AdminError::NotFound(_))
        ));
    }

    #[test]
    fn the_file_is_seeded_then_reloaded() {
        let dir = std::env::temp_dir().join(format!("emqttd-admins-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("admins.json");
        let store = AdminStore::open(&path, &seed()).unwrap();
        store.add("carol", "pw", "").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("public"), "{text}");
        let again = AdminStore::open(&path, &BTreeMap::new()).unwrap();
        assert!(again.check("carol", "pw") && again.check("admin", "public"));
        std::fs::write(&path, "nonsense").unwrap();
        let err = AdminStore::open(&path, &seed()).err().unwrap();
        assert!(err.contains("admins.json"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
