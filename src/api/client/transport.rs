//! The one place a request meets the network: an HTTP exchange reduced to what the attempt
//! loop needs (the status, `Retry-After`, `Location`, the body, or why there was no answer and
//! whether the request may have reached the server). Bodies are read chunk by chunk up to
//! [`MAX_BODY`], so a gateway that streams without end cannot fill the memory; reqwest's
//! whole-request timeout (`--timeout`) bounds headers that never end and a body that
//! trickles. Tests put a scripted [`Fake`] here instead, so the attempt loop and the
//! reconciliation of unknown creates are tested without a socket.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue, LOCATION, RETRY_AFTER};

use crate::api::retry;

/// The largest answer body read. The largest real answers (a portfolio page, a search over a
/// busy week) are well under a megabyte; past this the answer counts as cut off.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// An answer: its status, its `Retry-After` and `Location`, and its body (or how reading it
/// failed: the answer was cut off or is over [`MAX_BODY`], so the request surely arrived).
#[derive(Debug, Clone)]
pub(super) struct Exchange {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub location: Option<String>,
    pub body: Result<Vec<u8>, String>,
}

/// No answer. `sent` says whether the request may have reached the server: a refused
/// connection never did; a timeout or a dropped connection may have. `tls`: the TLS
/// handshake failed (why), so nothing was sent and asking again will not help.
#[derive(Debug, Clone)]
pub(super) struct Lost {
    pub sent: bool,
    pub message: String,
    pub tls: Option<String>,
}

#[derive(Clone)]
pub(super) enum Transport {
    Http(reqwest::Client),
    #[cfg(test)]
    Fake(std::sync::Arc<Fake>),
}

impl Transport {
    pub async fn exchange(
        &self,
        method: reqwest::Method,
        url: &str,
        key: &HeaderValue,
        body: Option<Vec<u8>>,
    ) -> Result<Exchange, Lost> {
        match self {
            Transport::Http(http) => {
                let mut req = http.request(method, url).header("X-API-Key", key.clone());
                if let Some(b) = body {
                    req = req.header(CONTENT_TYPE, "application/json").body(b);
                }
                let resp = req.send().await.map_err(|e| Lost {
                    sent: retry::was_sent(&e),
                    message: retry::describe(&e),
                    tls: retry::tls_failure(&e),
                })?;
                let status = resp.status().as_u16();
                let header = |name| {
                    resp.headers()
                        .get(name)
                        .and_then(|v: &HeaderValue| v.to_str().ok())
                        .map(str::to_string)
                };
                let retry_after = header(RETRY_AFTER).and_then(|v| retry::parse_retry_after(&v));
                let location = header(LOCATION);
                Ok(Exchange {
                    status,
                    retry_after,
                    location,
                    body: read_capped(resp).await,
                })
            }
            #[cfg(test)]
            Transport::Fake(fake) => fake.next(method, url, body),
        }
    }
}

/// The body, chunk by chunk, up to [`MAX_BODY`]: a declared length over it is not read at all.
async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let limit = format!("leadsheet's limit of {} MiB", MAX_BODY >> 20);
    if let Some(n) = resp.content_length().filter(|n| *n > MAX_BODY as u64) {
        return Err(format!("a body of {n} bytes, over {limit}: not read"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| cut_off(&e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("a body over {limit}: reading stopped there"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Why a body stopped arriving, in a few words: its innermost cause says it best ("end of
/// file before message length reached"), the layers above it only that a body was read.
fn cut_off(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out while reading the body".into();
    }
    let mut innermost: &dyn std::error::Error = e;
    while let Some(s) = innermost.source() {
        innermost = s;
    }
    format!("the body was cut off ({innermost})")
}

/// A scripted server for the attempt loop's tests: answers in order, and remembers what it
/// was asked.
#[cfg(test)]
#[derive(Default)]
pub(super) struct Fake {
    script: std::sync::Mutex<std::collections::VecDeque<Result<Exchange, Lost>>>,
    pub asked: std::sync::Mutex<Vec<(reqwest::Method, String, Option<serde_json::Value>)>>,
}

#[cfg(test)]
impl Fake {
    pub fn new(script: impl IntoIterator<Item = Result<Exchange, Lost>>) -> std::sync::Arc<Fake> {
        std::sync::Arc::new(Fake {
            script: std::sync::Mutex::new(script.into_iter().collect()),
            asked: Default::default(),
        })
    }

    fn next(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Exchange, Lost> {
        let path = url
            .split_once("//")
            .map_or(url, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
        let body = body.and_then(|b| serde_json::from_slice(&b).ok());
        self.asked
            .lock()
            .unwrap()
            .push((method, path.to_string(), body));
        self.script.lock().unwrap().pop_front().unwrap_or(Err(Lost {
            sent: false,
            message: "the script has no more answers".into(),
            tls: None,
        }))
    }

    /// The paths asked for, in order.
    pub fn paths(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .map(|(m, p, _)| format!("{m} {p}"))
            .collect()
    }
}

/// An answer with a JSON body.
#[cfg(test)]
pub(super) fn answer(status: u16, body: serde_json::Value) -> Result<Exchange, Lost> {
    raw(status, serde_json::to_vec(&body).unwrap())
}

/// An answer with these bytes as its body.
#[cfg(test)]
pub(super) fn raw(status: u16, body: impl Into<Vec<u8>>) -> Result<Exchange, Lost> {
    Ok(Exchange {
        status,
        retry_after: None,
        location: None,
        body: Ok(body.into()),
    })
}

/// No answer: a timeout or a dropped connection (`sent`), or a refused connection.
#[cfg(test)]
pub(super) fn lost(sent: bool) -> Result<Exchange, Lost> {
    Err(Lost {
        sent,
        message: if sent {
            "timed out"
        } else {
            "connection refused"
        }
        .into(),
        tls: None,
    })
}

/// A client that talks to `fake`, as `leadsheet import` would build it for a real server.
#[cfg(test)]
pub(super) fn fake_client(
    script: impl IntoIterator<Item = Result<Exchange, Lost>>,
) -> (super::Client, std::sync::Arc<Fake>) {
    let fake = Fake::new(script);
    let client = super::Client {
        transport: Transport::Fake(fake.clone()),
        base: "https://apigw.example".into(),
        key: HeaderValue::from_static("test-key"),
        version: super::ApiVersion::V1,
        throttle: std::sync::Arc::new(super::Throttle::new(None, Duration::from_secs(60))),
        max_retries: 3,
        max_backoff: Duration::from_secs(60),
        cancel: tokio_util::sync::CancellationToken::new(),
        refused: Default::default(),
        concurrency: 1,
    };
    (client, fake)
}
