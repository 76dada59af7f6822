//! Parsing of `emqttd ctl [OPTIONS] <command> ...` (emqttd's `emqttd_ctl` command words): pure,
//! no I/O, so every command and every usage error is unit-tested.

use std::path::PathBuf;

/// The ctl help text (printed by `emqttd ctl help` and with every usage error).
pub const CTL_USAGE: &str = "\
Usage: emqttd ctl [--config PATH] [--user NAME:PASSWORD] [--json] <command> [args]

Talks to the running node over its HTTP listener ([http] bind, from the same config file and
EMQTTD_* overrides as `emqttd start`). Credentials: --user, else EMQTTD_CTL_USER and
EMQTTD_CTL_PASSWORD, else admin with its [http.users] password (default public).
--json prints the raw JSON result. Options may stand anywhere; `--` ends them.

Commands:
  status                                      node status
  broker                                      version, uptime, description
  broker stats                                statistics of clients, sessions, topics...
  broker metrics                              packet, message and byte counters
  listeners                                   the listeners and their clients
  clients list                                connected clients
  clients show <ClientId>                     one client
  clients kick <ClientId>                     disconnect a client
  sessions list [persistent|transient]        sessions
  sessions show <ClientId>                    one session
  subscriptions list                          all subscriptions
  subscriptions show <ClientId>               the subscriptions of a client
  subscriptions add <ClientId> <Topic> <QoS>  subscribe a client to a topic
  subscriptions del <ClientId> <Topic>        unsubscribe a client from a topic
  routes list | routes show <Topic>           routes (topic -> node)
  topics list | topics show <Topic>           topics
  retained list | show <Topic> | del <Topic>  retained messages
  plugins list | load <Name> | unload <Name>  plugins
  modules list | enable <Name> | disable <Name>
                                              built-in modules (presence, autosub, rewrite)
  acl reload                                  reload the acl file
  admins list | add <User> <Pwd> | passwd <User> <Pwd> | del <User>
                                              dashboard/API admin users
  publish <Topic> <Payload> [--qos N] [--retain]
                                              publish a message
  <command> [args]                            a command of a loaded plugin (e.g. users add
                                              alice secret); `emqttd ctl help` lists them

Exit codes: 0 ok, 1 the node answered with an error, 2 usage or config error, 3 node not
reachable.";

/// One parsed `emqttd ctl` invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `--config PATH`, when given.
    pub config: Option<PathBuf>,
    /// `--user NAME:PASSWORD`, when given.
    pub user: Option<(String, String)>,
    /// `--json`: print the raw JSON result.
    pub json: bool,
    pub command: CtlCommand,
}

/// `sessions list persistent|transient`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Persistent,
    Transient,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Persistent => "persistent",
            SessionKind::Transient => "transient",
        }
    }
}

/// What the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtlCommand {
    Help,
    Status,
    Broker,
    BrokerStats,
    BrokerMetrics,
    Listeners,
    ClientsList,
    ClientsShow(String),
    ClientsKick(String),
    SessionsList(Option<SessionKind>),
    SessionsShow(String),
    SubscriptionsList,
    SubscriptionsShow(String),
    SubscriptionsAdd {
        client_id: String,
        topic: String,
        qos: u8,
    },
    SubscriptionsDel {
        client_id: String,
        topic: String,
    },
    RoutesList,
    RoutesShow(String),
    TopicsList,
    TopicsShow(String),
    RetainedList,
    RetainedShow(String),
    RetainedDel(String),
    PluginsList,
    PluginsLoad(String),
    PluginsUnload(String),
    ModulesList,
    ModulesEnable(String),
    ModulesDisable(String),
    AclReload,
    AdminsList,
    AdminsAdd {
        user: String,
        password: String,
    },
    AdminsPasswd {
        user: String,
        password: String,
    },
    AdminsDel(String),
    Publish {
        topic: String,
        payload: String,
        qos: u8,
        retain: bool,
    },
    /// Any other word: a command registered by a loaded plugin, forwarded with its arguments.
    Plugin {
        name: String,
        args: Vec<String>,
    },
}

/// A usage error: the message names the offending word; the caller prints it with [`CTL_USAGE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn usage<T>(message: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(message.into()))
}

/// The options of the `publish` command, taken out of the words before the command is parsed.
#[derive(Debug, Default)]
struct PublishOptions {
    qos: Option<String>,
    retain: bool,
}

/// Parse the arguments after `ctl`. Options (`--config`, `--user`, `--json`, and `publish`'s
/// `--qos`, `--retain`) may stand anywhere before a `--`; everything after `--` is a plain word.
/// Unknown `-options` are errors for built-in commands and forwarded, in place, to plugin commands.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Invocation, UsageError> {
    let mut config = None;
    let mut user = None;
    let mut json = false;
    let mut publish = PublishOptions::default();
    let mut words: Vec<Word> = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if arg.starts_with("--") => (name.to_string(), Some(value)),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, UsageError> {
            match inline {
                Some(v) => Ok(v.to_string()),
                None => args
                    .next()
                    .map_or_else(|| usage(format!("{name} needs {what}")), Ok),
            }
        };
        match name.as_str() {
            "--" => {
                words.extend(args.by_ref().map(Word::plain));
                break;
            }
            "--config" | "-c" => config = Some(PathBuf::from(value("a file path")?)),
            "--user" | "-u" => user = Some(parse_user(&value("NAME:PASSWORD")?)?),
            "--json" => json = true,
            "--qos" | "-q" => publish.qos = Some(value("0, 1 or 2")?),
            "--retain" | "-r" => publish.retain = true,
            "--help" | "-h" => return Ok(invocation(config, user, json, CtlCommand::Help)),
            _ if arg.starts_with('-') && arg.len() > 1 => words.push(Word {
                text: arg,
                option: true,
            }),
            _ => words.push(Word::plain(arg)),
        }
    }
    let command = command(words, publish)?;
    Ok(invocation(config, user, json, command))
}

/// A command-line word after the options ctl knows were taken out.
struct Word {
    text: String,
    /// An unknown `-option` (before any `--`).
    option: bool,
}

impl Word {
    fn plain(text: String) -> Word {
        Word {
            text,
            option: false,
        }
    }
}

fn invocation(
    config: Option<PathBuf>,
    user: Option<(String, String)>,
    json: bool,
    command: CtlCommand,
) -> Invocation {
    Invocation {
        config,
        user,
        json,
        command,
    }
}

/// `NAME:PASSWORD` (the password may contain `:`).
pub fn parse_user(text: &str) -> Result<(String, String), UsageError> {
    match text.split_once(':') {
        Some((name, password)) if !name.is_empty() => Ok((name.into(), password.into())),
        _ => usage(format!("--user expects NAME:PASSWORD, got '{text}'")),
    }
}

/// `0`, `1` or `2`.
pub fn parse_qos(text: &str) -> Result<u8, UsageError> {
    match text.trim() {
        "0" => Ok(0),
        "1" => Ok(1),
        "2" => Ok(2),
        _ => usage(format!("QoS should be 0, 1 or 2, got '{text}'")),
    }
}

fn command(words: Vec<Word>, publish: PublishOptions) -> Result<CtlCommand, UsageError> {
    let plugin_command = words
        .first()
        .is_some_and(|w| !w.option && !BUILT_IN.contains(&w.text.as_str()));
    if plugin_command {
        // A plugin command takes its own options: hand everything over untouched.
        let mut words = words.into_iter().map(|w| w.text);
        let name = words.next().unwrap_or_default();
        return Ok(CtlCommand::Plugin {
            name,
            args: words.collect(),
        });
    }
    if let Some(option) = words.iter().find(|w| w.option) {
        return usage(format!("unknown option '{}'", option.text));
    }
    let w: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    let s = |i: usize| w[i].to_string();
    if w.first() != Some(&"publish") && (publish.qos.is_some() || publish.retain) {
        return usage("--qos and --retain belong to the publish command");
    }
    use CtlCommand as C;
    Ok(match w.as_slice() {
        [] => return usage("no command given"),
        ["help"] => C::Help,
        ["status"] => C::Status,
        ["broker"] => C::Broker,
        ["broker", "stats"] => C::BrokerStats,
        ["broker", "metrics"] => C::BrokerMetrics,
        ["listeners"] => C::Listeners,
        ["clients", "list"] => C::ClientsList,
        ["clients", "show", _] => C::ClientsShow(s(2)),
        ["clients", "kick", _] => C::ClientsKick(s(2)),
        ["sessions", "list"] => C::SessionsList(None),
        ["sessions", "list", "persistent"] => C::SessionsList(Some(SessionKind::Persistent)),
        ["sessions", "list", "transient"] => C::SessionsList(Some(SessionKind::Transient)),
        ["sessions", "show", _] => C::SessionsShow(s(2)),
        ["subscriptions", "list"] => C::SubscriptionsList,
        ["subscriptions", "show", _] => C::SubscriptionsShow(s(2)),
        ["subscriptions", "add", _, _, qos] => C::SubscriptionsAdd {
            client_id: s(2),
            topic: s(3),
            qos: parse_qos(qos)?,
        },
        ["subscriptions", "del", _, _] => C::SubscriptionsDel {
            client_id: s(2),
            topic: s(3),
        },
        ["routes", "list"] => C::RoutesList,
        ["routes", "show", _] => C::RoutesShow(s(2)),
        ["topics", "list"] => C::TopicsList,
        ["topics", "show", _] => C::TopicsShow(s(2)),
        ["retained", "list"] => C::RetainedList,
        ["retained", "show", _] => C::RetainedShow(s(2)),
        ["retained", "del", _] => C::RetainedDel(s(2)),
        ["plugins", "list"] => C::PluginsList,
        ["plugins", "load", _] => C::PluginsLoad(s(2)),
        ["plugins", "unload", _] => C::PluginsUnload(s(2)),
        ["modules", "list"] => C::ModulesList,
        ["modules", "enable", _] => C::ModulesEnable(s(2)),
        ["modules", "disable", _] => C::ModulesDisable(s(2)),
        ["acl", "reload"] => C::AclReload,
        ["admins", "list"] => C::AdminsList,
        ["admins", "add", _, _] => C::AdminsAdd {
            user: s(2),
            password: s(3),
        },
        ["admins", "passwd", _, _] => C::AdminsPasswd {
            user: s(2),
            password: s(3),
        },
        ["admins", "del", _] => C::AdminsDel(s(2)),
        ["publish", _, _] => C::Publish {
            topic: s(1),
            payload: s(2),
            qos: match &publish.qos {
                Some(q) => parse_qos(q)?,
                None => 0,
            },
            retain: publish.retain,
        },
        [name, ..] => return usage(format!("bad arguments for '{name}': {}", w.join(" "))),
    })
}

/// The command words handled by ctl itself (everything else goes to the node's plugin commands).
pub const BUILT_IN: [&str; 15] = [
    "help",
    "status",
    "broker",
    "listeners",
    "clients",
    "sessions",
    "subscriptions",
    "routes",
    "topics",
    "retained",
    "plugins",
    "modules",
    "acl",
    "admins",
    "publish",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Invocation, UsageError> {
        parse(args.iter().map(|s| s.to_string()))
    }

    fn cmd(args: &[&str]) -> CtlCommand {
        parse_str(args)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .command
    }

    fn err(args: &[&str]) -> String {
        parse_str(args).expect_err("a usage error").0
    }

    #[test]
    fn simple_commands() {
        assert_eq!(cmd(&["status"]), CtlCommand::Status);
        assert_eq!(cmd(&["help"]), CtlCommand::Help);
        assert_eq!(cmd(&["--help"]), CtlCommand::Help);
        assert_eq!(cmd(&["broker"]), CtlCommand::Broker);
        assert_eq!(cmd(&["broker", "stats"]), CtlCommand::BrokerStats);
        assert_eq!(cmd(&["broker", "metrics"]), CtlCommand::BrokerMetrics);
        assert_eq!(cmd(&["listeners"]), CtlCommand::Listeners);
        assert_eq!(cmd(&["acl", "reload"]), CtlCommand::AclReload);
        assert_eq!(cmd(&["topics", "list"]), CtlCommand::TopicsList);
        assert_eq!(cmd(&["routes", "list"]), CtlCommand::RoutesList);
    }

    #[test]
    fn commands_with_ids_keep_them_verbatim() {
        assert_eq!(
            cmd(&["clients", "show", "dev 1/#"]),
            CtlCommand::ClientsShow("dev 1/#".into())
        );
        assert_eq!(
            cmd(&["clients", "kick", "c1"]),
            CtlCommand::ClientsKick("c1".into())
        );
        assert_eq!(
            cmd(&["retained", "del", "a/+/b"]),
            CtlCommand::RetainedDel("a/+/b".into())
        );
        assert_eq!(
            cmd(&["sessions", "list", "persistent"]),
            CtlCommand::SessionsList(Some(SessionKind::Persistent))
        );
        assert_eq!(cmd(&["sessions", "list"]), CtlCommand::SessionsList(None));
        assert_eq!(
            cmd(&["modules", "enable", "presence"]),
            CtlCommand::ModulesEnable("presence".into())
        );
        assert_eq!(
            cmd(&["admins", "passwd", "bob", "pw"]),
            CtlCommand::AdminsPasswd {
                user: "bob".into(),
                password: "pw".into()
            }
        );
    }

    #[test]
    fn subscriptions_add_checks_the_qos() {
        assert_eq!(
            cmd(&["subscriptions", "add", "c1", "a/#", "1"]),
            CtlCommand::SubscriptionsAdd {
                client_id: "c1".into(),
                topic: "a/#".into(),
                qos: 1
            }
        );
        assert!(err(&["subscriptions", "add", "c1", "a", "3"]).contains("QoS"));
        assert!(err(&["subscriptions", "add", "c1", "a"]).contains("subscriptions"));
    }

    #[test]
    fn publish_takes_qos_and_retain_anywhere() {
        let expected = CtlCommand::Publish {
            topic: "t/1".into(),
            payload: "hello world".into(),
            qos: 2,
            retain: true,
        };
        assert_eq!(
            cmd(&["publish", "t/1", "hello world", "--qos", "2", "--retain"]),
            expected
        );
        assert_eq!(
            cmd(&["--retain", "--qos=2", "publish", "t/1", "hello world"]),
            expected
        );
        assert_eq!(
            cmd(&["publish", "t", "x"]),
            CtlCommand::Publish {
                topic: "t".into(),
                payload: "x".into(),
                qos: 0,
                retain: false
            }
        );
        assert_eq!(
            cmd(&["publish", "--", "t", "-5"]),
            CtlCommand::Publish {
                topic: "t".into(),
                payload: "-5".into(),
                qos: 0,
                retain: false
            }
        );
        assert!(err(&["publish", "t", "x", "--qos", "5"]).contains("QoS"));
        assert!(err(&["publish", "t", "x", "--qos"]).contains("--qos"));
        assert!(err(&["status", "--retain"]).contains("publish"));
    }

    #[test]
    fn global_options() {
        let inv = parse_str(&[
            "--config",
            "/etc/x.toml",
            "status",
            "--json",
            "--user=bob:p:w",
        ])
        .unwrap();
        assert_eq!(inv.config, Some(PathBuf::from("/etc/x.toml")));
        assert_eq!(inv.user, Some(("bob".into(), "p:w".into())));
        assert!(inv.json);
        assert_eq!(inv.command, CtlCommand::Status);
        assert!(err(&["--user", "nobody", "status"]).contains("NAME:PASSWORD"));
        assert!(err(&["status", "--config"]).contains("--config"));
    }

    #[test]
    fn other_words_go_to_plugin_commands_with_their_options() {
        assert_eq!(
            cmd(&["users", "add", "alice", "secret"]),
            CtlCommand::Plugin {
                name: "users".into(),
                args: vec!["add".into(), "alice".into(), "secret".into()]
            }
        );
        assert_eq!(
            cmd(&["users", "--force", "x", "--json"]),
            CtlCommand::Plugin {
                name: "users".into(),
                args: vec!["--force".into(), "x".into()]
            }
        );
        assert_eq!(
            cmd(&["users"]),
            CtlCommand::Plugin {
                name: "users".into(),
                args: vec![]
            }
        );
    }

    #[test]
    fn usage_errors_name_the_problem() {
        assert!(err(&[]).contains("no command"));
        assert!(err(&["clients"]).contains("clients"));
        assert!(err(&["clients", "list", "extra"]).contains("clients list extra"));
        assert!(err(&["sessions", "list", "all"]).contains("sessions"));
        assert!(err(&["status", "--bogus"]).contains("--bogus"));
        assert!(err(&["broker", "pubsub"]).contains("broker"));
    }
}
