//! One rule table, two judges. Every rule of the contract a sheet can break has a case here: a
//! body, as a row of a sheet in the default layout. `leadsheet validate` judges the row; the
//! sandbox judges what the client would send (the emitted body, when validate lets the row
//! through) or the body as written (when validate refuses it). They must agree:
//! - a row validate passes, with or without a warning, is accepted by the sandbox as sent;
//! - a row validate refuses is refused by the sandbox as written.
//!
//! And each case's verdict is the one the table documents (an error where the contract is
//! strict, a warning where it is silent). Valid v0 bodies also pass the OpenAPI file's schemas.
//! A second table holds bodies no sheet can produce, which only the sandbox and the schemas
//! judge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use leadsheet::SandboxConfig;
use serde_json::{Value, json};

use crate::util::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// VALID, no problem.
    Valid,
    /// VALID with a warning: the contract is silent, the user decides.
    Warn,
    /// INVALID: the contract is strict.
    Refuse,
}
use Verdict::*;

struct Case {
    rule: &'static str,
    /// Where the rule comes from (contract/REFERENCE.md).
    source: &'static str,
    change: fn(&mut Value),
    verdict: Verdict,
}

fn case(
    rule: &'static str,
    source: &'static str,
    verdict: Verdict,
    change: fn(&mut Value),
) -> Case {
    Case {
        rule,
        source,
        change,
        verdict,
    }
}

fn remove(v: &mut Value, section: &str, key: &str) {
    if let Some(o) = v[section].as_object_mut() {
        o.remove(key);
    }
}

fn create_cases() -> Vec<Case> {
    vec![
        case("a complete create", "§4.1", Valid, |_| {}),
        case("partnerId is required", "§5.1", Refuse, |b| {
            b.as_object_mut().unwrap().remove("partnerId");
        }),
        case("name is required", "§5.2", Refuse, |b| {
            remove(b, "leadOpportunity", "name")
        }),
        case("status is required", "§5.2", Refuse, |b| {
            remove(b, "leadOpportunity", "status")
        }),
        case("closeDate is required", "§5.2", Refuse, |b| {
            remove(b, "leadOpportunity", "closeDate")
        }),
        case("currency is required", "§5.2", Refuse, |b| {
            remove(b, "leadOpportunity", "currency")
        }),
        case("status is one of its enum", "§6.1", Refuse, |b| {
            b["leadOpportunity"]["status"] = "WONN".into()
        }),
        case(
            "forecastCategory is one of its enum",
            "§6.2",
            Refuse,
            |b| b["leadOpportunity"]["forecastCategory"] = "MAYBE".into(),
        ),
        case(
            "an open opportunity takes an open forecast category",
            "§7",
            Refuse,
            |b| b["leadOpportunity"]["forecastCategory"] = "WON".into(),
        ),
        case("a lead's forecast category is ignored", "§7", Warn, |b| {
            b["leadOpportunity"]["status"] = "LEAD_OPEN".into()
        }),
        case(
            "a won lead's forecast category is set by 3DS",
            "§7",
            Warn,
            |b| b["leadOpportunity"]["status"] = "WON".into(),
        ),
        case(
            "currency has three capitals",
            "§5.2 pattern",
            Refuse,
            |b| b["leadOpportunity"]["currency"] = "EURO".into(),
        ),
        case(
            "currency is an ISO 4217 code",
            "§5.2 description",
            Warn,
            |b| b["leadOpportunity"]["currency"] = "XYZ".into(),
        ),
        case("closeDate is a date-time", "§4.1 ERR805", Refuse, |b| {
            b["leadOpportunity"]["closeDate"] = "31.02.2026".into()
        }),
        case(
            "nextMilestoneDate is a date-time",
            "§4.1 ERR805",
            Refuse,
            |b| b["leadOpportunity"]["nextMilestoneDate"] = "someday".into(),
        ),
        case(
            "a close date in the past is the user's call",
            "silent",
            Warn,
            |b| b["leadOpportunity"]["closeDate"] = "2020-01-01T00:00:00.000Z".into(),
        ),
        case("reasonWon items are of its enum", "§6.3", Refuse, |b| {
            b["leadOpportunity"]["reasonWon"] = json!(["SOLUTION_FUNCT", "NOPE"])
        }),
        case("reasonLost items are of its enum", "§6.4", Refuse, |b| {
            b["leadOpportunity"]["reasonLost"] = json!(["NOPE"])
        }),
        case("dsOwnerEmail has no declared format", "§5.2", Warn, |b| {
            b["leadOpportunity"]["dsOwnerEmail"] = "not-an-email".into()
        }),
        case("a long name may be cut", "silent", Warn, |b| {
            b["leadOpportunity"]["name"] = "N".repeat(300).into()
        }),
        case(
            "a create has an offer line",
            "§5.1 minItems",
            Refuse,
            |b| {
                b.as_object_mut().unwrap().remove("offerLines");
            },
        ),
        case("an offer line has its offerNameId", "§5.3", Refuse, |b| {
            b["offerLines"][0]
                .as_object_mut()
                .unwrap()
                .remove("offerNameId");
        }),
        case(
            "a negative amount (a credit) is the user's call",
            "§5.3 no minimum",
            Warn,
            |b| b["offerLines"][0]["amount"] = json!(-500),
        ),
        case("v1 revenue types", "§6.6", Refuse, |b| {
            b["offerLines"][0]["revenueType"] = "UPFRONT".into()
        }),
        case("v1 dates go with YxC or QxC", "§5.3 [R]", Refuse, |b| {
            b["offerLines"][0]["startDate"] = "2026-07-01".into()
        }),
        case("v1 dates with YxC", "§5.3 [R]", Valid, |b| {
            b["offerLines"][0]["revenueType"] = "YxC".into();
            b["offerLines"][0]["startDate"] = "2026-07-01".into();
            b["offerLines"][0]["endDate"] = "2027-06-30".into();
        }),
        case("v1 dates are dates", "§5.3 [R]", Refuse, |b| {
            b["offerLines"][0]["revenueType"] = "QxC".into();
            b["offerLines"][0]["startDate"] = "31.02.2026".into();
        }),
        case(
            "an offer line ends after it starts",
            "§5.3 [R]",
            Refuse,
            |b| {
                b["offerLines"][0]["revenueType"] = "YxC".into();
                b["offerLines"][0]["startDate"] = "2026-07-01".into();
                b["offerLines"][0]["endDate"] = "2026-06-01".into();
            },
        ),
        case("a create names its customer", "§5.1", Refuse, |b| {
            b.as_object_mut().unwrap().remove("customerLegalEntity");
        }),
        case("the customer has a city", "§5.4", Refuse, |b| {
            remove(b, "customerLegalEntity", "city")
        }),
        case(
            "a customer named by its 3DS id alone",
            "§5.4",
            Valid,
            |b| b["customerLegalEntity"] = json!({"id": "200000000029188"}),
        ),
        case("a customer contact has a last name", "§5.5", Refuse, |b| {
            b["customerContacts"] = json!([{"email": "a@b.com", "firstName": "A"}])
        }),
        case(
            "a customer contact's e-mail has no declared format",
            "§5.5",
            Warn,
            |b| {
                b["customerContacts"] =
                    json!([{"email": "a@b..com", "firstName": "A", "lastName": "B"}])
            },
        ),
        case(
            "a partner contact has its three fields",
            "§5.6",
            Refuse,
            |b| {
                b["partnerContacts"] =
                    json!([{"salesRepEmail": "r@x.com", "salesRepFirstName": "R"}])
            },
        ),
        case(
            "a partner contact's e-mail has no declared format",
            "§5.6",
            Warn,
            |b| b["partnerContacts"] = json!([{"salesRepEmail": "rep", "salesRepFirstName": "R", "salesRepLastName": "S"}]),
        ),
        case("contacts and reasons together", "§5", Valid, |b| {
            b["leadOpportunity"]["reasonWon"] = json!(["SOLUTION_FUNCT", "PRTNR_SKILL_&_EXPRT"]);
            b["leadOpportunity"]["competitors"] = json!(["Rival A", "Rival B"]);
            b["customerContacts"] = json!([{"email": "a@b.com", "firstName": "A", "lastName": "B", "phoneNumber": "+49 89 1234"}]);
        }),
    ]
}

fn create_v0_cases() -> Vec<Case> {
    vec![
        case("a complete v0 create", "§4.1 [Y]", Valid, |_| {}),
        case("v0 revenue types", "§6.5", Refuse, |b| {
            b["offerLines"][0]["revenueType"] = "PxC".into()
        }),
        case(
            "v0: a negative amount is the user's call",
            "§5.3",
            Warn,
            |b| b["offerLines"][0]["amount"] = json!(-1),
        ),
        case("v0: partnerId is required", "§5.1", Refuse, |b| {
            b.as_object_mut().unwrap().remove("partnerId");
        }),
    ]
}

fn update_cases() -> Vec<Case> {
    vec![
        case("an update of one field", "§4.2", Valid, |b| {
            b["leadOpportunity"]["status"] = "VALIDATED".into()
        }),
        case(
            "partnerId is required on an update",
            "§11 #13 [R]",
            Refuse,
            |b| {
                b.as_object_mut().unwrap().remove("partnerId");
            },
        ),
        case(
            "partnerLeadOpportunityId is required on an update",
            "§5.2",
            Refuse,
            |b| {
                remove(b, "leadOpportunity", "partnerLeadOpportunityId");
                b["leadOpportunity"]["name"] = "Renamed".into();
            },
        ),
        case(
            "an update's customer has name, city and country",
            "§5.4",
            Refuse,
            |b| b["customerLegalEntity"] = json!({"city": "Lyon"}),
        ),
        case(
            "an update's customer, whole",
            "§5.4",
            Valid,
            |b| {
                b["customerLegalEntity"] =
                    json!({"name": "ACME", "city": "Lyon", "country": "France", "zipCode": "69001"})
            },
        ),
        case(
            "WON follows the status, not on its own",
            "§7",
            Refuse,
            |b| b["leadOpportunity"]["forecastCategory"] = "WON".into(),
        ),
        case(
            "EMPTY follows the status, not on its own",
            "§7",
            Refuse,
            |b| b["leadOpportunity"]["forecastCategory"] = "EMPTY".into(),
        ),
        case("an open forecast category on its own", "§7", Valid, |b| {
            b["leadOpportunity"]["forecastCategory"] = "COMMIT".into()
        }),
        case(
            "a lead's status stores no forecast category",
            "§7",
            Warn,
            |b| {
                b["leadOpportunity"]["status"] = "QUALIFIED".into();
                b["leadOpportunity"]["forecastCategory"] = "COMMIT".into();
            },
        ),
        case(
            "an update's dates are date-times",
            "§4.2 ERR805",
            Refuse,
            |b| b["leadOpportunity"]["nextMilestoneDate"] = "01/06/2025x".into(),
        ),
        case(
            "an update's offer lines are checked as a create's",
            "§5.3",
            Refuse,
            |b| b["offerLines"] = json!([{"amount": 10}]),
        ),
        case(
            "an update's negative amount is the user's call",
            "§5.3",
            Warn,
            |b| b["offerLines"] = json!([{"offerNameId": "O", "amount": -10}]),
        ),
        case(
            "an update's contact e-mail has no declared format",
            "§5.5",
            Warn,
            |b| {
                b["customerContacts"] =
                    json!([{"email": "nobody", "firstName": "A", "lastName": "B"}])
            },
        ),
        case("#CLEAR empties a text field", "§5.2, README", Valid, |b| {
            b["leadOpportunity"]["description"] = "#CLEAR".into()
        }),
        case(
            "#CLEAR cannot empty the status",
            "§5.2 not nullable",
            Refuse,
            |b| b["leadOpportunity"]["status"] = "#CLEAR".into(),
        ),
    ]
}

/// A create body of the v1 documentation's shape, as an open opportunity.
fn create_body(plid: &str, version: &str) -> Value {
    json!({
        "partnerId": "200000000014442",
        "leadOpportunity": {
            "partnerLeadOpportunityId": plid,
            "name": "Conformance lead",
            "status": "OPPY_OPEN",
            "forecastCategory": "UPSIDE",
            "closeDate": "2026-06-01T00:00:00.000Z",
            "currency": "EUR",
        },
        "offerLines": [{"offerNameId": "OFFER_1", "amount": 13800, "revenueType": if version == "v0" { "UPFRONT" } else { "PxC" }}],
        "customerLegalEntity": {"name": "NEW CUSTOMER CORPORATION", "city": "Stockdorf", "country": "Germany"},
    })
}

/// The cells of a body in the default layout (`leadOpportunity.name`, `offerLines.1.amount`).
fn flatten(body: &Value) -> BTreeMap<String, String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(";"),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut out = BTreeMap::new();
    for (key, v) in body.as_object().unwrap() {
        match v {
            Value::Object(fields) => {
                for (k, f) in fields {
                    out.insert(format!("{key}.{k}"), text(f));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    for (k, f) in item.as_object().into_iter().flatten() {
                        out.insert(format!("{key}.{}.{k}", i + 1), text(f));
                    }
                }
            }
            other => {
                out.insert(key.clone(), text(other));
            }
        }
    }
    out
}

/// Writes one row per body; returns the CSV's path.
fn write_sheet(dir: &Path, name: &str, rows: &[BTreeMap<String, String>]) -> std::path::PathBuf {
    let columns: BTreeSet<&String> = rows.iter().flat_map(|r| r.keys()).collect();
    let path = dir.join(format!("{name}.csv"));
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&columns).unwrap();
    for r in rows {
        w.write_record(columns.iter().map(|c| r.get(*c).map_or("", String::as_str)))
            .unwrap();
    }
    w.flush().unwrap();
    path
}

/// What validate said of each row: its status and message, and the body it would send.
fn validate_rows(sheet: &Path, mode: &str, version: &str) -> Vec<(String, String, Option<Value>)> {
    let out = sheet.with_extension("results.csv");
    let emitted = sheet.with_extension("jsonl");
    let o = leadsheet()
        .arg("validate")
        .arg(sheet)
        .args(["--mode", mode, "--api-version", version, "-o"])
        .arg(&out)
        .arg("--emit-requests")
        .arg(&emitted)
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0 | 2)), "{o:?}");
    let mut bodies: BTreeMap<u64, Value> = BTreeMap::new();
    for line in std::fs::read_to_string(&emitted).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        bodies.insert(v["rows"][0].as_u64().unwrap(), v["body"].clone());
    }
    let mut rdr = csv::Reader::from_path(&out).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            let row: u64 = r[col("Source row")].parse().unwrap();
            (
                r[col("Status")].to_string(),
                r[col("Error message")].to_string(),
                bodies.remove(&row),
            )
        })
        .collect()
}

fn verdict_of(status: &str, message: &str) -> Verdict {
    match status {
        "INVALID" => Refuse,
        _ if message.contains("warning:") => Warn,
        _ => Valid,
    }
}

/// Judges every case both ways and lists the disagreements.
async fn judge(
    sb: &Sandbox,
    cases: &[Case],
    bodies: &[Value],
    validated: &[(String, String, Option<Value>)],
    send: impl Fn(usize, &Value) -> (String, Value),
    schema: Option<&str>,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for (i, ((c, raw), (status, message, emitted))) in
        cases.iter().zip(bodies).zip(validated).enumerate()
    {
        let got = verdict_of(status, message);
        let say = |what: String| format!("{} ({}): {what}", c.rule, c.source);
        if got != c.verdict {
            wrong.push(say(format!(
                "validate says {got:?}, the table {:?}: {message}",
                c.verdict
            )));
        }
        let body = match (got, emitted) {
            (Refuse, _) => raw.clone(),
            (_, Some(b)) => b.clone(),
            (_, None) => {
                wrong.push(say("validate passed the row but emitted no body".into()));
                continue;
            }
        };
        let (path, body) = send(i, &body);
        let r = if path.contains("/leads-opportunities/") {
            sb.patch(&path, &body).await
        } else {
            sb.post(&path, &body).await
        };
        let accepted = (200..300).contains(&r.status);
        match got {
            Refuse if accepted => wrong.push(say(format!(
                "validate refuses the row, the sandbox accepts it as written: {body}"
            ))),
            Valid | Warn if !accepted => wrong.push(say(format!(
                "validate passes the row, the sandbox refuses what it would send ({} {}): {body}",
                r.status, r.body
            ))),
            _ => {}
        }
        if let (Some(rel), Valid | Warn) = (schema, got) {
            let schema = contract_json(&format!("resolved/{rel}"));
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&body)
                .map(|e| e.to_string())
                .collect();
            if !errors.is_empty() {
                wrong.push(say(format!(
                    "the OpenAPI schema refuses the body sent: {errors:?}"
                )));
            }
        }
    }
    wrong
}

#[tokio::test]
async fn validate_and_the_sandbox_judge_every_rule_alike() {
    let sb = sandbox(SandboxConfig::default()).await;
    let dir = scratch();
    let mut wrong = Vec::new();

    for (version, cases, schema) in [
        ("v1", create_cases(), None),
        (
            "v0",
            create_v0_cases(),
            Some("v0/createLeadsOpportunities.request.schema.json"),
        ),
    ] {
        let bodies: Vec<Value> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut b = create_body(&format!("CONF-{version}-{i:03}"), version);
                (c.change)(&mut b);
                b
            })
            .collect();
        let sheet = write_sheet(
            dir.path(),
            &format!("create-{version}"),
            &bodies.iter().map(flatten).collect::<Vec<_>>(),
        );
        let validated = validate_rows(&sheet, "create", version);
        assert_eq!(validated.len(), cases.len());
        let path = format!("/sales/api4partners/{version}/leads-opportunities");
        wrong.extend(
            judge(
                &sb,
                &cases,
                &bodies,
                &validated,
                |_, b| (path.clone(), b.clone()),
                schema,
            )
            .await,
        );
    }

    for version in ["v1", "v0"] {
        let cases = update_cases();
        let mut ids = Vec::new();
        let mut bodies = Vec::new();
        let mut rows = Vec::new();
        for (i, c) in cases.iter().enumerate() {
            let plid = format!("CONF-UPD-{version}-{i:03}");
            let r = sb.post(V1, &create_body(&plid, "v1")).await;
            assert_eq!(r.status, 201, "{}", r.body);
            let id = r.body["dsLeadOpportunityId"].as_str().unwrap().to_string();
            let mut b = json!({"partnerId": "200000000014442", "leadOpportunity": {"partnerLeadOpportunityId": plid}});
            (c.change)(&mut b);
            let mut row = flatten(&b);
            row.insert("dsLeadOpportunityId".into(), id.clone());
            rows.push(row);
            bodies.push(b);
            ids.push(id);
        }
        let sheet = write_sheet(dir.path(), &format!("update-{version}"), &rows);
        let validated = validate_rows(&sheet, "update", version);
        let schema =
            (version == "v0").then_some("v0/updateLeadOpportunitiesDetails.request.schema.json");
        wrong.extend(
            judge(
                &sb,
                &cases,
                &bodies,
                &validated,
                |i, b| {
                    (
                        format!(
                            "/sales/api4partners/{version}/leads-opportunities/{}",
                            ids[i]
                        ),
                        b.clone(),
                    )
                },
                schema,
            )
            .await,
        );
    }
    assert!(
        wrong.is_empty(),
        "validate and the sandbox disagree:\n{}",
        wrong.join("\n")
    );
}

/// Bodies no sheet can produce (the client never sends them): the sandbox refuses them as the
/// contract does, and the v0 ones fail the OpenAPI schema too.
#[tokio::test]
async fn the_sandbox_refuses_what_the_contract_refuses() {
    let sb = sandbox(SandboxConfig::default()).await;
    let schema = contract_json("resolved/v0/createLeadsOpportunities.request.schema.json");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    type Change = fn(&mut Value);
    let cases: &[(&str, &str, u16, Change)] = &[
        (
            "a space for the T of a date-time",
            "§4.1 ERR805, RFC 3339",
            406,
            |b| b["leadOpportunity"]["closeDate"] = "2025-06-01 18:46:51Z".into(),
        ),
        ("a bare date for a date-time", "§4.1 ERR805", 406, |b| {
            b["leadOpportunity"]["closeDate"] = "2025-06-01".into()
        }),
        ("an amount as text", "§5.3 number", 400, |b| {
            b["offerLines"][0]["amount"] = "13.800".into()
        }),
        ("an empty list of offer lines", "§5.1 minItems", 400, |b| {
            b["offerLines"] = json!([])
        }),
        ("a lower-case currency", "§5.2 pattern", 400, |b| {
            b["leadOpportunity"]["currency"] = "eur".into()
        }),
        (
            "a numeric partnerLeadOpportunityId",
            "§5.2 string",
            400,
            |b| b["leadOpportunity"]["partnerLeadOpportunityId"] = json!(42),
        ),
        ("contacts that are not a list", "§5.1", 400, |b| {
            b["customerContacts"] = json!({"email": "a@b.com"})
        }),
    ];
    let mut wrong = Vec::new();
    for (i, (rule, source, status, change)) in cases.iter().enumerate() {
        for version in ["v0", "v1"] {
            let mut b = create_body(&format!("RAW-{version}-{i}"), version);
            change(&mut b);
            let r = sb
                .post(
                    &format!("/sales/api4partners/{version}/leads-opportunities"),
                    &b,
                )
                .await;
            if r.status != *status {
                wrong.push(format!(
                    "{rule} ({source}), {version}: the sandbox answers {} {}",
                    r.status, r.body
                ));
            }
            if version == "v0" && validator.is_valid(&b) && *status == 400 {
                wrong.push(format!("{rule} ({source}): the v0 schema accepts it"));
            }
        }
    }
    assert_eq!(sb.stats().await["records"]["total"], 0);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every field of `before` but the `changed` ones (dotted read-model paths) is in `after` as
/// it was.
fn assert_only_changed(before: &Value, after: &Value, changed: &[&str], what: &str) {
    let flat = |v: &Value| {
        let mut out = BTreeMap::new();
        fn walk(prefix: String, v: &Value, out: &mut BTreeMap<String, Value>) {
            match v {
                Value::Object(m) => {
                    for (k, v) in m {
                        let p = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        walk(p, v, out);
                    }
                }
                other => {
                    out.insert(prefix, other.clone());
                }
            }
        }
        walk(String::new(), v, &mut out);
        out
    };
    let (b, a) = (flat(before), flat(after));
    for (k, v) in &b {
        if k == "modifiedDate"
            || changed
                .iter()
                .any(|c| k == c || k.starts_with(&format!("{c}.")))
        {
            continue;
        }
        assert_eq!(a.get(k), Some(v), "{what}: {k} changed");
    }
    for c in changed {
        assert!(
            b.get(*c) != a.get(*c) || *c == "offerLines" || c.ends_with("Contact"),
            "{what}: {c} did not change"
        );
    }
}

#[tokio::test]
async fn an_update_of_one_field_changes_only_that_field() {
    let sb = sandbox(SandboxConfig::default()).await;
    let dir = scratch();
    let mut full = create_body("FULL-1", "v1");
    full["leadOpportunity"]["description"] = "Pilot".into();
    full["leadOpportunity"]["nextMilestone"] = "Demo".into();
    full["leadOpportunity"]["competitors"] = json!(["Rival"]);
    full["customerLegalEntity"] = json!({"name": "ACME", "city": "Paris", "country": "France",
        "addressLine1": "1 rue de la Paix", "zipCode": "75002", "vatNumber": "FR123", "websiteUrl": "acme.example"});
    full["offerLines"] = json!([{"offerNameId": "O1", "amount": 10, "revenueType": "PxC"}, {"offerNameId": "O2", "amount": 20, "revenueType": "YxC", "startDate": "2026-01-01"}]);
    full["customerContacts"] =
        json!([{"email": "a@b.com", "firstName": "A", "lastName": "B", "phoneNumber": "1"}]);
    full["partnerContacts"] =
        json!([{"salesRepEmail": "r@x.com", "salesRepFirstName": "R", "salesRepLastName": "S"}]);
    let r = sb.post(V1, &full).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["dsLeadOpportunityId"].as_str().unwrap().to_string();
    let read =
        || async { sb.get(&format!("{V1}/{id}")).await.body["data"]["leadOpportunity"].clone() };
    // (what, the row's cells besides the ids, the read-model fields that change)
    type OneField<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[OneField] = &[
        (
            "a lead field",
            &[("leadOpportunity.description", "Rollout")],
            &["description"],
        ),
        (
            "a lead field cleared",
            &[("leadOpportunity.nextMilestone", "#CLEAR")],
            &["nextMilestone"],
        ),
        (
            "a lead list",
            &[("leadOpportunity.competitors", "Rival;Other")],
            &["competitors"],
        ),
        (
            "the customer, whole, with one field new",
            &[
                ("customerLegalEntity.name", "ACME"),
                ("customerLegalEntity.city", "Paris"),
                ("customerLegalEntity.country", "France"),
                ("customerLegalEntity.zipCode", "75003"),
            ],
            &["customerLegalEntity.zipCode"],
        ),
        (
            "a customer field cleared",
            &[
                ("customerLegalEntity.name", "ACME"),
                ("customerLegalEntity.city", "Paris"),
                ("customerLegalEntity.country", "France"),
                ("customerLegalEntity.websiteUrl", "#CLEAR"),
            ],
            &["customerLegalEntity.websiteUrl"],
        ),
        (
            "the offer lines",
            &[
                ("offerLines.1.offerNameId", "O3"),
                ("offerLines.1.amount", "30"),
            ],
            &["offerLines"],
        ),
        (
            "the customer contacts",
            &[
                ("customerContacts.1.email", "c@d.com"),
                ("customerContacts.1.firstName", "C"),
                ("customerContacts.1.lastName", "D"),
            ],
            &["customerContact"],
        ),
        (
            "the partner contacts",
            &[
                ("partnerContacts.1.salesRepEmail", "q@x.com"),
                ("partnerContacts.1.salesRepFirstName", "Q"),
                ("partnerContacts.1.salesRepLastName", "T"),
            ],
            &["partnerContact"],
        ),
    ];
    for (i, (what, cells, changed)) in cases.iter().enumerate() {
        let before = read().await;
        let csv = dir.path().join(format!("one-{i}.csv"));
        let mut head = vec![
            "dsLeadOpportunityId",
            "partnerId",
            "leadOpportunity.partnerLeadOpportunityId",
        ];
        head.extend(cells.iter().map(|(c, _)| *c));
        let mut row = vec![id.as_str(), "200000000014442", "FULL-1"];
        row.extend(cells.iter().map(|(_, v)| *v));
        std::fs::write(&csv, format!("{}\n{}\n", head.join(","), row.join(","))).unwrap();
        let out = dir.path().join(format!("one-{i}.results.xlsx"));
        let o = run(
            s(&[
                "import",
                csv.to_str().unwrap(),
                "--mode",
                "update",
                "-o",
                out.to_str().unwrap(),
            ]),
            Some(sb.handle.base_url()),
            &sb.key,
        )
        .await;
        assert_eq!(
            o.status.code(),
            Some(0),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let after = read().await;
        assert_only_changed(&before, &after, changed, what);
    }
    let after = read().await;
    assert_eq!(after["description"], "Rollout");
    assert_eq!(after["nextMilestone"], "");
    assert_eq!(after["customerLegalEntity"]["websiteUrl"], Value::Null);
    assert_eq!(
        after["customerLegalEntity"]["addressLine1"],
        "1 rue de la Paix"
    );
    assert_eq!(after["customerLegalEntity"]["vatNumber"], "FR123");
}
