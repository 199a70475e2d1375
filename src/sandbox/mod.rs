//! The embedded API4Partners server: the same five operations, bodies and error codes as the
//! contract in `contract/REFERENCE.md`, on loopback, with deterministic faults.
//!
//! It is part of the product, not a test double: `leadsheet sandbox` serves it on a port so users
//! can try a mapping on their real spreadsheet without touching 3DS, `--sandbox` on the client
//! commands starts it in-process, and every test drives it over real HTTP on `127.0.0.1:0`.
//!
//! Where the contract is silent the sandbox picks one behaviour and documents it here and in the
//! README, because clients are tested against it:
//! - generic 400s carry a sandbox code (`INVALID_FIELD`, `INVALID_JSON`, …) and a message naming
//!   the field; the real API documents only an empty `error: {}` for them;
//! - a PATCH of an unknown id answers 500 `ERROR_048`, the contract's only "not in scope" error;
//! - PATCH replaces `offerLines` and the contact lists when they are sent, and merges
//!   `customerLegalEntity` key by key;
//! - a PATCH may assign a partnerLeadOpportunityId to an unassigned (marketing) lead, but not
//!   change an existing one;
//! - search windows include both bounds.

mod catalogue;
mod faults;
mod http;
mod leads;
mod preload;
mod reply;
mod rules;
mod search;
mod server;
mod state;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;

pub use store::RecordSummary;

/// The API key the sandbox accepts when none is configured. Public on purpose: it opens only
/// the sandbox, and the README's first command relies on it.
pub const DEMO_API_KEY: &str = "sandbox-demo-key";

/// The partner legal-entity id the sandbox's preloaded leads belong to, and the one `--sandbox`
/// runs use when the user gives none (the contract's example value).
pub const DEMO_PARTNER_ID: &str = "200000000014442";

/// Default largest request body, in bytes. Lead bodies are a few kilobytes; 1 MiB is generous
/// and still stops a runaway upload.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything that shapes a sandbox: accepted keys, preloaded data and injected faults.
/// All faults are off by default; all random choices follow `seed`.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Keys answered normally; any other key gets 403, no key 401.
    pub api_keys: Vec<String>,
    /// Leads created at start-up, spread over the last 90 days.
    pub preload: usize,
    /// Seed for ids, preload and every fault decision.
    pub seed: u64,
    /// Added to every request.
    pub latency_ms: u64,
    /// A further uniform 0..=jitter delay per request.
    pub jitter_ms: u64,
    /// Requests per second per key before 429 (0: unlimited).
    pub rate_limit: u32,
    /// Fraction of API requests answered 503 `ERR899` without doing anything.
    pub fail_503: f64,
    /// Fraction of creates/updates that commit and then answer 503 or drop the connection.
    pub commit_then_fail: f64,
    /// Fraction of API requests whose connection is closed before anything is done.
    pub drop: f64,
    /// Fraction of requests delayed by `slow_ms` more.
    pub slow: f64,
    pub slow_ms: u64,
    /// Largest accepted request body; larger gets a 400.
    pub max_body_bytes: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            api_keys: vec![DEMO_API_KEY.to_string()],
            preload: 0,
            seed: 1,
            latency_ms: 0,
            jitter_ms: 0,
            rate_limit: 0,
            fail_503: 0.0,
            commit_then_fail: 0.0,
            drop: 0.0,
            slow: 0.0,
            slow_ms: 2000,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// Why a sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid sandbox setting: {0}")]
    Config(String),
}

impl SandboxError {
    pub fn exit(&self) -> crate::Exit {
        match self {
            SandboxError::Bind { .. } => crate::Exit::Fatal,
            SandboxError::Config(_) => crate::Exit::Usage,
        }
    }
}

/// A running sandbox. Dropping it stops the server as well; `shutdown` also waits for it.
pub struct SandboxHandle {
    addr: SocketAddr,
    state: Arc<state::AppState>,
    cancel: tokio_util::sync::CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SandboxHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every stored record, for tests and demonstrations that check what the server holds.
    pub fn records(&self) -> Vec<RecordSummary> {
        self.state.store.summaries()
    }

    /// Stops accepting, closes open connections and waits for the server task.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            // A join error means the server task panicked; nothing is left to stop then.
            let _ = task.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Starts a sandbox on `addr` (port 0 picks a free port) inside the current tokio runtime.
///
/// # Errors
/// [`SandboxError::Config`] for settings out of range, [`SandboxError::Bind`] when `addr`
/// cannot be listened on.
pub async fn start(config: SandboxConfig, addr: SocketAddr) -> Result<SandboxHandle, SandboxError> {
    check_config(&config)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SandboxError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SandboxError::Bind { addr, source })?;
    let state = Arc::new(state::AppState::new(config));
    let cancel = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(server::serve(listener, state.clone(), cancel.clone()));
    tracing::info!(%addr, "sandbox listening");
    Ok(SandboxHandle {
        addr,
        state,
        cancel,
        task: Some(task),
    })
}

fn check_config(c: &SandboxConfig) -> Result<(), SandboxError> {
    for (name, p) in [
        ("--fail-503", c.fail_503),
        ("--commit-then-fail", c.commit_then_fail),
        ("--drop", c.drop),
        ("--slow", c.slow),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(SandboxError::Config(format!(
                "{name} is a fraction between 0 and 1, got {p}"
            )));
        }
    }
    if c.fail_503 + c.commit_then_fail > 1.0 {
        return Err(SandboxError::Config(
            "--fail-503 and --commit-then-fail together exceed 1".into(),
        ));
    }
    if c.api_keys.iter().any(|k| k.trim().is_empty()) {
        return Err(SandboxError::Config("an API key is empty".into()));
    }
    if c.api_keys.is_empty() {
        return Err(SandboxError::Config("no API key is accepted".into()));
    }
    Ok(())
}
