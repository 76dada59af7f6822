//! The `users` ctl command (emq_auth_username_cli): `users list | add | del | passwd`.

use crate::users::Users;

pub const NAME: &str = "users";

/// Printed for `users` alone and for a malformed call (emqttd's `?USAGE` layout).
pub const USAGE: &str = "\
users list                                      # List users
users add <Username> <Password>                 # Add user
users del <Username>                            # Delete user
users passwd <Username> <Password>              # Change the password of a user";

/// Run `users <args>`: the text to print, or the error to print.
pub fn run(users: &Users, args: &[String]) -> Result<String, String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["help"] => Ok(USAGE.to_string()),
        ["list"] => Ok(users.list().join("\n")),
        ["add", username, password] => users.add(username, password).map(|()| "ok".into()),
        ["del", username] => users.delete(username).map(|()| "ok".into()),
        ["passwd", username, password] => users.passwd(username, password).map(|()| "ok".into()),
        _ => Err(USAGE.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::Hasher;
    use std::path::Path;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_subcommands() {
        let dir =
            std::env::temp_dir().join(format!("emqttd-auth-username-cmd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let users = Users::open(
            Hasher::default(),
            Vec::new(),
            Path::new("x.toml"),
            &dir.join("u.json"),
        )
        .unwrap();
        assert_eq!(run(&users, &args("list")).unwrap(), "");
        assert_eq!(run(&users, &args("add bob pw")).unwrap(), "ok");
        assert_eq!(run(&users, &args("add alice pw")).unwrap(), "ok");
        assert!(run(&users, &args("add bob pw"))
            .unwrap_err()
            .contains("already exists"));
        assert_eq!(run(&users, &args("list")).unwrap(), "alice\nbob");
        assert_eq!(run(&users, &args("passwd bob new")).unwrap(), "ok");
        assert!(users.lookup("bob").unwrap().verify(b"new"));
        assert_eq!(run(&users, &args("del bob")).unwrap(), "ok");
        assert!(run(&users, &args("del bob"))
            .unwrap_err()
            .contains("not found"));
        assert_eq!(run(&users, &args("")).unwrap(), USAGE);
        assert_eq!(run(&users, &args("add bob")).unwrap_err(), USAGE);
        assert_eq!(run(&users, &args("update bob x")).unwrap_err(), USAGE);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
