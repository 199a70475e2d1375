//! The accept loop. axum's own `serve` cannot close one connection on purpose, and the sandbox
//! must be able to: `--commit-then-fail` drops the connection after storing a change, which is
//! the ambiguous case a client has to reconcile. Each connection is served by hyper directly,
//! next to a [`ConnectionKiller`] that the handler can fire; the connection future is then
//! dropped, which closes the socket without a response.

use std::sync::Arc;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::http::{self, ConnectionKiller};
use super::state::AppState;

pub async fn serve(listener: TcpListener, state: Arc<AppState>, cancel: CancellationToken) {
    let router: Router = Router::new().fallback(http::dispatch).with_state(state);
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(error = %e, "sandbox accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let killer = ConnectionKiller::default();
            let k = killer.clone();
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(k.clone());
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                res = conn => {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "sandbox connection ended with an error");
                    }
                }
                () = killer.killed() => tracing::debug!("sandbox dropped a connection on purpose"),
                () = cancel.cancelled() => {}
            }
        });
    }
}
