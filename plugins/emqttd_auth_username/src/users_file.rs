//! The users file (emqttd kept these users in mnesia): the users added with `users add`, as
//! JSON, read on load and rewritten whole (write to a temporary file, then rename) on every
//! change.
//!
//! ```json
//! {"users": [{"username": "dev", "algorithm": "sha256", "salt": "…", "hash": "…"}]}
//! ```

use crate::password::{Record, Stored};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(serde::Serialize, serde::Deserialize)]
struct File {
    users: Vec<Entry>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    username: String,
    #[serde(flatten)]
    record: Record,
}

/// Read the users file; a missing file holds no users. Errors name the file and the entry
/// (`users[N]`, counting from 1).
pub fn load(path: &Path) -> Result<BTreeMap<String, Stored>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("users file {}: cannot read: {e}", path.display())),
    };
    let file: File =
        serde_json::from_str(&text).map_err(|e| format!("users file {}: {e}", path.display()))?;
    let mut users = BTreeMap::new();
    for (index, entry) in file.users.into_iter().enumerate() {
        let at = |what: &str| format!("users file {}: users[{}].{what}", path.display(), index + 1);
        if entry.username.is_empty() {
            return Err(format!("{}: empty", at("username")));
        }
        let stored = Stored::from_record(&entry.record)
            .map_err(|e| format!("{}: {}", at(e.field), e.message))?;
        if users.insert(entry.username.clone(), stored).is_some() {
            return Err(format!(
                "{}: user {:?} appears twice",
                at("username"),
                entry.username
            ));
        }
    }
    Ok(users)
}

/// Write the users file: all or nothing (a crash leaves the old file or the new one).
pub fn save(path: &Path, users: &BTreeMap<String, Stored>) -> Result<(), String> {
    let file = File {
        users: users
            .iter()
            .map(|(username, stored)| Entry {
                username: username.clone(),
                record: stored.to_record(),
            })
            .collect(),
    };
    let error = |what: &str, e: std::io::Error| {
        format!("users file {}: cannot {what}: {e}", path.display())
    };
    let mut text = serde_json::to_string_pretty(&file)
        .map_err(|e| format!("users file {}: {e}", path.display()))?;
    text.push('\n');
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| error("create its directory", e))?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text).map_err(|e| error("write", e))?;
    std::fs::rename(&temporary, path).map_err(|e| error("replace", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::{Algorithm, Hasher};
    use std::path::PathBuf;

    pub fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "emqttd-auth-username-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn round_trip_for_every_algorithm() {
        let dir = temp_dir("round-trip");
        let path = dir.join("data").join("auth_username.json");
        assert!(load(&path).unwrap().is_empty());
        let mut users = BTreeMap::new();
        for (i, algorithm) in ["plain", "md5", "sha256", "pbkdf2", "bcrypt"]
            .into_iter()
            .enumerate()
        {
            let hasher = Hasher {
                algorithm: Algorithm::parse(algorithm).unwrap(),
                pbkdf2_iterations: 2,
                bcrypt_cost: 4,
            };
            users.insert(format!("user{i}"), hasher.hash(b"pw").unwrap());
        }
        save(&path, &users).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back, users);
        assert!(back["user4"].verify(b"pw"));
        // rewritten whole, no temporary file left behind
        users.remove("user0");
        save(&path, &users).unwrap();
        assert_eq!(load(&path).unwrap(), users);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("auth_username.json")]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_files_are_named_with_the_entry() {
        let dir = temp_dir("bad");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.json");
        std::fs::write(&path, "{\"users\": [").unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.contains("users.json"), "{e}");
        std::fs::write(
            &path,
            r#"{"users": [{"username": "a", "algorithm": "plain", "hash": "x"},
                          {"username": "b", "algorithm": "md5", "hash": "00"}]}"#,
        )
        .unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.contains("users.json: users[2].hash"), "{e}");
        std::fs::write(
            &path,
            r#"{"users": [{"username": "a", "algorithm": "plain", "hash": "x"},
                          {"username": "a", "algorithm": "plain", "hash": "y"}]}"#,
        )
        .unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.contains("users[2].username"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
