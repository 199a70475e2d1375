//! What to export: modified-date windows, partner lead ids, unassigned leads, or known ids.
//! A date range of any length becomes consecutive search windows of at most 7 days (the API's
//! limit), none reaching into the future.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The API's largest search window.
pub const MAX_WINDOW: Duration = Duration::days(7);

/// A modified-date window, both bounds included (as the sandbox reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    pub fn to_json(self) -> Value {
        json!({
            "fromDate": self.from.to_rfc3339_opts(SecondsFormat::Millis, true),
            "toDate": self.to.to_rfc3339_opts(SecondsFormat::Millis, true),
        })
    }
}

/// The longest date range an export searches: 20 years, about 1,050 searches of 7 days. A
/// longer one is almost surely a typo (`0025-01-01`), and would take hours of searching.
pub const MAX_RANGE: Duration = Duration::days(20 * 366);

/// Splits `[from, to]` into windows of at most 7 days; `to` is first clipped to `now`.
pub fn windows(from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Window> {
    let to = to.min(now);
    let mut out = Vec::new();
    let mut start = from;
    while start < to {
        let end = (start + MAX_WINDOW).min(to);
        out.push(Window {
            from: start,
            to: end,
        });
        start = end;
    }
    out
}

/// A date-time as users type it: RFC 3339 (`2025-08-04T08:00:00Z`, `…+02:00`), a date
/// (`2025-08-04`, midnight UTC), or a date-time without offset (taken as UTC).
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(n.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(format!(
        "`{s}` is not a date or date-time (use 2025-08-04, 2025-08-04T08:00:00Z or 2025-08-04T10:00:00+02:00)"
    ))
}

/// `--modified-since`: a duration back from now (`90m`, `36h`, `30d`, `2w`) or a date.
pub fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    if let (Ok(n), Some(unit)) = (num.parse::<i64>(), Some(unit.trim())) {
        let d = match unit {
            "m" | "min" => Some(Duration::try_minutes(n)),
            "h" => Some(Duration::try_hours(n)),
            "d" => Some(Duration::try_days(n)),
            "w" => Some(Duration::try_weeks(n)),
            _ => None,
        };
        if let Some(d) = d {
            return d
                .and_then(|d| now.checked_sub_signed(d))
                .ok_or_else(|| format!("`{s}` reaches back further than dates go"));
        }
    }
    parse_instant(t).map_err(|_| {
        format!("`{s}` is neither a duration (90m, 36h, 30d, 2w) nor a date (2025-08-04)")
    })
}

/// The searches of an export, already split.
#[derive(Debug, Clone, Default)]
pub struct Criteria {
    pub windows: Vec<Window>,
    /// Partner lead ids to match (`""` for unassigned leads); empty: any.
    pub partner_lead_ids: Vec<String>,
}

/// Ids per search request when many partner lead ids are asked for: the contract sets no
/// limit, and a moderate one keeps each body small.
pub const IDS_PER_SEARCH: usize = 100;

impl Criteria {
    /// One search body per window and per chunk of partner lead ids, every criterion of a
    /// request in the same item (AND).
    pub fn bodies(&self) -> Vec<Value> {
        let windows: Vec<Option<Window>> = if self.windows.is_empty() {
            vec![None]
        } else {
            self.windows.iter().copied().map(Some).collect()
        };
        let chunks: Vec<Option<&[String]>> = if self.partner_lead_ids.is_empty() {
            vec![None]
        } else {
            self.partner_lead_ids
                .chunks(IDS_PER_SEARCH)
                .map(Some)
                .collect()
        };
        let mut out = Vec::new();
        for w in &windows {
            for c in &chunks {
                let mut item = serde_json::Map::new();
                if let Some(w) = w {
                    item.insert("modifiedDate".into(), w.to_json());
                }
                if let Some(ids) = c {
                    let v = if ids.len() == 1 {
                        Value::String(ids[0].clone())
                    } else {
                        Value::from(ids.to_vec())
                    };
                    item.insert("partnerLeadOpportunityId".into(), v);
                }
                out.push(json!({ "data": [Value::Object(item)] }));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    #[test]
    fn windows_are_at_most_seven_days_and_never_in_the_future() {
        let now = t("2026-03-01T12:00:00Z");
        let w = windows(t("2026-01-01T00:00:00Z"), t("2026-12-31T00:00:00Z"), now);
        assert_eq!(w.first().unwrap().from, t("2026-01-01T00:00:00Z"));
        assert_eq!(w.last().unwrap().to, now);
        assert!(
            w.iter()
                .all(|w| w.to - w.from <= MAX_WINDOW && w.from < w.to)
        );
        assert!(w.windows(2).all(|p| p[0].to == p[1].from));
        assert_eq!(windows(t("2026-01-01"), t("2026-01-08"), now).len(), 1);
        assert!(windows(t("2026-04-01"), t("2026-05-01"), now).is_empty());
    }

    #[test]
    fn instants_and_durations() {
        let now = t("2026-03-01T12:00:00Z");
        assert_eq!(t("2025-08-04T10:00:00+02:00"), t("2025-08-04T08:00:00Z"));
        assert_eq!(t("2025-08-04"), t("2025-08-04T00:00:00Z"));
        assert_eq!(parse_since("30d", now).unwrap(), now - Duration::days(30));
        assert_eq!(parse_since("36h", now).unwrap(), now - Duration::hours(36));
        assert_eq!(parse_since("2w", now).unwrap(), now - Duration::weeks(2));
        assert!(parse_since("999999999999999d", now).is_err());
        assert!(parse_since("100000000d", now).is_err());
        assert_eq!(parse_since("2026-02-01", now).unwrap(), t("2026-02-01"));
        assert!(parse_since("soon", now).is_err());
    }

    #[test]
    fn bodies_and_criteria() {
        let c = Criteria {
            windows: windows(t("2026-01-01"), t("2026-01-10"), t("2026-06-01")),
            partner_lead_ids: (0..150).map(|i| format!("P{i}")).collect(),
        };
        let bodies = c.bodies();
        assert_eq!(bodies.len(), 4);
        assert!(bodies[0]["data"][0]["modifiedDate"]["fromDate"].is_string());
        assert_eq!(
            bodies[0]["data"][0]["partnerLeadOpportunityId"]
                .as_array()
                .unwrap()
                .len(),
            100
        );
        let un = Criteria {
            windows: vec![],
            partner_lead_ids: vec![String::new()],
        };
        assert_eq!(
            un.bodies(),
            vec![json!({"data": [{"partnerLeadOpportunityId": ""}]})]
        );
    }
}
