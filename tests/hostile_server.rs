//! A scripted hostile server: raw tokio TCP on `127.0.0.1:0`, so it can misbehave at the byte
//! level where an HTTP framework would not let it (a Content-Length it never honours, headers
//! that never end, a body that trickles or never stops). It stands in front of an in-process
//! sandbox: a request no rule claims is forwarded there and its answer relayed, so the
//! searches and reads that settle an unknown create see what was really stored. Every request
//! is logged with its operation and partnerLeadOpportunityId, so a test can prove that no
//! create was sent twice without a search between.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a request asks, judged by its method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Get,
    Search,
    Portfolio,
    Other,
}

impl Op {
    fn of(method: &str, path: &str) -> Op {
        let path = path.split('?').next().unwrap_or_default();
        match method {
            "POST" if path.ends_with("/leads-opportunities/search") => Op::Search,
            "POST" if path.ends_with("/leads-opportunities") => Op::Create,
            "PATCH" => Op::Update,
            "GET" if path.ends_with("/portfolio-items/search") => Op::Portfolio,
            "GET" if path.contains("/leads-opportunities/") => Op::Get,
            _ => Op::Other,
        }
    }
}

/// How one request is answered.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The sandbox's own answer, relayed.
    Forward,
    /// These bytes, then the connection is closed.
    Raw(Vec<u8>),
    /// `head` (a status line and headers, ending with the blank line), then filler for as
    /// long as the client reads.
    Endless { head: String, chunked: bool },
    /// `head` at once, then `body` one byte a second.
    TrickleBody { head: String, body: Vec<u8> },
    /// A status line, then a header line a second, never the blank line that ends them.
    TrickleHeaders,
    /// Forwarded to the sandbox first (so it is applied), then answered with the inner reply.
    Applied(Box<Reply>),
}

/// Which requests a rule answers, and how many times (`None`: all of them).
#[derive(Debug, Clone)]
pub struct Rule {
    pub op: Op,
    pub times: Option<usize>,
    pub reply: Reply,
}

impl Rule {
    /// Every request of `op`.
    pub fn always(op: Op, reply: Reply) -> Rule {
        Rule {
            op,
            times: None,
            reply,
        }
    }

    /// The first `n` requests of `op`.
    pub fn first(n: usize, op: Op, reply: Reply) -> Rule {
        Rule {
            op,
            times: Some(n),
            reply,
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub op: Op,
    pub method: String,
    pub path: String,
    /// The create's `leadOpportunity.partnerLeadOpportunityId`, or the search's criterion.
    pub plid: Option<String>,
    /// How the server answered it (`None`: forwarded).
    pub reply: Option<String>,
}

#[derive(Clone)]
pub struct Hostile {
    pub base: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

struct Shared {
    upstream: String,
    rules: Mutex<Vec<Rule>>,
    log: Arc<Mutex<Vec<Seen>>>,
    http: reqwest::Client,
}

/// Starts a hostile server in front of the sandbox at `upstream`, answering by `rules` (the
/// first that matches and has times left), else forwarding.
pub async fn start(upstream: String, rules: Vec<Rule>) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::new(Shared {
        upstream,
        rules: Mutex::new(rules),
        log: log.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
    });
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(serve(sock, shared.clone()));
        }
    });
    Hostile { base, log }
}

impl Hostile {
    pub fn log(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// How many creates carried `plid`.
    pub fn creates(&self, plid: &str) -> usize {
        self.log()
            .iter()
            .filter(|s| s.op == Op::Create && s.plid.as_deref() == Some(plid))
            .count()
    }

    pub fn count(&self, op: Op) -> usize {
        self.log().iter().filter(|s| s.op == op).count()
    }

    /// Panics unless every create sent again for a partner id was preceded by a search for
    /// it after the earlier create: an unknown outcome is settled before anything is re-sent.
    pub fn assert_never_resent_blindly(&self) {
        let log = self.log();
        for (i, s) in log.iter().enumerate() {
            if s.op != Op::Create {
                continue;
            }
            let earlier = log[..i]
                .iter()
                .rposition(|e| e.op == Op::Create && e.plid == s.plid);
            if let Some(e) = earlier {
                assert!(
                    log[e..i]
                        .iter()
                        .any(|x| x.op == Op::Search && x.plid == s.plid),
                    "create {:?} sent again without a search between: {log:#?}",
                    s.plid
                );
            }
        }
    }
}

/// One connection: one request, one answer, closed (every answer says `Connection: close`,
/// so the client never reuses a connection this server has dropped).
async fn serve(mut sock: TcpStream, shared: Arc<Shared>) {
    let Some((method, path, headers, body)) = read_request(&mut sock).await else {
        return;
    };
    let op = Op::of(&method, &path);
    let plid = serde_json::from_slice::<Value>(&body).ok().and_then(|b| {
        b.pointer("/leadOpportunity/partnerLeadOpportunityId")
            .or_else(|| b.pointer("/data/0/partnerLeadOpportunityId"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let reply = {
        let mut rules = shared.rules.lock().unwrap();
        let found = rules.iter_mut().find(|r| r.op == op && r.times != Some(0));
        found.map_or(Reply::Forward, |r| {
            if let Some(t) = r.times.as_mut() {
                *t -= 1;
            }
            r.reply.clone()
        })
    };
    shared.log.lock().unwrap().push(Seen {
        op,
        method: method.clone(),
        path: path.clone(),
        plid,
        reply: (!matches!(reply, Reply::Forward)).then(|| format!("{reply:?}")),
    });
    answer(&mut sock, &shared, reply, (&method, &path, &headers, &body)).await;
}

type Request<'a> = (&'a str, &'a str, &'a [(String, String)], &'a [u8]);

async fn answer(sock: &mut TcpStream, shared: &Shared, reply: Reply, req: Request<'_>) {
    match reply {
        Reply::Forward => {
            let bytes = forward(shared, req).await;
            let _ = sock.write_all(&bytes).await;
        }
        Reply::Applied(inner) => {
            forward(shared, req).await;
            Box::pin(answer(sock, shared, *inner, req)).await;
        }
        Reply::Raw(bytes) => {
            let _ = sock.write_all(&bytes).await;
        }
        Reply::Endless { head, chunked } => {
            if sock.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let filler = vec![b' '; 64 * 1024];
            let chunk = if chunked {
                let mut c = format!("{:x}\r\n", filler.len()).into_bytes();
                c.extend_from_slice(&filler);
                c.extend_from_slice(b"\r\n");
                c
            } else {
                filler
            };
            // 4 GiB at most, so a client that never stops reading still ends the test.
            for _ in 0..65_536 {
                if sock.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
        Reply::TrickleBody { head, body } => {
            if sock.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for b in body {
                if sock.write_all(&[b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Reply::TrickleHeaders => {
            if sock.write_all(b"HTTP/1.1 200 OK\r\n").await.is_err() {
                return;
            }
            for i in 0..120 {
                let line = format!("X-Trickle-{i}: {i}\r\n");
                if sock.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    let _ = sock.shutdown().await;
}

/// The sandbox's answer to `req`, as bytes to relay.
async fn forward(shared: &Shared, (method, path, headers, body): Request<'_>) -> Vec<u8> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut out = shared
        .http
        .request(method, format!("{}{path}", shared.upstream));
    for (k, v) in headers {
        if ["x-api-key", "content-type", "accept"].contains(&k.to_ascii_lowercase().as_str()) {
            out = out.header(k, v);
        }
    }
    let resp = out
        .body(body.to_vec())
        .send()
        .await
        .expect("the sandbox answers");
    let status = resp.status();
    let mut extra = Vec::new();
    for name in ["content-type", "retry-after"] {
        if let Some(v) = resp.headers().get(name) {
            extra.push((name.to_string(), v.to_str().unwrap().to_string()));
        }
    }
    let body = resp.bytes().await.unwrap();
    let pairs: Vec<(&str, &str)> = extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    raw(status.as_u16(), &pairs, &body)
}

/// Reads one request: its method, path, headers and body (by Content-Length).
async fn read_request(
    sock: &mut TcpStream,
) -> Option<(String, String, Vec<(String, String)>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[end + 4..].to_vec();
    while body.len() < length {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((method, path, headers, body))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// A whole answer: status line, `headers`, Content-Length, `Connection: close`, body.
pub fn raw(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A JSON answer.
pub fn json(status: u16, body: &Value) -> Reply {
    Reply::Raw(raw(
        status,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    ))
}

/// A body that says `application/json` and is not JSON.
pub fn malformed(status: u16) -> Reply {
    Reply::Raw(raw(
        status,
        &[("Content-Type", "application/json")],
        br#"{"info": {"success": true}, "data": {"dsLeadOpportunityId": "9YEL-"#,
    ))
}

/// JSON cut off mid-body: the Content-Length promises more than is sent, then the
/// connection closes.
pub fn truncated(status: u16) -> Reply {
    let body = br#"{"info":{"success":true,"statusCode":201},"dsLeadOpportunityId":"9Y"#;
    let mut bytes = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason(status),
        body.len() + 200
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    Reply::Raw(bytes)
}

/// A gateway's HTML error page.
pub fn html_502() -> Reply {
    let page = format!(
        "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title>\n<style>{}</style></head>\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body>\n</html>\n",
        "body { font-family: sans-serif; } ".repeat(40)
    );
    Reply::Raw(raw(
        502,
        &[("Content-Type", "text/html; charset=utf-8")],
        page.as_bytes(),
    ))
}

/// A body that says it is 2 GB long, or is chunked without end; either way it never ends.
pub fn huge(chunked: bool) -> Reply {
    let length = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        "Content-Length: 2000000000".to_string()
    };
    Reply::Endless {
        head: format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\nConnection: close\r\n\r\n"
        ),
        chunked,
    }
}

/// A complete, valid-looking answer that arrives one byte a second.
pub fn trickle() -> Reply {
    let body = br#"{"info":{"success":true,"statusCode":200},"data":{}}"#.to_vec();
    Reply::TrickleBody {
        head: format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
        body,
    }
}

/// A wait of a year: `Retry-After` in seconds, or as an HTTP date.
pub fn wait_a_year(status: u16, as_date: bool) -> Reply {
    let value = if as_date {
        (chrono::Utc::now() + chrono::Duration::days(365))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    } else {
        "31536000".to_string()
    };
    let body = if status == 429 {
        serde_json::json!({"message": "Too many requests, please try again later"})
    } else {
        serde_json::json!({"info": {"success": false, "statusCode": status}, "error": {"code": "ERR899", "message": "Service currently unavailable, please try again later."}})
    };
    Reply::Raw(raw(
        status,
        &[
            ("Content-Type", "application/json"),
            ("Retry-After", &value),
        ],
        body.to_string().as_bytes(),
    ))
}

/// A redirect to `location`.
pub fn redirect(status: u16, location: &str) -> Reply {
    Reply::Raw(raw(status, &[("Location", location)], b""))
}

/// A listener that only counts the connections it is offered: where a redirect points, to
/// prove nothing followed it.
pub async fn elsewhere() -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(0));
    let counted = seen.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            *counted.lock().unwrap() += 1;
            drop(sock);
        }
    });
    (format!("http://localhost:{port}"), seen)
}
