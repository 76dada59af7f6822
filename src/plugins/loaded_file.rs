//! The loaded-plugins file (emqttd's `data/loaded_plugins`): the plugins to load at start, in
//! order. Pure parsing and rendering, plus reading and writing the file.
//!
//! Format: one plugin name per line; blank lines and everything after `#` are ignored. The
//! Erlang term list emqttd 2.x wrote (`[emq_dashboard,emq_auth_username].`) is read too, so an
//! old file keeps working; it is always written back as plain lines.

use std::io::Write;
use std::path::Path;

const HEADER: &str = "# Plugins loaded at start, one name per line (rewritten by `emqttd ctl plugins load|unload`).\n";

/// What a loaded-plugins file says: the names in order (each once), and a note per line that
/// is not a plugin name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoadedList {
    pub names: Vec<String>,
    /// `line N: ...` for each entry that was skipped.
    pub warnings: Vec<String>,
}

/// Whether `name` can be a plugin (crate) name: ASCII letters, digits, `_` and `-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parse the text of a loaded-plugins file.
pub fn parse(text: &str) -> LoadedList {
    let mut list = LoadedList::default();
    let erlang = text
        .lines()
        .map(|line| strip_comment(strip_comment(line, '#'), '%').trim())
        .find(|line| !line.is_empty())
        .is_some_and(|line| line.starts_with('['));
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if erlang {
            let line = strip_comment(line, '%');
            for entry in line.split(',') {
                let entry = entry
                    .trim()
                    .trim_start_matches('[')
                    .trim_end_matches('.')
                    .trim_end_matches(']')
                    .trim()
                    .trim_matches('\'');
                if !entry.is_empty() {
                    list.add(entry, number);
                }
            }
        } else {
            let entry = strip_comment(line, '#').trim();
            if !entry.is_empty() {
                list.add(entry, number);
            }
        }
    }
    list
}

fn strip_comment(line: &str, mark: char) -> &str {
    line.split_once(mark).map_or(line, |(before, _)| before)
}

impl LoadedList {
    fn add(&mut self, name: &str, line: usize) {
        if !valid_name(name) {
            self.warnings.push(format!(
                "line {line}: {name:?} is not a plugin name (letters, digits, '_' and '-')"
            ));
        } else if !self.names.iter().any(|n| n == name) {
            self.names.push(name.to_string());
        }
    }
}

/// The text of a loaded-plugins file listing `names`.
pub fn render(names: &[String]) -> String {
    let mut text = String::from(HEADER);
    for name in names {
        text.push_str(name);
        text.push('\n');
    }
    text
}

/// Read the file; `Ok(None)` when it does not exist (nothing was ever loaded).
pub fn read(path: &Path) -> Result<Option<LoadedList>, String> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Some(parse(&text))),
            Err(e) => Err(format!(
                "{}: not UTF-8 (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            )),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: cannot read: {}", path.display(), e)),
    }
}

/// Write `names` to the file, replacing it whole (a temporary file renamed over it), creating
/// its directory if needed.
pub fn write(path: &Path, names: &[String]) -> Result<(), String> {
    let error =
        |what: &str, e: std::io::Error| format!("{}: cannot {}: {}", path.display(), what, e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| error("create its directory", e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp).map_err(|e| error("write", e))?;
    file.write_all(render(names).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| error("write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| error("replace", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &LoadedList) -> Vec<&str> {
        list.names.iter().map(String::as_str).collect()
    }

    #[test]
    fn plain_lines_with_comments_and_blanks() {
        let list = parse("# header\n\nemqttd_plugin_template\n  emqttd_auth_username  # users\n");
        assert_eq!(
            names(&list),
            vec!["emqttd_plugin_template", "emqttd_auth_username"]
        );
        assert!(list.warnings.is_empty());
    }

    #[test]
    fn duplicates_are_kept_once_and_bad_names_reported_with_their_line() {
        let list = parse("a\nb\na\nnot a name\n../x\n");
        assert_eq!(names(&list), vec!["a", "b"]);
        assert_eq!(list.warnings.len(), 2);
        assert!(
            list.warnings[0].starts_with("line 4:"),
            "{:?}",
            list.warnings
        );
        assert!(
            list.warnings[1].starts_with("line 5:"),
            "{:?}",
            list.warnings
        );
    }

    #[test]
    fn emqttd_erlang_term_lists_are_read() {
        let list = parse("[emq_dashboard,emq_auth_username].\n");
        assert_eq!(names(&list), vec!["emq_dashboard", "emq_auth_username"]);
        let multi = parse("% loaded\n[emq_dashboard,\n 'emq_mod_presence'\n].\n");
        assert_eq!(names(&multi), vec!["emq_dashboard", "emq_mod_presence"]);
        assert_eq!(parse("[].").names, Vec::<String>::new());
    }

    #[test]
    fn render_then_parse_round_trips() {
        let list = vec!["x".to_string(), "y_z".to_string()];
        let text = render(&list);
        assert!(text.starts_with('#'));
        assert_eq!(parse(&text).names, list);
        assert_eq!(parse(&render(&[])).names, Vec::<String>::new());
    }

    #[test]
    fn write_then_read_and_a_missing_file_is_none() {
        let dir = std::env::temp_dir().join(format!("emqttd-loaded-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("loaded_plugins");
        assert_eq!(read(&path).unwrap(), None);
        write(&path, &["p1".to_string(), "p2".to_string()]).unwrap();
        assert_eq!(names(&read(&path).unwrap().unwrap()), vec!["p1", "p2"]);
        write(&path, &[]).unwrap();
        assert!(read(&path).unwrap().unwrap().names.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn names_are_crate_names() {
        assert!(valid_name("emqttd_auth-x1"));
        assert!(!valid_name(""));
        assert!(!valid_name("a/b"));
        assert!(!valid_name("a.b"));
    }
}
