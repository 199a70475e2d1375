//! The real binary against a hostile gateway (`hostile_server.rs`): every answer a gateway can
//! give settles as a clear row outcome or a clear stop of the run, within a bound tied to
//! `--timeout`, and no create is ever sent twice without a search between. Cases of a test run
//! concurrently: they spend their time waiting, not computing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use futures::future::join_all;
use leadsheet::SandboxConfig;
use serde_json::json;

use crate::hostile_server::{self as hs, Hostile, Op, Reply, Rule};
use crate::util::*;

/// What a 2-core CI machine running the rest of the suite beside these cases adds to a run's
/// wall time (a case of four 1 s timeouts and 3.5 s of backoff took 10.4 s there). The bounds
/// are there to catch a run that hangs on a hostile answer, which would take minutes, not to
/// time the client.
const LOAD: Duration = Duration::from_secs(5);

struct Ran {
    out: Output,
    took: Duration,
    rows: Vec<HashMap<String, String>>,
}

impl Ran {
    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn statuses(&self) -> Vec<&str> {
        self.rows.iter().map(|r| r["Status"].as_str()).collect()
    }

    /// Panics unless the run took less than `secs`, the case's own bound (its timeouts and
    /// backoffs, and a second for the process), plus [`LOAD`].
    fn within(&self, secs: u64, case: &str) {
        let bound = Duration::from_secs(secs) + LOAD;
        assert!(
            self.took < bound,
            "{case}: took {:?}, more than {bound:?}",
            self.took
        );
    }
}

/// The binary with `args` against `base`; the results workbook read back if there is one.
async fn leadsheet_at(args: Vec<String>, base: &str, key: &str, results: Option<&Path>) -> Ran {
    let start = Instant::now();
    let out = run(args, Some(base.to_string()), key).await;
    let took = start.elapsed();
    for stream in [&out.stdout, &out.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(key),
            "the key was printed"
        );
    }
    let rows = results
        .filter(|p| p.exists())
        .map(results_rows)
        .unwrap_or_default();
    Ran { out, took, rows }
}

/// `import` of `input` into `results` with `--timeout 2` and `extra`.
async fn import(base: &str, key: &str, input: &Path, results: &Path, extra: &[&str]) -> Ran {
    let mut args = s(&[
        "import",
        input.to_str().unwrap(),
        "-o",
        results.to_str().unwrap(),
        "--timeout",
        "2",
        "--max-retries",
        "1",
        "--concurrency",
        "1",
    ]);
    args.extend(s(extra));
    leadsheet_at(args, base, key, Some(results)).await
}

/// One case of a create import: a sandbox behind a hostile server with `rules`, `n` rows.
struct Case {
    name: &'static str,
    sb: Sandbox,
    hostile: Hostile,
    dir: tempfile::TempDir,
    input: PathBuf,
}

async fn case(name: &'static str, n: usize, rules: Vec<Rule>) -> Case {
    let sb = sandbox(SandboxConfig::default()).await;
    let hostile = hs::start(sb.handle.base_url(), rules).await;
    let dir = scratch();
    let input = generated_csv(dir.path(), n, name);
    Case {
        name,
        sb,
        hostile,
        dir,
        input,
    }
}

impl Case {
    fn results(&self) -> PathBuf {
        self.dir.path().join(format!("{}.results.xlsx", self.name))
    }

    async fn import(&self, extra: &[&str]) -> Ran {
        import(
            &self.hostile.base,
            &self.sb.key,
            &self.input,
            &self.results(),
            extra,
        )
        .await
    }

    /// What the sandbox holds agrees with the rows, and no create was re-sent blindly.
    async fn assert_held(&self, ran: &Ran) {
        let stats = self.sb.stats().await;
        assert_eq!(stats["duplicates"], json!([]), "{}", self.name);
        let counts = stats["partnerLeadOpportunityIds"].as_object().unwrap();
        for r in &ran.rows {
            let plid = &r["leadOpportunity.partnerLeadOpportunityId"];
            let held = counts.get(plid.as_str()).and_then(|v| v.as_u64());
            if r["Status"] == "CREATED" {
                assert_eq!(held, Some(1), "{}: {r:?}", self.name);
                assert!(!r["dsLeadOpportunityId"].is_empty(), "{}: {r:?}", self.name);
            }
        }
        self.hostile.assert_never_resent_blindly();
    }
}

/// Creates whose answer cannot be read are settled by a search: the record found is the
/// create's result, a record not found is sent again (after the search, never before).
#[tokio::test]
async fn unreadable_create_answers_are_settled_by_a_search() {
    let cases = [
        // Applied, then answered with something unreadable: found by the search.
        ("MALF", Reply::Applied(Box::new(hs::malformed(201))), true),
        ("TRUNC", Reply::Applied(Box::new(hs::truncated(201))), true),
        (
            "NOID",
            Reply::Applied(Box::new(hs::json(201, &json!({"info": {"success": true}})))),
            true,
        ),
        ("HUGE", Reply::Applied(Box::new(hs::huge(false))), true),
        ("SLOW", Reply::Applied(Box::new(hs::trickle())), true),
        // Not applied: the search finds nothing, so the create is sent again.
        ("ARRAY", hs::json(200, &json!([])), false),
        ("DATA5", hs::json(200, &json!({"data": 5})), false),
        ("HTML", hs::html_502(), false),
        ("ENDLESS", hs::huge(true), false),
        ("HEADERS", Reply::TrickleHeaders, false),
    ];
    let runs = cases.into_iter().map(|(name, reply, applied)| async move {
        let c = case(name, 2, vec![Rule::first(1, Op::Create, reply)]).await;
        let ran = c.import(&[]).await;
        assert_eq!(ran.code(), Some(0), "{name}: {}", ran.stderr());
        assert_eq!(ran.statuses(), ["CREATED", "CREATED"], "{name}");
        let first = &ran.rows[0];
        assert!(
            first["Action"].starts_with("create (confirmed by a search after: "),
            "{name}: {first:?}"
        );
        let plid = &first["leadOpportunity.partnerLeadOpportunityId"];
        assert_eq!(
            c.hostile.creates(plid),
            if applied { 1 } else { 2 },
            "{name}: {:#?}",
            c.hostile.log()
        );
        assert_eq!(ran.rows[1]["Action"], "create", "{name}");
        c.assert_held(&ran).await;
        // One timeout at most (--timeout 2), then quick answers.
        ran.within(12, name);
        (name, ran.took, first["Action"].clone())
    });
    for (name, took, action) in join_all(runs).await {
        eprintln!("{name}: {took:?}: {action}");
    }
}

/// Answers that stop the run: a wait longer than leadsheet waits, a redirect. They end at
/// once; a create that may have been applied is FAILED (`--resume` searches for it before
/// sending it again), the rows not sent NOT_SUBMITTED.
#[tokio::test]
async fn answers_that_stop_the_run_end_it_at_once() {
    let (elsewhere, followed) = hs::elsewhere().await;
    let location = format!("{elsewhere}/sales/api4partners/v1/leads-opportunities?token=x");
    let cases = [
        // name, reply, the first row's status, what stderr says
        (
            "WAIT429",
            hs::wait_a_year(429, false),
            "NOT_SUBMITTED",
            "asks to wait 365 days",
        ),
        (
            "DATE429",
            hs::wait_a_year(429, true),
            "NOT_SUBMITTED",
            "asks to wait 36",
        ),
        (
            "WAIT503",
            hs::wait_a_year(503, false),
            "FAILED",
            "asks to wait 365 days",
        ),
        (
            "DATE503",
            hs::wait_a_year(503, true),
            "FAILED",
            "asks to wait 36",
        ),
        ("R301", hs::redirect(301, &location), "FAILED", "HTTP 301"),
        ("R302", hs::redirect(302, &location), "FAILED", "HTTP 302"),
        ("R307", hs::redirect(307, &location), "FAILED", "HTTP 307"),
        (
            "R303",
            Reply::Applied(Box::new(hs::redirect(303, &location))),
            "FAILED",
            "HTTP 303",
        ),
    ];
    let runs = cases.into_iter().map(|(name, reply, first, says)| {
        let elsewhere = elsewhere.clone();
        async move {
            let c = case(name, 3, vec![Rule::first(1, Op::Create, reply)]).await;
            let ran = c.import(&[]).await;
            assert_eq!(ran.code(), Some(1), "{name}: {}", ran.stderr());
            let err = ran.stderr();
            assert!(err.contains(says), "{name}: {err}");
            if name.starts_with('R') {
                assert!(
                    err.contains(&format!("redirected to {elsewhere}/…"))
                        && err.contains("never follows redirects")
                        && !err.contains("token=x"),
                    "{name}: {err}"
                );
            } else {
                assert!(err.contains("waits at most 10 minutes"), "{name}: {err}");
            }
            assert!(err.contains("--resume"), "{name}: {err}");
            assert_eq!(
                ran.statuses(),
                [first, "NOT_SUBMITTED", "NOT_SUBMITTED"],
                "{name}: {:?}",
                ran.rows
            );
            if first == "FAILED" {
                assert!(
                    ran.rows[0]["Error message"].contains("may or may not be stored"),
                    "{name}: {:?}",
                    ran.rows[0]
                );
            }
            assert_eq!(
                c.hostile.count(Op::Create),
                1,
                "{name}: nothing more was sent"
            );
            ran.within(8, name);
            // The gateway is back: --resume searches for the row that may have been applied,
            // and sends the rest.
            let again = c.import(&["--resume"]).await;
            assert_eq!(again.code(), Some(0), "{name}: {}", again.stderr());
            assert_eq!(again.statuses(), ["CREATED"; 3], "{name}");
            let plid = &again.rows[0]["leadOpportunity.partnerLeadOpportunityId"];
            let resent = usize::from(name != "R303");
            assert_eq!(c.hostile.creates(plid), 1 + resent, "{name}");
            if name == "R303" {
                assert!(
                    again.rows[0]["Action"].contains("found by a search"),
                    "{name}: {:?}",
                    again.rows[0]
                );
            }
            c.assert_held(&again).await;
            (name, ran.took)
        }
    });
    for (name, took) in join_all(runs).await {
        eprintln!("{name}: {took:?}");
    }
    assert_eq!(*followed.lock().unwrap(), 0, "a redirect was followed");
}

/// An update mode import: the update answers a gateway can give.
#[tokio::test]
async fn hostile_answers_to_updates() {
    let cases = [
        // name, rule, status, message, exit code
        (
            "U-HTML",
            Rule::always(Op::Update, hs::html_502()),
            "FAILED",
            "HTTP 502 with an HTML page (title: 502 Bad Gateway)",
            2,
        ),
        (
            "U-MALF",
            Rule::always(Op::Update, hs::malformed(200)),
            "FAILED",
            "HTTP 200 with a body that is not JSON",
            2,
        ),
        (
            "U-HUGE",
            Rule::always(Op::Update, hs::huge(true)),
            "FAILED",
            "32 MiB",
            2,
        ),
        (
            "U-SLOW",
            Rule::always(Op::Update, hs::trickle()),
            "FAILED",
            "timed out",
            2,
        ),
        (
            "U-ONCE",
            Rule::first(1, Op::Update, Reply::TrickleHeaders),
            "UPDATED",
            "",
            0,
        ),
        (
            "U-WAIT",
            Rule::first(1, Op::Update, hs::wait_a_year(503, true)),
            "FAILED",
            "the update may or may not be applied",
            1,
        ),
        (
            "U-R307",
            Rule::first(1, Op::Update, hs::redirect(307, "https://other.example/x")),
            "FAILED",
            "the update may or may not be applied",
            1,
        ),
    ];
    let runs = cases.into_iter().map(|(name, rule, status, says, code)| async move {
        let sb = sandbox(SandboxConfig::default()).await;
        let id = sb.create_basic(&format!("{name}-1")).await;
        let hostile = hs::start(sb.handle.base_url(), vec![rule]).await;
        let dir = scratch();
        let input = dir.path().join("u.csv");
        std::fs::write(
            &input,
            format!("dsLeadOpportunityId,leadOpportunity.partnerLeadOpportunityId,leadOpportunity.status\n{id},{name}-1,QUALIFIED\n"),
        )
        .unwrap();
        let results = dir.path().join("u.results.xlsx");
        let ran = import(
            &hostile.base,
            &sb.key,
            &input,
            &results,
            &["--mode", "update", "--partner-id", "200000000014442"],
        )
        .await;
        assert_eq!(ran.code(), Some(code), "{name}: {}", ran.stderr());
        assert_eq!(ran.statuses(), [status], "{name}: {:?}", ran.rows);
        let message = &ran.rows[0]["Error message"];
        assert!(message.contains(says), "{name}: {message}");
        assert!(message.len() < 400 && !message.contains("<html"), "{name}: {message}");
        if name == "U-R307" {
            assert!(ran.stderr().contains("redirected to https://other.example/…"), "{name}: {}", ran.stderr());
        }
        // Two attempts at most (--max-retries 1), each within --timeout 2, and a backoff.
        ran.within(10, name);
        (name, ran.took, message.clone())
    });
    for (name, took, message) in join_all(runs).await {
        eprintln!("{name}: {took:?}: {message}");
    }
}

/// `get` settles every hostile answer as one clear message and exit code 1.
#[tokio::test]
async fn get_reports_hostile_answers_clearly() {
    let sb = sandbox(SandboxConfig::default()).await;
    let id = sb.create_basic("GET-H").await;
    let cases = [
        // name, rule, exit code, what stderr says, seconds at most
        (
            "malformed",
            Rule::always(Op::Get, hs::malformed(200)),
            1,
            "HTTP 200 with a body that is not JSON",
            8,
        ),
        (
            "html",
            Rule::always(Op::Get, hs::html_502()),
            1,
            "HTTP 502 with an HTML page (title: 502 Bad Gateway)",
            8,
        ),
        (
            "array",
            Rule::always(Op::Get, hs::json(200, &json!([]))),
            1,
            "JSON array",
            8,
        ),
        (
            "shape",
            Rule::always(Op::Get, hs::json(200, &json!({"data": 5}))),
            1,
            "no data.leadOpportunity",
            4,
        ),
        (
            "huge",
            Rule::always(Op::Get, hs::huge(false)),
            1,
            "32 MiB",
            8,
        ),
        (
            "endless",
            Rule::always(Op::Get, hs::huge(true)),
            1,
            "32 MiB",
            8,
        ),
        (
            "truncated",
            Rule::always(Op::Get, hs::truncated(200)),
            1,
            "HTTP 200, then",
            8,
        ),
        // Four attempts of --timeout 1 and their backoffs (3.5 s at most).
        (
            "headers",
            Rule::always(Op::Get, Reply::TrickleHeaders),
            1,
            "timed out",
            10,
        ),
        (
            "trickle-once",
            Rule::first(1, Op::Get, hs::trickle()),
            0,
            "",
            7,
        ),
        (
            "wait",
            Rule::always(Op::Get, hs::wait_a_year(429, false)),
            1,
            "asks to wait 365 days",
            4,
        ),
        (
            "wait-date",
            Rule::always(Op::Get, hs::wait_a_year(503, true)),
            1,
            "waits at most 10 minutes",
            4,
        ),
        (
            "redirect",
            Rule::always(Op::Get, hs::redirect(301, "https://other.example/login")),
            1,
            "redirected to https://other.example/…",
            4,
        ),
    ];
    let runs = cases.into_iter().map(|(name, rule, code, says, secs)| {
        let (upstream, id, key) = (sb.handle.base_url(), id.clone(), sb.key.clone());
        async move {
            let hostile = hs::start(upstream, vec![rule]).await;
            let timeout = if name == "headers" { "1" } else { "2" };
            let ran = leadsheet_at(
                s(&["get", &id, "--timeout", timeout]),
                &hostile.base,
                &key,
                None,
            )
            .await;
            assert_eq!(ran.code(), Some(code), "{name}: {}", ran.stderr());
            let err = ran.stderr();
            assert!(err.contains(says), "{name}: {err}");
            assert!(err.len() < 600 && !err.contains("<html"), "{name}: {err}");
            ran.within(secs, name);
            (name, ran.took, err)
        }
    });
    for (name, took, err) in join_all(runs).await {
        eprintln!("{name}: {took:?}: {}", err.trim());
    }
}

/// `export` and `portfolio`: a search or a page of the wrong shape stops them (a silent gap
/// would be worse), a detail of the wrong shape is listed among the errors.
#[tokio::test]
async fn exports_refuse_answers_of_the_wrong_shape() {
    let sb = sandbox(SandboxConfig::default()).await;
    let id = sb.create_basic("EXP-H").await;
    let dir = scratch();
    let cases = [
        (
            "search-shape",
            Rule::always(
                Op::Search,
                hs::json(200, &json!({"info": {"success": true}, "data": 5})),
            ),
            vec!["export", "--modified-since", "2d"],
            1,
            "data",
        ),
        (
            "search-item",
            Rule::always(Op::Search, hs::json(200, &json!({"data": [{"id": "X"}]}))),
            vec!["export", "--modified-since", "2d"],
            1,
            "dsLeadOpportunityId",
        ),
        (
            "search-redirect",
            Rule::always(Op::Search, hs::redirect(302, "https://other.example/")),
            vec!["export", "--modified-since", "2d"],
            1,
            "redirected to https://other.example/…",
        ),
        (
            "detail-shape",
            Rule::always(Op::Get, hs::json(200, &json!({"data": {}}))),
            vec!["export", "--id", id.as_str()],
            2,
            "",
        ),
        (
            "portfolio-shape",
            Rule::always(
                Op::Portfolio,
                hs::json(
                    200,
                    &json!({"info": {"success": true, "estimatedSearchCount": 3}}),
                ),
            ),
            vec!["portfolio"],
            1,
            "data",
        ),
    ];
    let runs = cases.into_iter().map(|(name, rule, args, code, says)| {
        let (upstream, key) = (sb.handle.base_url(), sb.key.clone());
        let out = dir.path().join(format!("{name}.xlsx"));
        async move {
            let hostile = hs::start(upstream, vec![rule]).await;
            let mut args = s(&args);
            args.extend(s(&[
                "-o",
                out.to_str().unwrap(),
                "--timeout",
                "2",
                "--max-retries",
                "1",
            ]));
            let ran = leadsheet_at(args, &hostile.base, &key, None).await;
            assert_eq!(ran.code(), Some(code), "{name}: {}", ran.stderr());
            assert!(ran.stderr().contains(says), "{name}: {}", ran.stderr());
            if code == 1 {
                assert!(!out.exists(), "{name}: no file after a failed search");
            } else {
                let errors = sheet_text(&out, "Errors").join("\n");
                assert!(
                    errors.contains("no data.leadOpportunity"),
                    "{name}: {errors}"
                );
            }
            ran.within(6, name);
            (name, ran.took, ran.stderr())
        }
    });
    for (name, took, err) in join_all(runs).await {
        eprintln!("{name}: {took:?}: {}", err.trim());
    }
}
