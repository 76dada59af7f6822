//! Criterion micro-benchmarks of topic matching: the subscription trie with 1, 1k and 100k
//! filters (a tenth with wildcards) and the retained index's wildcard walk over 100k topics
//! (`cargo bench --bench topic`).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use emqttd::retainer::index::RetainedIndex;
use emqttd::router::trie::SubscriptionTrie;

/// `n` filters `d/<i/100>/<i%100>/state`, every tenth `d/<i/100>/+/state` or `d/<i/100>/#`.
fn trie(n: usize) -> SubscriptionTrie<u32, u8> {
    let mut trie = SubscriptionTrie::new();
    for i in 0..n {
        let filter = match i % 20 {
            9 => format!("d/{}/+/state", i / 100),
            19 => format!("d/{}/#", i / 100),
            _ => format!("d/{}/{}/state", i / 100, i % 100),
        };
        trie.insert(&filter, i as u32, 0);
    }
    trie
}

fn subscription_trie(c: &mut Criterion) {
    let mut group = c.benchmark_group("trie_match");
    for n in [1usize, 1_000, 100_000] {
        let trie = trie(n);
        let hit = format!("d/{}/{}/state", (n - 1) / 100, (n - 1) % 100);
        group.bench_with_input(BenchmarkId::new("hit", n), &hit, |b, name| {
            b.iter(|| {
                let mut found = 0;
                trie.for_each_match(black_box(name), |_, _| found += 1);
                found
            })
        });
        group.bench_with_input(BenchmarkId::new("miss", n), "other/x/y", |b, name| {
            b.iter(|| {
                let mut found = 0;
                trie.for_each_match(black_box(name), |_, _| found += 1);
                found
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("trie_insert_remove");
    let mut trie = trie(100_000);
    group.bench_function("100k", |b| {
        b.iter(|| {
            trie.insert(black_box("d/5/55/state/extra"), u32::MAX, 0);
            trie.remove(black_box("d/5/55/state/extra"), &u32::MAX)
        })
    });
    group.finish();
}

fn retained_index(c: &mut Criterion) {
    let mut index = RetainedIndex::new();
    for i in 0..100_000u32 {
        index.insert(&format!("r/{}/{}/v", i / 1_000, i % 1_000), i);
    }
    let mut group = c.benchmark_group("retained_100k");
    group.sample_size(20);
    for filter in ["#", "r/+/7/v", "r/42/#", "r/42/777/v", "r/+/+/x"] {
        group.bench_with_input(BenchmarkId::new("match", filter), filter, |b, filter| {
            b.iter(|| {
                let mut found = 0u32;
                index.for_each_match(black_box(filter), |_, _| found += 1);
                found
            })
        });
    }
    group.bench_function("get", |b| {
        b.iter(|| index.get(black_box("r/42/777/v")).copied())
    });
    group.finish();
}

criterion_group!(benches, subscription_trie, retained_index);
criterion_main!(benches);
