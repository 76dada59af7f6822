//! The rewrite module (replaces emqttd_mod_rewrite): rewrites the topic of every PUBLISH
//! (`message.publish`) and the filters of SUBSCRIBE (`client.subscribe`) and UNSUBSCRIBE
//! (`client.unsubscribe`). The first rule whose filter matches the topic applies; in it, the
//! first regex that matches gives the new topic: its `dest` with `$N` replaced by capture N.

use crate::broker::BrokerCore;
use crate::config::RewriteConfig;
use crate::hooks::{Flow, HookId, PublishAction};
use crate::modules::Module;
use crate::mqtt::topic::{matches, validate_filter, validate_name};
use bytestring::ByteString;
use regex::Regex;
use std::sync::Arc;

/// Priority of the rewrite callbacks: early, so later hooks (ACL, plugins) see the new topic.
pub const PRIORITY: i32 = 1000;

struct Rule {
    filter: String,
    rewrites: Vec<(Regex, String)>,
}

/// Compiled rewrite rules.
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// Compile the configured rules (validated at config load, so a bad regex is skipped).
    pub fn new(config: &RewriteConfig) -> Rules {
        let rules = config
            .rules
            .iter()
            .map(|rule| Rule {
                filter: rule.filter.clone(),
                rewrites: rule
                    .rewrites
                    .iter()
                    .filter_map(|rw| match Regex::new(&rw.regex) {
                        Ok(regex) => Some((regex, rw.dest.clone())),
                        Err(error) => {
                            log::error!("rewrite: bad regex {:?}: {}", rw.regex, error);
                            None
                        }
                    })
                    .collect(),
            })
            .collect();
        Rules { rules }
    }

    /// The rewritten topic, or `None` when no rule changes it.
    pub fn rewrite(&self, topic: &str) -> Option<String> {
        let rule = self.rules.iter().find(|r| matches(&r.filter, topic))?;
        rule.rewrites.iter().find_map(|(regex, dest)| {
            let captures = regex.captures(topic)?;
            let new = expand_dest(dest, &captures);
            (new != topic).then_some(new)
        })
    }
}

/// `dest` with `$N` (one or more digits) replaced by capture N (empty if it did not take
/// part); any other `$` stays.
pub fn expand_dest(dest: &str, captures: &regex::Captures<'_>) -> String {
    let mut out = String::with_capacity(dest.len());
    let mut rest = dest;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            out.push('$');
            rest = after;
            continue;
        }
        if let Ok(n) = after[..digits].parse::<usize>() {
            out.push_str(captures.get(n).map_or("", |m| m.as_str()));
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

pub struct Rewrite {
    rules: Arc<Rules>,
    ids: Vec<HookId>,
}

impl Rewrite {
    pub fn new(config: &RewriteConfig) -> Rewrite {
        Rewrite {
            rules: Arc::new(Rules::new(config)),
            ids: Vec::new(),
        }
    }
}

impl Module for Rewrite {
    fn name(&self) -> &'static str {
        "rewrite"
    }

    fn load(&mut self, core: &Arc<BrokerCore>) -> Result<(), String> {
        let rules = self.rules.clone();
        self.ids
            .push(core.hooks.add_message_publish(PRIORITY, move |message| {
                match rules.rewrite(&message.topic) {
                    Some(topic) if validate_name(&topic).is_ok() => {
                        let mut message = message.clone();
                        message.topic = topic.into();
                        PublishAction::Rewrite(message)
                    }
                    Some(topic) => {
                        log::warn!(
                            "rewrite: {} -> {:?} is not a valid topic name; not rewritten",
                            message.topic,
                            topic
                        );
                        PublishAction::Continue
                    }
                    None => PublishAction::Continue,
                }
            }));
        let rules = self.rules.clone();
        self.ids
            .push(core.hooks.add_client_subscribe(PRIORITY, move |_, table| {
                for entry in table.iter_mut() {
                    if let Some(filter) = rewrite_filter(&rules, &entry.filter) {
                        entry.filter = filter;
                    }
                }
                Flow::Continue
            }));
        let rules = self.rules.clone();
        self.ids.push(
            core.hooks
                .add_client_unsubscribe(PRIORITY, move |_, filters| {
                    for filter in filters.iter_mut() {
                        if let Some(new) = rewrite_filter(&rules, filter) {
                            *filter = new;
                        }
                    }
                    Flow::Continue
                }),
        );
        Ok(())
    }

    fn unload(&mut self, core: &BrokerCore) {
        for id in self.ids.drain(..) {
            core.hooks.remove(id);
        }
    }
}

/// A rewritten topic filter, if it is one.
fn rewrite_filter(rules: &Rules, filter: &str) -> Option<ByteString> {
    let new = rules.rewrite(filter)?;
    validate_filter(&new).ok()?;
    Some(new.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Rewrite as RewriteCfg, RewriteRule};

    fn rules(list: &[(&str, &[(&str, &str)])]) -> Rules {
        Rules::new(&RewriteConfig {
            enable: true,
            rules: list
                .iter()
                .map(|(filter, rewrites)| RewriteRule {
                    filter: filter.to_string(),
                    rewrites: rewrites
                        .iter()
                        .map(|(regex, dest)| RewriteCfg {
                            regex: regex.to_string(),
                            dest: dest.to_string(),
                        })
                        .collect(),
                })
                .collect(),
        })
    }

    #[test]
    fn emqttd_example_rules() {
        // etc/rewrite.config of emqttd 1.x
        let r = rules(&[("x/#", &[("^x/y/(.+)$", "z/y/$1"), ("^x/(.+)$", "y/$1")])]);
        assert_eq!(r.rewrite("x/y/1").as_deref(), Some("z/y/1"));
        assert_eq!(r.rewrite("x/a/b").as_deref(), Some("y/a/b"));
        assert_eq!(
            r.rewrite("x").as_deref(),
            None,
            "filter matches, no regex does"
        );
        assert_eq!(r.rewrite("w/y/1"), None, "filter does not match");
        // a subscription filter is matched level by level like a topic
        assert_eq!(r.rewrite("x/y/+").as_deref(), Some("z/y/+"));
    }

    #[test]
    fn the_first_matching_rule_applies_even_if_its_regexes_do_not() {
        let r = rules(&[("a/#", &[("^a/b$", "c")]), ("a/+", &[("^a/(.*)$", "d/$1")])]);
        assert_eq!(r.rewrite("a/b").as_deref(), Some("c"));
        assert_eq!(r.rewrite("a/x"), None);
    }

    #[test]
    fn dest_expansion() {
        let regex = Regex::new("^(a)/(b)?/?(c)$").unwrap();
        let caps = regex.captures("a/c").unwrap();
        assert_eq!(expand_dest("$1-$2-$3", &caps), "a--c");
        assert_eq!(expand_dest("$1x$", &caps), "ax$");
        assert_eq!(expand_dest("$$1", &caps), "$a");
        assert_eq!(expand_dest("$9", &caps), "");
        let many = Regex::new("^(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)$").unwrap();
        let caps = many.captures("abcdefghijk").unwrap();
        assert_eq!(expand_dest("$10/$11/$1", &caps), "j/k/a");
    }
}
