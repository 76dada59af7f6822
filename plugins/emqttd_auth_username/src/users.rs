//! The user database (emqttd's `mqtt_auth_username` table): the `[[user]]` entries of the
//! config (fixed) and the users added at run time (kept in the users file).

use crate::password::{Hasher, Stored};
use crate::users_file;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// Why a change was refused, as the `users` command prints it.
pub type Refusal = String;

pub struct Users {
    hasher: Hasher,
    /// From the config file: read-only at run time.
    fixed: BTreeMap<String, Stored>,
    config_file: PathBuf,
    /// Added at run time; mirrored in `file`.
    managed: RwLock<BTreeMap<String, Stored>>,
    file: PathBuf,
}

impl Users {
    /// The config's users plus those in the users file. A user in both is an error (which
    /// password would count?) naming both files.
    pub fn open(
        hasher: Hasher,
        fixed: impl IntoIterator<Item = (String, Stored)>,
        config_file: &Path,
        file: &Path,
    ) -> Result<Users, String> {
        let fixed: BTreeMap<String, Stored> = fixed.into_iter().collect();
        let managed = users_file::load(file)?;
        if let Some(name) = managed.keys().find(|name| fixed.contains_key(*name)) {
            return Err(format!(
                "users file {}: user {name:?} is also defined in {}",
                file.display(),
                config_file.display()
            ));
        }
        Ok(Users {
            hasher,
            fixed,
            config_file: config_file.to_path_buf(),
            managed: RwLock::new(managed),
            file: file.to_path_buf(),
        })
    }

    /// The stored password of `username`, if there is such a user.
    pub fn lookup(&self, username: &str) -> Option<Stored> {
        if let Some(stored) = self.fixed.get(username) {
            return Some(stored.clone());
        }
        self.managed
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(username)
            .cloned()
    }

    /// Every username, sorted.
    pub fn list(&self) -> Vec<String> {
        let managed = self.managed.read().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = self.fixed.keys().chain(managed.keys()).cloned().collect();
        names.sort();
        names
    }

    pub fn len(&self) -> usize {
        self.fixed.len() + self.managed.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn refuse_fixed(&self, username: &str) -> Result<(), Refusal> {
        if self.fixed.contains_key(username) {
            return Err(format!(
                "user {username} is defined in {}: change it there",
                self.config_file.display()
            ));
        }
        Ok(())
    }

    /// Apply `change` to the run-time users and save the file; on a write error nothing
    /// changes.
    fn change(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Stored>) -> Result<(), Refusal>,
    ) -> Result<(), Refusal> {
        let mut managed = self.managed.write().unwrap_or_else(|p| p.into_inner());
        let mut next = managed.clone();
        change(&mut next)?;
        users_file::save(&self.file, &next)?;
        *managed = next;
        Ok(())
    }

    /// `users add`: a new user, stored with the configured hash.
    pub fn add(&self, username: &str, password: &str) -> Result<(), Refusal> {
        if username.is_empty() {
            return Err("the username must not be empty".into());
        }
        let exists = || format!("user {username} already exists");
        if self.lookup(username).is_some() {
            return Err(exists());
        }
        // Hash before taking the lock: bcrypt takes a while.
        let stored = self.hasher.hash(password.as_bytes())?;
        self.change(|users| match users.contains_key(username) {
            true => Err(exists()),
            false => {
                users.insert(username.to_string(), stored);
                Ok(())
            }
        })
    }

    /// `users del`.
    pub fn delete(&self, username: &str) -> Result<(), Refusal> {
        self.refuse_fixed(username)?;
        self.change(|users| match users.remove(username) {
            Some(_) => Ok(()),
            None => Err(format!("user {username} not found")),
        })
    }

    /// `users passwd`: a new password for a run-time user.
    pub fn passwd(&self, username: &str, password: &str) -> Result<(), Refusal> {
        self.refuse_fixed(username)?;
        let not_found = || format!("user {username} not found");
        if self.lookup(username).is_none() {
            return Err(not_found());
        }
        let stored = self.hasher.hash(password.as_bytes())?;
        self.change(|users| match users.get_mut(username) {
            Some(slot) => {
                *slot = stored;
                Ok(())
            }
            None => Err(not_found()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::Algorithm;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "emqttd-auth-username-users-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn hasher() -> Hasher {
        Hasher {
            algorithm: Algorithm::Md5,
            ..Hasher::default()
        }
    }

    fn open(file: &Path) -> Users {
        let fixed = vec![("admin".to_string(), hasher().hash(b"public").unwrap())];
        Users::open(hasher(), fixed, Path::new("etc/plugins/x.toml"), file).unwrap()
    }

    #[test]
    fn changes_persist_and_reload() {
        let dir = temp("persist");
        let file = dir.join("users.json");
        let users = open(&file);
        assert_eq!(users.list(), vec!["admin"]);
        users.add("bob", "pw1").unwrap();
        assert!(users
            .add("bob", "x")
            .unwrap_err()
            .contains("already exists"));
        assert!(users
            .add("admin", "x")
            .unwrap_err()
            .contains("already exists"));
        assert!(users.lookup("bob").unwrap().verify(b"pw1"));
        users.passwd("bob", "pw2").unwrap();
        users.add("carol", "pw3").unwrap();
        assert_eq!(users.list(), vec!["admin", "bob", "carol"]);

        let again = open(&file);
        assert_eq!(again.list(), vec!["admin", "bob", "carol"]);
        assert!(again.lookup("bob").unwrap().verify(b"pw2"));
        assert!(!again.lookup("bob").unwrap().verify(b"pw1"));
        again.delete("carol").unwrap();
        assert!(again.delete("carol").unwrap_err().contains("not found"));
        assert!(again
            .passwd("nobody", "x")
            .unwrap_err()
            .contains("not found"));
        assert_eq!(open(&file).list(), vec!["admin", "bob"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn config_users_are_read_only() {
        let dir = temp("fixed");
        let users = open(&dir.join("users.json"));
        let e = users.delete("admin").unwrap_err();
        assert!(e.contains("etc/plugins/x.toml"), "{e}");
        assert!(users.passwd("admin", "x").is_err());
        assert!(users.lookup("admin").unwrap().verify(b"public"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failed_write_changes_nothing() {
        let dir = temp("readonly");
        std::fs::create_dir_all(&dir).unwrap();
        let blocker = dir.join("blocker");
        let users = open(&blocker.join("users.json"));
        // the users file's directory turns out to be a plain file: nothing can be written
        std::fs::write(&blocker, "").unwrap();
        let e = users.add("bob", "pw").unwrap_err();
        assert!(e.contains("blocker"), "{e}");
        assert!(users.lookup("bob").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_user_in_both_places_is_refused() {
        let dir = temp("both");
        let file = dir.join("users.json");
        let mut managed = BTreeMap::new();
        managed.insert("admin".to_string(), hasher().hash(b"x").unwrap());
        users_file::save(&file, &managed).unwrap();
        let fixed = vec![("admin".to_string(), hasher().hash(b"public").unwrap())];
        let e = Users::open(hasher(), fixed, Path::new("etc/plugins/x.toml"), &file)
            .err()
            .unwrap();
        assert!(e.contains("users.json") && e.contains("x.toml"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
