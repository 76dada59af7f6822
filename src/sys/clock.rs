//! Time formatting for `$SYS` topics, in emqttd's formats, without a date library.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// emqttd's uptime text: `"1 days, 2 hours, 3 minutes, 4 seconds"`, leading zero units left out.
pub fn uptime_text(uptime: Duration) -> String {
    let secs = uptime.as_secs();
    let (days, hours, minutes, seconds) =
        (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    let mut parts = Vec::new();
    let mut started = false;
    for (value, unit) in [(days, "days"), (hours, "hours"), (minutes, "minutes")] {
        started |= value > 0;
        if started {
            parts.push(format!("{} {}", value, unit));
        }
    }
    parts.push(format!("{} seconds", seconds));
    parts.join(", ")
}

/// `"YYYY-MM-DD HH:MM:SS"` in UTC.
pub fn datetime_text(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        year,
        month,
        day,
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_uptime_like_emqttd() {
        assert_eq!(uptime_text(Duration::from_secs(4)), "4 seconds");
        assert_eq!(
            uptime_text(Duration::from_secs(3_725)),
            "1 hours, 2 minutes, 5 seconds"
        );
        assert_eq!(
            uptime_text(Duration::from_secs(86_400 + 4)),
            "1 days, 0 hours, 0 minutes, 4 seconds"
        );
    }

    #[test]
    fn formats_utc_datetimes() {
        assert_eq!(datetime_text(UNIX_EPOCH), "1970-01-01 00:00:00");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_671_744);
        assert_eq!(datetime_text(t), "2026-11-26 05:42:24");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(datetime_text(leap), "2000-02-29 00:00:00");
    }
}
