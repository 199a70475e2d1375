//! The test harness, shared by every test module: an in-process sandbox with a JSON client,
//! the contract's schemas and examples vendored in `contract/`, the binary as users run it,
//! readers of the workbooks it writes, and scratch directories.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use calamine::{Data, Reader};

use leadsheet::{DEMO_API_KEY, SandboxConfig, SandboxHandle};
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
    let handle = leadsheet::start_sandbox(config, "127.0.0.1:0".parse().unwrap())
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

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn leadsheet() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("leadsheet"));
    c.env_remove("LEADSHEET_PARTNER_ID")
        .env_remove("LEADSHEET_API_KEY")
        .env("LEADSHEET_CONFIG", "/nonexistent/leadsheet.toml")
        // Close dates are judged as of one day, so the samples' verdicts do not age.
        .env("LEADSHEET_TODAY", "2026-01-01");
    c
}

/// A workbook's sheet as lines of ` | `-separated cells.
pub fn sheet_text(path: &Path, sheet: &str) -> Vec<String> {
    let mut book =
        calamine::open_workbook_auto(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let range = book.worksheet_range(sheet).unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::Float(f) => leadsheet::number_text(*f),
                    Data::DateTime(d) => d.as_datetime().map(|t| t.to_string()).unwrap_or_default(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect()
}

/// The results workbook's Results sheet as maps of header → text.
pub fn results_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut book =
        calamine::open_workbook_auto(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let range = book.worksheet_range("Results").unwrap();
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    rows.map(|r| {
        header
            .iter()
            .zip(r.iter())
            .map(|(h, c)| {
                let v = match c {
                    Data::Float(f) => leadsheet::number_text(*f),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                };
                (h.clone(), v)
            })
            .collect()
    })
    .collect()
}

/// Runs the binary with `args`, against `base` with `key` from the environment.
pub async fn run(args: Vec<String>, base: Option<String>, key: &str) -> Output {
    let key = key.to_string();
    tokio::task::spawn_blocking(move || {
        let mut cmd = leadsheet();
        cmd.args(&args);
        if let Some(b) = base {
            cmd.args(["--base-url", &b]);
        }
        cmd.env("LEADSHEET_API_KEY", key)
            .env("LEADSHEET_CONFIG", "/nonexistent/leadsheet.toml")
            // Close dates are judged as of one day, so the samples' verdicts do not age.
            .env("LEADSHEET_TODAY", "2026-01-01");
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

pub fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// A CSV in the default layout with `n` valid creates (partner ids `GEN-000001`…).
pub fn generated_csv(dir: &Path, n: usize, prefix: &str) -> PathBuf {
    let path = dir.join(format!("{prefix}.csv"));
    let mut text = String::from(
        "partnerId,leadOpportunity.partnerLeadOpportunityId,leadOpportunity.name,leadOpportunity.status,leadOpportunity.closeDate,\
leadOpportunity.currency,customerLegalEntity.name,customerLegalEntity.city,customerLegalEntity.country,offerLines.1.offerNameId,offerLines.1.amount\n",
    );
    for i in 1..=n {
        text.push_str(&format!("200000000014442,{prefix}-{i:06},Lead {i},LEAD_OPEN,2026-06-01,EUR,Customer {i},Paris,France,OFFER_{},{}\n", i % 7, i * 10));
    }
    std::fs::write(&path, text).unwrap();
    path
}
