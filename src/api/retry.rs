//! The retry policy of REFERENCE.md §10.3, as a classification kept apart from the loop that
//! applies it: given the operation and what one attempt produced, [`classify`] says whether
//! the attempt succeeded, may be repeated, is final, stops the run, or — for a create — left an
//! unknown outcome that must be reconciled by a search before anything is re-sent. Some answers
//! halt the run whatever the operation ([`Halt`]): a redirect, which is never followed; a
//! `Retry-After` longer than leadsheet waits; a TLS handshake that fails.

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
        /// A redirect's `Location`.
        location: Option<String>,
    },
    /// No answer, or none that can be read (cut off, over the size limit, a success that is
    /// not JSON). `sent` says whether the request may have reached the server (a refused
    /// connection never did; a timeout or a dropped connection may have).
    Transport { sent: bool, message: String },
    /// The TLS handshake failed (a certificate that cannot be verified): nothing was sent.
    Insecure { message: String },
}

/// The longest `Retry-After` obeyed; a server that asks for longer stops the run.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Why an answer stops the run, whatever the operation: asking again cannot help.
#[derive(Debug, Clone, PartialEq)]
pub enum Halt {
    /// A 3xx: following it would carry the API key wherever it points.
    Redirect {
        status: u16,
        location: Option<String>,
    },
    /// A 429 or 5xx whose `Retry-After` is longer than [`MAX_RETRY_AFTER`].
    Wait { status: u16, wait: Duration },
    /// The TLS handshake failed.
    Insecure(String),
}

impl Halt {
    /// What the user reads; `base` is the server's base URL, against which a relative
    /// `Location` is read. A Location's path and query are left out: they may carry tokens.
    pub fn describe(&self, base: &str) -> String {
        match self {
            Halt::Redirect { status, location } => {
                let target = location
                    .as_deref()
                    .and_then(|l| {
                        let base = reqwest::Url::parse(&format!("{base}/")).ok()?;
                        base.join(l).ok()
                    })
                    .map(|u| u.origin().ascii_serialization())
                    .filter(|o| o != "null");
                let to = match target {
                    Some(origin) => format!("redirected to {origin}/…"),
                    None => "redirected elsewhere (no usable Location)".to_string(),
                };
                format!(
                    "the server answered HTTP {status}: it {to}; leadsheet never follows redirects, they would carry the API key: check --base-url/--env"
                )
            }
            Halt::Wait { status, wait } => format!(
                "the server asks to wait {} before the next request (HTTP {status}, Retry-After); leadsheet waits at most {}: run again later",
                human(*wait),
                human(MAX_RETRY_AFTER)
            ),
            Halt::Insecure(why) => format!(
                "the TLS handshake with {base} failed ({why}); leadsheet always verifies TLS certificates and never sends the key without them: check --base-url/--env (behind a proxy that intercepts TLS, add its CA to this system's trust store)"
            ),
        }
    }
}

/// A wait as a person says it: `365 days`, `3 hours`, `10 minutes`, `42 seconds`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = match s {
        0..120 => (s, "second"),
        120..7_200 => (s / 60, "minute"),
        7_200..172_800 => (s / 3_600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
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
    /// Stop the run: see [`Halt`].
    Halt(Halt),
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
        Attempt::Insecure { message } => Verdict::Halt(Halt::Insecure(message.clone())),
        Attempt::Answer {
            status,
            retry_after,
            failure,
            location,
        } => match *status {
            200..=299 => Verdict::Success,
            // API4Partners does not redirect; a 303 to a create may mean it was applied, which
            // the attempt loop counts (any answer below 400 may have been applied).
            300..=399 => Verdict::Halt(Halt::Redirect {
                status: *status,
                location: location.clone(),
            }),
            401 | 403 => Verdict::StopRun,
            500 if failure.as_ref().and_then(|f| f.code.as_deref()) == Some("ERROR_048") => {
                Verdict::Final
            }
            // Waiting ten minutes is patience; waiting longer is a stop the user should see.
            429 | 500..=599 if retry_after.is_some_and(|w| w > MAX_RETRY_AFTER) => {
                Verdict::Halt(Halt::Wait {
                    status: *status,
                    wait: retry_after.unwrap_or_default(),
                })
            }
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

/// The TLS handshake's failure, when that is why a connection failed: rustls reports it
/// while connecting as an io error of kind `InvalidData` (a certificate that cannot be
/// verified, a server that does not speak TLS), which hyper-rustls wraps in another io error.
/// Its text, e.g. `invalid peer certificate: UnknownIssuer`.
pub fn tls_failure(e: &reqwest::Error) -> Option<String> {
    if !e.is_connect() {
        return None;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        // An io error's `source()` skips the error it wraps: look inside with `get_ref`.
        let mut io = s.downcast_ref::<std::io::Error>();
        while let Some(i) = io {
            if i.kind() == std::io::ErrorKind::InvalidData {
                return Some(i.to_string());
            }
            io = i
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<std::io::Error>());
        }
        source = s.source();
    }
    None
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
            location: None,
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
    fn redirects_waits_too_long_and_tls_failures_halt() {
        let with = |status, retry_after: Option<u64>, location: Option<&str>| Attempt::Answer {
            status,
            failure: None,
            retry_after: retry_after.map(Duration::from_secs),
            location: location.map(str::to_string),
        };
        for op in [Operation::Create, Operation::Get, Operation::Update] {
            for status in [301, 302, 303, 307, 308] {
                assert!(
                    matches!(
                        classify(op, &with(status, None, Some("/x")), 0),
                        Verdict::Halt(Halt::Redirect { .. })
                    ),
                    "{op:?} {status}"
                );
            }
            for status in [429, 503, 500] {
                assert_eq!(
                    classify(op, &with(status, Some(31_536_000), None), 0),
                    Verdict::Halt(Halt::Wait {
                        status,
                        wait: Duration::from_secs(31_536_000)
                    })
                );
            }
        }
        // Ten minutes is still obeyed.
        assert!(matches!(
            classify(Operation::Get, &with(429, Some(600), None), 0),
            Verdict::Retry {
                throttled: true,
                ..
            }
        ));
        let insecure = Attempt::Insecure {
            message: "invalid peer certificate: UnknownIssuer".into(),
        };
        assert!(matches!(
            classify(Operation::Create, &insecure, 0),
            Verdict::Halt(Halt::Insecure(_))
        ));
    }

    #[test]
    fn halts_say_what_to_do() {
        let base = "https://apigw-ppt.3ds.com";
        let r = Halt::Redirect {
            status: 302,
            location: Some("https://login.example:8443/sso?token=abc".into()),
        };
        let m = r.describe(base);
        assert!(
            m.contains("HTTP 302") && m.contains("redirected to https://login.example:8443/…"),
            "{m}"
        );
        assert!(
            !m.contains("token") && m.contains("never follows redirects"),
            "{m}"
        );
        let relative = Halt::Redirect {
            status: 301,
            location: Some("/elsewhere".into()),
        };
        assert!(
            relative
                .describe(base)
                .contains("redirected to https://apigw-ppt.3ds.com/…")
        );
        let none = Halt::Redirect {
            status: 307,
            location: None,
        };
        assert!(none.describe(base).contains("no usable Location"));
        let w = Halt::Wait {
            status: 429,
            wait: Duration::from_secs(31_536_000),
        };
        assert!(
            w.describe(base).contains("wait 365 days")
                && w.describe(base).contains("at most 10 minutes"),
            "{}",
            w.describe(base)
        );
        assert_eq!(human(Duration::from_secs(1)), "1 second");
        assert_eq!(human(Duration::from_secs(7_300)), "2 hours");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = |n| backoff(n, Duration::from_secs(1), Duration::from_secs(60));
        assert!(b(0) <= Duration::from_secs(1) && b(0) >= Duration::from_millis(500));
        assert!(b(3) <= Duration::from_secs(8) && b(3) >= Duration::from_secs(4));
        assert!(b(20) <= Duration::from_secs(60));
    }
}
