//! The HTTP client of API4Partners: one reqwest client (connections reused), the shared
//! [`Throttle`], the retry loop driven by [`retry::classify`], and the reconciliation that
//! keeps a create from ever being duplicated: when a create's outcome is unknown (a timeout,
//! a dropped connection, a 503 after sending), the client searches its
//! partnerLeadOpportunityId before anything is re-sent, and takes a found record as created.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::contract::{ApiVersion, Operation};
use super::envelope::{self, Failure};
use super::retry::{self, Attempt, Verdict};
use super::throttle::Throttle;
use crate::config::ApiKey;

/// Settings of a client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: String,
    pub api_key: ApiKey,
    pub version: ApiVersion,
    /// Per request.
    pub timeout: Duration,
    /// Further attempts after the first, per operation.
    pub max_retries: u32,
    /// Requests in flight at most (sizes the connection pool).
    pub concurrency: usize,
    /// Client-side requests per second (`None`: unlimited).
    pub rate: Option<f64>,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
}

/// How an operation ended, besides its result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// HTTP requests made (reconciling searches included).
    pub attempts: u32,
    /// Status of the last answer.
    pub http_status: Option<u16>,
    pub trace_id: Option<String>,
    /// A request reached the server without an answer that proves it was not applied (a
    /// timeout, a dropped connection, a 5xx, a success): false after nothing but refused
    /// connections and 429s, which lets an interrupted row be NOT_SUBMITTED.
    pub maybe_applied: bool,
}

/// Why an operation did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The server refused it; repeating would not help (400, 406, ERR801, ERROR_048).
    Rejected(Failure),
    /// 401 or 403: the key does not work; the run must stop.
    StopRun(Failure),
    /// Retries exhausted on a transient failure.
    Exhausted(String),
    /// A create whose outcome could not be established.
    Unknown(String),
    /// The server cannot be reached at all (every connection refused): the run must stop.
    Unreachable(String),
    /// The run was interrupted before it could finish.
    Interrupted,
}

impl CallError {
    pub fn message(&self) -> String {
        match self {
            CallError::Rejected(f) | CallError::StopRun(f) => f.message.clone(),
            CallError::Exhausted(m) | CallError::Unknown(m) | CallError::Unreachable(m) => {
                m.clone()
            }
            CallError::Interrupted => "interrupted before completion".into(),
        }
    }

    pub fn failure(&self) -> Option<&Failure> {
        match self {
            CallError::Rejected(f) | CallError::StopRun(f) => Some(f),
            _ => None,
        }
    }
}

/// A successful create.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub id: String,
    /// Set when the id was found by a search after an unknown outcome (`None`: answered).
    pub confirmed_after: Option<String>,
}

/// One HTTP answer or transport failure, with its parsed body.
struct Answered {
    attempt: Attempt,
    body: Option<Value>,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: HeaderValue,
    pub version: ApiVersion,
    throttle: Arc<Throttle>,
    max_retries: u32,
    max_backoff: Duration,
    cancel: CancellationToken,
    /// Connections refused in a row, across all tasks, and when the first of them was; any
    /// answer resets both.
    refused: Arc<std::sync::Mutex<(u32, Option<std::time::Instant>)>>,
    /// Requests in flight at most, which sizes the refusals that mean "down".
    concurrency: u32,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the API key contains characters an HTTP header cannot carry")]
    BadKey,
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

impl ClientError {
    pub fn exit(&self) -> crate::Exit {
        match self {
            ClientError::BadKey => crate::Exit::Usage,
            ClientError::Build(_) => crate::Exit::Fatal,
        }
    }
}

impl Client {
    /// A client whose retry waits end early when `cancel` fires.
    pub fn new(cfg: &ClientConfig, cancel: CancellationToken) -> Result<Client, ClientError> {
        let mut key =
            HeaderValue::from_str(cfg.api_key.expose()).map_err(|_| ClientError::BadKey)?;
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("leadsheet/", env!("CARGO_PKG_VERSION")))
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(cfg.concurrency.max(1))
            .tcp_nodelay(true)
            // reqwest strips only Authorization and cookies on a redirect to another host, not
            // X-API-Key: never follow one (API4Partners does not redirect).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(Client {
            http,
            base: cfg.base_url.trim_end_matches('/').to_string(),
            key,
            version: cfg.version,
            throttle: Arc::new(Throttle::new(cfg.rate, cfg.max_backoff)),
            max_retries: cfg.max_retries,
            max_backoff: cfg.max_backoff,
            cancel,
            refused: Arc::default(),
            concurrency: u32::try_from(cfg.concurrency.max(1)).unwrap_or(u32::MAX),
        })
    }

    /// A server is down when it has refused every connection for as many attempts as all the
    /// requests in flight could make, or for longer than [`DOWN_AFTER`]: stop rather than let
    /// every row wait out its own retries. A short blip (a restart) refuses fewer.
    fn unreachable(&self) -> Option<CallError> {
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

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// One attempt, after the throttle lets it start; `None` when the run was interrupted
    /// before it was sent (unless `despite_cancel`: a reconciling search may still go out).
    async fn attempt(
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
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-API-Key", self.key.clone());
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(b).unwrap_or_default());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let sent = retry::was_sent(&e);
                tracing::debug!(path, sent, error = %retry::describe(&e), "no answer");
                if !sent {
                    self.connection_refused(true);
                }
                return Answered {
                    attempt: Attempt::Transport {
                        sent,
                        message: retry::describe(&e),
                    },
                    body: None,
                };
            }
        };
        self.connection_refused(false);
        let status = resp.status().as_u16();
        tracing::debug!(path, status, attempt = report.attempts, "answer");
        report.http_status = Some(status);
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry::parse_retry_after);
        let raw = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                // The answer was cut off: the request surely arrived.
                return Answered {
                    attempt: Attempt::Transport {
                        sent: true,
                        message: format!("HTTP {status}, then {}", retry::describe(&e)),
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
                retry_after,
            },
            body: parsed,
        }
    }

    /// Waits before the next attempt; false if the run was interrupted meanwhile.
    async fn pause(&self, verdict: &Verdict, retries: u32) -> bool {
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
    async fn call_with(
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

    /// Creates a lead, never twice: an unknown outcome is settled by searching the
    /// partnerLeadOpportunityId before the body is sent again.
    pub async fn create(
        &self,
        body: &Value,
        partner_lead_id: &str,
        report: &mut Report,
    ) -> Result<Created, CallError> {
        let path = Operation::Create.path(self.version, "");
        let mut budget = Budget::default();
        let mut unknown: Option<String> = None;
        loop {
            if self.cancel.is_cancelled() {
                return Err(match unknown {
                    Some(why) => CallError::Unknown(format!(
                        "interrupted after {why}; search 3DS for `{partner_lead_id}` before importing it again"
                    )),
                    None => CallError::Interrupted,
                });
            }
            let Some(answered) = self
                .attempt(Operation::Create, &path, Some(body), report, false)
                .await
            else {
                return Err(match unknown {
                    Some(why) => CallError::Unknown(format!(
                        "interrupted after {why}; search 3DS for `{partner_lead_id}` before importing it again"
                    )),
                    None => CallError::Interrupted,
                });
            };
            let verdict = retry::classify(Operation::Create, &answered.attempt, 0);
            match verdict {
                Verdict::Success => {
                    self.throttle.succeeded();
                    if let Some(id) = answered.body.as_ref().and_then(envelope::created_id) {
                        return Ok(Created {
                            id,
                            confirmed_after: unknown,
                        });
                    }
                    // A 2xx without an id: find out what happened rather than guess.
                    unknown = Some("a success answer without an id".into());
                    if let Some(found) = self
                        .settle(partner_lead_id, unknown.as_deref(), report)
                        .await?
                    {
                        return Ok(found);
                    }
                }
                Verdict::StopRun => return Err(CallError::StopRun(failure_of(answered.attempt))),
                Verdict::Final => {
                    let failure = failure_of(answered.attempt);
                    // ERR801 after an unknown outcome is most likely our own earlier attempt.
                    if failure.code.as_deref() == Some("ERR801")
                        && unknown.is_some()
                        && let Some(found) = self
                            .settle(partner_lead_id, unknown.as_deref(), report)
                            .await?
                    {
                        return Ok(found);
                    }
                    return Err(CallError::Rejected(failure));
                }
                Verdict::Unknown => {
                    let why = describe_attempt(&answered.attempt);
                    unknown = Some(why.clone());
                    if let Some(found) = self.settle(partner_lead_id, Some(&why), report).await? {
                        return Ok(found);
                    }
                    // Not stored: sending it again is safe.
                }
                Verdict::Retry { .. } => {}
            }
            if let Some(e) = self.unreachable() {
                return Err(e);
            }
            if !budget.spend(&verdict, self.max_retries) {
                return Err(CallError::Exhausted(match &unknown {
                    Some(why) => format!(
                        "gave up after {} requests (last: {why}); a search found no record with partnerLeadOpportunityId `{partner_lead_id}`, so importing the row again is safe",
                        report.attempts
                    ),
                    None => format!(
                        "gave up after {} requests ({})",
                        report.attempts,
                        describe_attempt_short(report)
                    ),
                }));
            }
            if !self.pause(&verdict, budget.retries).await {
                return Err(CallError::Interrupted);
            }
        }
    }

    /// After an unknown outcome: the record holding `partner_lead_id`, if one exists.
    async fn settle(
        &self,
        partner_lead_id: &str,
        why: Option<&str>,
        report: &mut Report,
    ) -> Result<Option<Created>, CallError> {
        let criteria = serde_json::json!({"data": [{"partnerLeadOpportunityId": partner_lead_id}]});
        let found = self
            .call_with(
                Operation::Search,
                &Operation::Search.path(self.version, ""),
                Some(&criteria),
                report,
                true,
            )
            .await
            .map(|answer| envelope::search_ids(&answer));
        let ids = match found {
            Ok(ids) => ids,
            Err(CallError::StopRun(f)) => return Err(CallError::StopRun(f)),
            Err(e) => {
                return Err(CallError::Unknown(format!(
                    "the create's outcome is unknown ({}) and the search to check it failed ({}); search 3DS for `{partner_lead_id}` before importing it again",
                    why.unwrap_or("no answer"),
                    e.message()
                )));
            }
        };
        Ok(ids.into_iter().next().map(|id| Created {
            id,
            confirmed_after: why.map(str::to_string),
        }))
    }

    pub async fn update(
        &self,
        ds_id: &str,
        body: &Value,
        report: &mut Report,
    ) -> Result<String, CallError> {
        let path = Operation::Update.path(self.version, ds_id);
        let answer = self
            .call(Operation::Update, &path, Some(body), report)
            .await?;
        Ok(envelope::updated_id(&answer).unwrap_or_else(|| ds_id.to_string()))
    }

    /// The lead's `data.leadOpportunity` (the read model).
    pub async fn get(&self, ds_id: &str, report: &mut Report) -> Result<Value, CallError> {
        let path = Operation::Get.path(self.version, ds_id);
        let answer = self.call(Operation::Get, &path, None, report).await?;
        Ok(answer
            .get("data")
            .and_then(|d| d.get("leadOpportunity"))
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// Search with any criteria body (`{"data": [...]}`).
    pub async fn search(
        &self,
        criteria: &Value,
        report: &mut Report,
    ) -> Result<Vec<String>, CallError> {
        let answer = self
            .call(
                Operation::Search,
                &Operation::Search.path(self.version, ""),
                Some(criteria),
                report,
            )
            .await?;
        Ok(envelope::search_ids(&answer))
    }

    /// The ids of the records holding these partnerLeadOpportunityIds (`""`: unassigned).
    pub async fn search_partner_ids(
        &self,
        ids: &[String],
        report: &mut Report,
    ) -> Result<Vec<String>, CallError> {
        let criterion = if ids.len() == 1 {
            Value::String(ids[0].clone())
        } else {
            Value::from(ids.to_vec())
        };
        self.search(
            &serde_json::json!({"data": [{"partnerLeadOpportunityId": criterion}]}),
            report,
        )
        .await
    }

    /// One page of the portfolio: its items and `estimatedSearchCount`.
    pub async fn portfolio(
        &self,
        skip: usize,
        top: usize,
        report: &mut Report,
    ) -> Result<(Vec<Value>, Option<u64>), CallError> {
        let path = format!(
            "{}?skip={skip}&top={top}",
            Operation::Portfolio.path(self.version, "")
        );
        let answer = self.call(Operation::Portfolio, &path, None, report).await?;
        let items = answer
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let count = answer
            .get("info")
            .and_then(|i| i.get("estimatedSearchCount"))
            .and_then(Value::as_u64);
        Ok((items, count))
    }
}

/// How long connections may be refused in a row before the server counts as down.
const DOWN_AFTER: Duration = Duration::from_secs(10);

/// Waits after a 429 are everyone's pause, not this request's failure: they have a budget of
/// their own, much larger than `--max-retries`, so a rate-limit storm slows a run down but
/// does not fail its rows.
const MAX_THROTTLED_RETRIES: u32 = 100;

#[derive(Debug, Default)]
struct Budget {
    retries: u32,
    throttled: u32,
}

impl Budget {
    /// Counts the retry `verdict` asks for; false when its budget is spent.
    fn spend(&mut self, verdict: &Verdict, max_retries: u32) -> bool {
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

fn failure_of(attempt: Attempt) -> Failure {
    match attempt {
        Attempt::Answer {
            status, failure, ..
        } => failure.unwrap_or(Failure {
            status,
            message: format!("HTTP {status}"),
            ..Default::default()
        }),
        Attempt::Transport { message, .. } => Failure {
            message,
            ..Default::default()
        },
    }
}

fn describe_attempt(a: &Attempt) -> String {
    match a {
        Attempt::Answer {
            status,
            failure: Some(f),
            ..
        } => match &f.code {
            Some(c) => format!("HTTP {status} {c}: {}", f.message),
            None => format!("HTTP {status}: {}", f.message),
        },
        Attempt::Answer { status, .. } => format!("HTTP {status}"),
        Attempt::Transport { message, .. } => message.clone(),
    }
}

fn describe_attempt_short(report: &Report) -> String {
    report.http_status.map_or_else(
        || "no answer".to_string(),
        |s| format!("last answer HTTP {s}"),
    )
}
