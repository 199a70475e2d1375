//! The key only travels where it should: TLS certificates are always verified (a server with a
//! self-signed certificate is refused before a request is sent, with a message about the
//! certificate, at once rather than after retries), plain http is refused to any other machine
//! before anything is sent, and allowed to this one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use leadsheet::SandboxConfig;
use tokio::io::AsyncReadExt;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::util::*;

const KEY: &str = "tls-test-key-do-not-print-51c2";

/// A TLS server on 127.0.0.1 with the self-signed fixture certificate; counts handshakes
/// offered and completed, and the bytes of requests that arrive over a completed one.
struct TlsServer {
    port: u16,
    offered: Arc<AtomicUsize>,
    completed: Arc<AtomicUsize>,
    received: Arc<AtomicUsize>,
}

async fn tls_server() -> TlsServer {
    let dir = root().join("tests/fixtures/tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = TlsServer {
        port: listener.local_addr().unwrap().port(),
        offered: Arc::default(),
        completed: Arc::default(),
        received: Arc::default(),
    };
    let (offered, completed, received) = (
        server.offered.clone(),
        server.completed.clone(),
        server.received.clone(),
    );
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            offered.fetch_add(1, Ordering::SeqCst);
            let (acceptor, completed, received) =
                (acceptor.clone(), completed.clone(), received.clone());
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(sock).await {
                    completed.fetch_add(1, Ordering::SeqCst);
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = tls.read(&mut buf).await {
                        received.fetch_add(n, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    server
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn a_certificate_that_cannot_be_verified_is_refused_at_once() {
    let server = tls_server().await;
    let dir = scratch();
    let input = generated_csv(dir.path(), 3, "TLS");
    let results = dir.path().join("tls.results.xlsx");
    for host in ["127.0.0.1", "localhost"] {
        let base = format!("https://{host}:{}", server.port);
        let start = Instant::now();
        let o = run(
            s(&["-vv", "get", "SOMEID", "--timeout", "2"]),
            Some(base.clone()),
            KEY,
        )
        .await;
        let took = start.elapsed();
        let all = text(&o);
        assert_eq!(o.status.code(), Some(1), "{host}: {all}");
        assert!(all.contains("certificate"), "{host}: {all}");
        assert!(all.contains("always verifies"), "{host}: {all}");
        assert!(!all.contains(KEY), "{host}: the key was printed: {all}");
        // Once, not after retries: a certificate does not get better by asking again.
        assert!(took < Duration::from_secs(5), "{host}: took {took:?}");
        // An import stops at once too, every row NOT_SUBMITTED (nothing was sent).
        let o = run(
            s(&[
                "import",
                input.to_str().unwrap(),
                "-o",
                results.to_str().unwrap(),
                "--timeout",
                "2",
            ]),
            Some(base),
            KEY,
        )
        .await;
        let all = text(&o);
        assert_eq!(o.status.code(), Some(1), "{host}: {all}");
        assert!(
            all.contains("certificate") && !all.contains("refused"),
            "{host}: {all}"
        );
        assert!(!all.contains(KEY), "{host}: {all}");
        let rows = results_rows(&results);
        assert!(
            rows.iter().all(|r| r["Status"] == "NOT_SUBMITTED"),
            "{rows:?}"
        );
        std::fs::remove_file(dir.path().join("tls.results.journal")).ok();
    }
    assert!(
        server.offered.load(Ordering::SeqCst) > 0,
        "the client did connect"
    );
    assert_eq!(
        server.completed.load(Ordering::SeqCst),
        0,
        "no handshake completed"
    );
    assert_eq!(
        server.received.load(Ordering::SeqCst),
        0,
        "nothing was sent"
    );
}

/// This machine's address on another interface, if it has one (no packet is sent: a UDP
/// socket's connect only picks a route).
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    sock.connect("192.0.2.1:9").ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn plain_http_goes_only_to_this_machine() {
    // A listener on every interface, reached by an address that is not loopback: refused
    // before anything is sent, however near the host is.
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connected = Arc::new(AtomicUsize::new(0));
    let counted = connected.clone();
    tokio::spawn(async move {
        while let Ok(_sock) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    let mut hosts = vec!["example.com".to_string(), "10.1.2.3".to_string()];
    hosts.extend(non_loopback_ip().map(|ip| ip.to_string()));
    for host in hosts {
        let o = run(
            s(&["get", "SOMEID"]),
            Some(format!("http://{host}:{port}")),
            KEY,
        )
        .await;
        let all = text(&o);
        assert_eq!(o.status.code(), Some(3), "{host}: {all}");
        assert!(all.contains("plain http:// is refused"), "{host}: {all}");
        assert!(!all.contains(KEY), "{host}: {all}");
    }
    assert_eq!(connected.load(Ordering::SeqCst), 0, "nothing was sent");
    // To this machine it is allowed, by name or by address.
    let sb = sandbox(SandboxConfig::default()).await;
    let id = sb.create_basic("HTTP-LOCAL").await;
    let port = sb.handle.base_url().rsplit(':').next().unwrap().to_string();
    for host in ["localhost", "127.0.0.1"] {
        let o = run(
            s(&["get", &id]),
            Some(format!("http://{host}:{port}")),
            &sb.key,
        )
        .await;
        assert_eq!(o.status.code(), Some(0), "{host}: {}", text(&o));
        assert!(text(&o).contains("HTTP-LOCAL"));
    }
}
