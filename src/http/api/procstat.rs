//! What the OS says about the broker process (Linux `/proc`): resident memory, machine
//! memory, load averages, CPU time, threads and the open-files limit. Parsers are pure; the
//! readers return `None` where `/proc` is missing.

use std::time::Instant;

/// Linux reports CPU times in clock ticks of 1/100 s (USER_HZ) on every supported platform.
const TICKS_PER_SECOND: f64 = 100.0;

/// The process's CPU time at one moment.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    pub ticks: u64,
    pub at: Instant,
}

/// A `kB` line value of `/proc/self/status` or `/proc/meminfo` (`VmRSS:  1234 kB`), in bytes.
pub fn kb_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// A plain number field of `/proc/self/status` (`Threads: 12`).
pub fn number_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The three load averages of `/proc/loadavg`, as written there (`"0.52"`).
pub fn load_averages(text: &str) -> Option<[String; 3]> {
    let mut fields = text.split_whitespace();
    let mut next = || fields.next().map(str::to_string);
    Some([next()?, next()?, next()?])
}

/// utime + stime (clock ticks) of `/proc/self/stat`; the command name may hold spaces and
/// parentheses, so fields are counted after its last `)`.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3 of the file, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The soft `Max open files` limit of `/proc/self/limits`.
pub fn max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Percent of one core used between two samples.
pub fn cpu_percent(before: CpuSample, now: CpuSample) -> f64 {
    let seconds = now.at.duration_since(before.at).as_secs_f64();
    if seconds <= 0.0 {
        return 0.0;
    }
    let used = now.ticks.saturating_sub(before.ticks) as f64 / TICKS_PER_SECOND;
    (used / seconds * 100.0 * 100.0).round() / 100.0
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The broker's resident set size in bytes.
pub fn rss_bytes() -> Option<u64> {
    kb_field(&read("/proc/self/status")?, "VmRSS")
}

/// The machine's memory in bytes.
pub fn memory_total() -> Option<u64> {
    kb_field(&read("/proc/meminfo")?, "MemTotal")
}

pub fn threads() -> Option<u64> {
    number_field(&read("/proc/self/status")?, "Threads")
}

pub fn loadavg() -> Option<[String; 3]> {
    load_averages(&read("/proc/loadavg")?)
}

pub fn max_fds() -> Option<u64> {
    max_open_files(&read("/proc/self/limits")?)
}

/// The process's CPU time now.
pub fn cpu_sample() -> Option<CpuSample> {
    Some(CpuSample {
        ticks: cpu_ticks(&read("/proc/self/stat")?)?,
        at: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_status_and_meminfo() {
        let status = "Name:\temqttd\nVmRSS:\t   20480 kB\nThreads:\t7\n";
        assert_eq!(kb_field(status, "VmRSS"), Some(20480 * 1024));
        assert_eq!(number_field(status, "Threads"), Some(7));
        assert_eq!(kb_field(status, "VmSwap"), None);
        let meminfo = "MemTotal:       16318412 kB\nMemFree:  1 kB\n";
        assert_eq!(kb_field(meminfo, "MemTotal"), Some(16318412 * 1024));
    }

    #[test]
    fn parses_loadavg_limits_and_stat() {
        assert_eq!(
            load_averages("0.52 0.41 0.30 1/234 5678\n"),
            Some(["0.52".into(), "0.41".into(), "0.30".into()])
        );
        assert_eq!(load_averages("0.1"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 1048576              files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0";
        assert_eq!(cpu_ticks(stat), Some(300));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn cpu_percent_of_one_core() {
        let t0 = Instant::now();
        let before = CpuSample { ticks: 100, at: t0 };
        let after = CpuSample {
            ticks: 150,
            at: t0 + Duration::from_secs(1),
        };
        assert_eq!(cpu_percent(before, after), 50.0);
        assert_eq!(cpu_percent(before, before), 0.0);
    }

    #[test]
    fn this_process_is_visible_on_linux() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(rss_bytes().unwrap() > 0);
            assert!(cpu_sample().is_some());
            assert!(max_fds().unwrap() > 0);
        }
    }
}
