//! `leadsheet get ID`: one lead's details, as readable lines or as the API's JSON.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::connect::{Tuning, connect};
use crate::Exit;
use crate::api::client::{CallError, Report};
use crate::cli::{GetArgs, GlobalArgs};

/// `key: value` lines of a JSON object, nested keys dotted, lists numbered.
pub fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::Array(items) if items.iter().any(|i| i.is_object()) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{prefix}.{}", i + 1), item, out);
            }
        }
        serde_json::Value::Array(items) => {
            let texts: Vec<String> = items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect();
            out.push((prefix.to_string(), texts.join("; ")));
        }
        serde_json::Value::Null => out.push((prefix.to_string(), String::new())),
        serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

pub async fn run(global: &GlobalArgs, args: GetArgs) -> anyhow::Result<Exit> {
    let tuning = Tuning {
        version: args.api_version.unwrap_or_default(),
        timeout: Duration::from_secs(args.timeout.max(1)),
        max_retries: 3,
        concurrency: 1,
        rate: None,
    };
    let connected = connect(
        &args.connection,
        tuning,
        CancellationToken::new(),
        global.quiet || args.json,
    )
    .await?;
    let mut report = Report::default();
    let result = connected.client.get(&args.id, &mut report).await;
    if let Some(sb) = connected.sandbox {
        sb.shutdown().await;
    }
    match result {
        Ok(lead) if !lead.is_object() => {
            eprintln!(
                "leadsheet: error: cannot get `{}`: the answer holds no data.leadOpportunity{}",
                args.id,
                report
                    .trace_id
                    .map(|t| format!(" (trace id {t})"))
                    .unwrap_or_default()
            );
            Ok(Exit::Fatal)
        }
        Ok(lead) if args.json => {
            println!("{}", serde_json::to_string_pretty(&lead)?);
            Ok(Exit::Success)
        }
        Ok(lead) => {
            let mut lines = Vec::new();
            flatten("", &lead, &mut lines);
            let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (k, v) in lines {
                println!("{k:width$}  {v}");
            }
            Ok(Exit::Success)
        }
        Err(e) => {
            let trace = report
                .trace_id
                .map(|t| format!(" (trace id {t})"))
                .unwrap_or_default();
            let code = e
                .failure()
                .and_then(|f| f.code.clone())
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            eprintln!(
                "leadsheet: error: cannot get `{}`:{code} {}{trace}",
                args.id,
                e.message()
            );
            Ok(match e {
                CallError::Rejected(_) => Exit::RowsFailed,
                _ => Exit::Fatal,
            })
        }
    }
}
