//! The retained-message index: one value per concrete topic name in a tree of topic levels
//! (replaces the table scan of emqttd_retainer).
//!
//! A SUBSCRIBE looks up the retained messages its filter matches by walking the tree along
//! the filter: a literal level follows one child, `+` every child, `#` the whole subtree
//! below. Only matching branches are visited, never every retained message. An exact topic
//! costs one lookup per level. Each node holding a value keeps its full topic next to it, so
//! the walk hands out `&str` topics without building strings. Every walk is iterative, so a
//! topic with thousands of levels cannot overflow the stack.

use std::collections::HashMap;
use std::mem;

/// Children of a node live in a sorted `Vec` up to this many, in a `HashMap` above.
const FEW_CHILDREN: usize = 32;

/// Retained values keyed by topic name, searchable by topic filter.
pub struct RetainedIndex<V> {
    root: Node<V>,
    len: usize,
}

impl<V> Default for RetainedIndex<V> {
    fn default() -> Self {
        RetainedIndex::new()
    }
}

impl<V> std::fmt::Debug for RetainedIndex<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetainedIndex")
            .field("len", &self.len)
            .finish()
    }
}

impl<V> RetainedIndex<V> {
    pub fn new() -> Self {
        RetainedIndex {
            root: Node::new(),
            len: 0,
        }
    }

    /// Store `value` as the retained value of `topic`; returns the one it replaces.
    pub fn insert(&mut self, topic: &str, value: V) -> Option<V> {
        let node = self.root.descend_or_create(topic);
        if let Some(entry) = node.entry.as_deref_mut() {
            return Some(mem::replace(&mut entry.value, value));
        }
        let topic = topic.into();
        node.entry = Some(Box::new(Entry { topic, value }));
        self.len += 1;
        None
    }

    /// Remove the retained value of `topic`, pruning nodes left empty.
    pub fn remove(&mut self, topic: &str) -> Option<V> {
        let node = self.root.descend_mut(topic)?;
        let entry = node.entry.take()?;
        let emptied = node.children.len() == 0;
        self.len -= 1;
        if emptied {
            self.prune(topic);
        }
        Some(entry.value)
    }

    /// The retained value of exactly `topic`.
    pub fn get(&self, topic: &str) -> Option<&V> {
        let entry = self.root.descend(topic)?.entry.as_deref()?;
        Some(&entry.value)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Visit every retained (topic, value) whose topic matches `filter`. Wildcards in the
    /// first level do not match topics starting with `$` (MQTT-4.7.2-1).
    pub fn for_each_match<F: FnMut(&str, &V)>(&self, filter: &str, mut visit: F) {
        self.walk_matches(filter, &mut visit);
    }

    /// Visit every retained (topic, value), in no particular order (not hot).
    pub fn for_each<F: FnMut(&str, &V)>(&self, mut visit: F) {
        self.root.for_each_below(false, &mut visit);
    }

    /// The matching walk; returns how many nodes it looked at.
    fn walk_matches<F: FnMut(&str, &V)>(&self, filter: &str, visit: &mut F) -> usize {
        let mut seen = 0;
        let mut stack = vec![(&self.root, Some(filter))];
        while let Some((node, rest)) = stack.pop() {
            seen += 1;
            let Some(rest) = rest else {
                node.visit_entry(visit);
                continue;
            };
            let at_root = std::ptr::eq(node, &self.root);
            let (level, tail) = split_first(rest);
            match level {
                "#" => seen += node.for_each_below(at_root, visit),
                "+" => node.children.for_each(|label, child| {
                    if !(at_root && label.starts_with('$')) {
                        stack.push((child, tail));
                    }
                }),
                _ => stack.extend(node.children.get(level).map(|child| (child, tail))),
            }
        }
        seen
    }

    /// Cut the chain of nodes left empty at the end of `topic`'s path.
    fn prune(&mut self, topic: &str) {
        // The deepest node on the path holding more than the path: the root at least.
        let (mut keeper, mut node) = (0, &self.root);
        for (depth, level) in topic.split('/').enumerate() {
            if depth > 0 && (node.entry.is_some() || node.children.len() > 1) {
                keeper = depth;
            }
            let Some(child) = node.children.get(level) else {
                return;
            };
            node = child;
        }
        let mut levels = topic.split('/');
        let mut node = &mut self.root;
        for level in levels.by_ref().take(keeper) {
            node = node
                .children
                .get_mut(level)
                .expect("path walked just before");
        }
        if let Some(level) = levels.next() {
            node.children.remove(level);
        }
    }
}

/// Split off the first level: `("a", Some("b/c"))` for `"a/b/c"`, `("a", None)` for `"a"`.
fn split_first(rest: &str) -> (&str, Option<&str>) {
    match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    }
}

struct Entry<V> {
    topic: Box<str>,
    value: V,
}

struct Node<V> {
    entry: Option<Box<Entry<V>>>,
    children: Children<V>,
}

impl<V> Drop for Node<V> {
    /// Tear the subtree down iteratively: the recursive drop of a topic with thousands of
    /// levels could overflow the stack.
    fn drop(&mut self) {
        let mut stack = Vec::new();
        self.children.drain_into(&mut stack);
        while let Some(mut node) = stack.pop() {
            node.children.drain_into(&mut stack);
        }
    }
}

impl<V> Node<V> {
    fn new() -> Self {
        Node {
            entry: None,
            children: Children::Few(Vec::new()),
        }
    }

    fn visit_entry<F: FnMut(&str, &V)>(&self, visit: &mut F) {
        if let Some(entry) = self.entry.as_deref() {
            visit(&entry.topic, &entry.value);
        }
    }

    /// Visit this node's entry and every entry below it (for `#`); with `skip_dollar`,
    /// skip children whose level starts with `$`. Returns how many nodes it looked at.
    fn for_each_below<F: FnMut(&str, &V)>(&self, skip_dollar: bool, visit: &mut F) -> usize {
        let mut seen = 0;
        self.visit_entry(visit);
        let mut stack = Vec::new();
        self.children.for_each(|label, child| {
            if !(skip_dollar && label.starts_with('$')) {
                stack.push(child);
            }
        });
        while let Some(node) = stack.pop() {
            seen += 1;
            node.visit_entry(visit);
            node.children.for_each(|_, child| stack.push(child));
        }
        seen
    }

    fn descend(&self, topic: &str) -> Option<&Node<V>> {
        let mut node = self;
        for level in topic.split('/') {
            node = node.children.get(level)?;
        }
        Some(node)
    }

    fn descend_mut(&mut self, topic: &str) -> Option<&mut Node<V>> {
        let mut node = self;
        for level in topic.split('/') {
            node = node.children.get_mut(level)?;
        }
        Some(node)
    }

    fn descend_or_create(&mut self, topic: &str) -> &mut Node<V> {
        let mut node = self;
        for level in topic.split('/') {
            node = node.children.get_or_create(level);
        }
        node
    }
}

enum Children<V> {
    Few(Vec<(Box<str>, Node<V>)>),
    #[allow(clippy::box_collection)] // boxed, a wide node's map keeps every node small
    Many(Box<HashMap<Box<str>, Node<V>>>),
}

impl<V> Children<V> {
    fn len(&self) -> usize {
        match self {
            Children::Few(v) => v.len(),
            Children::Many(m) => m.len(),
        }
    }

    fn search(v: &[(Box<str>, Node<V>)], level: &str) -> Result<usize, usize> {
        v.binary_search_by(|(label, _)| (**label).cmp(level))
    }

    fn get(&self, level: &str) -> Option<&Node<V>> {
        match self {
            Children::Few(v) => Some(&v[Self::search(v, level).ok()?].1),
            Children::Many(m) => m.get(level),
        }
    }

    fn get_mut(&mut self, level: &str) -> Option<&mut Node<V>> {
        match self {
            Children::Few(v) => {
                let i = Self::search(v, level).ok()?;
                Some(&mut v[i].1)
            }
            Children::Many(m) => m.get_mut(level),
        }
    }

    fn get_or_create(&mut self, level: &str) -> &mut Node<V> {
        if let Children::Few(v) = self {
            if v.len() >= FEW_CHILDREN && Self::search(v, level).is_err() {
                *self = Children::Many(Box::new(mem::take(v).into_iter().collect()));
            }
        }
        match self {
            Children::Few(v) => {
                let i = match Self::search(v, level) {
                    Ok(i) => i,
                    Err(i) => {
                        if v.len() == v.capacity() && v.len() < 4 {
                            v.reserve_exact(1); // most nodes have one or two children
                        }
                        v.insert(i, (level.into(), Node::new()));
                        i
                    }
                };
                &mut v[i].1
            }
            Children::Many(m) => m.entry(level.into()).or_insert_with(Node::new),
        }
    }

    fn remove(&mut self, level: &str) -> Option<Node<V>> {
        match self {
            Children::Few(v) => {
                let (_, node) = v.remove(Self::search(v, level).ok()?);
                if v.len() * 4 <= v.capacity() {
                    v.shrink_to_fit();
                }
                Some(node)
            }
            Children::Many(m) => {
                let node = m.remove(level)?;
                if m.len() < FEW_CHILDREN / 2 {
                    let mut v: Vec<_> = m.drain().collect();
                    v.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
                    *self = Children::Few(v);
                } else if m.len() * 4 <= m.capacity() {
                    m.shrink_to_fit();
                }
                Some(node)
            }
        }
    }

    fn for_each<'a, F: FnMut(&'a str, &'a Node<V>)>(&'a self, mut f: F) {
        match self {
            Children::Few(v) => v.iter().for_each(|(l, n)| f(l, n)),
            Children::Many(m) => m.iter().for_each(|(l, n)| f(l, n)),
        }
    }

    fn drain_into(&mut self, out: &mut Vec<Node<V>>) {
        match self {
            Children::Few(v) => out.extend(v.drain(..).map(|(_, n)| n)),
            Children::Many(m) => out.extend(m.drain().map(|(_, n)| n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::topic;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn index_of(topics: &[&str]) -> RetainedIndex<usize> {
        let mut index = RetainedIndex::new();
        for (i, topic) in topics.iter().enumerate() {
            assert_eq!(index.insert(topic, i), None);
        }
        index
    }

    fn matched(index: &RetainedIndex<usize>, filter: &str) -> Vec<(String, usize)> {
        let mut seen = Vec::new();
        index.for_each_match(filter, |topic, value| {
            seen.push((topic.to_string(), *value))
        });
        seen.sort();
        seen
    }

    fn topics(index: &RetainedIndex<usize>, filter: &str) -> Vec<String> {
        matched(index, filter).into_iter().map(|(t, _)| t).collect()
    }

    impl<V> RetainedIndex<V> {
        fn node_count(&self) -> usize {
            let mut count = 0;
            let mut stack = vec![&self.root];
            while let Some(node) = stack.pop() {
                count += 1;
                node.children.for_each(|_, child| stack.push(child));
            }
            count
        }

        /// No node but the root is empty, and the length is right.
        fn check(&self) {
            let mut entries = 0;
            let mut stack = vec![(&self.root, true)];
            while let Some((node, root)) = stack.pop() {
                assert!(root || node.entry.is_some() || node.children.len() > 0);
                entries += usize::from(node.entry.is_some());
                node.children
                    .for_each(|_, child| stack.push((child, false)));
            }
            assert_eq!(entries, self.len());
        }
    }

    const SPORT: [&str; 8] = [
        "sport",
        "sport/tennis",
        "sport/tennis/player1",
        "sport/tennis/player1/ranking",
        "sport/tennis/player2",
        "sport/golf",
        "/finance",
        "$SYS/broker/uptime",
    ];

    #[test]
    fn insert_get_replace_remove() {
        let mut index = RetainedIndex::new();
        assert!(index.is_empty());
        assert_eq!(index.insert("a/b", 1), None);
        assert_eq!(index.insert("a/b", 2), Some(1));
        assert_eq!(index.insert("a", 3), None);
        assert_eq!(index.len(), 2);
        assert_eq!(index.get("a/b"), Some(&2));
        assert_eq!(index.get("a"), Some(&3));
        assert_eq!(index.get("a/b/c"), None);
        assert_eq!(index.get("a/"), None);
        assert_eq!(index.get("b"), None);
        assert_eq!(index.remove("a/b/c"), None);
        assert_eq!(index.remove("a/b"), Some(2));
        assert_eq!(index.remove("a/b"), None);
        assert_eq!(index.get("a"), Some(&3));
        assert_eq!(index.len(), 1);
        index.check();
        assert!(!index.is_empty());
    }

    #[test]
    fn exact_filters() {
        let index = index_of(&SPORT);
        assert_eq!(topics(&index, "sport/tennis"), vec!["sport/tennis"]);
        assert_eq!(topics(&index, "/finance"), vec!["/finance"]);
        assert!(topics(&index, "finance").is_empty());
        assert!(topics(&index, "sport/tennis/player3").is_empty());
        assert_eq!(
            matched(&index, "sport/golf"),
            vec![("sport/golf".into(), 5)]
        );
    }

    #[test]
    fn single_level_wildcard() {
        let index = index_of(&SPORT);
        assert_eq!(
            topics(&index, "sport/tennis/+"),
            vec!["sport/tennis/player1", "sport/tennis/player2"]
        );
        assert_eq!(
            topics(&index, "sport/+"),
            vec!["sport/golf", "sport/tennis"]
        );
        assert_eq!(topics(&index, "+"), vec!["sport"]);
        assert_eq!(
            topics(&index, "+/+"),
            vec!["/finance", "sport/golf", "sport/tennis"]
        );
        assert_eq!(topics(&index, "/+"), vec!["/finance"]);
        assert_eq!(
            topics(&index, "+/tennis/+/ranking"),
            vec!["sport/tennis/player1/ranking"]
        );
    }

    #[test]
    fn multi_level_wildcard_includes_the_parent() {
        let index = index_of(&SPORT);
        assert_eq!(
            topics(&index, "sport/tennis/player1/#"),
            vec!["sport/tennis/player1", "sport/tennis/player1/ranking"]
        );
        assert_eq!(topics(&index, "sport/#").len(), 6);
        assert_eq!(topics(&index, "sport/golf/#"), vec!["sport/golf"]);
        assert_eq!(topics(&index, "#").len(), 7);
        assert_eq!(topics(&index, "+/tennis/#").len(), 4);
        assert!(topics(&index, "golf/#").is_empty());
    }

    #[test]
    fn dollar_topics_need_a_literal_first_level() {
        let index = index_of(&SPORT);
        assert!(!topics(&index, "#").contains(&"$SYS/broker/uptime".to_string()));
        assert!(topics(&index, "+/broker/uptime").is_empty());
        assert!(topics(&index, "+/#").iter().all(|t| !t.starts_with('$')));
        assert_eq!(topics(&index, "$SYS/#"), vec!["$SYS/broker/uptime"]);
        assert_eq!(topics(&index, "$SYS/+/uptime"), vec!["$SYS/broker/uptime"]);
        let nested = index_of(&["a/$b", "a/$b/c"]);
        assert_eq!(topics(&nested, "a/+"), vec!["a/$b"]);
        assert_eq!(topics(&nested, "a/#"), vec!["a/$b", "a/$b/c"]);
    }

    #[test]
    fn removal_prunes() {
        let mut index = index_of(&SPORT);
        let base = index.node_count();
        index.insert("x/y/z/w", 9);
        assert_eq!(index.node_count(), base + 4);
        index.remove("x/y/z/w");
        assert_eq!(index.node_count(), base);
        index.remove("sport");
        assert_eq!(index.node_count(), base, "'sport' still leads somewhere");
        for topic in SPORT.iter().skip(1) {
            assert!(index.remove(topic).is_some());
            index.check();
        }
        assert_eq!(index.node_count(), 1);
        assert!(index.is_empty());
        assert!(topics(&index, "#").is_empty());
    }

    #[test]
    fn for_each_visits_everything() {
        let index = index_of(&SPORT);
        let mut all = Vec::new();
        index.for_each(|topic, value| all.push((topic.to_string(), *value)));
        all.sort_by_key(|(_, value)| *value);
        let want: Vec<_> = SPORT
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i))
            .collect();
        assert_eq!(all, want);
    }

    #[test]
    fn a_hundred_thousand_sensors() {
        let mut index = RetainedIndex::new();
        for i in 0..100_000 {
            index.insert(&format!("sensor/{i}/temp"), i);
        }
        index.insert("sensor/42/humidity", 7);
        index.insert("other/1/temp", 8);
        assert_eq!(index.len(), 100_002);
        assert_eq!(index.get("sensor/99999/temp"), Some(&99_999));
        assert_eq!(
            topics(&index, "sensor/12345/temp"),
            vec!["sensor/12345/temp"]
        );

        let mut visit = |_: &str, _: &usize| {};
        let looked_at = index.walk_matches("sensor/12345/temp", &mut visit);
        assert!(looked_at <= 4, "exact filter looked at {looked_at} nodes");
        let looked_at = index.walk_matches("sensor/42/#", &mut visit);
        assert!(looked_at <= 6, "sensor/42/# looked at {looked_at} nodes");
        assert_eq!(
            topics(&index, "sensor/42/#"),
            vec!["sensor/42/humidity", "sensor/42/temp"]
        );

        assert_eq!(
            topics(&index, "+/1/temp"),
            vec!["other/1/temp", "sensor/1/temp"]
        );
        let mut count = 0;
        index.for_each_match("#", |_, _| count += 1);
        assert_eq!(count, 100_002);
        count = 0;
        index.for_each_match("sensor/+/temp", |_, _| count += 1);
        assert_eq!(count, 100_000);
        for i in 0..100_000 {
            assert_eq!(index.remove(&format!("sensor/{i}/temp")), Some(i));
        }
        assert_eq!(index.len(), 2);
        assert_eq!(index.node_count(), 7);
        index.check();
    }

    #[test]
    fn deep_topics_do_not_overflow_the_stack() {
        let topic = vec!["x"; 30_000].join("/");
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let mut index = RetainedIndex::new();
                index.insert(&topic, 1);
                index.insert(&format!("{topic}/y"), 2);
                assert_eq!(index.get(&topic), Some(&1));
                assert_eq!(topics(&index, "#").len(), 2);
                assert_eq!(topics(&index, &format!("{topic}/+")).len(), 1);
                assert_eq!(index.remove(&format!("{topic}/y")), Some(2));
                index.insert("x/z", 3);
                assert_eq!(index.remove(&topic), Some(1));
                assert_eq!(index.node_count(), 3);
                index.insert(&topic, 1);
                drop(index);
            })
            .unwrap();
        handle.join().unwrap();
    }

    #[test]
    fn wide_nodes_switch_to_a_map_and_back() {
        let mut index = RetainedIndex::new();
        for i in 0..200 {
            index.insert(&format!("w/{i}"), i);
        }
        assert!(matches!(
            index.root.descend("w").unwrap().children,
            Children::Many(_)
        ));
        assert_eq!(topics(&index, "w/+").len(), 200);
        for i in 10..200 {
            index.remove(&format!("w/{i}"));
        }
        assert!(matches!(
            index.root.descend("w").unwrap().children,
            Children::Few(_)
        ));
        assert_eq!(topics(&index, "w/#").len(), 10);
        assert_eq!(index.get("w/5"), Some(&5));
        index.check();
    }

    fn name() -> impl Strategy<Value = String> {
        let level = prop::sample::select(vec!["a", "b", "ab", "", "$s"]);
        prop::collection::vec(level, 1..5).prop_map(|levels| match levels.join("/") {
            name if name.is_empty() => "a".to_string(),
            name => name,
        })
    }

    fn filter() -> impl Strategy<Value = String> {
        let level = prop::sample::select(vec!["a", "b", "ab", "", "$s", "+", "+"]);
        (prop::collection::vec(level, 1..5), any::<bool>()).prop_map(|(mut levels, hash)| {
            if hash {
                levels.push("#");
            }
            match levels.join("/") {
                filter if filter.is_empty() => "#".to_string(),
                filter => filter,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn agrees_with_topic_matches(
            ops in prop::collection::vec((name(), any::<bool>()), 1..60),
            filters in prop::collection::vec(filter(), 1..20),
        ) {
            let mut index = RetainedIndex::new();
            let mut model = BTreeMap::new();
            for (i, (name, remove)) in ops.iter().enumerate() {
                prop_assert!(topic::validate_name(name).is_ok());
                if *remove {
                    prop_assert_eq!(index.remove(name), model.remove(name));
                } else {
                    prop_assert_eq!(index.insert(name, i), model.insert(name.clone(), i));
                }
                prop_assert_eq!(index.get(name), model.get(name));
                index.check();
            }
            for filter in &filters {
                prop_assert!(topic::validate_filter(filter).is_ok());
                let want: Vec<(String, usize)> = model
                    .iter()
                    .filter(|(name, _)| topic::matches(filter, name))
                    .map(|(name, value)| (name.clone(), *value))
                    .collect();
                prop_assert_eq!(matched(&index, filter), want, "filter {:?}", filter);
            }
        }
    }
}
