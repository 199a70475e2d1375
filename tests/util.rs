//! The test harness: an in-process sandbox with a JSON client, the contract's schemas and
//! examples vendored in `contract/`, and scratch directories.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use leadsheet::sandbox::{self, DEMO_API_KEY, SandboxConfig, SandboxHandle};
use serde_json::Value;

/// The vendored API contract, `contract/` in the repository.
pub fn contract_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("contract")
}

pub fn read_json(path: impl Into<PathBuf>) -> Value {
    let path = path.into();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// A contract example or schema by its path under `schemas/`.
pub fn contract_json(rel: &str) -> Value {
    read_json(contract_dir().join("schemas").join(rel))
}

/// Panics with every schema error unless `instance` validates against `schemas/resolved/<rel>`.
pub fn assert_schema(rel: &str, instance: &Value) {
    let schema = contract_json(&format!("resolved/{rel}"));
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema {rel}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{rel} rejects {instance}:\n{}",
        errors.join("\n")
    );
}

pub struct Sandbox {
    pub handle: SandboxHandle,
    pub http: reqwest::Client,
    pub key: String,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

pub async fn sandbox(config: SandboxConfig) -> Sandbox {
    let handle = sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts");
    Sandbox {
        handle,
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap(),
        key: DEMO_API_KEY.to_string(),
    }
}

pub async fn default_sandbox() -> Sandbox {
    sandbox(SandboxConfig::default()).await
}

pub const V0: &str = "/sales/api4partners/v0/leads-opportunities";
pub const V1: &str = "/sales/api4partners/v1/leads-opportunities";
pub const SEARCH: &str = "/sales/api4partners/v0/leads-opportunities/search";
pub const PORTFOLIO: &str = "/sales/api4partners/v0/portfolio-items/search";

impl Sandbox {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.handle.base_url(), path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("request completes");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body reads");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(
            self.http
                .post(self.url(path))
                .header("X-API-Key", &self.key)
                .json(body),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(
            self.http
                .patch(self.url(path))
                .header("X-API-Key", &self.key)
                .json(body),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path)).header("X-API-Key", &self.key))
            .await
    }

    pub async fn stats(&self) -> Value {
        self.get("/_sandbox/stats").await.body
    }

    /// Creates a lead from the contract's basic example with a new partner id; returns its id.
    pub async fn create_basic(&self, partner_lead_id: &str) -> String {
        let mut body = basic_create_v1();
        body["leadOpportunity"]["partnerLeadOpportunityId"] = partner_lead_id.into();
        let r = self.post(V1, &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["dsLeadOpportunityId"].as_str().unwrap().to_string()
    }

    pub async fn search_ids(&self, criteria: Value) -> Vec<String> {
        let r = self
            .post(SEARCH, &serde_json::json!({ "data": criteria }))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["dsLeadOpportunityId"].as_array().unwrap().iter())
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }
}

/// The v1 create example of the rendered documentation.
pub fn basic_create_v1() -> Value {
    static BODY: OnceLock<Value> = OnceLock::new();
    BODY.get_or_init(|| {
        contract_json("seed-examples/08_v1-op-createLeadsOpportunities.request.json")
    })
    .clone()
}

/// A scratch directory removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("scratch dir")
}
