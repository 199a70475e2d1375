//! Benchmark of `export` from the sandbox with 50 ms of latency per request at concurrency 32:
//! 10,000 preloaded leads found by 13 search windows, then 10,000 gets. The floor is the
//! latency: at most concurrency ÷ latency gets per second can complete; the figure reported is
//! the share of that limit reached. The sandbox runs as a separate process.
//!
//!     cargo bench --bench export

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let bin = env!("CARGO_BIN_EXE_leadsheet");
    let leads: usize = std::env::var("LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let concurrency = 32;
    let latency_ms = 50.0;
    let dir = tempfile::tempdir().unwrap();
    let mut sandbox = Command::new(bin)
        .args([
            "sandbox",
            "--addr",
            "127.0.0.1:0",
            "--latency-ms",
            "50",
            "--preload",
            &leads.to_string(),
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
    println!("export benchmark: {leads} preloaded leads, latency 50 ms, concurrency {concurrency}");
    println!(
        "| output | leads | wall time | limit (leads/s) | achieved (leads/s) | share of limit |"
    );
    println!("|---|---|---|---|---|---|");
    for ext in ["xlsx", "csv"] {
        let out = dir.path().join(format!("export.{ext}"));
        let started = Instant::now();
        let output = Command::new(bin)
            .args([
                "export",
                "--quiet",
                "--json",
                "--modified-since",
                "91d",
                "--concurrency",
                &concurrency.to_string(),
                "--base-url",
                &url,
                "-o",
            ])
            .arg(&out)
            .env("LEADSHEET_API_KEY", "sandbox-demo-key")
            .env("LEADSHEET_CONFIG", "/nonexistent.toml")
            .output()
            .unwrap();
        let took = started.elapsed().as_secs_f64();
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
        let exported = summary["exported"].as_u64().unwrap_or(0);
        let limit = concurrency as f64 * 1000.0 / latency_ms;
        let achieved = exported as f64 / took;
        println!(
            "| {ext} | {exported} | {took:.1} s | {limit:.0} | {achieved:.0} | {:.1} % |",
            achieved / limit * 100.0
        );
    }
    let _ = sandbox.kill();
    let _ = sandbox.wait();
}
