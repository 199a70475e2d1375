//! The HTTP client of API4Partners: one reqwest client (connections reused), the shared
//! [`Throttle`], and the operations of the contract. How one call is attempted and repeated
//! (the loop driven by [`retry::classify`]) is in `attempt`; how a create is kept from ever
//! being duplicated is in `reconcile`: when a create's outcome is unknown (a timeout, a dropped
//! connection, a 503 after sending), the client searches its partnerLeadOpportunityId before
//! anything is re-sent, and takes a found record as created. The network itself is behind
//! `transport`, which tests replace with a scripted fake.

mod attempt;
mod reconcile;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::contract::{ApiVersion, Operation};
use super::envelope::{self, Failure};
use super::throttle::Throttle;
use crate::config::ApiKey;
use transport::Transport;

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
    /// The server's answer stops the run (`retry::Halt`): a redirect, never followed; a
    /// `Retry-After` longer than leadsheet waits; a TLS handshake that failed.
    Halted(String),
    /// A success whose body does not hold what the operation answers (a search without its
    /// list of ids): what was missing.
    Unreadable(String),
    /// The run was interrupted before it could finish.
    Interrupted,
}

impl CallError {
    pub fn message(&self) -> String {
        match self {
            CallError::Rejected(f) | CallError::StopRun(f) => f.message.clone(),
            CallError::Exhausted(m)
            | CallError::Unknown(m)
            | CallError::Unreachable(m)
            | CallError::Halted(m)
            | CallError::Unreadable(m) => m.clone(),
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

#[derive(Clone)]
pub struct Client {
    transport: Transport,
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
            transport: Transport::Http(http),
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
}

impl Client {
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
        envelope::search_ids(&answer).map_err(CallError::Unreadable)
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
        // No list is not an empty page: it would end the paging as if the portfolio ended.
        let items = answer
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| {
                CallError::Unreadable(format!(
                    "the portfolio answer (HTTP {}) holds no list of items (data)",
                    report.http_status.unwrap_or(200)
                ))
            })?;
        let count = answer
            .get("info")
            .and_then(|i| i.get("estimatedSearchCount"))
            .and_then(Value::as_u64);
        Ok((items, count))
    }
}
