//! Reading what the server answers. Bodies come in two shapes: the application envelope
//! `{info, error|errors, data}` and the gateway's bare `{message}` (401, 403, 429). The
//! timestamp is spelled `timeStamp` or `timestamp`, ids sit at the top level (create), under
//! `data` (update) or in arrays (search): the parsers accept every documented variant
//! (REFERENCE.md §9, §11), and keep the raw body when nothing fits.

use serde_json::Value;

/// A failed answer, reduced to what the results workbook and the retry policy need.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Failure {
    pub status: u16,
    pub code: Option<String>,
    pub message: String,
    pub trace_id: Option<String>,
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// The trace id of an envelope, if any (`info.traceId`).
pub fn trace_id(body: &Value) -> Option<String> {
    text(body.get("info").and_then(|i| i.get("traceId")))
}

/// Parses an error answer by status, then envelope (`error` or `errors`), then `{message}`,
/// then the raw text.
pub fn failure(status: u16, raw: &[u8]) -> Failure {
    let parsed: Option<Value> = serde_json::from_slice(raw).ok();
    let mut f = Failure {
        status,
        ..Default::default()
    };
    if let Some(body) = &parsed {
        f.trace_id = trace_id(body);
        let err = body
            .get("error")
            .filter(|e| e.is_object())
            .or_else(|| body.get("errors").filter(|e| e.is_object()));
        if let Some(e) = err {
            f.code = text(e.get("code"));
            if let Some(m) = text(e.get("message")) {
                f.message = m;
            }
        }
        if f.message.is_empty()
            && let Some(m) = text(body.get("message"))
        {
            f.message = m;
        }
    }
    if f.message.is_empty() {
        let raw_text = String::from_utf8_lossy(raw);
        let snippet: String = raw_text.trim().chars().take(300).collect();
        f.message = if snippet.is_empty() {
            format!("HTTP {status} with an empty body")
        } else if parsed.is_some() {
            format!("HTTP {status}: {snippet}")
        } else {
            format!("HTTP {status} (not JSON): {snippet}")
        };
    }
    f
}

/// `info.success`, when the envelope says so; absent means "not stated".
pub fn success_flag(body: &Value) -> Option<bool> {
    body.get("info")
        .and_then(|i| i.get("success"))
        .and_then(Value::as_bool)
}

/// The new id of a create: at the top level as documented, or under `data` as the update
/// answer has it.
pub fn created_id(body: &Value) -> Option<String> {
    text(body.get("dsLeadOpportunityId"))
        .or_else(|| text(body.get("data").and_then(|d| d.get("dsLeadOpportunityId"))))
}

/// The id an update answer confirms: under `data`, or at the top level.
pub fn updated_id(body: &Value) -> Option<String> {
    text(body.get("data").and_then(|d| d.get("dsLeadOpportunityId")))
        .or_else(|| text(body.get("dsLeadOpportunityId")))
}

/// Every id of a search answer, flattened across `data` items; a lone string is accepted.
pub fn search_ids(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let items: Vec<&Value> = match body.get("data") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => vec![],
    };
    for item in items {
        match item.get("dsLeadOpportunityId") {
            Some(Value::Array(ids)) => {
                out.extend(ids.iter().filter_map(Value::as_str).map(str::to_string))
            }
            Some(Value::String(s)) if !s.is_empty() => out.push(s.clone()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_shapes() {
        let f = failure(400, br#"{"info":{"success":false,"statusCode":400,"traceId":"abc"},"error":{"code":"ERR801","message":"exists"},"data":null}"#);
        assert_eq!(
            (f.code.as_deref(), f.message.as_str(), f.trace_id.as_deref()),
            (Some("ERR801"), "exists", Some("abc"))
        );
        let f = failure(
            400,
            br#"{"info":{"success":false},"errors":{"code":"X","message":"bad"},"data":{}}"#,
        );
        assert_eq!((f.code.as_deref(), f.message.as_str()), (Some("X"), "bad"));
        let f = failure(
            429,
            br#"{"message":"Too many requests, please try again later"}"#,
        );
        assert_eq!(
            (f.code, f.message.as_str()),
            (None, "Too many requests, please try again later")
        );
        let f = failure(502, b"<html>Bad gateway</html>");
        assert!(f.message.contains("not JSON") && f.message.contains("Bad gateway"));
        let f = failure(400, br#"{"data":{},"info":{},"error":{}}"#);
        assert!(f.message.starts_with("HTTP 400"));
    }

    #[test]
    fn ids_wherever_they_are() {
        assert_eq!(
            created_id(&serde_json::json!({"dsLeadOpportunityId":"A"})).as_deref(),
            Some("A")
        );
        assert_eq!(
            created_id(&serde_json::json!({"data":{"dsLeadOpportunityId":"B"}})).as_deref(),
            Some("B")
        );
        assert_eq!(
            updated_id(&serde_json::json!({"data":{"dsLeadOpportunityId":"C"}})).as_deref(),
            Some("C")
        );
        assert_eq!(
            search_ids(
                &serde_json::json!({"data":[{"dsLeadOpportunityId":["1","2"]},{"dsLeadOpportunityId":["3"]}]})
            ),
            vec!["1", "2", "3"]
        );
        assert!(search_ids(&serde_json::json!({"data":[]})).is_empty());
    }
}
