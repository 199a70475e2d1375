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
//! - search windows include both bounds;
//! - a wrong or missing Content-Type is the generic 400 (`UNSUPPORTED_MEDIA_TYPE`); a body over
//!   `max_body_bytes` is 413 `BODY_TOO_LARGE` and one slower than `body_read_timeout` is 408
//!   `BODY_READ_TIMEOUT`, the HTTP layer's answers, which the contract does not list (`http.rs`);
//! - keys of a body that the contract does not know are ignored (REFERENCE.md §5.1, `rules/`).
//!
//! Whatever a client does, the others are still served, with bounded memory: every wait has a
//! timeout and the number of connections a cap (`server.rs`, `connection.rs`).

mod catalogue;
mod connection;
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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

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

/// Default time for a request head to arrive whole. Clients send their headers in one write;
/// ten seconds is slack for any network and short enough that slow-header clients cannot
/// pile up. It is also how long an idle keep-alive connection stays open.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time for a request body to arrive whole once the sandbox reads it: a 1 MiB body
/// needs 100 KiB/s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default most connections open at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

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
    /// Largest accepted request body; larger gets 413 `BODY_TOO_LARGE`, before more of the
    /// body than the limit is read.
    pub max_body_bytes: usize,
    /// Time a request head (request line and headers) has to arrive whole, counted from the
    /// moment the connection is ready for it: accepted, or done with its last answer. Slower,
    /// the connection is closed without an answer; so an idle keep-alive connection is closed
    /// after this time too.
    pub header_read_timeout: Duration,
    /// Time a request body has to arrive whole once the sandbox starts reading it; slower gets
    /// 408 `BODY_READ_TIMEOUT` and the connection is closed.
    pub body_read_timeout: Duration,
    /// Most connections open at once. At the cap a new connection closes the one idle longest;
    /// when every open connection is in the middle of a request, it is refused with 503.
    pub max_connections: usize,
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
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
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

    /// `http://127.0.0.1:PORT`, without a trailing slash: where this machine reaches the
    /// sandbox. Listening on every interface (`0.0.0.0`, `[::]`) gives the loopback address.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Whether others than this machine may reach the sandbox: it listens on an address that
    /// is not loopback.
    pub fn is_exposed(&self) -> bool {
        !self.addr.ip().is_loopback()
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
    let listener = listen(addr).map_err(|source| SandboxError::Bind { addr, source })?;
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

/// Connections the system may hold complete but not yet accepted. The standard library's 128
/// overflows when a burst of connections arrives faster than a busy loop accepts them, and
/// the overflow costs each late client a second (its SYN is dropped and sent again).
const LISTEN_BACKLOG: u32 = 1024;

/// Binds and listens as `TcpListener::bind` does, with a deeper backlog.
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // Rebinding a port with connections in TIME_WAIT, as `bind` allows on Unix; on Windows
    // the same option would let another process take the port, so it stays off there.
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
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
    if c.max_connections == 0 {
        return Err(SandboxError::Config(
            "the connection cap must be at least 1".into(),
        ));
    }
    if c.header_read_timeout.is_zero() || c.body_read_timeout.is_zero() {
        return Err(SandboxError::Config(
            "the header and body read timeouts must be longer than zero".into(),
        ));
    }
    Ok(())
}
