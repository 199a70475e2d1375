//! `leadsheet sandbox` as users start it: the real binary on port 0, the base URL on the first
//! line of stdout, and the issue's "done when" sequence against it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::*;

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn sandbox_command_serves_on_port_zero() {
    let mut child = Child(
        Command::new(assert_cmd::cargo::cargo_bin!("leadsheet"))
            .args(["sandbox", "--addr", "127.0.0.1:0", "--preload", "5"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let http = reqwest::Client::new();
    let key = leadsheet::DEMO_API_KEY;
    let example =
        contract_json("examples-resolved/createLeadsOpportunities-request-createLeadBasic.json");
    let post = |body: Value| {
        http.post(format!("{base}{V0}"))
            .header("X-API-Key", key)
            .json(&body)
            .send()
    };
    let r = post(example.clone()).await.unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert!(created["dsLeadOpportunityId"].is_string());
    let r = post(example.clone()).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "ERR801");
    let mut bad = example.clone();
    bad["leadOpportunity"]["closeDate"] = "31.12.2025".into();
    bad["leadOpportunity"]["partnerLeadOpportunityId"] = "OTHER".into();
    let r = post(bad).await.unwrap();
    assert_eq!(r.status(), 406);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "ERR805");
    let stats: Value = http
        .get(format!("{base}/_sandbox/stats"))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"]["byOperation"]["create"]["201"], 1);
    assert_eq!(stats["requests"]["byOperation"]["create"]["400"], 1);
    assert_eq!(stats["requests"]["byOperation"]["create"]["406"], 1);
    assert_eq!(stats["records"]["total"], 6);
    assert_eq!(
        stats["partnerLeadOpportunityIds"]["PARTNER-CRM-LEAD-1A8R"],
        1
    );
}

#[test]
fn bad_fault_flag_is_a_usage_error() {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("leadsheet"))
        .args(["sandbox", "--addr", "127.0.0.1:0", "--fail-503", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fail-503"));
}
