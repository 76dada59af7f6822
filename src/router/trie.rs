//! The subscription trie: topic filters → subscribers, matched against the topic name of
//! every PUBLISH (replaces emqttd_trie.erl and the emqttd_router route table).
//!
//! Layout, chosen for a fast allocation-free match and a small footprint per subscription:
//!
//! * A `Node` holds the subscribers of the filter that ends at it, and lazily a boxed
//!   `Branch` (leaves, the vast majority, pay 8 bytes for it).
//! * A branch has its `+` child in a slot of its own, the subscribers of `<node>/#` (a `#`
//!   level is always the last, so it needs no node), and the literal children.
//! * Literal edges are path-compressed: one edge carries a run of literal levels
//!   (`sensor/42/temp`), so a filter with a unique tail costs one node, not one per level.
//!   Edges are keyed by their first level, in a sorted `Vec` while few; above, in a dense
//!   `Vec` indexed by a hash table of 4-byte positions.
//!   The trie keeps two invariants: no node but the root is empty, and no node reached by
//!   a literal edge is a mere pass-through (no subscribers, no `+`/`#`, one literal edge):
//!   such a node is merged into its parent's edge.
//! * A filter's single subscriber (the usual case) is held inline in its node; more are a
//!   sorted boxed slice with binary search, becoming a `BTreeMap` for fan-out filters.
//!
//! Matching walks `&str` slices of the topic name with a small on-stack work list, so a
//! publish allocates nothing unless more than 16 `+` branches are pending at once (a name
//! deeper than 16 levels with `+` filters along most of it). Every walk (match, insert,
//! remove, listing, drop) is iterative, so deep filters such as `+/+/+/…` cannot overflow
//! the stack.

use hashbrown::HashTable;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::hash_map::RandomState;
use std::collections::{btree_map, BTreeMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::{fmt, mem, slice};

/// Literal edges of a node live in a sorted `Vec` up to this many, hash-indexed above.
const FEW_EDGES: usize = 128;
/// Subscribers of a filter live in a sorted boxed slice up to this many, a `BTreeMap` above.
const FEW_SUBS: usize = 64;
/// Pending wildcard branches the matcher keeps on the stack before spilling to the heap.
const INLINE_PENDING: usize = 16;
/// Edge labels up to this many bytes are stored inline, without an allocation of their own.
const INLINE_LABEL: usize = 22;

/// An index of topic filters and their subscribers, keyed by subscriber `K`.
pub struct SubscriptionTrie<K, V> {
    root: Node<K, V>,
    filters: usize,
    subscriptions: usize,
}

impl<K: Ord + Clone, V> Default for SubscriptionTrie<K, V> {
    fn default() -> Self {
        SubscriptionTrie::new()
    }
}

impl<K, V> fmt::Debug for SubscriptionTrie<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionTrie")
            .field("filters", &self.filters)
            .field("subscriptions", &self.subscriptions)
            .finish()
    }
}

impl<K: Ord + Clone, V> SubscriptionTrie<K, V> {
    pub fn new() -> Self {
        SubscriptionTrie {
            root: Node::new(),
            filters: 0,
            subscriptions: 0,
        }
    }

    /// Add or replace `key`'s subscription to `filter`; returns the previous value for that
    /// key. `filter` should be valid (`topic::validate_filter`).
    pub fn insert(&mut self, filter: &str, key: K, value: V) -> Option<V> {
        let (path, hash) = split_hash(filter);
        let node = self.root.descend_or_create(path);
        let subs = if hash {
            &mut node.branch_mut().hash
        } else {
            &mut node.subs
        };
        let was_empty = subs.is_empty();
        let old = subs.insert(key, value);
        if old.is_none() {
            self.subscriptions += 1;
            self.filters += usize::from(was_empty);
        }
        old
    }

    /// Remove `key`'s subscription to `filter`, pruning empty nodes; returns it.
    pub fn remove(&mut self, filter: &str, key: &K) -> Option<V> {
        let (path, hash) = split_hash(filter);
        let node = self.root.descend_mut(path)?;
        let (old, filter_gone) = node.remove_sub(hash, key)?;
        let reshape = node.is_empty() || node.is_pass_through();
        self.subscriptions -= 1;
        self.filters -= usize::from(filter_gone);
        if let (true, Some(path)) = (reshape, path) {
            self.root.reshape(path);
        }
        Some(old)
    }

    /// Call `visit(key, value)` for every subscription whose filter matches the topic name
    /// `name`, once per (filter, key). Filters whose first level is a wildcard do not match
    /// names starting with `$` (MQTT-4.7.2-1).
    pub fn for_each_match<F: FnMut(&K, &V)>(&self, name: &str, mut visit: F) {
        let mut pending = Pending::new();
        let dollar = name.starts_with('$');
        self.root
            .expand(Some(name), dollar, &mut visit, &mut pending);
        while let Some((node, rest)) = pending.pop() {
            node.expand(rest, false, &mut visit, &mut pending);
        }
    }

    /// The subscribers of exactly `filter` (no wildcard matching).
    pub fn subscribers(&self, filter: &str) -> impl Iterator<Item = (&K, &V)> + '_ {
        let (path, hash) = split_hash(filter);
        let subs = self.root.descend(path).and_then(|node| match hash {
            false => Some(&node.subs),
            true => node.branch.as_deref().map(|branch| &branch.hash),
        });
        subs.map(Subs::iter).unwrap_or_default()
    }

    /// Distinct filters with at least one subscriber (emqttd's "topics"/"routes").
    pub fn filter_count(&self) -> usize {
        self.filters
    }

    /// All (filter, key) pairs.
    pub fn subscription_count(&self) -> usize {
        self.subscriptions
    }

    /// Every filter with at least one subscriber, in no particular order (not hot).
    pub fn filters(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.filters);
        let mut stack: Vec<(&Node<K, V>, Option<String>)> = vec![(&self.root, None)];
        while let Some((node, prefix)) = stack.pop() {
            let join = |level: &str| match &prefix {
                None => level.to_owned(),
                Some(prefix) => format!("{prefix}/{level}"),
            };
            if let (false, Some(prefix)) = (node.subs.is_empty(), &prefix) {
                out.push(prefix.clone());
            }
            let Some(branch) = node.branch.as_deref() else {
                continue;
            };
            if !branch.hash.is_empty() {
                out.push(join("#"));
            }
            if let Some(plus) = branch.plus.as_deref() {
                stack.push((plus, Some(join("+"))));
            }
            branch
                .edges
                .for_each(|label, child| stack.push((child, Some(join(label)))));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.subscriptions == 0
    }
}

// ---------------------------------------------------------------------------------------
// Level helpers. A "rest" is the unconsumed tail of a name or filter: `Some("b/c")`, or
// `None` once every level is consumed (`Some("")` is one empty level still to go).

/// Split off the first level: `("a", Some("b/c"))` for `"a/b/c"`, `("a", None)` for `"a"`.
fn split_first(rest: &str) -> (&str, Option<&str>) {
    match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    }
}

/// The first level of `rest`.
fn first_level(rest: &str) -> &str {
    split_first(rest).0
}

/// What remains of `rest` after its first `n` bytes, which end at a level boundary.
fn after(rest: &str, n: usize) -> Option<&str> {
    (n < rest.len()).then(|| &rest[n + 1..])
}

/// If `rest` begins with all the levels of `label`, what follows them.
fn strip_label<'r>(rest: &'r str, label: &[u8]) -> Option<Option<&'r str>> {
    match rest.as_bytes().strip_prefix(label)?.first() {
        None => Some(None),
        Some(b'/') => Some(Some(&rest[label.len() + 1..])),
        Some(_) => None,
    }
}

/// Byte length of the whole levels `label` and `rest` begin with, given equal first levels.
fn common_levels(label: &str, rest: &str) -> usize {
    let mut len = 0;
    for (i, (a, b)) in label.split('/').zip(rest.split('/')).enumerate() {
        if a != b {
            break;
        }
        len = if i == 0 { a.len() } else { len + 1 + a.len() };
    }
    len
}

/// The longest prefix of `rest` made of literal levels (up to its first `+` level); the
/// first level of `rest` is literal.
fn literal_run(rest: &str) -> &str {
    let mut end = 0;
    for (i, level) in rest.split('/').enumerate() {
        if level == "+" {
            break;
        }
        end = if i == 0 {
            level.len()
        } else {
            end + 1 + level.len()
        };
    }
    &rest[..end]
}

/// A filter as (the path to its node, whether it ends in `#`): `"a/#"` → `(Some("a"), true)`,
/// `"#"` → `(None, true)`, `"a/b"` → `(Some("a/b"), false)`.
fn split_hash(filter: &str) -> (Option<&str>, bool) {
    if filter == "#" {
        (None, true)
    } else if let Some(path) = filter.strip_suffix("/#") {
        (Some(path), true)
    } else {
        (Some(filter), false)
    }
}

/// Compare the first level of `label` with `level` (which has no `/`) in one pass.
fn cmp_first_level(l: &[u8], t: &[u8]) -> Ordering {
    let n = l.iter().zip(t).take_while(|(a, b)| a == b).count();
    match (l.get(n).filter(|&&b| b != b'/'), t.get(n)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => a.cmp(b),
    }
}

// ---------------------------------------------------------------------------------------
// Nodes.

struct Node<K, V> {
    /// Subscribers of the filter ending exactly here.
    subs: Subs<K, V>,
    branch: Option<Box<Branch<K, V>>>,
}

struct Branch<K, V> {
    edges: Edges<K, V>,
    plus: Option<Box<Node<K, V>>>,
    /// Subscribers of `<this node's filter>/#` (or of `#` at the root).
    hash: Subs<K, V>,
}

impl<K, V> Drop for Branch<K, V> {
    /// Tear the subtree down iteratively: the recursive drop of a deep `+/+/+/…` chain
    /// could overflow the stack.
    fn drop(&mut self) {
        let mut stack = Vec::new();
        self.detach_branches(&mut stack);
        while let Some(mut branch) = stack.pop() {
            branch.detach_branches(&mut stack);
        }
    }
}

impl<K, V> Branch<K, V> {
    /// Move the branches of this branch's children into `out`.
    fn detach_branches(&mut self, out: &mut Vec<Branch<K, V>>) {
        if let Some(plus) = self.plus.as_deref_mut() {
            out.extend(plus.branch.take().map(|branch| *branch));
        }
        self.edges
            .for_each_mut(|child| out.extend(child.branch.take().map(|branch| *branch)));
    }
}

impl<K, V> Default for Node<K, V> {
    fn default() -> Self {
        Node::new()
    }
}

impl<K, V> Node<K, V> {
    fn new() -> Self {
        Node {
            subs: Subs::new(),
            branch: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.subs.is_empty() && self.branch.is_none()
    }

    /// No subscribers, no wildcard children and a single literal edge: to be merged.
    fn is_pass_through(&self) -> bool {
        self.subs.is_empty()
            && self
                .branch
                .as_deref()
                .is_some_and(|b| b.hash.is_empty() && b.plus.is_none() && b.edges.len() == 1)
    }

    /// Everything on this node besides the child at `level` (`"+"` for the plus child).
    fn holds_more_than(&self, level: &str) -> bool {
        let Some(branch) = self.branch.as_deref() else {
            return !self.subs.is_empty();
        };
        let children = branch.edges.len() + usize::from(branch.plus.is_some());
        let others = children - usize::from(level == "+" || branch.edges.get(level).is_some());
        !self.subs.is_empty() || !branch.hash.is_empty() || others > 0
    }

    fn branch_mut(&mut self) -> &mut Branch<K, V> {
        self.branch.get_or_insert_with(|| {
            Box::new(Branch {
                edges: Edges::new(),
                plus: None,
                hash: Subs::new(),
            })
        })
    }

    /// Drop the branch once it holds nothing.
    fn tidy(&mut self) {
        if let Some(b) = self.branch.as_deref() {
            if b.edges.len() == 0 && b.plus.is_none() && b.hash.is_empty() {
                self.branch = None;
            }
        }
    }

    /// Match step: visit what matches here, queue the children that may match further.
    /// `rest` is the unconsumed part of the topic name; at the root, `dollar` disables the
    /// wildcards.
    fn expand<'a, 'r, F: FnMut(&K, &V)>(
        &'a self,
        rest: Option<&'r str>,
        dollar: bool,
        visit: &mut F,
        pending: &mut Pending<(&'a Node<K, V>, Option<&'r str>)>,
    ) {
        let Some(rest) = rest else {
            self.subs.for_each(visit);
            if let Some(branch) = self.branch.as_deref() {
                branch.hash.for_each(visit); // "a/#" matches "a"
            }
            return;
        };
        let Some(branch) = self.branch.as_deref() else {
            return;
        };
        if !dollar {
            branch.hash.for_each(visit);
            if let Some(plus) = branch.plus.as_deref() {
                pending.push((plus, split_first(rest).1));
            }
        }
        if let Some(next) = branch.edges.step(rest) {
            pending.push(next);
        }
    }

    /// Follow the filter path `rest` (`None`: this node).
    fn descend(&self, mut rest: Option<&str>) -> Option<&Node<K, V>> {
        let mut node = self;
        while let Some(r) = rest {
            (node, rest) = node.descend_one(r)?;
        }
        Some(node)
    }

    fn descend_mut(&mut self, mut rest: Option<&str>) -> Option<&mut Node<K, V>> {
        let mut node = self;
        while let Some(r) = rest {
            (node, rest) = node.step_mut(r)?;
        }
        Some(node)
    }

    /// One step down the filter path `rest`: through the plus child or a literal edge.
    fn step_mut<'r>(&mut self, rest: &'r str) -> Option<(&mut Node<K, V>, Option<&'r str>)> {
        let branch = self.branch.as_deref_mut()?;
        let (level, tail) = split_first(rest);
        if level == "+" {
            return Some((branch.plus.as_deref_mut()?, tail));
        }
        let tail = strip_label(rest, branch.edges.get(level)?.0.as_bytes())?;
        Some((branch.edges.get_mut(level)?, tail))
    }

    /// Follow the filter path `rest`, creating (and splitting edges for) what is missing.
    fn descend_or_create(&mut self, mut rest: Option<&str>) -> &mut Node<K, V> {
        let mut node = self;
        while let Some(r) = rest {
            let branch = node.branch_mut();
            if first_level(r) == "+" {
                node = branch.plus.get_or_insert_with(Box::default);
                rest = split_first(r).1;
            } else {
                (node, rest) = branch.edges.child_or_create(r);
            }
        }
        node
    }

    /// Remove `key` from the subscribers here (of `<here>/#` if `hash`): the value, and
    /// whether the filter has no subscriber left.
    fn remove_sub(&mut self, hash: bool, key: &K) -> Option<(V, bool)>
    where
        K: Ord,
    {
        let subs = match hash {
            false => &mut self.subs,
            true => &mut self.branch.as_deref_mut()?.hash,
        };
        let old = subs.remove(key)?;
        let gone = subs.is_empty();
        self.tidy();
        Some((old, gone))
    }

    /// Restore the invariants after a removal emptied or thinned the node at `path`:
    /// cut the chain of nodes left empty, then merge a pass-through node into its edge.
    fn reshape(&mut self, path: &str) {
        // The steps down to the node (each a first level, or "+"), and for each node on
        // the way whether it holds anything besides the next step.
        let mut steps = Vec::new();
        let mut keeps = Vec::new();
        let (mut node, mut rest) = (&*self, Some(path));
        while let Some(r) = rest {
            let level = first_level(r);
            keeps.push(node.holds_more_than(level));
            steps.push(level);
            let Some(next) = node.descend_one(r) else {
                return;
            };
            (node, rest) = next;
        }
        let mut depth = steps.len();
        if node.is_empty() {
            let keeper = (1..depth).rev().find(|&i| keeps[i]).unwrap_or(0);
            let parent = self.nth_mut(path, keeper);
            parent.remove_child(steps[keeper]);
            parent.tidy();
            depth = keeper;
        }
        // The node at `depth` may now be a pass-through: merge it into its parent's edge.
        if depth > 0 && steps[depth - 1] != "+" {
            self.nth_mut(path, depth - 1).merge_child(steps[depth - 1]);
        }
    }

    /// One step down a filter path, immutably.
    fn descend_one<'r>(&self, rest: &'r str) -> Option<(&Node<K, V>, Option<&'r str>)> {
        let branch = self.branch.as_deref()?;
        let (level, tail) = split_first(rest);
        match level {
            "+" => Some((branch.plus.as_deref()?, tail)),
            _ => branch.edges.step(rest),
        }
    }

    /// The node `n` steps down the filter path `path` (which must exist that far).
    fn nth_mut(&mut self, path: &str, n: usize) -> &mut Node<K, V> {
        let (mut node, mut rest) = (self, path);
        for _ in 0..n {
            let (next, tail) = node.step_mut(rest).expect("path walked just before");
            node = next;
            rest = tail.unwrap_or_default();
        }
        node
    }

    fn remove_child(&mut self, level: &str) {
        if let Some(branch) = self.branch.as_deref_mut() {
            match level {
                "+" => branch.plus = None,
                _ => drop(branch.edges.remove(level)),
            }
        }
    }

    /// If the child on the edge at `level` is a pass-through, splice it out: the edge to it
    /// and its only edge become one.
    fn merge_child(&mut self, level: &str) {
        let Some(branch) = self.branch.as_deref_mut() else {
            return;
        };
        if !branch
            .edges
            .get(level)
            .is_some_and(|(_, c)| c.is_pass_through())
        {
            return;
        }
        let (label, mut child) = branch.edges.remove(level).expect("edge just found");
        let mut grand = None;
        if let Some(mut child_branch) = child.branch.take() {
            child_branch.edges.drain(|l, n| grand = Some((l, n)));
        }
        let (grand_label, grand) = grand.expect("a pass-through node has one edge");
        let joined = format!("{}/{}", label.as_str(), grand_label.as_str());
        branch.edges.insert(Label::new(&joined), grand);
    }
}

// ---------------------------------------------------------------------------------------
// Literal edges.

/// An edge label: one or more literal levels joined by `/`, inline when short. It is
/// compared, hashed and looked up by its first level alone, unique among a node's edges.
enum Label {
    Inline { len: u8, bytes: [u8; INLINE_LABEL] },
    Heap(Box<str>),
}

impl Label {
    fn new(label: &str) -> Label {
        match u8::try_from(label.len()) {
            Ok(len) if label.len() <= INLINE_LABEL => {
                let mut bytes = [0; INLINE_LABEL];
                bytes[..label.len()].copy_from_slice(label.as_bytes());
                Label::Inline { len, bytes }
            }
            _ => Label::Heap(label.into()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Label::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Label::Heap(label) => label.as_bytes(),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Label::Inline { .. } => {
                std::str::from_utf8(self.as_bytes()).expect("copied from a str")
            }
            Label::Heap(label) => label,
        }
    }

    fn first(&self) -> &[u8] {
        let bytes = self.as_bytes();
        bytes
            .iter()
            .position(|&b| b == b'/')
            .map_or(bytes, |i| &bytes[..i])
    }
}

impl PartialEq for Label {
    fn eq(&self, other: &Label) -> bool {
        self.first() == other.first()
    }
}

impl Eq for Label {}

impl Hash for Label {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.first().hash(state)
    }
}

impl Borrow<[u8]> for Label {
    fn borrow(&self) -> &[u8] {
        self.first()
    }
}

enum Edges<K, V> {
    Few(Vec<(Label, Node<K, V>)>),
    Many(Box<ManyEdges<K, V>>),
}

/// The edges of a node with many children: dense, unordered, with a hash index of 4-byte
/// positions (about 58 bytes per edge against ~100 in a `HashMap<Label, Node>` whose buckets
/// hold the 48-byte entries themselves).
struct ManyEdges<K, V> {
    entries: Vec<(Label, Node<K, V>)>,
    /// Positions in `entries`, hashed by the first level of their label.
    index: HashTable<u32>,
    hasher: RandomState,
}

impl<K, V> ManyEdges<K, V> {
    fn from_vec(entries: Vec<(Label, Node<K, V>)>) -> Self {
        let hasher = RandomState::new();
        let mut index = HashTable::with_capacity(entries.len());
        for (i, (label, _)) in entries.iter().enumerate() {
            let hash = hasher.hash_one(label.first());
            index.insert_unique(hash, i as u32, |&j| {
                hasher.hash_one(entries[j as usize].0.first())
            });
        }
        ManyEdges {
            entries,
            index,
            hasher,
        }
    }

    fn position(&self, level: &[u8]) -> Option<usize> {
        let hash = self.hasher.hash_one(level);
        let entries = &self.entries;
        self.index
            .find(hash, |&i| entries[i as usize].0.first() == level)
            .map(|&i| i as usize)
    }

    fn insert(&mut self, label: Label, node: Node<K, V>) {
        let ManyEdges {
            entries,
            index,
            hasher,
        } = self;
        let hash = hasher.hash_one(label.first());
        if entries.len() == entries.capacity() {
            // Grow by an eighth, not double: a node with 1,000 children keeps ~6 % slack.
            entries.reserve_exact((entries.len() / 8).max(4));
        }
        let at = entries.len() as u32;
        entries.push((label, node));
        index.insert_unique(hash, at, |&i| {
            hasher.hash_one(entries[i as usize].0.first())
        });
    }

    fn remove(&mut self, level: &[u8]) -> Option<(Label, Node<K, V>)> {
        let ManyEdges {
            entries,
            index,
            hasher,
        } = self;
        let hash = hasher.hash_one(level);
        let found = index.find_entry(hash, |&i| entries[i as usize].0.first() == level);
        let at = found.ok()?.remove().0 as usize;
        let edge = entries.swap_remove(at);
        if at < entries.len() {
            // The last entry moved into the hole: point its index slot at the new place.
            let moved = entries.len() as u32;
            let hash = hasher.hash_one(entries[at].0.first());
            if let Some(slot) = index.find_mut(hash, |&i| i == moved) {
                *slot = at as u32;
            }
        }
        if entries.len() * 4 <= entries.capacity() {
            entries.shrink_to_fit();
            index.shrink_to_fit(|&i| hasher.hash_one(entries[i as usize].0.first()));
        }
        Some(edge)
    }
}

impl<K, V> Edges<K, V> {
    fn new() -> Self {
        Edges::Few(Vec::new())
    }

    fn len(&self) -> usize {
        match self {
            Edges::Few(v) => v.len(),
            Edges::Many(m) => m.entries.len(),
        }
    }

    fn search(v: &[(Label, Node<K, V>)], level: &[u8]) -> Result<usize, usize> {
        v.binary_search_by(|(label, _)| cmp_first_level(label.as_bytes(), level))
    }

    /// The edge whose first level is `level`: its full label and child.
    fn get(&self, level: &str) -> Option<(&Label, &Node<K, V>)> {
        match self {
            Edges::Few(v) => {
                let (label, node) = &v[Self::search(v, level.as_bytes()).ok()?];
                Some((label, node))
            }
            Edges::Many(m) => {
                let (label, node) = &m.entries[m.position(level.as_bytes())?];
                Some((label, node))
            }
        }
    }

    fn get_mut(&mut self, level: &str) -> Option<&mut Node<K, V>> {
        match self {
            Edges::Few(v) => {
                let i = Self::search(v, level.as_bytes()).ok()?;
                Some(&mut v[i].1)
            }
            Edges::Many(m) => {
                let i = m.position(level.as_bytes())?;
                Some(&mut m.entries[i].1)
            }
        }
    }

    /// Follow the edge `rest` starts with, if all its levels match: the child and the rest.
    fn step<'r>(&self, rest: &'r str) -> Option<(&Node<K, V>, Option<&'r str>)> {
        let (label, node) = self.get(first_level(rest))?;
        Some((node, strip_label(rest, label.as_bytes())?))
    }

    /// Add an edge; its first level must be new here.
    fn insert(&mut self, label: Label, node: Node<K, V>) {
        match self {
            Edges::Few(v) if v.len() < FEW_EDGES => {
                let (Ok(i) | Err(i)) = Self::search(v, label.first());
                if v.len() == v.capacity() && v.len() < 4 {
                    v.reserve_exact(1); // most nodes have one or two children
                }
                v.insert(i, (label, node));
            }
            Edges::Few(v) => {
                let mut many = ManyEdges::from_vec(mem::take(v));
                many.insert(label, node);
                *self = Edges::Many(Box::new(many));
            }
            Edges::Many(m) => m.insert(label, node),
        }
    }

    fn remove(&mut self, level: &str) -> Option<(Label, Node<K, V>)> {
        match self {
            Edges::Few(v) => {
                let edge = v.remove(Self::search(v, level.as_bytes()).ok()?);
                if v.len() * 4 <= v.capacity() {
                    v.shrink_to_fit();
                }
                Some(edge)
            }
            Edges::Many(m) => {
                let edge = m.remove(level.as_bytes())?;
                if m.entries.len() < FEW_EDGES / 2 {
                    let mut v = mem::take(&mut m.entries);
                    v.sort_unstable_by(|(a, _), (b, _)| a.first().cmp(b.first()));
                    v.shrink_to_fit();
                    *self = Edges::Few(v);
                }
                Some(edge)
            }
        }
    }

    /// The child at the first level of the filter path `rest`, created or split off an
    /// existing edge as needed, and the rest of the path below it.
    fn child_or_create<'r>(&mut self, rest: &'r str) -> (&mut Node<K, V>, Option<&'r str>) {
        let level = first_level(rest);
        let consumed = match self.get(level) {
            None => {
                let run = literal_run(rest);
                self.insert(Label::new(run), Node::new());
                run.len()
            }
            Some((label, _)) => {
                let label = label.as_str();
                let common = common_levels(label, rest);
                if common < label.len() {
                    self.split(level, common);
                }
                common
            }
        };
        let child = self.get_mut(level).expect("edge just found or made");
        (child, after(rest, consumed))
    }

    /// Cut the edge at `level` after its first `at` bytes, inserting a node there.
    fn split(&mut self, level: &str, at: usize) {
        let (label, node) = self.remove(level).expect("edge to split exists");
        let label = label.as_str();
        let mut upper = Node::new();
        upper
            .branch_mut()
            .edges
            .insert(Label::new(&label[at + 1..]), node);
        self.insert(Label::new(&label[..at]), upper);
    }

    fn for_each<'a, F: FnMut(&'a str, &'a Node<K, V>)>(&'a self, mut f: F) {
        match self {
            Edges::Few(v) => v.iter().for_each(|(l, n)| f(l.as_str(), n)),
            Edges::Many(m) => m.entries.iter().for_each(|(l, n)| f(l.as_str(), n)),
        }
    }

    fn for_each_mut<F: FnMut(&mut Node<K, V>)>(&mut self, mut f: F) {
        match self {
            Edges::Few(v) => v.iter_mut().for_each(|(_, n)| f(n)),
            Edges::Many(m) => m.entries.iter_mut().for_each(|(_, n)| f(n)),
        }
    }

    fn drain<F: FnMut(Label, Node<K, V>)>(&mut self, mut f: F) {
        match self {
            Edges::Few(v) => v.drain(..).for_each(|(l, n)| f(l, n)),
            Edges::Many(m) => m.entries.drain(..).for_each(|(l, n)| f(l, n)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Subscribers of one filter.

enum Subs<K, V> {
    /// The common case, a filter with a single subscriber, inline: no allocation of its own.
    One((K, V)),
    /// None, or two up to `FEW_SUBS`.
    Few(Box<[(K, V)]>),
    #[allow(clippy::box_collection)] // boxed, a fan-out map keeps `Subs` at `One`'s size
    Many(Box<BTreeMap<K, V>>),
}

impl<K, V> Subs<K, V> {
    fn new() -> Self {
        Subs::Few(Box::default())
    }

    fn len(&self) -> usize {
        match self {
            Subs::One(_) => 1,
            Subs::Few(few) => few.len(),
            Subs::Many(many) => many.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn for_each<F: FnMut(&K, &V)>(&self, visit: &mut F) {
        match self {
            Subs::One((k, v)) => visit(k, v),
            Subs::Few(few) => few.iter().for_each(|(k, v)| visit(k, v)),
            Subs::Many(many) => many.iter().for_each(|(k, v)| visit(k, v)),
        }
    }

    fn iter(&self) -> SubsIter<'_, K, V> {
        match self {
            Subs::One(one) => SubsIter::Few(slice::from_ref(one).iter()),
            Subs::Few(few) => SubsIter::Few(few.iter()),
            Subs::Many(many) => SubsIter::Many(many.iter()),
        }
    }
}

impl<K: Ord, V> Subs<K, V> {
    fn insert(&mut self, key: K, value: V) -> Option<V> {
        let few = match self {
            Subs::Many(many) => return many.insert(key, value),
            Subs::One((k, v)) if *k == key => return Some(mem::replace(v, value)),
            Subs::One(_) => {
                let Subs::One(one) = mem::replace(self, Subs::new()) else {
                    unreachable!("matched just above")
                };
                let pair = if one.0 < key {
                    [one, (key, value)]
                } else {
                    [(key, value), one]
                };
                *self = Subs::Few(Box::new(pair));
                return None;
            }
            Subs::Few(few) if few.is_empty() => {
                *self = Subs::One((key, value));
                return None;
            }
            Subs::Few(few) => few,
        };
        match few.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => Some(mem::replace(&mut few[i].1, value)),
            Err(i) if few.len() < FEW_SUBS => {
                let mut v = mem::take(few).into_vec();
                v.reserve_exact(1);
                v.insert(i, (key, value));
                *few = v.into_boxed_slice();
                None
            }
            Err(_) => {
                let mut many: BTreeMap<K, V> = mem::take(few).into_vec().into_iter().collect();
                many.insert(key, value);
                *self = Subs::Many(Box::new(many));
                None
            }
        }
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        match self {
            Subs::One((k, _)) if k == key => match mem::replace(self, Subs::new()) {
                Subs::One((_, old)) => Some(old),
                _ => unreachable!("matched just above"),
            },
            Subs::One(_) => None,
            Subs::Few(few) => {
                let i = few.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
                let mut v = mem::take(few).into_vec();
                let (_, old) = v.remove(i);
                *self = match v.len() {
                    1 => Subs::One(v.pop().expect("one left")),
                    _ => Subs::Few(v.into_boxed_slice()),
                };
                Some(old)
            }
            Subs::Many(many) => {
                let old = many.remove(key)?;
                if many.len() <= FEW_SUBS / 2 {
                    *self = Subs::Few(mem::take(many.as_mut()).into_iter().collect());
                }
                Some(old)
            }
        }
    }
}

/// Iterator over the subscribers of one filter.
enum SubsIter<'a, K, V> {
    Few(slice::Iter<'a, (K, V)>),
    Many(btree_map::Iter<'a, K, V>),
}

impl<K, V> Default for SubsIter<'_, K, V> {
    fn default() -> Self {
        SubsIter::Few([].iter())
    }
}

impl<'a, K, V> Iterator for SubsIter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<(&'a K, &'a V)> {
        match self {
            SubsIter::Few(it) => it.next().map(|(k, v)| (k, v)),
            SubsIter::Many(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            SubsIter::Few(it) => it.size_hint(),
            SubsIter::Many(it) => it.size_hint(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The matcher's work list: on the stack while small.

struct Pending<T: Copy> {
    inline: [Option<T>; INLINE_PENDING],
    len: usize,
    spill: Vec<T>,
}

impl<T: Copy> Pending<T> {
    fn new() -> Self {
        Pending {
            inline: [None; INLINE_PENDING],
            len: 0,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, item: T) {
        if self.len < INLINE_PENDING && self.spill.is_empty() {
            self.inline[self.len] = Some(item);
            self.len += 1;
        } else {
            self.spill.push(item);
        }
    }

    fn pop(&mut self) -> Option<T> {
        if let Some(item) = self.spill.pop() {
            return Some(item);
        }
        self.len = self.len.checked_sub(1)?;
        self.inline[self.len].take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::topic;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    type Trie = SubscriptionTrie<u32, u8>;

    fn matched(trie: &Trie, name: &str) -> Vec<(u32, u8)> {
        let mut seen = Vec::new();
        trie.for_each_match(name, |k, v| seen.push((*k, *v)));
        seen.sort_unstable();
        seen
    }

    fn keys(trie: &Trie, name: &str) -> Vec<u32> {
        matched(trie, name).into_iter().map(|(k, _)| k).collect()
    }

    fn trie_of(filters: &[&str]) -> Trie {
        let mut trie = Trie::new();
        for (key, filter) in filters.iter().enumerate() {
            trie.insert(filter, key as u32, 0);
        }
        trie.check();
        trie
    }

    impl<K: Ord + Clone, V> SubscriptionTrie<K, V> {
        /// Assert the structural invariants and the counters.
        fn check(&self) {
            let (mut filters, mut subscriptions) = (0, 0);
            let mut stack = vec![(&self.root, true, false)];
            while let Some((node, root, by_edge)) = stack.pop() {
                assert!(root || !node.is_empty(), "empty node left behind");
                assert!(
                    !(by_edge && node.is_pass_through()),
                    "pass-through node not merged"
                );
                filters += usize::from(!node.subs.is_empty());
                subscriptions += node.subs.len();
                let Some(branch) = node.branch.as_deref() else {
                    continue;
                };
                assert!(branch.edges.len() > 0 || branch.plus.is_some() || !branch.hash.is_empty());
                filters += usize::from(!branch.hash.is_empty());
                subscriptions += branch.hash.len();
                if let Some(plus) = branch.plus.as_deref() {
                    stack.push((plus, false, false));
                }
                if let Edges::Few(v) = &branch.edges {
                    assert!(
                        v.windows(2).all(|w| w[0].0.first() < w[1].0.first()),
                        "unsorted"
                    );
                    assert!(v.len() <= FEW_EDGES);
                }
                branch.edges.for_each(|label, child| {
                    assert!(label.split('/').all(|l| l != "+"), "'+' in label {label:?}");
                    let found = branch.edges.get(first_level(label)).map(|e| e.0.as_str());
                    assert_eq!(found, Some(label));
                    stack.push((child, false, true));
                });
            }
            assert_eq!(filters, self.filter_count());
            assert_eq!(subscriptions, self.subscription_count());
        }

        fn node_count(&self) -> usize {
            let mut count = 0;
            let mut stack = vec![&self.root];
            while let Some(node) = stack.pop() {
                count += 1;
                if let Some(branch) = node.branch.as_deref() {
                    stack.extend(branch.plus.as_deref());
                    branch.edges.for_each(|_, child| stack.push(child));
                }
            }
            count
        }
    }

    /// Heap bytes as (requested, in glibc malloc chunks of 16-byte steps, 8-byte header).
    #[derive(Default, Debug)]
    struct Heap {
        requested: usize,
        chunks: usize,
    }

    impl Heap {
        fn alloc(&mut self, bytes: usize) {
            if bytes > 0 {
                self.requested += bytes;
                self.chunks += ((bytes + 8 + 15) & !15).max(32);
            }
        }

        fn subs<K, V>(&mut self, subs: &Subs<K, V>) {
            match subs {
                Subs::One(_) => {}
                Subs::Few(few) => self.alloc(mem::size_of_val(&**few)),
                Subs::Many(many) => {
                    self.alloc(mem::size_of::<BTreeMap<K, V>>());
                    // B-tree nodes of 11 entries, about two thirds full
                    let entries = mem::size_of::<K>() + mem::size_of::<V>();
                    for _ in 0..many.len().div_ceil(7) {
                        self.alloc(11 * entries + 16);
                    }
                }
            }
        }
    }

    /// hashbrown's bucket count for a table reporting `capacity`.
    fn buckets(capacity: usize) -> usize {
        let mut buckets = 4;
        while (if buckets < 8 {
            buckets - 1
        } else {
            buckets / 8 * 7
        }) < capacity
        {
            buckets *= 2;
        }
        buckets
    }

    impl<K, V> SubscriptionTrie<K, V> {
        /// The heap the trie itself owns (not what K and V point to).
        fn heap(&self) -> Heap {
            let mut heap = Heap::default();
            let mut stack = vec![&self.root];
            while let Some(node) = stack.pop() {
                heap.subs(&node.subs);
                let Some(branch) = node.branch.as_deref() else {
                    continue;
                };
                heap.alloc(mem::size_of::<Branch<K, V>>());
                heap.subs(&branch.hash);
                if let Some(plus) = branch.plus.as_deref() {
                    heap.alloc(mem::size_of::<Node<K, V>>());
                    stack.push(plus);
                }
                let entry = mem::size_of::<(Label, Node<K, V>)>();
                match &branch.edges {
                    Edges::Few(v) => heap.alloc(v.capacity() * entry),
                    Edges::Many(m) => {
                        heap.alloc(mem::size_of::<ManyEdges<K, V>>());
                        heap.alloc(m.entries.capacity() * entry);
                        heap.alloc(buckets(m.index.capacity()) * (4 + 1) + 16);
                    }
                }
                branch.edges.for_each(|label, child| {
                    if label.len() > INLINE_LABEL {
                        heap.alloc(label.len());
                    }
                    stack.push(child);
                });
            }
            heap
        }
    }

    /// The benchmark's shape: `clients` × 1,000 mostly distinct filters, a tenth with
    /// wildcards, keyed by u64 with a 16-byte value (a QoS and an `Arc`, like a route).
    fn memory_per_subscription(clients: u32) -> (f64, f64) {
        let inbox = crate::session::inbox::Inbox::new(1, false);
        let mut trie = SubscriptionTrie::new();
        for c in 0..clients {
            for i in 0..1000 {
                let filter = match i % 10 {
                    0 => format!("client/{c}/+/{i}"),
                    5 => format!("client/{c}/topic/{i}/#"),
                    _ => format!("client/{c}/topic/{i}"),
                };
                let route = crate::router::Route {
                    qos: crate::mqtt::packet::QoS::AtLeastOnce,
                    inbox: inbox.clone(),
                };
                trie.insert(&filter, u64::from(c), route);
            }
        }
        let heap = trie.heap();
        let n = trie.subscription_count() as f64;
        (heap.requested as f64 / n, heap.chunks as f64 / n)
    }

    #[test]
    fn compact_layout() {
        // A route (a QoS and an `Arc`); the QoS enum's spare values hold `Subs`' tag, so a
        // single subscriber is inline at no extra size.
        type Route = crate::router::Route;
        assert_eq!(mem::size_of::<Label>(), 24);
        assert_eq!(mem::size_of::<Subs<u64, Route>>(), 24);
        assert_eq!(mem::size_of::<Node<u64, Route>>(), 32);
        assert_eq!(mem::size_of::<(Label, Node<u64, Route>)>(), 56);
    }

    #[test]
    fn memory_per_subscription_100k() {
        let (requested, chunks) = memory_per_subscription(100);
        println!(
            "100 x 1000: {requested:.0} B requested, ~{chunks:.0} B malloc'd per subscription"
        );
        assert!(chunks < 200.0, "{chunks} bytes per subscription");
    }

    #[test]
    fn a_node_with_many_children_matches_through_its_hash_index() {
        let mut trie = Trie::new();
        for i in 0..1000u32 {
            trie.insert(&format!("m/{i}"), i, 0);
        }
        trie.check();
        let edges_of_m = |trie: &Trie| {
            let m = trie.root.descend(Some("m")).unwrap();
            matches!(m.branch.as_deref().unwrap().edges, Edges::Many(_))
        };
        assert!(edges_of_m(&trie), "hash-indexed edges");
        // Remove in a scattered order: every swap_remove moves another entry.
        for i in (0..1000u32).filter(|i| i % 3 != 0).rev() {
            assert_eq!(trie.remove(&format!("m/{i}"), &i), Some(0));
            assert_eq!(keys(&trie, &format!("m/{i}")), Vec::<u32>::new());
        }
        trie.check();
        for i in (0..1000u32).filter(|i| i % 3 == 0) {
            assert_eq!(keys(&trie, &format!("m/{i}")), vec![i], "m/{i}");
        }
        // Below FEW_EDGES / 2 the edges go back to a sorted Vec.
        for i in (0..1000u32).filter(|i| i % 3 == 0).skip(10) {
            trie.remove(&format!("m/{i}"), &i);
        }
        trie.check();
        assert!(!edges_of_m(&trie), "a sorted Vec of edges again");
        assert_eq!(keys(&trie, "m/27"), vec![27]);
        assert_eq!(trie.subscription_count(), 10);
    }

    #[test]
    fn long_labels_live_on_the_heap() {
        let long = "a_level_name_longer_than_twenty_two_bytes";
        let mut trie = Trie::new();
        trie.insert(&format!("{long}/x/{long}"), 1, 0);
        trie.insert(&format!("{long}/x/é"), 2, 0);
        trie.insert(&format!("{long}/y"), 3, 0);
        trie.check();
        assert_eq!(keys(&trie, &format!("{long}/x/{long}")), vec![1]);
        assert_eq!(keys(&trie, &format!("{long}/x/é")), vec![2]);
        trie.remove(&format!("{long}/y"), &3);
        trie.remove(&format!("{long}/x/é"), &2);
        trie.check();
        assert_eq!(trie.node_count(), 2);
        assert_eq!(trie.filters(), vec![format!("{long}/x/{long}")]);
    }

    #[test]
    fn helpers() {
        assert_eq!(split_first("a/b/c"), ("a", Some("b/c")));
        assert_eq!(split_first("a"), ("a", None));
        assert_eq!(split_first("/"), ("", Some("")));
        assert_eq!(strip_label("a/b/c", b"a/b"), Some(Some("c")));
        assert_eq!(strip_label("a/b", b"a/b"), Some(None));
        assert_eq!(strip_label("a/bc", b"a/b"), None);
        assert_eq!(strip_label("a/", b"a"), Some(Some("")));
        assert_eq!(common_levels("a/b/c", "a/b/d"), 3);
        assert_eq!(common_levels("a/b", "a/bc"), 1);
        assert_eq!(common_levels("/x", "/y"), 0);
        assert_eq!(literal_run("a/b/+/c"), "a/b");
        assert_eq!(literal_run("a/"), "a/");
        assert_eq!(literal_run(""), "");
        assert_eq!(split_hash("#"), (None, true));
        assert_eq!(split_hash("a/#"), (Some("a"), true));
        assert_eq!(split_hash("/#"), (Some(""), true));
        assert_eq!(split_hash("a/b"), (Some("a/b"), false));
        for (label, level) in [
            ("a/b", "a"),
            ("ab", "a"),
            ("a", "ab"),
            ("b", "a"),
            ("", "a"),
            ("/x", ""),
            ("a", "b"),
        ] {
            let want = first_level(label).cmp(level);
            assert_eq!(
                cmp_first_level(label.as_bytes(), level.as_bytes()),
                want,
                "{label} {level}"
            );
        }
    }

    #[test]
    fn exact_filters_match_only_their_name() {
        let trie = trie_of(&[
            "sport/tennis",
            "sport",
            "sport/tennis/player1",
            "/finance",
            "finance",
        ]);
        assert_eq!(keys(&trie, "sport/tennis"), vec![0]);
        assert_eq!(keys(&trie, "sport"), vec![1]);
        assert_eq!(keys(&trie, "sport/tennis/player1"), vec![2]);
        assert_eq!(keys(&trie, "/finance"), vec![3]);
        assert_eq!(keys(&trie, "finance"), vec![4]);
        assert!(keys(&trie, "sport/tennis/player2").is_empty());
        assert!(keys(&trie, "sport/").is_empty());
        assert!(keys(&trie, "sport/tennis/player1/x").is_empty());
    }

    #[test]
    fn single_level_wildcard() {
        let trie = trie_of(&["sport/tennis/+", "sport/+", "+", "+/+", "/+", "+/tennis/+"]);
        assert_eq!(keys(&trie, "sport/tennis/player1"), vec![0, 5]);
        assert_eq!(keys(&trie, "sport/tennis"), vec![1, 3]);
        assert_eq!(keys(&trie, "sport"), vec![2]);
        assert_eq!(keys(&trie, "sport/"), vec![1, 3]);
        assert_eq!(keys(&trie, "/finance"), vec![3, 4]);
        assert!(keys(&trie, "sport/tennis/player1/ranking").is_empty());
    }

    #[test]
    fn multi_level_wildcard_matches_parent_and_below() {
        let trie = trie_of(&[
            "sport/tennis/player1/#",
            "sport/#",
            "#",
            "+/tennis/#",
            "sport/tennis/#",
        ]);
        assert_eq!(keys(&trie, "sport"), vec![1, 2]);
        assert_eq!(keys(&trie, "sport/tennis"), vec![1, 2, 3, 4]);
        assert_eq!(keys(&trie, "sport/tennis/player1"), vec![0, 1, 2, 3, 4]);
        assert_eq!(
            keys(&trie, "sport/tennis/player1/score/wimbledon"),
            vec![0, 1, 2, 3, 4]
        );
        assert_eq!(keys(&trie, "other"), vec![2]);
        assert_eq!(keys(&trie, "/"), vec![2]);
    }

    #[test]
    fn dollar_topics_skip_leading_wildcards() {
        let trie = trie_of(&[
            "#",
            "+/monitor/Clients",
            "$SYS/#",
            "$SYS/monitor/+",
            "+",
            "+/#",
        ]);
        assert_eq!(keys(&trie, "$SYS/monitor/Clients"), vec![2, 3]);
        assert_eq!(keys(&trie, "$SYS"), vec![2]);
        assert!(keys(&trie, "$other").is_empty());
        assert_eq!(keys(&trie, "x/monitor/Clients"), vec![0, 1, 5]);
        assert_eq!(keys(&trie, "a/$b"), vec![0, 5]);
    }

    #[test]
    fn each_filter_and_key_is_visited_once() {
        let mut trie = Trie::new();
        for filter in ["a/b", "a/+", "+/b", "#", "a/#", "+/+", "a/b/#"] {
            trie.insert(filter, 1, 1);
            trie.insert(filter, 2, 2);
        }
        let seen = matched(&trie, "a/b");
        assert_eq!(seen.len(), 14);
        assert_eq!(seen.iter().filter(|(k, _)| *k == 1).count(), 7);
    }

    #[test]
    fn insert_replaces_and_counts() {
        let mut trie = Trie::new();
        assert!(trie.is_empty());
        assert_eq!(trie.insert("a/b", 1, 0), None);
        assert_eq!(trie.insert("a/b", 1, 2), Some(0));
        assert_eq!(trie.insert("a/b", 2, 1), None);
        assert_eq!(trie.insert("a/#", 1, 1), None);
        assert_eq!(trie.insert("#", 1, 1), None);
        assert_eq!(trie.insert("#", 1, 2), Some(1));
        assert_eq!((trie.filter_count(), trie.subscription_count()), (3, 4));
        assert_eq!(matched(&trie, "a/b"), vec![(1, 1), (1, 2), (1, 2), (2, 1)]);
        trie.check();
        assert!(!trie.is_empty());
    }

    #[test]
    fn subscribers_of_an_exact_filter() {
        let mut trie = Trie::new();
        trie.insert("a/+", 3, 1);
        trie.insert("a/+", 1, 0);
        trie.insert("a/#", 2, 2);
        trie.insert("#", 4, 2);
        let subs: Vec<_> = trie.subscribers("a/+").map(|(k, v)| (*k, *v)).collect();
        assert_eq!(subs, vec![(1, 0), (3, 1)]);
        assert_eq!(trie.subscribers("a/#").count(), 1);
        assert_eq!(trie.subscribers("#").count(), 1);
        assert_eq!(trie.subscribers("a").count(), 0);
        assert_eq!(trie.subscribers("a/b").count(), 0);
        assert_eq!(trie.subscribers("x/#").count(), 0);
    }

    #[test]
    fn filters_lists_every_filter() {
        let list = [
            "a/b/c", "a/b", "a/#", "#", "+", "+/x/#", "/", "", "a/b/+/d", "$SYS/#",
        ];
        let trie = trie_of(&list);
        let got: BTreeSet<String> = trie.filters().into_iter().collect();
        let want: BTreeSet<String> = list.iter().map(|f| f.to_string()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn edges_are_compressed_split_and_merged() {
        let mut trie = Trie::new();
        trie.insert("devices/1/sensor/temp", 1, 0);
        assert_eq!(trie.node_count(), 2);
        trie.insert("devices/1/sensor/hum", 1, 0);
        assert_eq!(trie.node_count(), 4); // root, "devices/1/sensor", "temp", "hum"
        trie.insert("devices/1", 1, 0);
        assert_eq!(trie.node_count(), 5);
        trie.check();
        trie.remove("devices/1/sensor/hum", &1);
        trie.check();
        trie.remove("devices/1", &1);
        trie.check();
        assert_eq!(trie.node_count(), 2);
        assert_eq!(keys(&trie, "devices/1/sensor/temp"), vec![1]);
        assert!(keys(&trie, "devices/1/sensor").is_empty());
        assert_eq!(trie.filters(), vec!["devices/1/sensor/temp".to_string()]);
    }

    #[test]
    fn removal_prunes_everything() {
        let list = [
            "a/b/c",
            "a/b",
            "a/#",
            "#",
            "+",
            "+/x/#",
            "/",
            "",
            "a/+/+/d",
            "a/b/c/d/e",
        ];
        let mut trie = trie_of(&list);
        for (key, filter) in list.iter().enumerate().rev() {
            assert_eq!(trie.remove("never/subscribed", &(key as u32)), None);
            assert_eq!(trie.remove(filter, &99), None);
            assert_eq!(trie.remove(filter, &(key as u32)), Some(0), "{filter}");
            assert_eq!(trie.remove(filter, &(key as u32)), None);
            trie.check();
        }
        assert!(trie.is_empty());
        assert_eq!(trie.filter_count(), 0);
        assert!(trie.root.branch.is_none());
        assert_eq!(trie.node_count(), 1);
    }

    #[test]
    fn fan_out_filters_grow_and_shrink() {
        let mut trie = Trie::new();
        for key in 0..1000 {
            trie.insert("alerts/#", key, (key % 3) as u8);
        }
        assert!(matches!(
            trie.root
                .descend(Some("alerts"))
                .unwrap()
                .branch
                .as_ref()
                .unwrap()
                .hash,
            Subs::Many(_)
        ));
        assert_eq!(keys(&trie, "alerts/fire").len(), 1000);
        assert_eq!(trie.subscribers("alerts/#").count(), 1000);
        for key in (0..1000).filter(|k| k % 10 != 0) {
            assert_eq!(trie.remove("alerts/#", &key), Some((key % 3) as u8));
        }
        assert_eq!(
            keys(&trie, "alerts"),
            (0..100).map(|k| k * 10).collect::<Vec<_>>()
        );
        for key in (0..100).map(|k| k * 10) {
            trie.remove("alerts/#", &key);
        }
        trie.check();
        assert_eq!(trie.node_count(), 1);
    }

    #[test]
    fn wide_nodes_switch_to_a_map_and_back() {
        let mut trie = Trie::new();
        for i in 0..1000u32 {
            trie.insert(&format!("client/{i}/state"), i, 0);
            trie.insert(&format!("client/{i}/+"), i + 1000, 0);
        }
        trie.check();
        assert_eq!(keys(&trie, "client/500/state"), vec![500, 1500]);
        assert_eq!(keys(&trie, "client/500/x"), vec![1500]);
        for i in 0..1000u32 {
            trie.remove(&format!("client/{i}/+"), &(i + 1000));
            if i % 100 != 0 {
                trie.remove(&format!("client/{i}/state"), &i);
            }
        }
        trie.check();
        assert_eq!(trie.filter_count(), 10);
        assert_eq!(keys(&trie, "client/300/state"), vec![300]);
    }

    #[test]
    fn deep_filters_do_not_overflow_the_stack() {
        let depth = 30_000;
        let plus = vec!["+"; depth].join("/");
        let name = vec!["x"; depth].join("/");
        let alternating = (0..depth)
            .map(|i| if i % 2 == 0 { "+" } else { "x" })
            .collect::<Vec<_>>()
            .join("/");
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let mut trie = Trie::new();
                trie.insert(&plus, 1, 0);
                trie.insert(&alternating, 2, 0);
                trie.insert(&format!("{name}/#"), 3, 0);
                assert_eq!(keys(&trie, &name), vec![1, 2, 3]);
                assert_eq!(trie.filters().len(), 3);
                trie.remove(&alternating, &2);
                trie.check();
                drop(trie);
            })
            .unwrap();
        handle.join().unwrap();
    }

    #[test]
    fn churn_keeps_counts() {
        let mut trie = Trie::new();
        let mut model = BTreeSet::new();
        let mut seed = 7u64;
        for _ in 0..20_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (seed >> 33) as u32;
            let filter = format!(
                "c/{}/{}",
                r % 17,
                ["x", "+", "#", "y/z"][(r / 17 % 4) as usize]
            );
            let key = r / 68 % 5;
            if r.is_multiple_of(3) {
                assert_eq!(
                    trie.remove(&filter, &key).is_some(),
                    model.remove(&(filter, key))
                );
            } else {
                assert_eq!(
                    trie.insert(&filter, key, 0).is_none(),
                    model.insert((filter, key))
                );
            }
        }
        trie.check();
        assert_eq!(trie.subscription_count(), model.len());
        let distinct: BTreeSet<_> = model.iter().map(|(f, _)| f).collect();
        assert_eq!(trie.filter_count(), distinct.len());
    }

    fn level() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["a", "b", "ab", "", "$s"])
    }

    fn name() -> impl Strategy<Value = String> {
        prop::collection::vec(level(), 1..5).prop_map(|levels| match levels.join("/") {
            name if name.is_empty() => "a".to_string(),
            name => name,
        })
    }

    fn filter() -> impl Strategy<Value = String> {
        let level = prop_oneof![4 => level(), 1 => Just("+")];
        (prop::collection::vec(level, 1..5), any::<bool>()).prop_map(|(mut levels, hash)| {
            if hash {
                levels.push("#");
            }
            match levels.join("/") {
                filter if filter.is_empty() => "a".to_string(),
                filter => filter,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn agrees_with_topic_matches(
            ops in prop::collection::vec((filter(), 0u32..3, any::<bool>()), 1..60),
            names in prop::collection::vec(name(), 1..20),
        ) {
            let mut trie = Trie::new();
            let mut model = BTreeMap::new();
            for (i, (filter, key, remove)) in ops.iter().enumerate() {
                prop_assert!(topic::validate_filter(filter).is_ok());
                if *remove {
                    let want = model.remove(&(filter.clone(), *key));
                    prop_assert_eq!(trie.remove(filter, key), want);
                } else {
                    let value = (i % 256) as u8;
                    let want = model.insert((filter.clone(), *key), value);
                    prop_assert_eq!(trie.insert(filter, *key, value), want);
                }
                trie.check();
            }
            for name in &names {
                let mut want: Vec<(u32, u8)> = model
                    .iter()
                    .filter(|((f, _), _)| topic::matches(f, name))
                    .map(|((_, k), v)| (*k, *v))
                    .collect();
                want.sort_unstable();
                prop_assert_eq!(matched(&trie, name), want, "name {:?}", name);
            }
            let mut listed = trie.filters();
            listed.sort();
            let mut distinct: Vec<String> = model.keys().map(|(f, _)| f.clone()).collect();
            distinct.dedup();
            prop_assert_eq!(listed, distinct);
        }
    }
}
