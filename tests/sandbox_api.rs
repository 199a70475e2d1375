//! The sandbox over HTTP: every documented answer of the five operations, checked against the
//! contract's own example bodies and response schemas.

use serde_json::{Value, json};

use crate::util::*;

fn resp_schema(op: &str, code: u16) -> String {
    format!("v0/responses/{op}.{code}.schema.json")
}

#[tokio::test]
async fn missing_and_unknown_keys_get_401_and_403() {
    let sb = default_sandbox().await;
    let r = sb
        .send(sb.http.post(sb.url(V1)).json(&basic_create_v1()))
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"message": "Missing API key in request"}));
    assert_schema(&resp_schema("createLeadsOpportunities", 401), &r.body);
    for path in [format!("{V0}/X"), format!("{V1}/X"), PORTFOLIO.to_string()] {
        let r = sb
            .send(sb.http.get(sb.url(&path)).header("X-API-Key", "wrong"))
            .await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.body, json!({"message": "API Consumer Not allowed"}));
    }
    let r = sb.send(sb.http.get(sb.url("/_sandbox/stats"))).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn contract_examples_are_accepted() {
    let sb = default_sandbox().await;
    let cases = [
        (
            V0,
            "examples-resolved/createLeadsOpportunities-request-createLeadBasic.json",
        ),
        (
            V0,
            "examples-resolved/createLeadsOpportunities-request-createOpportunityBasic.json",
        ),
        (
            V1,
            "seed-examples/08_v1-op-createLeadsOpportunities.request.json",
        ),
    ];
    let mut ids = vec![];
    for (path, file) in cases {
        let mut body = contract_json(file);
        // The v0 and v1 lead examples share a partner id; give each its own.
        let pl = format!(
            "{}-{}",
            body["leadOpportunity"]["partnerLeadOpportunityId"]
                .as_str()
                .unwrap(),
            ids.len()
        );
        body["leadOpportunity"]["partnerLeadOpportunityId"] = pl.clone().into();
        let r = sb.post(path, &body).await;
        assert_eq!(r.status, 201, "{file}: {}", r.body);
        assert_schema(&resp_schema("createLeadsOpportunities", 201), &r.body);
        assert_eq!(r.body["partnerLeadOpportunityId"], pl.as_str());
        assert_eq!(r.body["action"], "create");
        let id = r.body["dsLeadOpportunityId"].as_str().unwrap().to_string();
        assert!(is_ds_id(&id), "{id}");
        ids.push(id);
    }
    // The seed's v0 example too, on the v0 path.
    let r = sb
        .post(
            V0,
            &contract_json("seed-examples/01_v0-op-createLeadsOpportunities.request.json"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // The update examples all address CRM-LEAD-1234.
    let id = sb.create_basic("CRM-LEAD-1234").await;
    for (path, file) in [
        (
            V0,
            "examples-resolved/updateLeadOpportunitiesDetails-request-updateLeadStatus.json",
        ),
        (
            V0,
            "examples-resolved/updateLeadOpportunitiesDetails-request-updateLeadNextMilestone.json",
        ),
        (
            V0,
            "seed-examples/03_v0-op-updateLeadOpportunitiesDetails.request.json",
        ),
        (
            V1,
            "seed-examples/10_v1-op-updateLeadOpportunitiesDetails.request.json",
        ),
    ] {
        // The examples leave partnerId out, which [R] requires on an update, v0 and v1 alike
        // (REFERENCE.md §11 #13): refused as they are, accepted with it.
        let mut body = contract_json(file);
        let r = sb.patch(&format!("{path}/{id}"), &body).await;
        assert_eq!(r.status, 400, "{file}: {}", r.body);
        assert!(
            r.body["errors"]["message"]
                .as_str()
                .unwrap()
                .starts_with("partnerId:")
        );
        body["partnerId"] = "200000000014442".into();
        let r = sb.patch(&format!("{path}/{id}"), &body).await;
        assert_eq!(r.status, 200, "{file}: {}", r.body);
        assert_schema(&resp_schema("updateLeadOpportunitiesDetails", 200), &r.body);
        assert_eq!(r.body["data"]["dsLeadOpportunityId"], id.as_str());
        assert_eq!(r.body["data"]["action"], "update");
    }
    let r = sb.get(&format!("{V0}/{id}")).await;
    assert_eq!(r.body["data"]["leadOpportunity"]["status"], "QUALIFIED");
    assert_eq!(
        r.body["data"]["leadOpportunity"]["nextMilestone"],
        "Customer Demo"
    );
}

fn is_ds_id(id: &str) -> bool {
    id.len() == 11
        && id.chars().enumerate().all(|(i, c)| {
            if i == 4 {
                c == '-'
            } else {
                c.is_ascii_uppercase() || c.is_ascii_digit()
            }
        })
}

#[tokio::test]
async fn create_applies_documented_defaults() {
    let sb = default_sandbox().await;
    let mut body = basic_create_v1();
    body["leadOpportunity"]["status"] = "OPPY_OPEN".into();
    body["leadOpportunity"]["partnerLeadOpportunityId"] = "D-1".into();
    body["offerLines"][0]
        .as_object_mut()
        .unwrap()
        .remove("revenueType");
    let r = sb.post(V1, &body).await;
    let id = r.body["dsLeadOpportunityId"].as_str().unwrap().to_string();
    let got = sb.get(&format!("{V1}/{id}")).await;
    assert_eq!(got.status, 200);
    assert_schema(
        "v1-derived/responses/getLeadsOpportunities.200.schema.json",
        &got.body,
    );
    let lo = &got.body["data"]["leadOpportunity"];
    assert_eq!(lo["forecastCategory"], "UPSIDE");
    assert_eq!(lo["reasonWon"], json!(["STRNG_VAL_PROP"]));
    assert_eq!(lo["reasonLost"], json!(["NO_PROJECT"]));
    assert_eq!(lo["offerLines"][0]["revenueType"], "PxC");
    assert!(lo["dsOwnerEmail"].is_string());
    assert!(lo["createdDate"].as_str().unwrap().ends_with('Z'));
    assert_eq!(lo["createdDate"], lo["modifiedDate"]);
    // The v0 path reads the same record in v0 words.
    let got = sb.get(&format!("{V0}/{id}")).await;
    assert_schema(&resp_schema("getLeadsOpportunities", 200), &got.body);
    assert_eq!(
        got.body["data"]["leadOpportunity"]["offerLines"][0]["revenueType"],
        "UPFRONT"
    );

    // forecastCategory is ignored for a lead status.
    body["leadOpportunity"]["status"] = "LEAD_OPEN".into();
    body["leadOpportunity"]["forecastCategory"] = "COMMIT".into();
    body["leadOpportunity"]["partnerLeadOpportunityId"] = "D-2".into();
    let id = sb.post(V1, &body).await.body["dsLeadOpportunityId"]
        .as_str()
        .unwrap()
        .to_string();
    let got = sb.get(&format!("{V1}/{id}")).await;
    assert_eq!(
        got.body["data"]["leadOpportunity"]["forecastCategory"],
        "EMPTY"
    );
}

#[tokio::test]
async fn duplicate_partner_id_is_err801() {
    let sb = default_sandbox().await;
    sb.create_basic("DUP-1").await;
    let mut body = basic_create_v1();
    body["leadOpportunity"]["partnerLeadOpportunityId"] = "DUP-1".into();
    let r = sb.post(V1, &body).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "ERR801");
    assert_schema(&resp_schema("createLeadsOpportunities", 400), &r.body);
    let stats = sb.stats().await;
    assert_eq!(stats["partnerLeadOpportunityIds"]["DUP-1"], 1);
}

#[tokio::test]
async fn bad_dates_are_406_err805() {
    let sb = default_sandbox().await;
    for bad in ["31.12.2025", "2025-12-31", "12/31/2025", "tomorrow"] {
        let mut body = basic_create_v1();
        body["leadOpportunity"]["closeDate"] = bad.into();
        let r = sb.post(V1, &body).await;
        assert_eq!(r.status, 406, "{bad}");
        assert_eq!(r.body["error"]["code"], "ERR805");
        assert_schema(&resp_schema("createLeadsOpportunities", 406), &r.body);
    }
    let id = sb.create_basic("DATE-1").await;
    let r = sb
        .patch(&format!("{V1}/{id}"), &json!({"partnerId": "200000000014442", "leadOpportunity": {"partnerLeadOpportunityId": "DATE-1", "nextMilestoneDate": "01/06/2025"}}))
        .await;
    assert_eq!(r.status, 406);
    assert_schema(&resp_schema("updateLeadOpportunitiesDetails", 406), &r.body);
}

/// (change to the basic v1 body, field the message must name)
type Change = Box<dyn Fn(&mut Value)>;

fn invalid_creates() -> Vec<(&'static str, Change, &'static str)> {
    vec![
        (
            "no partnerId",
            Box::new(|b: &mut Value| {
                b.as_object_mut().unwrap().remove("partnerId");
            }),
            "partnerId",
        ),
        (
            "no name",
            Box::new(|b: &mut Value| {
                b["leadOpportunity"].as_object_mut().unwrap().remove("name");
            }),
            "leadOpportunity.name",
        ),
        (
            "no partner lead id",
            Box::new(|b: &mut Value| {
                b["leadOpportunity"]
                    .as_object_mut()
                    .unwrap()
                    .remove("partnerLeadOpportunityId");
            }),
            "leadOpportunity.partnerLeadOpportunityId",
        ),
        (
            "bad status",
            Box::new(|b: &mut Value| b["leadOpportunity"]["status"] = "OPEN".into()),
            "leadOpportunity.status",
        ),
        (
            "lowercase currency",
            Box::new(|b: &mut Value| b["leadOpportunity"]["currency"] = "eur".into()),
            "leadOpportunity.currency",
        ),
        (
            "long currency",
            Box::new(|b: &mut Value| b["leadOpportunity"]["currency"] = "EURO".into()),
            "leadOpportunity.currency",
        ),
        (
            "bad reasonLost",
            Box::new(|b: &mut Value| b["leadOpportunity"]["reasonLost"] = json!(["NOPE"])),
            "leadOpportunity.reasonLost[1]",
        ),
        (
            "no offer lines",
            Box::new(|b: &mut Value| b["offerLines"] = json!([])),
            "offerLines",
        ),
        (
            "offer without id",
            Box::new(|b: &mut Value| b["offerLines"] = json!([{"amount": 1}])),
            "offerLines[1].offerNameId",
        ),
        (
            "v0 revenue type on v1",
            Box::new(|b: &mut Value| b["offerLines"][0]["revenueType"] = "UPFRONT".into()),
            "offerLines[1].revenueType",
        ),
        (
            "amount as text",
            Box::new(|b: &mut Value| b["offerLines"][0]["amount"] = "13.800".into()),
            "offerLines[1].amount",
        ),
        (
            "start date on PxC",
            Box::new(|b: &mut Value| b["offerLines"][0]["startDate"] = "2025-01-01".into()),
            "offerLines[1].startDate",
        ),
        (
            "end before start",
            Box::new(
                |b: &mut Value| b["offerLines"][0] = json!({"offerNameId": "X", "revenueType": "YxC", "startDate": "2025-02-01", "endDate": "2025-01-01"}),
            ),
            "offerLines[1].endDate",
        ),
        (
            "no legal entity",
            Box::new(|b: &mut Value| {
                b.as_object_mut().unwrap().remove("customerLegalEntity");
            }),
            "customerLegalEntity",
        ),
        (
            "no country",
            Box::new(|b: &mut Value| {
                b["customerLegalEntity"]
                    .as_object_mut()
                    .unwrap()
                    .remove("country");
            }),
            "customerLegalEntity.country",
        ),
        (
            "contact without email",
            Box::new(|b: &mut Value| {
                b["customerContacts"] = json!([{"firstName": "A", "lastName": "B"}])
            }),
            "customerContacts[1].email",
        ),
        (
            "partner contact incomplete",
            Box::new(|b: &mut Value| b["partnerContacts"] = json!([{"salesRepEmail": "a@b.com"}])),
            "partnerContacts[1].salesRepFirstName",
        ),
        (
            "won forecast on open oppy",
            Box::new(|b: &mut Value| {
                b["leadOpportunity"]["status"] = "OPPY_OPEN".into();
                b["leadOpportunity"]["forecastCategory"] = "WON".into();
            }),
            "leadOpportunity.forecastCategory",
        ),
    ]
}

#[tokio::test]
async fn invalid_creates_name_the_field() {
    let sb = default_sandbox().await;
    for (case, change, field) in invalid_creates() {
        let mut body = basic_create_v1();
        change(&mut body);
        let r = sb.post(V1, &body).await;
        assert_eq!(r.status, 400, "{case}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "INVALID_FIELD", "{case}");
        let msg = r.body["error"]["message"].as_str().unwrap();
        assert!(
            msg.starts_with(&format!("{field}:")),
            "{case}: `{msg}` does not name {field}"
        );
        assert_schema(&resp_schema("createLeadsOpportunities", 400), &r.body);
    }
    // v0 takes v0 revenue types and refuses v1 ones.
    let mut body = basic_create_v1();
    body["offerLines"][0]["revenueType"] = "PxC".into();
    let r = sb.post(V0, &body).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("UPFRONT")
    );
    assert_eq!(sb.stats().await["records"]["total"], 0);
}

#[tokio::test]
async fn update_is_partial_and_bumps_modified_date() {
    let sb = default_sandbox().await;
    let id = sb.create_basic("UPD-1").await;
    let before = sb.get(&format!("{V1}/{id}")).await.body["data"]["leadOpportunity"].clone();
    let r = sb
        .patch(&format!("{V1}/{id}"), &json!({"partnerId": "200000000014442", "leadOpportunity": {"partnerLeadOpportunityId": "UPD-1", "status": "OPPY_OPEN", "forecastCategory": "COMMIT"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = sb.get(&format!("{V1}/{id}")).await.body["data"]["leadOpportunity"].clone();
    assert_eq!(after["status"], "OPPY_OPEN");
    assert_eq!(after["forecastCategory"], "COMMIT");
    assert_eq!(after["name"], before["name"]);
    assert_eq!(after["offerLines"], before["offerLines"]);
    assert!(after["modifiedDate"].as_str() > before["modifiedDate"].as_str());
    assert_eq!(after["createdDate"], before["createdDate"]);

    // Offer lines sent in a PATCH replace the stored ones.
    let r = sb
        .patch(&format!("{V1}/{id}"), &json!({"partnerId": "200000000014442", "leadOpportunity": {"partnerLeadOpportunityId": "UPD-1"}, "offerLines": [{"offerNameId": "A", "amount": 5, "revenueType": "QxC", "startDate": "2026-01-01", "endDate": "2026-12-31"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = sb.get(&format!("{V1}/{id}")).await.body["data"]["leadOpportunity"].clone();
    assert_eq!(
        after["offerLines"],
        json!([{"amount": 5, "offerNameId": "A", "revenueType": "QxC", "startDate": "2026-01-01", "endDate": "2026-12-31"}])
    );

    // Errors: unknown id, a different partner id, a missing partner id, bad enum.
    let r = sb
        .patch(
            &format!("{V1}/NOPE-NOPE00"),
            &json!({"partnerId": "200000000014442", "leadOpportunity": {"partnerLeadOpportunityId": "UPD-1"}}),
        )
        .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body["error"]["code"], "ERROR_048");
    assert_schema(&resp_schema("getLeadsOpportunities", 500), &r.body);
    let r = sb
        .patch(
            &format!("{V1}/{id}"),
            &json!({"partnerId": "200000000014442", "leadOpportunity": {"partnerLeadOpportunityId": "OTHER"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_schema(&resp_schema("updateLeadOpportunitiesDetails", 400), &r.body);
    assert_eq!(r.body["errors"]["code"], "PARTNER_ID_MISMATCH");
    let r = sb
        .patch(
            &format!("{V1}/{id}"),
            &json!({"partnerId": "200000000014442", "leadOpportunity": {"status": "WON"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["errors"]["message"]
            .as_str()
            .unwrap()
            .starts_with("leadOpportunity.partnerLeadOpportunityId:")
    );
    let r = sb
        .patch(
            &format!("{V1}/{id}"),
            &json!({"partnerId": "200000000014442", "leadOpportunity": {"partnerLeadOpportunityId": "UPD-1", "status": "DONE"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_schema(&resp_schema("updateLeadOpportunitiesDetails", 400), &r.body);
}

#[tokio::test]
async fn get_unknown_id_is_error_048() {
    let sb = default_sandbox().await;
    let r = sb.get(&format!("{V0}/ZZZZ-ZZZZZZ")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body["error"]["code"], "ERROR_048");
    assert_schema(&resp_schema("getLeadsOpportunities", 500), &r.body);
}

#[tokio::test]
async fn preload_is_deterministic_and_spread_over_90_days() {
    let config = leadsheet::SandboxConfig {
        preload: 60,
        seed: 7,
        ..Default::default()
    };
    let a = sandbox(config.clone()).await;
    let b = sandbox(config).await;
    let strip = |s: &leadsheet::RecordSummary| {
        (s.ds_id.clone(), s.partner_lead_id.clone(), s.status.clone())
    };
    let ra: Vec<_> = a.handle.records().iter().map(strip).collect();
    let rb: Vec<_> = b.handle.records().iter().map(strip).collect();
    assert_eq!(ra.len(), 60);
    let mut sa = ra.clone();
    let mut sb_ = rb.clone();
    sa.sort();
    sb_.sort();
    assert_eq!(sa, sb_);
    let unassigned = ra.iter().filter(|r| r.1.is_none()).count();
    assert_eq!(unassigned, 10);
    let now = chrono::Utc::now();
    for r in a.handle.records() {
        assert!(r.modified <= now && now - r.modified <= chrono::Duration::days(90));
        let got = a.get(&format!("{V1}/{}", r.ds_id)).await;
        assert_schema(
            "v1-derived/responses/getLeadsOpportunities.200.schema.json",
            &got.body,
        );
    }
    let other = sandbox(leadsheet::SandboxConfig {
        preload: 60,
        seed: 8,
        ..Default::default()
    })
    .await;
    let ro: Vec<_> = other.handle.records().iter().map(strip).collect();
    assert_ne!(
        ro.iter().map(|r| &r.0).collect::<Vec<_>>(),
        ra.iter().map(|r| &r.0).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn search_by_window_partner_ids_and_unassigned() {
    let sb = sandbox(leadsheet::SandboxConfig {
        preload: 120,
        ..Default::default()
    })
    .await;
    let records = sb.handle.records();
    let now = chrono::Utc::now();
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let from = now - chrono::Duration::days(20);
    let to = now - chrono::Duration::days(13);
    // The bounds are sent with whole seconds; widen them exactly the same way.
    let from_s = chrono::DateTime::parse_from_rfc3339(&fmt(from)).unwrap();
    let to_s = chrono::DateTime::parse_from_rfc3339(&fmt(to)).unwrap();
    let mut expected: Vec<String> = records
        .iter()
        .filter(|r| r.modified >= from_s && r.modified <= to_s)
        .map(|r| r.ds_id.clone())
        .collect();
    let mut got = sb
        .search_ids(json!([{"modifiedDate": {"fromDate": fmt(from), "toDate": fmt(to)}}]))
        .await;
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert!(!got.is_empty());

    // The contract's own search example (a window of 2025, before the preloaded leads).
    let r = sb
        .post(
            SEARCH,
            &contract_json("seed-examples/06_v0-op-searchLeadsOpportunities.request.json"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_schema(&resp_schema("searchLeadsOpportunities", 200), &r.body);
    let r = sb
        .post(
            SEARCH,
            &json!({"data": [{"partnerLeadOpportunityId": "SBX-000001"}]}),
        )
        .await;
    assert_schema(&resp_schema("searchLeadsOpportunities", 200), &r.body);
    let one = sb
        .search_ids(json!([{"partnerLeadOpportunityId": "SBX-000001"}]))
        .await;
    assert_eq!(one.len(), 1);
    let two = sb
        .search_ids(
            json!([{"partnerLeadOpportunityId": ["SBX-000001", "SBX-000002", "NOT-THERE"]}]),
        )
        .await;
    assert_eq!(two.len(), 2);
    let mut unassigned = sb
        .search_ids(json!([{"partnerLeadOpportunityId": ""}]))
        .await;
    let mut expected_un: Vec<String> = records
        .iter()
        .filter(|r| r.partner_lead_id.is_none())
        .map(|r| r.ds_id.clone())
        .collect();
    unassigned.sort();
    expected_un.sort();
    assert_eq!(unassigned, expected_un);
    assert_eq!(unassigned.len(), 20);

    // AND: both criteria in one item, and in separate items.
    let window = json!({"fromDate": fmt(now - chrono::Duration::days(7)), "toDate": fmt(now)});
    let recent_un: Vec<String> = records
        .iter()
        .filter(|r| r.partner_lead_id.is_none() && r.modified >= now - chrono::Duration::days(7))
        .map(|r| r.ds_id.clone())
        .collect();
    let mut a = sb
        .search_ids(json!([{"modifiedDate": window, "partnerLeadOpportunityId": ""}]))
        .await;
    let mut b = sb
        .search_ids(json!([{"modifiedDate": window}, {"partnerLeadOpportunityId": ""}]))
        .await;
    a.sort();
    b.sort();
    let mut e = recent_un.clone();
    e.sort();
    assert_eq!(a, e);
    assert_eq!(b, e);
}

#[tokio::test]
async fn search_errors() {
    let sb = default_sandbox().await;
    let cases = [
        (
            json!({"data": [{"modifiedDate": {"fromDate": "2025-08-04T08:00:00Z"}}]}),
            "ERROR_043",
        ),
        (
            json!({"data": [{"modifiedDate": {"toDate": "2025-08-04T08:00:00Z"}}]}),
            "ERROR_043",
        ),
        (
            json!({"data": [{"modifiedDate": {"fromDate": "2025-08-05T08:00:00Z", "toDate": "2025-08-04T08:00:00Z"}}]}),
            "ERROR_043",
        ),
        (
            json!({"data": [{"modifiedDate": {"fromDate": "2025-08-01T00:00:00Z", "toDate": "2025-08-08T00:00:01Z"}}]}),
            "ERROR_043",
        ),
        (
            json!({"data": [{"modifiedDate": {"fromDate": "2025-08-01T00:00:00+02:00", "toDate": "2025-08-02T00:00:00Z"}}]}),
            "ERROR_043",
        ),
        (
            json!({"data": [{"modifiedDate": {"fromDate": "yesterday", "toDate": "2025-08-02T00:00:00Z"}}]}),
            "ERROR_043",
        ),
        (json!({"data": []}), "INVALID_FIELD"),
        (json!({"data": [{}]}), "INVALID_FIELD"),
        (json!({}), "INVALID_FIELD"),
        (
            json!({"data": [{"partnerLeadOpportunityId": 12}]}),
            "INVALID_FIELD",
        ),
    ];
    for (body, code) in cases {
        let r = sb.post(SEARCH, &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.body["error"]["code"], code, "{body}: {}", r.body);
        assert_schema(&resp_schema("searchLeadsOpportunities", 400), &r.body);
    }
    // Exactly seven days is allowed.
    let ok = sb.post(SEARCH, &json!({"data": [{"modifiedDate": {"fromDate": "2025-08-01T00:00:00Z", "toDate": "2025-08-08T00:00:00Z"}}]})).await;
    assert_eq!(ok.status, 200);
    // Search has no v1 path.
    let r = sb
        .post(
            "/sales/api4partners/v1/leads-opportunities/search",
            &json!({"data": [{"partnerLeadOpportunityId": ""}]}),
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn portfolio_pages_through_the_whole_catalogue() {
    let sb = default_sandbox().await;
    let mut seen = std::collections::BTreeSet::new();
    let mut skip = 0;
    let total = loop {
        let r = sb.get(&format!("{PORTFOLIO}?skip={skip}&top=500")).await;
        assert_eq!(r.status, 200);
        assert_schema(&resp_schema("searchPortfolioItems", 200), &r.body);
        let items = r.body["data"].as_array().unwrap();
        for it in items {
            assert!(seen.insert(it["salesPortfolioId"].as_str().unwrap().to_string()));
        }
        skip += items.len();
        if items.len() < 500 {
            break r.body["info"]["estimatedSearchCount"].as_u64().unwrap() as usize;
        }
    };
    assert_eq!(seen.len(), total);
    assert!(total > 2000);
    // Default top is 9999: everything at once.
    let r = sb.get(PORTFOLIO).await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), total);
    for bad in ["top=0", "top=-5", "top=ten", "skip=-1"] {
        let r = sb.get(&format!("{PORTFOLIO}?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.body["error"]["code"], "ERROR_004");
        assert_schema(&resp_schema("searchPortfolioItems", 400), &r.body);
    }
}

#[tokio::test]
async fn malformed_requests_get_clear_errors() {
    let sb = sandbox(leadsheet::SandboxConfig {
        max_body_bytes: 10_000,
        ..Default::default()
    })
    .await;
    let post_raw = |ct: &'static str, body: Vec<u8>| {
        sb.http
            .post(sb.url(V1))
            .header("X-API-Key", &sb.key)
            .header("Content-Type", ct)
            .body(body)
    };
    let r = sb
        .send(post_raw("application/json", b"{\"partnerId\": ".to_vec()))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (400, Some("INVALID_JSON"))
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1")
    );
    let r = sb
        .send(post_raw(
            "text/plain",
            serde_json::to_vec(&basic_create_v1()).unwrap(),
        ))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (400, Some("UNSUPPORTED_MEDIA_TYPE"))
    );
    let r = sb
        .send(post_raw(
            "application/json; charset=utf-8",
            vec![b' '; 20_000],
        ))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (413, Some("BODY_TOO_LARGE"))
    );
    let r = sb
        .send(post_raw("application/json", b"[1,2]".to_vec()))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (400, Some("INVALID_JSON"))
    );
    let r = sb
        .send(post_raw("application/json", b"\xff\xfe".to_vec()))
        .await;
    assert_eq!(r.status, 400);
    let r = sb
        .send(
            sb.http
                .patch(sb.url(&format!("{V1}/X")))
                .header("X-API-Key", &sb.key)
                .body("{}"),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body["errors"]["message"].is_string());
    let r = sb
        .send(
            sb.http
                .delete(sb.url(&format!("{V1}/X")))
                .header("X-API-Key", &sb.key),
        )
        .await;
    assert_eq!(r.status, 405);
    let r = sb.get("/nowhere").await;
    assert_eq!(r.status, 404);
    // The server is still there after all that.
    assert_eq!(sb.get(PORTFOLIO).await.status, 200);
}

#[tokio::test]
async fn stats_count_operations_and_partner_ids() {
    let sb = default_sandbox().await;
    sb.create_basic("S-1").await;
    sb.create_basic("S-2").await;
    let mut body = basic_create_v1();
    body["leadOpportunity"]["partnerLeadOpportunityId"] = "S-1".into();
    sb.post(V1, &body).await;
    sb.get(PORTFOLIO).await;
    let s = sb.stats().await;
    assert_eq!(s["requests"]["byOperation"]["create"]["201"], 2);
    assert_eq!(s["requests"]["byOperation"]["create"]["400"], 1);
    assert_eq!(s["requests"]["byOperation"]["portfolio"]["200"], 1);
    assert_eq!(s["requests"]["total"], 4);
    assert_eq!(s["partnerLeadOpportunityIds"], json!({"S-1": 1, "S-2": 1}));
    assert_eq!(s["records"]["total"], 2);
    assert_eq!(s["duplicates"], json!([]));
}

#[tokio::test]
async fn patch_can_assign_a_partner_id_to_a_marketing_lead() {
    let sb = sandbox(leadsheet::SandboxConfig {
        preload: 12,
        ..Default::default()
    })
    .await;
    let unassigned = sb
        .search_ids(json!([{"partnerLeadOpportunityId": ""}]))
        .await;
    assert_eq!(unassigned.len(), 2);
    let r = sb
        .patch(&format!("{V1}/{}", unassigned[0]), &json!({"partnerId": "200000000014442", "leadOpportunity": {"partnerLeadOpportunityId": "MINE-1", "status": "QUALIFIED"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        sb.search_ids(json!([{"partnerLeadOpportunityId": "MINE-1"}]))
            .await,
        vec![unassigned[0].clone()]
    );
    assert_eq!(
        sb.search_ids(json!([{"partnerLeadOpportunityId": ""}]))
            .await
            .len(),
        1
    );
    // A partner id another record holds cannot be taken.
    let r = sb
        .patch(
            &format!("{V1}/{}", unassigned[1]),
            &json!({"partnerId": "200000000014442", "leadOpportunity": {"partnerLeadOpportunityId": "MINE-1"}}),
        )
        .await;
    assert_eq!(r.body["errors"]["code"], "ERR801");
}
