//! Run counters and a log-linear latency histogram (HdrHistogram-like, ≤ 1.6 % error) with
//! percentiles; the histogram is lock-free so every client task records into the same one.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Sub-buckets per power of two: 2^SUB_BITS, so a bucket spans ≤ 1/64 of its value.
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
const HALF: u64 = SUB / 2;
/// Values up to 2^MAX_BITS ns (about 18 minutes) are kept apart; larger ones share the last bucket.
const MAX_BITS: u32 = 40;
pub const BUCKETS: usize = (SUB + (MAX_BITS as u64 - SUB_BITS as u64 + 1) * HALF) as usize;

/// The bucket of `value`: exact below 128, then 64 sub-buckets per power of two.
pub fn bucket_of(value: u64) -> usize {
    if value < SUB {
        return value as usize;
    }
    let exp = 63 - value.leading_zeros(); // ≥ SUB_BITS
    if exp > MAX_BITS {
        return BUCKETS - 1;
    }
    let shift = exp - (SUB_BITS - 1);
    let mantissa = value >> shift; // in HALF..SUB
    (SUB + (exp - SUB_BITS) as u64 * HALF + (mantissa - HALF)) as usize
}

/// The largest value that falls into `bucket`.
pub fn bucket_high(bucket: usize) -> u64 {
    let b = bucket as u64;
    if b < SUB {
        return b;
    }
    let exp = (b - SUB) / HALF + SUB_BITS as u64;
    let mantissa = (b - SUB) % HALF + HALF;
    let shift = exp - (SUB_BITS as u64 - 1);
    ((mantissa + 1) << shift) - 1
}

/// A plain histogram: a snapshot to compute percentiles on.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
            sum: 0,
        }
    }
}

impl Histogram {
    #[cfg(test)]
    pub fn record(&mut self, value: u64) {
        self.counts[bucket_of(value)] += 1;
        self.total += 1;
        self.max = self.max.max(value);
        self.sum += value as u128;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at quantile `q` (0.0..=1.0): the high end of the bucket holding the
    /// ⌈q·n⌉-th smallest value, never above the recorded maximum; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return bucket_high(bucket).min(self.max);
            }
        }
        self.max
    }

    /// What was recorded since `earlier` (a previous snapshot of the same histogram).
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .zip(&earlier.counts)
            .map(|(a, b)| a - b)
            .collect();
        let max = counts
            .iter()
            .rposition(|&n| n > 0)
            .map_or(0, |b| bucket_high(b).min(self.max));
        Histogram {
            total: self.total - earlier.total,
            sum: self.sum - earlier.sum,
            max,
            counts,
        }
    }
}

/// The shared, lock-free histogram the client tasks record into.
pub struct AtomicHistogram {
    counts: Vec<AtomicU64>,
    total: AtomicU64,
    max: AtomicU64,
    sum: AtomicU64,
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        AtomicHistogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            max: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }
}

impl AtomicHistogram {
    pub fn record(&self, value: u64) {
        self.counts[bucket_of(value)].fetch_add(1, Relaxed);
        self.total.fetch_add(1, Relaxed);
        self.max.fetch_max(value, Relaxed);
        self.sum.fetch_add(value, Relaxed);
    }

    pub fn snapshot(&self) -> Histogram {
        Histogram {
            counts: self.counts.iter().map(|c| c.load(Relaxed)).collect(),
            total: self.total.load(Relaxed),
            max: self.max.load(Relaxed),
            sum: self.sum.load(Relaxed) as u128,
        }
    }
}

/// Counters of one run, shared by every client task.
pub struct Stats {
    pub started: Instant,
    pub connect_started: AtomicU64,
    pub connected: AtomicU64,
    pub connect_failed: AtomicU64,
    /// connections lost after CONNACK, before the run asked them to stop
    pub dropped: AtomicU64,
    /// clients that finished their set-up (connected and, for subscribers, subscribed) or failed
    pub settled: AtomicU64,
    pub subscribed: AtomicU64,
    pub subscribe_failed: AtomicU64,
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub received: AtomicU64,
    /// deliveries the finished publishers' messages should have made (pubsub)
    pub expected: AtomicU64,
    pub publishers_done: AtomicU64,
    /// ns since `started`: first connect attempt, last CONNACK, first SUBSCRIBE written,
    /// the moment `--expect` was reached (0 = not yet)
    pub first_connect_ns: AtomicU64,
    pub last_connack_ns: AtomicU64,
    pub first_subscribe_ns: AtomicU64,
    pub expect_reached_ns: AtomicU64,
    pub first_receive_ns: AtomicU64,
    pub last_receive_ns: AtomicU64,
    /// end-to-end latency in ns
    pub latency: AtomicHistogram,
    /// handshake time (TCP connect to CONNACK) in ns
    pub handshake: AtomicHistogram,
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            started: Instant::now(),
            connect_started: AtomicU64::new(0),
            connected: AtomicU64::new(0),
            connect_failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            settled: AtomicU64::new(0),
            subscribed: AtomicU64::new(0),
            subscribe_failed: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            received: AtomicU64::new(0),
            expected: AtomicU64::new(0),
            publishers_done: AtomicU64::new(0),
            first_connect_ns: AtomicU64::new(0),
            last_connack_ns: AtomicU64::new(0),
            first_subscribe_ns: AtomicU64::new(0),
            expect_reached_ns: AtomicU64::new(0),
            first_receive_ns: AtomicU64::new(0),
            last_receive_ns: AtomicU64::new(0),
            latency: AtomicHistogram::default(),
            handshake: AtomicHistogram::default(),
        }
    }

    /// ns since the run started, at least 1 (0 means "not yet" in the marks).
    pub fn now_ns(&self) -> u64 {
        (self.started.elapsed().as_nanos() as u64).max(1)
    }

    /// Sets `mark` to now unless it is set already.
    pub fn mark_first(&self, mark: &AtomicU64) {
        if mark.load(Relaxed) == 0 {
            let _ = mark.compare_exchange(0, self.now_ns(), Relaxed, Relaxed);
        }
    }

    pub fn mark_last(&self, mark: &AtomicU64) {
        mark.fetch_max(self.now_ns(), Relaxed);
    }
}

/// Nanoseconds since the UNIX epoch: the publish timestamp.
pub fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for v in (0..5_000u64).chain((1..2_000).map(|k| k * 7_919_123)) {
            let b = bucket_of(v);
            assert!(b >= last || v < 5_000, "bucket order at {v}");
            last = b;
            let high = bucket_high(b);
            assert!(high >= v, "{v} above its bucket's high {high}");
            assert!(
                (high - v) as f64 <= v as f64 / 64.0 + 1.0,
                "{v}: bucket too wide ({high})"
            );
        }
        assert_eq!(bucket_of(127), 127);
        assert_eq!(bucket_of(128), 128);
        assert_eq!(bucket_high(128), 129);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_of_a_uniform_run() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 1_000); // 1 µs .. 100 ms
        }
        let close = |got: u64, want: f64| (got as f64 - want).abs() <= want * 0.02;
        assert!(close(h.quantile(0.5), 50_000_000.0), "{}", h.quantile(0.5));
        assert!(
            close(h.quantile(0.99), 99_000_000.0),
            "{}",
            h.quantile(0.99)
        );
        assert!(close(h.quantile(0.999), 99_900_000.0));
        assert_eq!(h.quantile(1.0), 100_000_000);
        assert_eq!(h.max(), 100_000_000);
        assert_eq!(h.count(), 100_000);
        assert!((h.mean() - 50_000_500.0).abs() < 1.0);
    }

    #[test]
    fn percentiles_of_small_and_skewed_runs() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), 0);
        h.record(42);
        assert_eq!(h.quantile(0.0), 42);
        assert_eq!(h.quantile(0.999), 42);
        for _ in 0..98 {
            h.record(10);
        }
        h.record(1_000_000);
        // 99 of 100 values ≤ 42: p99 is small, p999 is the outlier.
        assert_eq!(h.quantile(0.5), 10);
        assert_eq!(h.quantile(0.99), 42);
        assert_eq!(h.quantile(0.999), 1_000_000);
    }

    #[test]
    fn snapshots_diff_into_an_interval() {
        let shared = AtomicHistogram::default();
        shared.record(100);
        let before = shared.snapshot();
        shared.record(5_000);
        shared.record(6_000);
        let interval = shared.snapshot().since(&before);
        assert_eq!(interval.count(), 2);
        assert!(interval.quantile(0.5) >= 5_000 && interval.quantile(0.5) < 5_100);
        assert_eq!(interval.max(), 6_000);
        assert_eq!(shared.snapshot().count(), 3);
    }

    #[test]
    fn marks_keep_first_and_last() {
        let stats = Stats::new();
        stats.mark_first(&stats.first_receive_ns);
        let first = stats.first_receive_ns.load(Relaxed);
        assert!(first > 0);
        stats.mark_first(&stats.first_receive_ns);
        assert_eq!(stats.first_receive_ns.load(Relaxed), first);
        stats.mark_last(&stats.last_receive_ns);
        assert!(stats.last_receive_ns.load(Relaxed) >= first);
    }
}
