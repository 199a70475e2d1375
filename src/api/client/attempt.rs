//! One call, attempted until it settles: each attempt waits for the shared throttle, goes out
//! through the transport, and is classified by the retry policy (`retry::classify`): success,
//! repeat after a wait (the server's Retry-After, or backoff with jitter), a final refusal, a
//! key that stops the run, or a server that refuses every connection. 429s have a budget of
//! their own; Ctrl-C ends the waits at once.

use std::time::Duration;

use serde_json::Value;

use super::{CallError, Client, Report};
use crate::api::contract::Operation;
use crate::api::envelope::{self, Failure};
use crate::api::retry::{self, Attempt, Verdict};

/// One HTTP answer or transport failure, with its parsed body.
pub(super) struct Answered {
    pub attempt: Attempt,
    pub body: Option<Value>,
}

impl Client {
    /// A server is down when it has refused every connection for as many attempts as all the
    /// requests in flight could make, or for longer than [`DOWN_AFTER`]: stop rather than let
    /// every row wait out its own retries. A short blip (a restart) refuses fewer.
    pub(super) fn unreachable(&self) -> Option<CallError> {
        let (refused, since) = *self.refused.lock().unwrap_or_else(|e| e.into_inner());
        let each = self.max_retries.max(2);
        let all_in_flight = self
            .max_retries
            .saturating_add(1)
            .saturating_mul(self.concurrency);
        let long = since.is_some_and(|t| t.elapsed() >= DOWN_AFTER);
        (refused > each && (refused >= all_in_flight || long)).then(|| {
            CallError::Unreachable(format!(
                "cannot reach {}: {refused} connections in a row were refused; is the server up?",
                self.base
            ))
        })
    }

    fn connection_refused(&self, refused: bool) {
        let mut r = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        if refused {
            r.0 += 1;
            r.1.get_or_insert_with(std::time::Instant::now);
        } else {
            *r = (0, None);
        }
    }

    /// One attempt, after the throttle lets it start; `None` when the run was interrupted
    /// before it was sent (unless `despite_cancel`: a reconciling search may still go out).
    pub(super) async fn attempt(
        &self,
        op: Operation,
        path: &str,
        body: Option<&Value>,
        report: &mut Report,
        despite_cancel: bool,
    ) -> Option<Answered> {
        if despite_cancel {
            self.throttle.acquire().await;
        } else {
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => return None,
                () = self.throttle.acquire() => {}
            }
        }
        // Reads (GET, and the search POST) apply nothing, whatever their answer.
        let writes = op.writes();
        let answered = self.send(op.method(), path, body, report).await;
        let applied = match &answered.attempt {
            Attempt::Transport { sent, .. } => *sent,
            Attempt::Insecure { .. } => false,
            // A redirect too: a 303 may answer a create that was stored.
            Attempt::Answer { status, .. } => *status < 400 || *status >= 500,
        };
        report.maybe_applied |= writes && applied;
        Some(answered)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        report: &mut Report,
    ) -> Answered {
        report.attempts += 1;
        let url = format!("{}{path}", self.base);
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let exchange = match self
            .transport
            .exchange(method, &url, &self.key, bytes)
            .await
        {
            Ok(x) => x,
            Err(lost) => {
                tracing::debug!(path, sent = lost.sent, error = %lost.message, "no answer");
                if let Some(why) = lost.tls {
                    return Answered {
                        attempt: Attempt::Insecure { message: why },
                        body: None,
                    };
                }
                if !lost.sent {
                    self.connection_refused(true);
                }
                return Answered {
                    attempt: Attempt::Transport {
                        sent: lost.sent,
                        message: lost.message,
                    },
                    body: None,
                };
            }
        };
        self.connection_refused(false);
        let status = exchange.status;
        tracing::debug!(path, status, attempt = report.attempts, "answer");
        report.http_status = Some(status);
        let raw = match exchange.body {
            Ok(b) => b,
            Err(e) => {
                // The answer was cut off: the request surely arrived.
                return Answered {
                    attempt: Attempt::Transport {
                        sent: true,
                        message: format!("HTTP {status}, then {e}"),
                    },
                    body: None,
                };
            }
        };
        let parsed: Option<Value> = serde_json::from_slice(&raw).ok();
        if let Some(b) = &parsed
            && let Some(t) = envelope::trace_id(b)
        {
            report.trace_id = Some(t);
        }
        // A success that cannot be read is no answer: the request arrived, what it did is
        // unknown (a create is searched for, anything else asked again). An empty body is
        // left to the operation, which knows whether it needs one.
        if (200..300).contains(&status)
            && !raw.is_empty()
            && !parsed.as_ref().is_some_and(Value::is_object)
        {
            return Answered {
                attempt: Attempt::Transport {
                    sent: true,
                    message: format!("HTTP {status} with {}", envelope::describe_body(&raw)),
                },
                body: None,
            };
        }
        // A 2xx whose envelope says it failed is a failure.
        let failure = if (200..300).contains(&status)
            && parsed.as_ref().and_then(envelope::success_flag) != Some(false)
        {
            None
        } else {
            Some(envelope::failure(status, &raw))
        };
        let status = if failure.is_some() && (200..300).contains(&status) {
            500
        } else {
            status
        };
        Answered {
            attempt: Attempt::Answer {
                status,
                failure,
                retry_after: exchange.retry_after,
                location: exchange.location,
            },
            body: parsed,
        }
    }

    /// Waits before the next attempt; false if the run was interrupted meanwhile.
    pub(super) async fn pause(&self, verdict: &Verdict, retries: u32) -> bool {
        let wait = match verdict {
            Verdict::Retry {
                after,
                throttled: true,
            } => self.throttle.throttled(*after),
            Verdict::Retry { after: Some(a), .. } => (*a).min(self.max_backoff),
            _ => retry::backoff(retries, Duration::from_millis(500), self.max_backoff),
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => true,
            () = self.cancel.cancelled() => false,
        }
    }

    /// A repeatable operation (update, get, search, portfolio) with retries.
    pub async fn call(
        &self,
        op: Operation,
        path: &str,
        body: Option<&Value>,
        report: &mut Report,
    ) -> Result<Value, CallError> {
        self.call_with(op, path, body, report, false).await
    }

    /// `call`; with `reconciling`, the first attempt goes out even after Ctrl-C (during the
    /// grace period), because settling an unknown create is worth more than a quick stop.
    pub(super) async fn call_with(
        &self,
        op: Operation,
        path: &str,
        body: Option<&Value>,
        report: &mut Report,
        reconciling: bool,
    ) -> Result<Value, CallError> {
        let mut budget = Budget::default();
        let mut server_errors = 0;
        let mut first = true;
        loop {
            let despite_cancel = reconciling && first;
            first = false;
            if self.cancel.is_cancelled() && !despite_cancel {
                return Err(CallError::Interrupted);
            }
            let Some(answered) = self.attempt(op, path, body, report, despite_cancel).await else {
                return Err(CallError::Interrupted);
            };
            let verdict = retry::classify(op, &answered.attempt, server_errors);
            if let Attempt::Answer {
                status: 500..=599, ..
            } = answered.attempt
            {
                server_errors += 1;
            }
            match verdict {
                Verdict::Success => {
                    self.throttle.succeeded();
                    return Ok(answered.body.unwrap_or(Value::Null));
                }
                Verdict::StopRun => return Err(CallError::StopRun(failure_of(answered.attempt))),
                Verdict::Halt(h) => return Err(CallError::Halted(h.describe(&self.base))),
                Verdict::Final => return Err(CallError::Rejected(failure_of(answered.attempt))),
                Verdict::Retry { .. } | Verdict::Unknown => {
                    if let Some(e) = self.unreachable() {
                        return Err(e);
                    }
                    if !budget.spend(&verdict, self.max_retries) {
                        return Err(CallError::Exhausted(format!(
                            "gave up after {} requests: {}",
                            report.attempts,
                            describe_attempt(&answered.attempt)
                        )));
                    }
                    if !self.pause(&verdict, budget.retries).await {
                        return Err(CallError::Interrupted);
                    }
                }
            }
        }
    }
}

/// How long connections may be refused in a row before the server counts as down.
const DOWN_AFTER: Duration = Duration::from_secs(10);

/// Waits after a 429 are everyone's pause, not this request's failure: they have a budget of
/// their own, much larger than `--max-retries`, so a rate-limit storm slows a run down but
/// does not fail its rows.
const MAX_THROTTLED_RETRIES: u32 = 100;

#[derive(Debug, Default)]
pub(super) struct Budget {
    pub retries: u32,
    throttled: u32,
}

impl Budget {
    /// Counts the retry `verdict` asks for; false when its budget is spent.
    pub fn spend(&mut self, verdict: &Verdict, max_retries: u32) -> bool {
        if let Verdict::Retry {
            throttled: true, ..
        } = verdict
        {
            self.throttled += 1;
            return self.throttled <= MAX_THROTTLED_RETRIES;
        }
        if self.retries >= max_retries {
            return false;
        }
        self.retries += 1;
        true
    }
}

pub(super) fn failure_of(attempt: Attempt) -> Failure {
    match attempt {
        Attempt::Answer {
            status, failure, ..
        } => failure.unwrap_or(Failure {
            status,
            message: format!("HTTP {status}"),
            ..Default::default()
        }),
        Attempt::Transport { message, .. } | Attempt::Insecure { message } => Failure {
            message,
            ..Default::default()
        },
    }
}

pub(super) fn describe_attempt(a: &Attempt) -> String {
    match a {
        Attempt::Answer {
            status,
            failure: Some(f),
            ..
        } => match &f.code {
            Some(c) => format!("HTTP {status} {c}: {}", f.message),
            // "HTTP 502 with an HTML page (…)" says its status already.
            None if f.message.starts_with(&format!("HTTP {status}")) => f.message.clone(),
            None => format!("HTTP {status}: {}", f.message),
        },
        Attempt::Answer { status, .. } => format!("HTTP {status}"),
        Attempt::Transport { message, .. } | Attempt::Insecure { message } => message.clone(),
    }
}

pub(super) fn describe_attempt_short(report: &Report) -> String {
    report.http_status.map_or_else(
        || "no answer".to_string(),
        |s| format!("last answer HTTP {s}"),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::client::transport::{Exchange, Lost, answer, fake_client, lost, raw};

    fn ok() -> serde_json::Value {
        json!({"info": {"success": true}, "data": {"dsLeadOpportunityId": "9YEL-1"}})
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_repeated_until_an_answer() {
        let (client, fake) = fake_client([
            answer(503, json!({"error": {"code": "ERR899", "message": "busy"}})),
            lost(true),
            answer(200, ok()),
        ]);
        let mut report = Report::default();
        let id = client
            .update("9YEL-1", &json!({"leadOpportunity": {}}), &mut report)
            .await
            .unwrap();
        assert_eq!(id, "9YEL-1");
        assert_eq!(report.attempts, 3);
        assert_eq!(fake.paths().len(), 3);
        assert!(
            report.maybe_applied,
            "an update that timed out may be applied"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_answer_is_not_repeated_and_a_refused_key_stops() {
        let (client, fake) = fake_client([answer(
            406,
            json!({"error": {"code": "ERR805", "message": "bad date"}}),
        )]);
        let mut report = Report::default();
        let e = client
            .update("X", &json!({}), &mut report)
            .await
            .unwrap_err();
        assert!(matches!(&e, CallError::Rejected(f) if f.code.as_deref() == Some("ERR805")));
        assert_eq!(fake.paths().len(), 1);
        let (client, _) = fake_client([answer(401, json!({"message": "Missing API key"}))]);
        let e = client.get("X", &mut Report::default()).await.unwrap_err();
        assert!(matches!(e, CallError::StopRun(f) if f.status == 401));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_run_out_and_say_why() {
        let (client, fake) = fake_client((0..10).map(|_| lost(true)));
        let mut report = Report::default();
        let e = client
            .search(&json!({"data": []}), &mut report)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, CallError::Exhausted(m) if m.contains("gave up after 4 requests")),
            "{e:?}"
        );
        assert_eq!(fake.paths().len(), 4, "the first attempt and three retries");
        assert!(!report.maybe_applied, "a search applies nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_has_a_budget_of_its_own() {
        let mut script: Vec<_> = (0..6)
            .map(|_| answer(429, json!({"message": "Too many requests"})))
            .collect();
        script.push(answer(200, ok()));
        let (client, fake) = fake_client(script);
        let mut report = Report::default();
        client
            .get("9YEL-1", &mut report)
            .await
            .expect("six 429s are more than --max-retries but within the throttle's budget");
        assert_eq!(fake.paths().len(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_refuses_every_connection_is_down() {
        let (client, _) = fake_client((0..20).map(|_| lost(false)));
        let e = client.get("X", &mut Report::default()).await.unwrap_err();
        assert!(
            matches!(&e, CallError::Unreachable(m) if m.contains("refused")),
            "{e:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_the_envelope_denies_is_a_failure() {
        let (client, _) = fake_client([
            answer(
                200,
                json!({"info": {"success": false}, "error": {"code": "X", "message": "no"}}),
            ),
            answer(200, json!({"info": {"success": false}})),
        ]);
        let e = client.get("X", &mut Report::default()).await.unwrap_err();
        // Read as a 500: tried once more, then final.
        assert!(matches!(e, CallError::Rejected(_)), "{e:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_that_cannot_be_read_is_asked_again() {
        let (client, fake) = fake_client([
            raw(200, "<html><title>Login</title></html>"),
            raw(200, "[]"),
            answer(200, ok()),
        ]);
        let mut report = Report::default();
        client
            .update("9YEL-1", &json!({}), &mut report)
            .await
            .expect("an update is asked again until its answer can be read");
        assert_eq!(fake.paths().len(), 3);
        assert!(report.maybe_applied);
        let (client, _) = fake_client((0..4).map(|_| raw(200, "{\"data\": {")));
        let e = client.get("X", &mut Report::default()).await.unwrap_err();
        assert!(
            matches!(&e, CallError::Exhausted(m) if m.contains("HTTP 200 with a body that is not JSON")),
            "{e:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn redirects_and_long_waits_stop_at_once() {
        let with = |status, retry_after: Option<u64>, location: Option<&str>| {
            Ok(Exchange {
                status,
                retry_after: retry_after.map(Duration::from_secs),
                location: location.map(str::to_string),
                body: Ok(Vec::new()),
            })
        };
        for (first, says, applied) in [
            (with(429, Some(31_536_000), None), "wait 365 days", false),
            (with(503, Some(700), None), "wait 11 minutes", true),
            (
                with(302, None, Some("https://sso.example/x")),
                "redirected to https://sso.example/…",
                true,
            ),
        ] {
            let (client, fake) = fake_client([first, answer(200, ok())]);
            let mut report = Report::default();
            let e = client
                .update("X", &json!({}), &mut report)
                .await
                .unwrap_err();
            assert!(
                matches!(&e, CallError::Halted(m) if m.contains(says)),
                "{e:?}"
            );
            assert_eq!(fake.paths().len(), 1, "nothing more is sent");
            assert_eq!(report.maybe_applied, applied, "{says}");
        }
        let (client, fake) = fake_client([Err(Lost {
            sent: false,
            message: "invalid peer certificate: UnknownIssuer".into(),
            tls: Some("invalid peer certificate: UnknownIssuer".into()),
        })]);
        let mut report = Report::default();
        let e = client.get("X", &mut report).await.unwrap_err();
        assert!(
            matches!(&e, CallError::Halted(m) if m.contains("UnknownIssuer") && m.contains("always verifies")),
            "{e:?}"
        );
        assert_eq!(fake.paths().len(), 1, "a certificate is not asked again");
        assert!(!report.maybe_applied);
    }

    #[tokio::test(start_paused = true)]
    async fn ctrl_c_ends_the_wait_for_a_retry() {
        let (client, fake) = fake_client([lost(true), answer(200, ok())]);
        client.cancel.cancel();
        let e = client.get("X", &mut Report::default()).await.unwrap_err();
        assert_eq!(e, CallError::Interrupted);
        assert!(fake.paths().is_empty(), "nothing is sent after Ctrl-C");
    }
}
