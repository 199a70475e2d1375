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
        f.message = match parsed {
            Some(_) => format!("HTTP {status}: {}", snippet(raw, 300)),
            None => format!("HTTP {status} with {}", describe_body(raw)),
        };
    }
    f
}

/// The start of a body as one line of text: whitespace runs made one space, control
/// characters dropped, cut at `max` characters with an ellipsis.
fn snippet(raw: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut words = text
        .split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>());
    let mut out = words.next().unwrap_or_default();
    for w in words {
        out.push(' ');
        out.push_str(&w);
        if out.chars().count() > max {
            break;
        }
    }
    if out.chars().count() > max {
        out = out.chars().take(max).collect::<String>() + "…";
    }
    out
}

/// What a body that is not an API answer is, for a message a person reads: an HTML page by
/// its title (a gateway's error page, not a dump of its markup), an empty body, else the
/// start of the text.
pub fn describe_body(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return "an empty body".into();
    }
    let lower = trimmed.to_ascii_lowercase();
    let html = lower.starts_with('<')
        && ["<html", "<!doctype html", "<head", "<body", "<title"]
            .iter()
            .any(|t| lower.contains(t));
    if html {
        let title = lower.find("<title").and_then(|open| {
            let start = open + lower[open..].find('>')? + 1;
            let end = start + lower[start..].find("</title")?;
            // Byte offsets of the lowercase copy hold in the original: ASCII lowercasing
            // keeps every character's length.
            Some(snippet(&trimmed.as_bytes()[start..end], 80))
        });
        return match title.filter(|t| !t.is_empty()) {
            Some(t) => format!("an HTML page (title: {t})"),
            None => "an HTML page".into(),
        };
    }
    if serde_json::from_slice::<Value>(raw).is_ok() {
        let kind = match raw.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => "a JSON array",
            Some(b'"') => "a JSON string",
            _ => "a JSON value",
        };
        return format!("{kind} where an object was expected: {}", snippet(raw, 100));
    }
    format!("a body that is not JSON: {}", snippet(raw, 100))
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

/// Every id of a search answer, flattened across `data` items; a lone string is accepted, and
/// `null` for none. An answer of another shape is an error naming what is missing, never "no
/// ids": an unknown create would be sent again on its word, an export would silently lack
/// leads.
pub fn search_ids(body: &Value) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let items: Vec<&Value> = match body.get("data") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => return Err("the search answer holds no list of results (data)".into()),
    };
    for (i, item) in items.iter().enumerate() {
        match item.get("dsLeadOpportunityId") {
            Some(Value::Array(ids)) => {
                for id in ids {
                    match id.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => {
                            return Err(format!(
                                "the search answer's data[{}].dsLeadOpportunityId holds {id}, not an id",
                                i + 1
                            ));
                        }
                    }
                }
            }
            Some(Value::String(s)) if !s.is_empty() => out.push(s.clone()),
            Some(Value::String(_) | Value::Null) => {}
            _ => {
                return Err(format!(
                    "the search answer's data[{}] holds no dsLeadOpportunityId",
                    i + 1
                ));
            }
        }
    }
    Ok(out)
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
        assert_eq!(f.message, "HTTP 502 with an HTML page");
        let page = format!(
            "<!DOCTYPE html>\n<HTML><head><TITLE>\n  502   Bad Gateway\n</TITLE><style>{}</style></head><body>…</body></html>",
            "p { color: red } ".repeat(100)
        );
        let f = failure(502, page.as_bytes());
        assert_eq!(
            f.message,
            "HTTP 502 with an HTML page (title: 502 Bad Gateway)"
        );
        let f = failure(500, format!("oops\n\n{}", "x ".repeat(500)).as_bytes());
        assert!(
            f.message
                .starts_with("HTTP 500 with a body that is not JSON: oops x x")
        );
        assert!(
            f.message.len() < 160 && f.message.ends_with('…'),
            "{}",
            f.message
        );
        assert_eq!(failure(503, b"  ").message, "HTTP 503 with an empty body");
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
            Ok(vec!["1".to_string(), "2".into(), "3".into()])
        );
        assert_eq!(search_ids(&serde_json::json!({"data":[]})), Ok(vec![]));
        assert_eq!(
            search_ids(&serde_json::json!({"data":[{"dsLeadOpportunityId": null}]})),
            Ok(vec![])
        );
    }

    #[test]
    fn a_search_answer_of_another_shape_is_not_an_empty_one() {
        for (body, says) in [
            (serde_json::json!({"data": 5}), "no list of results (data)"),
            (serde_json::json!({"info": {"success": true}}), "(data)"),
            (serde_json::json!(null), "(data)"),
            (
                serde_json::json!({"data": [{"id": "X"}]}),
                "data[1] holds no dsLeadOpportunityId",
            ),
            (
                serde_json::json!({"data": [{"dsLeadOpportunityId": [7]}]}),
                "holds 7, not an id",
            ),
        ] {
            let e = search_ids(&body).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
    }

    #[test]
    fn bodies_that_are_not_answers_are_named() {
        assert_eq!(
            describe_body(b"[]"),
            "a JSON array where an object was expected: []"
        );
        assert!(describe_body(b"{\"data\": ").starts_with("a body that is not JSON: {\"data\":"));
        assert_eq!(
            describe_body("\u{feff}<html><title></title>".as_bytes()),
            "an HTML page"
        );
        assert_eq!(describe_body(b""), "an empty body");
    }
}
