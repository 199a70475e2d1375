//! The accept loop and the life of one connection. axum's own `serve` cannot close one
//! connection on purpose, and the sandbox must be able to: `--commit-then-fail` drops the
//! connection after storing a change, which is the ambiguous case a client has to reconcile.
//! Each connection is served by hyper directly, next to a [`ConnectionKiller`] that the handler
//! can fire; the connection future is then dropped, which closes the socket without a response.
//!
//! The same loop keeps hostile clients from holding up the others (`leadsheet sandbox` is
//! reachable by anything that can open a socket to it), with bounded memory per connection:
//! - a request head must arrive whole within `header_read_timeout`, counted from the moment the
//!   connection is ready for one (hyper's own timer): a client sending a byte a second is cut
//!   off, and an idle keep-alive connection is closed after the same time;
//! - a connection whose answer is ready but not taken (a client that does not read) is dropped
//!   [`STALL_SLACK`] after that;
//! - request bodies are bounded in size and time in `http.rs`;
//! - at most `max_connections` are open; `connection.rs` decides who makes room;
//! - a connection hyper closes is closed the lingering way: our side is shut first, then what
//!   the client still sends is read and discarded for up to [`LINGER`], so that an answer given
//!   before the body was read (413, 408, 401…) reaches the client instead of a reset.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::connection::{Admission, Slot};
use super::http::{self, ConnectionKiller};
use super::state::AppState;

/// How long a closing connection reads and discards what its client still sends.
pub const LINGER: Duration = Duration::from_secs(2);

/// How long after its answer is ready, beyond the header timeout, a connection may go without
/// a new request before it is taken to be stuck writing to a client that does not read.
pub const STALL_SLACK: Duration = Duration::from_secs(1);

/// How long an evicted connection that served requests has to flush an answer in progress.
const EVICTION_GRACE: Duration = Duration::from_millis(250);

/// hyper's read buffer limit: request heads larger than this get 431. Lead requests have a few
/// short headers; hyper's default (about 400 KiB) would let each slow client hold that much.
const MAX_BUF_BYTES: usize = 64 * 1024;

/// Refusals answered at once (each is a short task with its own socket); beyond it a refused
/// connection is closed without an answer.
const MAX_REFUSING: usize = 64;

const REFUSAL_BODY: &str = r#"{"message":"Too many open connections, please try again later"}"#;

type ServiceFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

pub async fn serve(listener: TcpListener, state: Arc<AppState>, cancel: CancellationToken) {
    let router: Router = Router::new()
        .fallback(http::dispatch)
        .with_state(state.clone());
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors: make room by closing the longest idle connection,
                // so that the system's limit acts as a lower cap rather than a stall.
                if out_of_descriptors(&e) {
                    state.connections.evict_one();
                }
                tracing::warn!(error = %e, "sandbox accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match state.connections.admit() {
            Admission::Serve(slot) => {
                tokio::spawn(connection(
                    stream,
                    slot,
                    router.clone(),
                    state.clone(),
                    cancel.clone(),
                ));
            }
            Admission::Full => {
                tracing::debug!("sandbox refused a connection: every one is busy");
                if let Ok(permit) = refusing.clone().try_acquire_owned() {
                    let cancel = cancel.clone();
                    tokio::spawn(async move {
                        refuse(stream, &cancel).await;
                        drop(permit);
                    });
                }
            }
        }
    }
}

/// EMFILE and ENFILE have the same numbers on Linux, macOS and the BSDs; WSAEMFILE on Windows.
fn out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24 | 10024))
}

enum End {
    /// hyper finished: the client closed, or an answer said the connection closes.
    Finished,
    /// hyper gave up (a header timeout, a malformed request, a reset).
    Failed(hyper::Error),
    /// Closed on purpose without a word: a fault, a shutdown, an eviction, a stall.
    Dropped,
}

async fn connection(
    stream: TcpStream,
    slot: Arc<Slot>,
    router: Router,
    state: Arc<AppState>,
    cancel: CancellationToken,
) {
    let killer = ConnectionKiller::default();
    let service = {
        let killer = killer.clone();
        let slot = slot.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| -> ServiceFuture {
            req.extensions_mut().insert(killer.clone());
            let guard = slot.begin_request();
            let answer = router.clone().oneshot(req.map(axum::body::Body::new));
            Box::pin(async move {
                let resp = answer.await;
                drop(guard);
                resp
            })
        })
    };
    let config = &state.config;
    let mut conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(MAX_BUF_BYTES)
        .serve_connection(TokioIo::new(stream), service);
    let stall_after = config.header_read_timeout + STALL_SLACK;
    let mut shutting_down: Option<tokio::time::Instant> = None;
    let end = loop {
        let stall_check = stall_after.saturating_sub(slot.idle_for());
        let grace_over = shutting_down.unwrap_or_else(tokio::time::Instant::now);
        let mut evicted = false;
        tokio::select! {
            res = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => {
                break match res {
                    Ok(()) => End::Finished,
                    Err(e) => End::Failed(e),
                };
            }
            () = killer.killed() => {
                tracing::debug!("sandbox dropped a connection on purpose");
                break End::Dropped;
            }
            () = cancel.cancelled() => break End::Dropped,
            () = slot.evicted(), if shutting_down.is_none() => evicted = true,
            () = tokio::time::sleep_until(grace_over), if shutting_down.is_some() => {
                break End::Dropped;
            }
            () = tokio::time::sleep(stall_check) => {
                if !slot.is_busy() && slot.idle_for() >= stall_after {
                    tracing::debug!("sandbox dropped a connection whose client does not read");
                    state.connections.counts().stalled += 1;
                    break End::Dropped;
                }
            }
        }
        if evicted {
            if !slot.has_served() {
                // Nothing was ever answered here, so nothing can be lost: close at once.
                break End::Dropped;
            }
            // hyper closes an idle keep-alive connection at once, and finishes an answer it
            // is still writing first.
            Pin::new(&mut conn).graceful_shutdown();
            shutting_down = Some(tokio::time::Instant::now() + EVICTION_GRACE);
        }
    };
    match end {
        End::Finished if shutting_down.is_none() => {
            let parts = conn.into_parts();
            let stream = parts.io.into_inner();
            tokio::select! {
                () = linger(stream) => {}
                () = slot.evicted() => {}
                () = cancel.cancelled() => {}
            }
        }
        End::Failed(e) => {
            if e.is_timeout() {
                state.connections.counts().header_timeouts += 1;
            }
            tracing::debug!(error = %e, "sandbox connection ended with an error");
        }
        End::Finished | End::Dropped => {}
    }
    state.connections.release(&slot);
}

/// Shuts our side, then reads and discards what the client still sends until it closes or
/// [`LINGER`] passes: closing a socket with unread input makes the system reset the
/// connection, and a reset can destroy an answer the client has not read yet.
async fn linger(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    let _ = tokio::time::timeout(LINGER, async {
        let mut sink = [0u8; 2048];
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Answers a connection there is no room for, without reading its request: 503 with
/// `Retry-After`, in the gateway's bare `{message}` shape (the operation is not known yet).
async fn refuse(mut stream: TcpStream, cancel: &CancellationToken) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{REFUSAL_BODY}",
        REFUSAL_BODY.len()
    );
    let sent = tokio::time::timeout(LINGER, stream.write_all(answer.as_bytes())).await;
    if matches!(sent, Ok(Ok(()))) {
        tokio::select! {
            () = linger(stream) => {}
            () = cancel.cancelled() => {}
        }
    }
}
