//! Benchmark of `import` against the sandbox with 50 ms of latency per request, at concurrency
//! 8, 32 and 128. The floor is the latency itself: at most concurrency ÷ latency requests per
//! second can complete, so the figure reported is the share of that limit reached (target: at
//! least 90 %), with the client's CPU time per row. The sandbox runs as a separate process so
//! that its CPU is not counted as the client's.
//!
//!     cargo bench --bench import

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const LATENCY_MS: u64 = 50;

fn generated_csv(path: &Path, n: usize, prefix: &str) {
    let mut text = String::from(
        "partnerId,leadOpportunity.partnerLeadOpportunityId,leadOpportunity.name,leadOpportunity.status,leadOpportunity.closeDate,\
leadOpportunity.currency,customerLegalEntity.name,customerLegalEntity.city,customerLegalEntity.country,offerLines.1.offerNameId,offerLines.1.amount\n",
    );
    for i in 1..=n {
        text.push_str(&format!("200000000014442,{prefix}-{i:07},Lead {i},LEAD_OPEN,2026-06-01,EUR,Customer {i},Paris,France,OFFER_{},{}\n", i % 7, i * 10));
    }
    std::fs::write(path, text).unwrap();
}

/// (user + system) CPU seconds from GNU time's -v report.
fn cpu_seconds(report: &str) -> Option<f64> {
    let field = |name: &str| -> Option<f64> {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    Some(field("User time (seconds):")? + field("System time (seconds):")?)
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_leadsheet");
    let dir = tempfile::tempdir().unwrap();
    let mut sandbox = Command::new(bin)
        .args([
            "sandbox",
            "--addr",
            "127.0.0.1:0",
            "--latency-ms",
            &LATENCY_MS.to_string(),
            "--quiet",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(sandbox.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_string();
    let gnu_time = Path::new("/usr/bin/time").exists();
    println!(
        "import benchmark: sandbox latency {LATENCY_MS} ms, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| concurrency | rows | limit (rows/s) | achieved (rows/s) | share of limit | client CPU per row |"
    );
    println!("|---|---|---|---|---|---|");
    for concurrency in [8usize, 32, 128] {
        let limit = concurrency as f64 * 1000.0 / LATENCY_MS as f64;
        let rows = (limit * 5.0) as usize;
        let input = dir.path().join(format!("c{concurrency}.csv"));
        generated_csv(&input, rows, &format!("B{concurrency}"));
        let out = dir.path().join(format!("c{concurrency}.results.csv"));
        let mut cmd = if gnu_time {
            let mut c = Command::new("/usr/bin/time");
            c.arg("-v").arg(bin);
            c
        } else {
            Command::new(bin)
        };
        cmd.args([
            "import",
            "--quiet",
            "--json",
            "--concurrency",
            &concurrency.to_string(),
            "--base-url",
            &url,
            "-o",
        ])
        .arg(&out)
        .arg(&input)
        .env("LEADSHEET_API_KEY", "sandbox-demo-key")
        .env("LEADSHEET_CONFIG", "/nonexistent.toml");
        let output = cmd.output().unwrap();
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
        let created = summary["rowsByStatus"]["CREATED"].as_u64().unwrap_or(0);
        let secs = summary["sendSeconds"].as_f64().unwrap_or(f64::NAN);
        let achieved = created as f64 / secs;
        let cpu = cpu_seconds(&String::from_utf8_lossy(&output.stderr))
            .map(|c| format!("{:.0} µs", c * 1e6 / rows as f64))
            .unwrap_or_else(|| "n/a".into());
        println!(
            "| {concurrency} | {rows} ({created} created) | {limit:.0} | {achieved:.0} | {:.1} % | {cpu} |",
            achieved / limit * 100.0
        );
    }
    let _ = sandbox.kill();
    let _ = sandbox.wait();
}
