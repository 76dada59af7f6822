//! Reader of emqttd's `acl.conf`: Erlang terms, each ended by a `.`, `%` comments
//! (replaces the `file:consult/1` call of emqttd_acl_internal.erl). Every error names the line
//! (and column) it was found on.
//!
//! Pure: no I/O beyond the text given; [`parse_rules`] turns the text into [`Rule`]s.

use super::acl_rule::{Access, Permission, Rule, TopicRule, Who};
use std::fmt;

/// A syntax or rule error in an ACL file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclSyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for AclSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for AclSyntaxError {}

/// An Erlang term, as far as acl.conf needs them.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Atom(String),
    Str(String),
    Int(i64),
    Tuple(Vec<Spanned>),
    List(Vec<Spanned>),
}

/// A term with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub term: Term,
    pub line: usize,
    pub column: usize,
}

impl Spanned {
    fn error(&self, message: impl Into<String>) -> AclSyntaxError {
        AclSyntaxError {
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }

    fn atom(&self) -> Option<&str> {
        match &self.term {
            Term::Atom(a) => Some(a),
            _ => None,
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, items: &[Spanned]) -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}", item.term)?;
            }
            Ok(())
        }
        match self {
            Term::Atom(a) if is_plain_atom(a) => f.write_str(a),
            Term::Atom(a) => write!(f, "'{}'", a),
            Term::Str(s) => write!(f, "{:?}", s),
            Term::Int(i) => write!(f, "{}", i),
            Term::Tuple(items) => {
                f.write_str("{")?;
                list(f, items)?;
                f.write_str("}")
            }
            Term::List(items) => {
                f.write_str("[")?;
                list(f, items)?;
                f.write_str("]")
            }
        }
    }
}

fn is_plain_atom(a: &str) -> bool {
    a.starts_with(|c: char| c.is_ascii_lowercase())
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            chars: text.chars().peekable(),
            line: 1,
            column: 1,
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error(&self, message: impl Into<String>) -> AclSyntaxError {
        AclSyntaxError {
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }

    /// Skip whitespace and `%` comments; `false` at the end of the text.
    fn skip_blank(&mut self) -> bool {
        while let Some(c) = self.peek() {
            if c == '%' {
                while let Some(c) = self.peek() {
                    if c == '\n' {
                        break;
                    }
                    self.bump();
                }
            } else if c.is_whitespace() {
                self.bump();
            } else {
                return true;
            }
        }
        false
    }

    fn expect_char(&mut self, want: char, what: &str) -> Result<(), AclSyntaxError> {
        self.skip_blank();
        match self.peek() {
            Some(c) if c == want => {
                self.bump();
                Ok(())
            }
            Some(c) => Err(self.error(format!("expected {}, found '{}'", what, c))),
            None => Err(self.error(format!("expected {}, found the end of the file", what))),
        }
    }

    /// One term.
    fn term(&mut self) -> Result<Spanned, AclSyntaxError> {
        if !self.skip_blank() {
            return Err(self.error("expected a term, found the end of the file"));
        }
        let (line, column) = (self.line, self.column);
        let spanned = |term| Spanned { term, line, column };
        let c = self.peek().unwrap_or(' ');
        match c {
            '{' => {
                self.bump();
                Ok(spanned(Term::Tuple(self.items('}')?)))
            }
            '[' => {
                self.bump();
                Ok(spanned(Term::List(self.items(']')?)))
            }
            '"' => Ok(spanned(Term::Str(self.quoted('"')?))),
            '\'' => Ok(spanned(Term::Atom(self.quoted('\'')?))),
            '<' => {
                // <<"binary">>: the same as the string for acl.conf's purposes.
                self.bump();
                self.expect_char('<', "'<<\"...\">>'")?;
                self.skip_blank();
                if self.peek() != Some('"') {
                    return Err(self.error("expected a string inside '<<...>>'"));
                }
                let text = self.quoted('"')?;
                self.expect_char('>', "'>>'")?;
                self.expect_char('>', "'>>'")?;
                Ok(spanned(Term::Str(text)))
            }
            c if c.is_ascii_lowercase() => {
                let mut atom = String::new();
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '@' {
                        atom.push(c);
                        self.bump();
                    } else {
                        break;
                    }
                }
                Ok(spanned(Term::Atom(atom)))
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut digits = String::new();
                digits.push(c);
                self.bump();
                while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                    digits.push(c);
                    self.bump();
                }
                digits
                    .parse()
                    .map(|i| spanned(Term::Int(i)))
                    .map_err(|_| AclSyntaxError {
                        line,
                        column,
                        message: format!("invalid number {:?}", digits),
                    })
            }
            c if c.is_ascii_uppercase() || c == '_' => Err(self.error(format!(
                "unexpected variable name starting with '{}' (atoms are lower case; quote it as '...')",
                c
            ))),
            c => Err(self.error(format!("unexpected '{}'", c))),
        }
    }

    /// Comma-separated terms up to `close`.
    fn items(&mut self, close: char) -> Result<Vec<Spanned>, AclSyntaxError> {
        let mut items = Vec::new();
        self.skip_blank();
        if self.peek() == Some(close) {
            self.bump();
            return Ok(items);
        }
        loop {
            items.push(self.term()?);
            self.skip_blank();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(c) if c == close => {
                    self.bump();
                    return Ok(items);
                }
                Some(c) => {
                    return Err(self.error(format!("expected ',' or '{}', found '{}'", close, c)))
                }
                None => {
                    return Err(self.error(format!(
                        "expected ',' or '{}', found the end of the file",
                        close
                    )))
                }
            }
        }
    }

    /// A string or quoted atom; the opening quote is next.
    fn quoted(&mut self, quote: char) -> Result<String, AclSyntaxError> {
        let (line, column) = (self.line, self.column);
        self.bump();
        let mut text = String::new();
        loop {
            match self.bump() {
                Some(c) if c == quote => return Ok(text),
                Some('\\') => match self.bump() {
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    Some('s') => text.push(' '),
                    Some(c) => text.push(c),
                    None => break,
                },
                Some(c) => text.push(c),
                None => break,
            }
        }
        Err(AclSyntaxError {
            line,
            column,
            message: format!(
                "unterminated {}",
                if quote == '"' { "string" } else { "atom" }
            ),
        })
    }
}

/// Every top-level term of `text`, each ended by `.`.
pub fn parse_terms(text: &str) -> Result<Vec<Spanned>, AclSyntaxError> {
    let mut lexer = Lexer::new(text);
    let mut terms = Vec::new();
    while lexer.skip_blank() {
        let term = lexer.term()?;
        lexer.skip_blank();
        match lexer.peek() {
            Some('.') => {
                lexer.bump();
            }
            Some(c) => {
                return Err(lexer.error(format!(
                    "expected '.' after the term that starts on line {}, found '{}'",
                    term.line, c
                )))
            }
            None => {
                return Err(lexer.error(format!(
                    "expected '.' after the term that starts on line {}, found the end of the file",
                    term.line
                )))
            }
        }
        terms.push(term);
    }
    Ok(terms)
}

/// The rules of an acl.conf text, in file order.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, AclSyntaxError> {
    parse_terms(text)?.iter().map(rule).collect()
}

const RULE_FORMS: &str =
    "expected {allow, all}, {deny, all} or {allow | deny, Who, subscribe | publish | pubsub, [Topics]}";

/// One rule from its term.
pub fn rule(term: &Spanned) -> Result<Rule, AclSyntaxError> {
    let Term::Tuple(items) = &term.term else {
        return Err(term.error(format!("{}, found {}", RULE_FORMS, term.term)));
    };
    let permission = |item: &Spanned| match item.atom() {
        Some("allow") => Ok(Permission::Allow),
        Some("deny") => Ok(Permission::Deny),
        _ => Err(item.error(format!("expected allow or deny, found {}", item.term))),
    };
    match items.as_slice() {
        [p, all] if all.atom() == Some("all") => Ok(Rule::All(permission(p)?, term.line)),
        [p, who, access, topics] => Ok(Rule::Match {
            permission: permission(p)?,
            who: parse_who(who)?,
            access: parse_access(access)?,
            topics: parse_topics(topics)?,
            line: term.line,
        }),
        _ => Err(term.error(format!("{}, found {}", RULE_FORMS, term.term))),
    }
}

const WHO_FORMS: &str = "expected all, {user, \"name\"}, {client, \"id\"}, {user, all}, {client, all}, {ipaddr, \"CIDR\"}, {'and', [...]} or {'or', [...]}";

fn parse_who(term: &Spanned) -> Result<Who, AclSyntaxError> {
    if term.atom() == Some("all") {
        return Ok(Who::All);
    }
    let bad = || term.error(format!("{}, found {}", WHO_FORMS, term.term));
    let Term::Tuple(items) = &term.term else {
        return Err(bad());
    };
    let [kind, value] = items.as_slice() else {
        return Err(bad());
    };
    let string = |value: &Spanned, what: &str| match &value.term {
        Term::Str(s) => Ok(s.clone()),
        other => Err(value.error(format!("expected {} as a string, found {}", what, other))),
    };
    match (kind.atom(), &value.term) {
        (Some("user"), Term::Atom(a)) if a == "all" => Ok(Who::AnyUser),
        (Some("client"), Term::Atom(a)) if a == "all" => Ok(Who::AnyClient),
        (Some("user"), _) => Ok(Who::User(string(value, "a username")?)),
        (Some("client"), _) => Ok(Who::Client(string(value, "a client id")?)),
        (Some("ipaddr"), _) => {
            let text = string(value, "an IP address or CIDR")?;
            super::acl_rule::Cidr::parse(&text)
                .map(Who::IpAddr)
                .map_err(|why| value.error(why))
        }
        (Some(op @ ("and" | "or")), Term::List(conds)) => {
            let conds = conds.iter().map(parse_who).collect::<Result<Vec<_>, _>>()?;
            Ok(if op == "and" {
                Who::And(conds)
            } else {
                Who::Or(conds)
            })
        }
        (Some("and" | "or"), other) => {
            Err(value.error(format!("expected a list of conditions, found {}", other)))
        }
        _ => Err(bad()),
    }
}

fn parse_access(term: &Spanned) -> Result<Access, AclSyntaxError> {
    match term.atom() {
        Some("subscribe") => Ok(Access::Subscribe),
        Some("publish") => Ok(Access::Publish),
        Some("pubsub") => Ok(Access::PubSub),
        _ => Err(term.error(format!(
            "expected subscribe, publish or pubsub, found {}",
            term.term
        ))),
    }
}

fn parse_topics(term: &Spanned) -> Result<Vec<TopicRule>, AclSyntaxError> {
    match &term.term {
        Term::List(items) => items.iter().map(parse_topic).collect(),
        // A single topic: a convenience emqttd also has for binaries.
        Term::Str(_) | Term::Tuple(_) => Ok(vec![parse_topic(term)?]),
        other => Err(term.error(format!("expected a list of topics, found {}", other))),
    }
}

fn parse_topic(term: &Spanned) -> Result<TopicRule, AclSyntaxError> {
    let topic = match &term.term {
        Term::Str(s) => TopicRule::filter(s),
        Term::Tuple(items) => match items.as_slice() {
            [eq, value] if eq.atom() == Some("eq") => match &value.term {
                Term::Str(s) => TopicRule::Eq(s.clone()),
                other => {
                    return Err(value.error(format!("expected a topic string, found {}", other)))
                }
            },
            _ => {
                return Err(term.error(format!(
                    "expected \"topic/filter\" or {{eq, \"topic\"}}, found {}",
                    term.term
                )))
            }
        },
        other => {
            return Err(term.error(format!(
                "expected \"topic/filter\" or {{eq, \"topic\"}}, found {}",
                other
            )))
        }
    };
    if let TopicRule::Filter { text, .. } = &topic {
        if let Err(error) = crate::mqtt::topic::validate_filter(text) {
            return Err(term.error(format!("invalid topic filter {:?}: {}", text, error)));
        }
    }
    Ok(topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = r##"
%% comment
{allow, {user, "dashboard"}, subscribe, ["$SYS/#"]}.
{allow, {ipaddr, "127.0.0.1"}, pubsub, ["$SYS/#", "#"]}.
{deny, all, subscribe, ["$SYS/#", {eq, "#"}]}.   % trailing comment
{allow, all}.
"##;

    #[test]
    fn parses_the_default_file() {
        let rules = parse_rules(DEFAULT).unwrap();
        assert_eq!(rules.len(), 4);
        assert_eq!(rules[0].line(), 3);
        assert_eq!(rules[3], Rule::All(Permission::Allow, 6));
        match &rules[2] {
            Rule::Match {
                permission,
                who,
                access,
                topics,
                ..
            } => {
                assert_eq!(*permission, Permission::Deny);
                assert_eq!(*who, Who::All);
                assert_eq!(*access, Access::Subscribe);
                assert_eq!(topics[1], TopicRule::Eq("#".into()));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn terms_may_span_lines_and_share_them() {
        let text = "{allow,\n  {'and', [{user, \"u\"}, {client, <<\"c\">>}]},\n publish, [\"a\"]}. {deny, all}.";
        let rules = parse_rules(text).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].line(), 3);
    }

    fn err(text: &str) -> AclSyntaxError {
        parse_rules(text).unwrap_err()
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = err("{allow, all}.\n{allow, all}\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("expected '.'"), "{e}");

        let e = err("{allow, all}.\n\n{permit, all}.");
        assert_eq!((e.line, e.column), (3, 2), "{e}");
        assert!(e.message.contains("expected allow or deny"), "{e}");

        let e = err("{allow, {user, dashboard}, subscribe, [\"a\"]}.");
        assert!(e.message.contains("a username as a string"), "{e}");

        let e = err("{allow, all, subscribe, [\"a/#/b\"]}.");
        assert!(e.message.contains("invalid topic filter"), "{e}");

        let e = err("%x\n{allow, {ipaddr, \"10.0.0.0/33\"}, pubsub, [\"#\"]}.");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("prefix"), "{e}");

        let e = err("{allow, all, pubsub, [\"a\"]");
        assert!(e.message.contains("end of the file"), "{e}");

        let e = err("{allow, all, read, [\"a\"]}.");
        assert!(e.message.contains("subscribe, publish or pubsub"), "{e}");

        let e = err("{allow, \"all\", pubsub, [\"a\"]}.\n");
        assert!(e.message.contains("expected all"), "{e}");

        let e = err("\n\n  \"unterminated");
        assert_eq!((e.line, e.column), (3, 3), "{e}");

        let e = err("{allow, Who, pubsub, []}.");
        assert!(e.message.contains("variable"), "{e}");
    }

    #[test]
    fn empty_and_comment_only_files_have_no_rules() {
        assert!(parse_rules("").unwrap().is_empty());
        assert!(parse_rules("% nothing\n%% here\n").unwrap().is_empty());
    }

    #[test]
    fn strings_unescape() {
        let terms = parse_terms(r#""a\"b\\c"."#).unwrap();
        assert_eq!(terms[0].term, Term::Str("a\"b\\c".into()));
    }
}
