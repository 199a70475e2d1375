//! The retry policy of REFERENCE.md §10.3, as a classification kept apart from the loop that
//! applies it: given the operation and what one attempt produced, [`classify`] says whether
//! the attempt succeeded, may be repeated, is final, stops the run, or — for a create — left an
//! unknown outcome that must be reconciled by a search before anything is re-sent.

use std::time::Duration;

use super::contract::Operation;
use super::envelope::Failure;

/// What one attempt produced.
#[derive(Debug)]
pub enum Attempt {
    /// An HTTP answer.
    Answer {
        status: u16,
        failure: Option<Failure>,
        retry_after: Option<Duration>,
    },
    /// No answer. `sent` says whether the request may have reached the server (a refused
    /// connection never did; a timeout or a dropped connection may have).
    Transport { sent: bool, message: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Success,
    /// Repeat after the wait (the server's Retry-After, or the backoff).
    Retry {
        after: Option<Duration>,
        throttled: bool,
    },
    /// Do not repeat: the answer stands (REJECTED).
    Final,
    /// A create that may or may not have been stored: search before re-sending.
    Unknown,
    /// 401/403: the key is wrong for everything; stop the run.
    StopRun,
}

pub fn classify(op: Operation, attempt: &Attempt, earlier_500s: u32) -> Verdict {
    match attempt {
        Attempt::Transport { sent: false, .. } => Verdict::Retry {
            after: None,
            throttled: false,
        },
        Attempt::Transport { sent: true, .. } if op.repeatable() => Verdict::Retry {
            after: None,
            throttled: false,
        },
        Attempt::Transport { sent: true, .. } => Verdict::Unknown,
        Attempt::Answer {
            status,
            retry_after,
            failure,
        } => match *status {
            200..=299 => Verdict::Success,
            401 | 403 => Verdict::StopRun,
            429 => Verdict::Retry {
                after: *retry_after,
                throttled: true,
            },
            // 503 ERR899 is documented as "not processed", but a gateway can time out after the
            // back end stored the record: for a create that is an unknown outcome.
            502..=504 if op == Operation::Create => Verdict::Unknown,
            502..=504 => Verdict::Retry {
                after: *retry_after,
                throttled: false,
            },
            500 if failure.as_ref().and_then(|f| f.code.as_deref()) == Some("ERROR_048") => {
                Verdict::Final
            }
            500..=599 if op == Operation::Create => Verdict::Unknown,
            // Any other 500: its meaning is undocumented; try once more.
            500..=599 if earlier_500s == 0 => Verdict::Retry {
                after: None,
                throttled: false,
            },
            _ => Verdict::Final,
        },
    }
}

/// A `Retry-After` value: seconds, or an HTTP date (RFC 9110 §10.2.3), as a wait from now.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Exponential backoff with full jitter: 1 s, 2 s, 4 s… capped, times a random 50–100 %.
pub fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(16));
    let capped = exp.min(cap);
    capped.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// Whether a reqwest error may have reached the server: only a failed connection surely did not.
pub fn was_sent(e: &reqwest::Error) -> bool {
    if e.is_connect() {
        return false;
    }
    // Walk the sources for an io error that happens before anything is written.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
            )
        {
            return false;
        }
        source = s.source();
    }
    true
}

/// A one-line description of a transport error, with its causes.
pub fn describe(e: &reqwest::Error) -> String {
    let mut parts = vec![if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    }];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_as_seconds_or_a_date() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let wait = parse_retry_after(&soon).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
        assert_eq!(parse_retry_after("soon"), None);
    }

    fn answer(status: u16, code: Option<&str>) -> Attempt {
        Attempt::Answer {
            status,
            failure: Some(Failure {
                status,
                code: code.map(str::to_string),
                ..Default::default()
            }),
            retry_after: None,
        }
    }

    #[test]
    fn policy() {
        assert_eq!(
            classify(Operation::Create, &answer(201, None), 0),
            Verdict::Success
        );
        assert_eq!(
            classify(Operation::Create, &answer(400, Some("ERR801")), 0),
            Verdict::Final
        );
        assert_eq!(
            classify(Operation::Update, &answer(406, Some("ERR805")), 0),
            Verdict::Final
        );
        assert_eq!(
            classify(Operation::Get, &answer(403, None), 0),
            Verdict::StopRun
        );
        assert!(matches!(
            classify(Operation::Create, &answer(429, None), 0),
            Verdict::Retry {
                throttled: true,
                ..
            }
        ));
        assert_eq!(
            classify(Operation::Create, &answer(503, Some("ERR899")), 0),
            Verdict::Unknown
        );
        assert!(matches!(
            classify(Operation::Update, &answer(503, Some("ERR899")), 0),
            Verdict::Retry { .. }
        ));
        assert_eq!(
            classify(Operation::Get, &answer(500, Some("ERROR_048")), 0),
            Verdict::Final
        );
        assert!(matches!(
            classify(Operation::Get, &answer(500, None), 0),
            Verdict::Retry { .. }
        ));
        assert_eq!(
            classify(Operation::Get, &answer(500, None), 1),
            Verdict::Final
        );
        let dropped = Attempt::Transport {
            sent: true,
            message: "closed".into(),
        };
        assert_eq!(classify(Operation::Create, &dropped, 0), Verdict::Unknown);
        assert!(matches!(
            classify(Operation::Search, &dropped, 0),
            Verdict::Retry { .. }
        ));
        let refused = Attempt::Transport {
            sent: false,
            message: "refused".into(),
        };
        assert!(matches!(
            classify(Operation::Create, &refused, 0),
            Verdict::Retry { .. }
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = |n| backoff(n, Duration::from_secs(1), Duration::from_secs(60));
        assert!(b(0) <= Duration::from_secs(1) && b(0) >= Duration::from_millis(500));
        assert!(b(3) <= Duration::from_secs(8) && b(3) >= Duration::from_secs(4));
        assert!(b(20) <= Duration::from_secs(60));
    }
}
