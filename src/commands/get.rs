//! `leadsheet get ID`: one lead's details, as readable lines or as the API's JSON.

use super::session::Session;
use super::settings::ClientSettings;
use crate::api::client::{CallError, Report};
use crate::cli::{GetArgs, GlobalArgs};
use crate::export::layout::flatten;
use crate::{Error, Exit};

pub async fn run(global: &GlobalArgs, args: GetArgs) -> Result<Exit, Error> {
    // An empty id would ask for the collection, which the API has no GET for.
    if args.id.trim().is_empty() {
        return Err(Error::usage("get: the id is empty"));
    }
    let version = args.api_version.unwrap_or_default();
    let client = ClientSettings::single(&args.connection, version, args.timeout, 3);
    let session = Session::connect(&client, global.quiet || args.json).await?;
    let mut report = Report::default();
    let result = session.client.get(&args.id, &mut report).await;
    session.close().await;
    let trace = |t: Option<String>| t.map(|t| format!(" (trace id {t})")).unwrap_or_default();
    match result {
        Ok(lead) if !lead.is_object() => {
            crate::say!(
                "leadsheet: error: cannot get `{}`: the answer holds no data.leadOpportunity{}",
                args.id,
                trace(report.trace_id)
            );
            Ok(Exit::Fatal)
        }
        Ok(lead) if args.json => {
            let text = serde_json::to_string_pretty(&lead).unwrap_or_else(|_| lead.to_string());
            crate::out!("{text}");
            Ok(Exit::Success)
        }
        Ok(lead) => {
            let mut lines = Vec::new();
            flatten("", &lead, &mut lines);
            let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (k, v) in lines {
                crate::out!("{k:width$}  {v}");
            }
            Ok(Exit::Success)
        }
        Err(e) => {
            let code = e
                .failure()
                .and_then(|f| f.code.clone())
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            crate::say!(
                "leadsheet: error: cannot get `{}`:{code} {}{}",
                args.id,
                e.message(),
                trace(report.trace_id)
            );
            Ok(match e {
                CallError::Rejected(_) => Exit::RowsFailed,
                _ => Exit::Fatal,
            })
        }
    }
}
