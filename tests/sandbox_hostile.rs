//! Hostile clients of the sandbox, over real sockets: bodies over the limit or with a lying
//! length, heads and bodies sent a byte at a time, clients that never read their answers,
//! floods of idle connections, wrong content types and keys, and a sandbox told to listen
//! beyond loopback. Each test checks what the sandbox does to the hostile client and that a
//! well-behaved client is served meanwhile. Timeouts come from `SandboxConfig` in hundreds of
//! milliseconds, so each test takes about a second; `PROMPT` is only a bound for failures.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::CommandFactory;
use futures::future::join_all;
use leadsheet::{DEMO_API_KEY, SandboxConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::*;

/// The bound on anything a test waits for; far beyond what a pass needs.
const PROMPT: Duration = Duration::from_secs(5);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Short timeouts, so that hostile clients are cut off within the test.
fn quick() -> SandboxConfig {
    SandboxConfig {
        header_read_timeout: ms(300),
        body_read_timeout: ms(300),
        ..Default::default()
    }
}

/// A client without a connection pool: each request on a new connection, so no test depends
/// on when the sandbox closes an idle one.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(PROMPT)
        .build()
        .unwrap()
}

/// A well-behaved request gets its answer while the hostile clients are connected.
async fn served(base: &str) {
    let r = fresh_client()
        .get(format!("{base}{PORTFOLIO}?top=1"))
        .header("X-API-Key", DEMO_API_KEY)
        .send()
        .await
        .expect("a well-behaved client is served");
    assert_eq!(r.status(), 200);
}

async fn connections(base: &str) -> Value {
    let stats: Value = fresh_client()
        .get(format!("{base}/_sandbox/stats"))
        .header("X-API-Key", DEMO_API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["connections"].clone()
}

/// Polls the connection stats until `done` holds; panics after [`PROMPT`].
async fn wait_for(base: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = std::time::Instant::now();
    loop {
        let c = connections(base).await;
        if done(&c) {
            return c;
        }
        assert!(start.elapsed() < PROMPT, "{what}: {c}");
        tokio::time::sleep(ms(50)).await;
    }
}

async fn connect(sb: &Sandbox) -> TcpStream {
    TcpStream::connect(sb.handle.addr()).await.unwrap()
}

fn head(method: &str, path: &str, extra: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: sandbox\r\nX-API-Key: {DEMO_API_KEY}\r\n{extra}\r\n")
}

struct RawReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl RawReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.1 answer (with a Content-Length) from a raw socket.
async fn read_reply(s: &mut (impl AsyncRead + Unpin)) -> RawReply {
    tokio::time::timeout(PROMPT, async {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            let n = s.read(&mut byte).await.expect("the answer arrives");
            assert!(
                n == 1,
                "closed before an answer: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.push(byte[0]);
        }
        let text = String::from_utf8(buf).unwrap();
        let mut lines = text.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).await.unwrap();
        let body = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
        RawReply {
            status,
            headers,
            body,
        }
    })
    .await
    .expect("an answer within PROMPT")
}

/// Whether the sandbox closes the connection (end of stream or reset) within `within`;
/// whatever else arrives is discarded.
async fn closed_within(s: &mut (impl AsyncRead + Unpin), within: Duration) -> bool {
    tokio::time::timeout(within, async {
        let mut sink = [0u8; 4096];
        while let Ok(n) = s.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
    .is_ok()
}

fn assert_envelope_error(r: &RawReply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["info"]["statusCode"], status, "{}", r.body);
    assert_eq!(r.body["info"]["success"], false, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(r.body["info"]["traceId"].is_string(), "{}", r.body);
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_before_any_body() {
    let sb = sandbox(SandboxConfig {
        max_body_bytes: 10_000,
        ..quick()
    })
    .await;
    let mut s = connect(&sb).await;
    let extra = "Content-Type: application/json\r\nContent-Length: 50000000\r\n";
    s.write_all(head("POST", V1, extra).as_bytes())
        .await
        .unwrap();
    // Not a byte of the 50 MB is sent: the answer comes without it.
    let r = read_reply(&mut s).await;
    assert_envelope_error(&r, 413, "BODY_TOO_LARGE");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("declares 50000000 bytes"),
        "{}",
        r.body
    );
    assert_eq!(r.header("connection"), Some("close"));
    assert!(closed_within(&mut s, PROMPT).await);
    served(&sb.handle.base_url()).await;
}

#[tokio::test]
async fn an_endless_chunked_body_is_cut_at_the_limit() {
    let sb = sandbox(SandboxConfig {
        max_body_bytes: 10_000,
        ..quick()
    })
    .await;
    let (mut rd, mut wr) = connect(&sb).await.into_split();
    let extra = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n";
    wr.write_all(head("POST", V1, extra).as_bytes())
        .await
        .unwrap();
    // The body never ends: whatever answer comes, it comes before the end.
    let writer = tokio::spawn(async move {
        let chunk = format!("1000\r\n{}\r\n", " ".repeat(0x1000));
        while wr.write_all(chunk.as_bytes()).await.is_ok() {}
    });
    let r = read_reply(&mut rd).await;
    assert_envelope_error(&r, 413, "BODY_TOO_LARGE");
    assert_eq!(r.header("connection"), Some("close"));
    served(&sb.handle.base_url()).await;
    // After a short lingering read the sandbox closes, and the endless writer fails.
    tokio::time::timeout(PROMPT, writer)
        .await
        .expect("the sandbox stops reading the endless body")
        .unwrap();
}

#[tokio::test]
async fn slow_and_short_bodies_get_408_and_a_lie_in_the_length_closes() {
    let sb = sandbox(quick()).await;
    let base = sb.handle.base_url();
    // A body that trickles in, a byte every 50 ms: cut off by the body timeout.
    let (mut rd, mut wr) = connect(&sb).await.into_split();
    let extra = "Content-Type: application/json\r\nContent-Length: 1000\r\n";
    wr.write_all(head("POST", V1, extra).as_bytes())
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        while wr.write_all(b" ").await.is_ok() {
            tokio::time::sleep(ms(50)).await;
        }
    });
    // A body shorter than its declared length, then silence.
    let mut short = connect(&sb).await;
    let extra = "Content-Type: application/json\r\nContent-Length: 100\r\n";
    short
        .write_all(format!("{}{{\"partnerId\": ", head("POST", V1, extra)).as_bytes())
        .await
        .unwrap();
    served(&base).await;
    for r in [read_reply(&mut rd).await, read_reply(&mut short).await] {
        assert_envelope_error(&r, 408, "BODY_READ_TIMEOUT");
        assert_eq!(r.header("connection"), Some("close"));
    }
    assert!(closed_within(&mut rd, PROMPT).await);
    assert!(closed_within(&mut short, PROMPT).await);
    trickle.abort();
    // A body longer than its declared length: the declared bytes are the body, and the rest
    // is taken for a request head, refused, and the connection closed.
    let mut long = connect(&sb).await;
    let extra = "Content-Type: application/json\r\nContent-Length: 5\r\n";
    long.write_all(
        format!(
            "{}{{\"a\": 1, \"b\": \"{}\"}}",
            head("POST", V1, extra),
            "x".repeat(50_000)
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let r = read_reply(&mut long).await;
    assert_envelope_error(&r, 400, "INVALID_JSON");
    assert!(closed_within(&mut long, PROMPT).await);
    served(&base).await;
}

#[tokio::test]
async fn slow_headers_and_silent_connections_are_cut_off() {
    let sb = sandbox(quick()).await;
    let base = sb.handle.base_url();
    let addr = sb.handle.addr();
    // 20 clients send a head a byte every 50 ms, never finishing it; 20 send nothing.
    let hostile: Vec<_> = (0..40)
        .map(|i| {
            tokio::spawn(async move {
                let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
                let trickle = tokio::spawn(async move {
                    if i % 2 == 1 {
                        // Silent, but holding its side open (dropping it would send a FIN).
                        let _keep = wr;
                        return std::future::pending::<()>().await;
                    }
                    let start = format!("GET {PORTFOLIO} HTTP/1.1\r\nX-Slow: ");
                    for b in start.bytes().chain(std::iter::repeat(b'a')) {
                        if wr.write_all(&[b]).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(ms(50)).await;
                    }
                });
                let closed = closed_within(&mut rd, PROMPT).await;
                trickle.abort();
                closed
            })
        })
        .collect();
    served(&base).await;
    served(&base).await;
    for h in join_all(hostile).await {
        assert!(h.unwrap(), "a slow client was not cut off");
    }
    let c = connections(&base).await;
    assert!(c["headerTimeouts"].as_u64().unwrap() >= 40, "{c}");
    assert_eq!(c["evicted"], 0, "{c}");
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let sb = sandbox(quick()).await;
    let base = sb.handle.base_url();
    let mut s = connect(&sb).await;
    for _ in 0..2 {
        s.write_all(head("GET", &format!("{PORTFOLIO}?top=1"), "").as_bytes())
            .await
            .unwrap();
        assert_eq!(read_reply(&mut s).await.status, 200);
        // Still open between requests sent without delay...
        tokio::time::sleep(ms(50)).await;
    }
    // ...and closed once idle for the header timeout.
    assert!(closed_within(&mut s, PROMPT).await);
    wait_for(&base, "every idle connection closes", |c| c["open"] == 1).await;
}

#[tokio::test]
async fn at_the_cap_the_longest_idle_connection_makes_room() {
    let sb = sandbox(SandboxConfig {
        max_connections: 32,
        header_read_timeout: Duration::from_secs(30),
        ..quick()
    })
    .await;
    let base = sb.handle.base_url();
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(connect(&sb).await);
    }
    served(&base).await;
    served(&base).await;
    let c = wait_for(&base, "idle connections are evicted", |c| {
        c["evicted"].as_u64().unwrap() >= 200 - 32
    })
    .await;
    assert!(c["open"].as_u64().unwrap() <= 32, "{c}");
    assert_eq!(c["refused"], 0, "{c}");
    // The oldest went first; the newest are still open (each request since took one more).
    assert!(closed_within(&mut idle[0], PROMPT).await);
    let newest = idle.len() - 16;
    let still_open = join_all(idle[newest..].iter_mut().map(|s| closed_within(s, ms(200))))
        .await
        .into_iter()
        .filter(|closed| !closed)
        .count();
    assert!(still_open >= 8, "{still_open} of the 16 newest are open");
}

#[tokio::test]
async fn when_every_connection_is_busy_a_newcomer_is_refused_with_503() {
    let sb = sandbox(SandboxConfig {
        max_connections: 4,
        body_read_timeout: Duration::from_secs(3),
        ..quick()
    })
    .await;
    let base = sb.handle.base_url();
    // Four requests whose bodies are announced and not yet sent: their handlers are busy. Each
    // asks for `100 Continue`, which hyper sends once the handler starts reading the body.
    let mut busy = Vec::new();
    let extra = "Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n";
    for _ in 0..4 {
        let mut s = connect(&sb).await;
        s.write_all(head("POST", V1, extra).as_bytes())
            .await
            .unwrap();
        assert_eq!(read_reply(&mut s).await.status, 100);
        busy.push(s);
    }
    let mut s = connect(&sb).await;
    s.write_all(head("GET", PORTFOLIO, "").as_bytes())
        .await
        .unwrap();
    let refusal = read_reply(&mut s).await;
    assert_eq!(refusal.status, 503, "{}", refusal.body);
    assert_eq!(
        refusal.body,
        json!({"message": "Too many open connections, please try again later"})
    );
    assert_eq!(refusal.header("retry-after"), Some("1"));
    assert_eq!(refusal.header("connection"), Some("close"));
    // The bodies arrive; the handlers answer, and there is room again.
    for s in &mut busy {
        s.write_all(b"{}").await.unwrap();
        assert_eq!(read_reply(s).await.status, 400);
    }
    served(&base).await;
    assert!(connections(&base).await["refused"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn a_client_that_never_reads_its_answers_is_dropped() {
    let sb = sandbox(quick()).await;
    let base = sb.handle.base_url();
    let mut s = connect(&sb).await;
    // Fifty pipelined requests for the whole portfolio (several MB of answers), never read:
    // the socket buffers fill and the sandbox cannot write.
    let request = head("GET", PORTFOLIO, "");
    s.write_all(request.repeat(50).as_bytes()).await.unwrap();
    served(&base).await;
    wait_for(&base, "the stalled connection is dropped", |c| {
        c["stalled"] == 1
    })
    .await;
    served(&base).await;
    drop(s);
}

#[tokio::test]
async fn content_types_keys_and_unknown_fields() {
    let sb = sandbox(quick()).await;
    // No Content-Type: the contract's generic 400, in the create's documented envelope.
    let r = sb
        .send(
            sb.http
                .post(sb.url(V1))
                .header("X-API-Key", &sb.key)
                .body(serde_json::to_vec(&basic_create_v1()).unwrap()),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
    assert_schema(
        "v0/responses/createLeadsOpportunities.400.schema.json",
        &r.body,
    );
    // A wrong key is refused before the body is read: a 50 MB announcement costs nothing.
    for (key, status) in [(Some("not-the-key"), 403), (None, 401)] {
        let mut s = connect(&sb).await;
        let key = key.map_or(String::new(), |k| format!("X-API-Key: {k}\r\n"));
        let req = format!(
            "POST {V1} HTTP/1.1\r\nHost: sandbox\r\n{key}Content-Type: application/json\r\n\
             Content-Length: 50000000\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let r = read_reply(&mut s).await;
        assert_eq!(r.status, status, "{}", r.body);
        assert!(r.body["message"].is_string(), "{}", r.body);
        assert!(closed_within(&mut s, PROMPT).await);
    }
    // Keys the contract does not know are ignored, neither refused nor stored (REFERENCE.md
    // §5.1: no schema forbids them).
    let mut body = basic_create_v1();
    body["leadOpportunity"]["partnerLeadOpportunityId"] = "UNKNOWN-KEYS".into();
    body["unknownTopLevel"] = json!({"x": 1});
    body["leadOpportunity"]["nmae"] = "misspelt".into();
    body["offerLines"][0]["discountCode"] = "X".into();
    body["customerLegalEntity"]["favouriteColour"] = "blue".into();
    let r = sb.post(V1, &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["dsLeadOpportunityId"].as_str().unwrap();
    let got = sb.get(&format!("{V1}/{id}")).await;
    assert_eq!(got.status, 200);
    let text = got.body.to_string();
    for key in ["unknownTopLevel", "nmae", "discountCode", "favouriteColour"] {
        assert!(!text.contains(key), "{key} was stored: {text}");
    }
}

#[tokio::test]
async fn limits_out_of_range_are_refused() {
    for config in [
        SandboxConfig {
            max_connections: 0,
            ..Default::default()
        },
        SandboxConfig {
            header_read_timeout: Duration::ZERO,
            ..Default::default()
        },
        SandboxConfig {
            body_read_timeout: Duration::ZERO,
            ..Default::default()
        },
    ] {
        let err = leadsheet::start_sandbox(config, "127.0.0.1:0".parse().unwrap())
            .await
            .err()
            .expect("refused");
        assert_eq!(err.exit(), leadsheet::Exit::Usage);
    }
}

/// Kills the child when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_standalone(addr: &str) -> (Child, String, BufReader<std::process::ChildStderr>) {
    let mut child = Child(
        Command::new(assert_cmd::cargo::cargo_bin!("leadsheet"))
            .args(["sandbox", "--addr", addr])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary starts"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    (child, line.trim().to_string(), stderr)
}

#[tokio::test]
async fn the_sandbox_listens_on_loopback_unless_told_otherwise() {
    let cli = leadsheet::Cli::command();
    let sandbox_cmd = cli.find_subcommand("sandbox").unwrap();
    let addr = sandbox_cmd
        .get_arguments()
        .find(|a| a.get_long() == Some("addr"))
        .unwrap();
    let default: std::net::SocketAddr = addr.get_default_values()[0]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(default.ip().is_loopback(), "{default}");

    let (_child, base, mut stderr) = start_standalone("127.0.0.1:0");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let mut note = String::new();
    stderr.read_line(&mut note).unwrap();
    assert!(!note.contains("warning"), "{note}");

    // Every interface: the warning on stderr, the base URL still first on stdout, and it is
    // where this machine reaches the sandbox.
    let (_child, base, mut stderr) = start_standalone("0.0.0.0:0");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let mut warning = String::new();
    stderr.read_line(&mut warning).unwrap();
    assert!(
        warning.contains("warning")
            && warning.contains("0.0.0.0:")
            && warning.contains("not loopback")
            && warning.contains(DEMO_API_KEY),
        "{warning}"
    );
    served(&base).await;
}

/// The soft limit on open files, raised towards `wanted` as far as the hard limit allows.
#[cfg(unix)]
fn raise_descriptor_limit(wanted: u64) -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    let Some(current) = limit.current else {
        return u64::MAX;
    };
    if current < wanted {
        let target = limit.maximum.map_or(wanted, |max| max.min(wanted));
        limit.current = Some(target);
        if setrlimit(Resource::Nofile, limit).is_ok() {
            return target;
        }
    }
    current
}

/// The resident memory of a process in KiB, from `/proc` (Linux only).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// 2,000 idle sockets against `leadsheet sandbox` as users run it (default cap of 1,024): a
/// well-behaved client is still served, and the server's memory stays within bounds.
#[cfg(unix)]
#[tokio::test]
async fn two_thousand_idle_sockets_against_the_standalone_sandbox() {
    const WANTED: usize = 2000;
    // This process holds the client sockets, the child inherits the limit for its side, and
    // other tests run beside this one.
    let limit = raise_descriptor_limit(8192);
    let n = WANTED.min(
        usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(512),
    );
    if n < WANTED {
        eprintln!("descriptor limit {limit}: {n} idle sockets instead of {WANTED}");
    }
    let (child, base, _stderr) = start_standalone("127.0.0.1:0");
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    served(&base).await;
    let before = rss_kib(child.0.id());
    let mut idle = Vec::with_capacity(n);
    for batch in 0..n.div_ceil(100) {
        let size = 100.min(n - batch * 100);
        let opened = join_all((0..size).map(|_| TcpStream::connect(addr))).await;
        idle.extend(opened.into_iter().map(|s| s.expect("connects")));
    }
    for _ in 0..3 {
        served(&base).await;
    }
    let c = connections(&base).await;
    let after = rss_kib(child.0.id());
    assert!(
        c["open"].as_u64().unwrap() <= leadsheet::DEFAULT_MAX_CONNECTIONS as u64,
        "{c}"
    );
    if n > leadsheet::DEFAULT_MAX_CONNECTIONS {
        assert!(c["evicted"].as_u64().unwrap() > 0, "{c}");
    }
    if let (Some(before), Some(after)) = (before, after) {
        eprintln!("{n} idle sockets: sandbox RSS {before} KiB -> {after} KiB; {c}");
        assert!(
            after.saturating_sub(before) < 100 * 1024,
            "RSS grew from {before} KiB to {after} KiB"
        );
    }
    drop(idle);
}
