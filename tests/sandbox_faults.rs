//! Each sandbox fault produces its configured fraction for a fixed seed, and the ambiguous
//! commit-then-fail case really stores the change.

use leadsheet::SandboxConfig;
use serde_json::json;

use crate::util::*;

fn within(observed: usize, total: usize, p: f64) -> bool {
    let f = observed as f64 / total as f64;
    (f - p).abs() <= 0.05
}

#[tokio::test]
async fn fail_503_answers_its_fraction_without_committing() {
    let sb = sandbox(SandboxConfig {
        fail_503: 0.2,
        seed: 3,
        ..Default::default()
    })
    .await;
    let n = 400;
    let mut failed = 0;
    for i in 0..n {
        let mut body = basic_create_v1();
        body["leadOpportunity"]["partnerLeadOpportunityId"] = format!("F-{i}").into();
        let r = sb.post(V1, &body).await;
        match r.status {
            201 => {}
            503 => {
                failed += 1;
                assert_eq!(r.body["error"]["code"], "ERR899");
                assert_schema(
                    "v0/responses/createLeadsOpportunities.503.schema.json",
                    &r.body,
                );
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert!(within(failed, n, 0.2), "{failed} of {n}");
    let stats = sb.stats().await;
    assert_eq!(stats["records"]["total"], n - failed);
    assert_eq!(stats["faults"]["fail503"], failed);
}

#[tokio::test]
async fn commit_then_fail_stores_then_fails_or_drops() {
    let sb = sandbox(SandboxConfig {
        commit_then_fail: 0.3,
        seed: 5,
        ..Default::default()
    })
    .await;
    let n = 300;
    let (mut ok, mut unavailable, mut dropped) = (0, 0, 0);
    for i in 0..n {
        let mut body = basic_create_v1();
        body["leadOpportunity"]["partnerLeadOpportunityId"] = format!("C-{i}").into();
        match sb
            .http
            .post(sb.url(V1))
            .header("X-API-Key", &sb.key)
            .json(&body)
            .send()
            .await
        {
            Ok(r) if r.status() == 201 => ok += 1,
            Ok(r) if r.status() == 503 => unavailable += 1,
            Ok(r) => panic!("unexpected {}", r.status()),
            Err(_) => dropped += 1,
        }
    }
    assert!(
        within(unavailable + dropped, n, 0.3),
        "{unavailable} + {dropped} of {n}"
    );
    assert!(unavailable > 0 && dropped > 0);
    assert_eq!(ok + unavailable + dropped, n);
    let stats = sb.stats().await;
    // Every request was committed, whatever the answer.
    assert_eq!(stats["records"]["total"], n);
    assert_eq!(stats["faults"]["commitThenDrop"], dropped);
    assert_eq!(stats["faults"]["commitThen503"], unavailable);
    assert_eq!(
        stats["requests"]["byOperation"]["create"]["dropped"],
        dropped
    );
}

#[tokio::test]
async fn same_seed_same_fault_sequence() {
    async fn sequence(seed: u64) -> Vec<u16> {
        let sb = sandbox(SandboxConfig {
            fail_503: 0.5,
            seed,
            ..Default::default()
        })
        .await;
        let mut out = vec![];
        for _ in 0..40 {
            out.push(sb.get(PORTFOLIO).await.status);
        }
        out
    }
    assert_eq!(sequence(11).await, sequence(11).await);
    assert_ne!(sequence(11).await, sequence(12).await);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let sb = sandbox(SandboxConfig {
        rate_limit: 10,
        ..Default::default()
    })
    .await;
    let mut limited = 0;
    for _ in 0..30 {
        let r = sb.get(&format!("{PORTFOLIO}?top=1")).await;
        if r.status == 429 {
            limited += 1;
            assert_eq!(
                r.body,
                json!({"message": "Too many requests, please try again later"})
            );
            assert_schema("v0/responses/searchPortfolioItems.429.schema.json", &r.body);
            let after: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(after >= 1);
        }
    }
    // The bucket holds one second of requests; the burst beyond it is refused.
    assert!(limited >= 15, "{limited}");
    // Another key has its own bucket.
    let mut other = sandbox(SandboxConfig {
        rate_limit: 2,
        api_keys: vec!["a".into(), "b".into()],
        ..Default::default()
    })
    .await;
    other.key = "a".into();
    for _ in 0..2 {
        assert_eq!(other.get(PORTFOLIO).await.status, 200);
    }
    assert_eq!(other.get(PORTFOLIO).await.status, 429);
    other.key = "b".into();
    assert_eq!(other.get(PORTFOLIO).await.status, 200);
    assert_eq!(other.stats().await["faults"]["rateLimited"], 1);
}

#[tokio::test]
async fn slow_picks_its_fraction_and_latency_still_answers() {
    let sb = sandbox(SandboxConfig {
        slow: 0.25,
        slow_ms: 1,
        latency_ms: 1,
        jitter_ms: 2,
        ..Default::default()
    })
    .await;
    let n = 400;
    for _ in 0..n {
        assert_eq!(sb.get(&format!("{PORTFOLIO}?top=1")).await.status, 200);
    }
    let slow = sb.stats().await["faults"]["slow"].as_u64().unwrap() as usize;
    assert!(within(slow, n, 0.25), "{slow} of {n}");
}

#[tokio::test]
async fn invalid_fault_settings_are_refused() {
    for config in [
        SandboxConfig {
            fail_503: 1.5,
            ..Default::default()
        },
        SandboxConfig {
            slow: -0.1,
            ..Default::default()
        },
        SandboxConfig {
            fail_503: 0.6,
            commit_then_fail: 0.6,
            ..Default::default()
        },
        SandboxConfig {
            api_keys: vec![],
            ..Default::default()
        },
    ] {
        assert!(
            leadsheet::start_sandbox(config, "127.0.0.1:0".parse().unwrap())
                .await
                .is_err()
        );
    }
}
