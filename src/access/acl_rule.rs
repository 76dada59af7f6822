//! The ACL rule model and its matching (replaces emqttd_access_rule.erl): who a rule applies to,
//! which access, which topics; the first rule that matches decides.
//!
//! Pure: no actix, no I/O.

use crate::mqtt::topic::levels;

/// What a rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Allow,
    Deny,
}

pub use emqttd_plugin_api::access::{Access, AclClient};

pub use emqttd_plugin_api::Cidr;

/// Who a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// `all`
    All,
    /// `{user, all}`: like emqttd, also a client without a username.
    AnyUser,
    /// `{client, all}`
    AnyClient,
    /// `{user, "name"}`
    User(String),
    /// `{client, "id"}`
    Client(String),
    /// `{ipaddr, "CIDR"}`
    IpAddr(Cidr),
    /// `{'and', [...]}`: every condition (an empty list matches).
    And(Vec<Who>),
    /// `{'or', [...]}`: any condition (an empty list does not match).
    Or(Vec<Who>),
}

impl Who {
    pub fn matches(&self, client: &AclClient<'_>) -> bool {
        match self {
            Who::All | Who::AnyUser | Who::AnyClient => true,
            Who::User(name) => client.username == Some(name.as_str()),
            Who::Client(id) => client.client_id == id,
            Who::IpAddr(cidr) => client.ip.is_some_and(|ip| cidr.contains(ip)),
            Who::And(conds) => conds.iter().all(|c| c.matches(client)),
            Who::Or(conds) => conds.iter().any(|c| c.matches(client)),
        }
    }
}

/// One topic of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicRule {
    /// A topic filter (`+` and `#` wildcards); `%u` / `%c` as whole levels are replaced by the
    /// client's username / client id (`%u` is left as it is for a client without a username).
    Filter { text: String, pattern: bool },
    /// `{eq, "topic"}`: the topic (or subscription filter) must be exactly this string.
    Eq(String),
}

impl TopicRule {
    pub fn filter(text: &str) -> TopicRule {
        let pattern = levels(text).any(|l| l == "%u" || l == "%c");
        TopicRule::Filter {
            text: text.to_string(),
            pattern,
        }
    }

    /// Does `topic` (a PUBLISH topic name, or a SUBSCRIBE filter whose `+`/`#` are taken
    /// literally, as emqttd does) match this rule topic for `client`?
    pub fn matches(&self, client: &AclClient<'_>, topic: &str) -> bool {
        match self {
            TopicRule::Eq(exact) => exact == topic,
            TopicRule::Filter { text, pattern } => {
                if *pattern {
                    let fed = levels(text).map(|level| match level {
                        "%u" => client.username.unwrap_or("%u"),
                        "%c" => client.client_id,
                        other => other,
                    });
                    match_levels(fed, topic)
                } else {
                    match_levels(levels(text), topic)
                }
            }
        }
    }
}

/// emqttd_topic:match/2: the levels of `filter` against `topic`, where a `+` or `#` in `topic`
/// only matches the same character in the filter; a `$` topic never matches a filter that
/// starts with a wildcard.
fn match_levels<'a>(mut filter: impl Iterator<Item = &'a str>, topic: &str) -> bool {
    let mut topic_levels = levels(topic);
    let mut first = true;
    loop {
        match (filter.next(), topic_levels.next()) {
            (Some("#"), _) if first && topic.starts_with('$') => return false,
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) if first && topic.starts_with('$') => return false,
            (Some("+"), Some(_)) => {}
            (Some(f), Some(t)) if f == t => {}
            (None, None) => return true,
            _ => return false,
        }
        first = false;
    }
}

/// One line of acl.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `{allow, all}` / `{deny, all}` (with the line it is on).
    All(Permission, usize),
    /// `{Permission, Who, Access, Topics}`.
    Match {
        permission: Permission,
        who: Who,
        access: Access,
        topics: Vec<TopicRule>,
        line: usize,
    },
}

impl Rule {
    /// The line of the file the rule starts on.
    pub fn line(&self) -> usize {
        match self {
            Rule::All(_, line) | Rule::Match { line, .. } => *line,
        }
    }

    /// The rule's decision if it applies to `client` asking for `access` on `topic`.
    pub fn decide(
        &self,
        client: &AclClient<'_>,
        access: Access,
        topic: &str,
    ) -> Option<Permission> {
        match self {
            Rule::All(permission, _) => Some(*permission),
            Rule::Match {
                permission,
                who,
                access: covers,
                topics,
                ..
            } => (covers.covers(access)
                && who.matches(client)
                && topics.iter().any(|t| t.matches(client, topic)))
            .then_some(*permission),
        }
    }
}

/// The rules of one acl.conf, first match wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclRules {
    pub rules: Vec<Rule>,
}

impl AclRules {
    /// The first matching rule's decision, or `None` (nomatch).
    pub fn check(&self, client: &AclClient<'_>, access: Access, topic: &str) -> Option<Permission> {
        self.rules
            .iter()
            .find_map(|rule| rule.decide(client, access, topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::acl_file::parse_rules;

    fn client<'a>(id: &'a str, user: Option<&'a str>, ip: &str) -> AclClient<'a> {
        AclClient {
            client_id: id,
            username: user,
            ip: Some(ip.parse().unwrap()),
        }
    }

    fn rules(text: &str) -> AclRules {
        AclRules {
            rules: parse_rules(text).unwrap(),
        }
    }

    #[test]
    fn cidr_matching() {
        let net = Cidr::parse("192.168.1.0/24").unwrap();
        assert!(net.contains("192.168.1.77".parse().unwrap()));
        assert!(!net.contains("192.168.2.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.168.1.5".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        let v6 = Cidr::parse("fe80::/10").unwrap();
        assert!(v6.contains("fe80::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("10.0.0/8").is_err());
        assert!(Cidr::parse("::/129").is_err());
    }

    #[test]
    fn topic_matching_is_emqttds() {
        let all = |f: &str, t: &str| match_levels(levels(f), t);
        assert!(all("a/+", "a/b"));
        assert!(all("a/#", "a"));
        assert!(all("a/#", "a/b/c"));
        assert!(all("#", "a/b"));
        assert!(!all("#", "$SYS/x"));
        assert!(!all("+/x", "$SYS/x"));
        assert!(all("$SYS/#", "$SYS/brokers"));
        // Subscription filters: wildcards are literal on the topic side.
        assert!(all("a/+", "a/+"));
        assert!(!all("a/b", "a/+"));
        assert!(all("#", "#"));
        assert!(all("a/#", "a/#"));
        assert!(!all("a/b", "a/#"));
        assert!(!all("a/b", "a/b/c"));
        assert!(!all("a/b/c", "a/b"));
    }

    #[test]
    fn placeholders_are_whole_levels() {
        let t = TopicRule::filter("users/%u/%c/#");
        let c = client("c1", Some("u1"), "10.0.0.1");
        assert!(t.matches(&c, "users/u1/c1/x"));
        assert!(!t.matches(&c, "users/u2/c1/x"));
        // no username: %u stays literal
        let anon = client("c1", None, "10.0.0.1");
        assert!(!t.matches(&anon, "users/u1/c1/x"));
        assert!(t.matches(&anon, "users/%u/c1/x"));
        // not a whole level: literal
        let partial = TopicRule::filter("x%c/y");
        assert!(!partial.matches(&c, "xc1/y"));
        assert!(partial.matches(&c, "x%c/y"));
    }

    #[test]
    fn eq_is_exact() {
        let t = TopicRule::Eq("#".into());
        let c = client("c", None, "1.2.3.4");
        assert!(t.matches(&c, "#"));
        assert!(!t.matches(&c, "a/#"));
        assert!(!TopicRule::Eq("a/%c".into()).matches(&c, "a/c"));
    }

    #[test]
    fn default_rules_decide_like_emqttd() {
        let r = rules(
            r##"{allow, {user, "dashboard"}, subscribe, ["$SYS/#"]}.
               {allow, {ipaddr, "127.0.0.1"}, pubsub, ["$SYS/#", "#"]}.
               {deny, all, subscribe, ["$SYS/#", {eq, "#"}]}.
               {allow, all}."##,
        );
        use Access::*;
        use Permission::*;
        let dash = client("d", Some("dashboard"), "10.0.0.9");
        let local = client("l", None, "127.0.0.1");
        let remote = client("r", Some("bob"), "10.0.0.9");
        assert_eq!(r.check(&dash, Subscribe, "$SYS/brokers/#"), Some(Allow));
        assert_eq!(r.check(&local, Subscribe, "#"), Some(Allow));
        assert_eq!(r.check(&local, Subscribe, "$SYS/#"), Some(Allow));
        assert_eq!(r.check(&remote, Subscribe, "$SYS/#"), Some(Deny));
        assert_eq!(r.check(&remote, Subscribe, "#"), Some(Deny));
        assert_eq!(r.check(&remote, Subscribe, "a/#"), Some(Allow));
        assert_eq!(r.check(&remote, Publish, "#"), Some(Allow));
        assert_eq!(r.check(&dash, Publish, "$SYS/x"), Some(Allow));
    }

    #[test]
    fn who_forms() {
        let r = rules(
            r#"{allow, {'and', [{user, "u"}, {ipaddr, "10.0.0.0/8"}]}, publish, ["and"]}.
               {allow, {'or', [{client, "c"}, {user, "v"}]}, publish, ["or"]}.
               {allow, {user, all}, publish, ["anyuser"]}.
               {allow, {client, all}, subscribe, ["anyclient"]}.
               {deny, all}."#,
        );
        use Access::*;
        use Permission::*;
        let u_in = client("x", Some("u"), "10.1.2.3");
        let u_out = client("x", Some("u"), "11.1.2.3");
        assert_eq!(r.check(&u_in, Publish, "and"), Some(Allow));
        assert_eq!(r.check(&u_out, Publish, "and"), Some(Deny));
        assert_eq!(
            r.check(&client("c", None, "1.1.1.1"), Publish, "or"),
            Some(Allow)
        );
        assert_eq!(
            r.check(&client("z", Some("v"), "1.1.1.1"), Publish, "or"),
            Some(Allow)
        );
        assert_eq!(
            r.check(&client("z", Some("w"), "1.1.1.1"), Publish, "or"),
            Some(Deny)
        );
        assert_eq!(
            r.check(&client("z", None, "1.1.1.1"), Publish, "anyuser"),
            Some(Allow)
        );
        // access is part of the match: a subscribe rule does not allow a publish
        assert_eq!(r.check(&u_in, Publish, "anyclient"), Some(Deny));
        assert_eq!(r.check(&u_in, Subscribe, "anyclient"), Some(Allow));
        let no_ip = AclClient {
            client_id: "x",
            username: Some("u"),
            ip: None,
        };
        assert_eq!(r.check(&no_ip, Publish, "and"), Some(Deny));
    }

    #[test]
    fn nomatch_is_none() {
        let r = rules(r#"{deny, all, publish, ["a"]}."#);
        assert_eq!(
            r.check(&client("c", None, "1.1.1.1"), Access::Publish, "b"),
            None
        );
        assert_eq!(
            AclRules::default().check(&client("c", None, "1.1.1.1"), Access::Publish, "b"),
            None
        );
    }
}
