//! `leadsheet sandbox`: serve the embedded API4Partners server until Ctrl-C. The first line on
//! stdout is the base URL, so scripts can start it on port 0 and read where it listens.

use std::io::Write;

use anyhow::Context;

use crate::cli::{GlobalArgs, SandboxArgs};
use crate::sandbox::{self, DEMO_API_KEY, SandboxConfig};
use crate::{Exit, UsageError};

pub fn config_from(args: &SandboxArgs) -> SandboxConfig {
    let api_keys = if args.api_keys.is_empty() {
        vec![DEMO_API_KEY.to_string()]
    } else {
        args.api_keys.clone()
    };
    SandboxConfig {
        api_keys,
        preload: args.preload,
        seed: args.seed,
        latency_ms: args.latency_ms,
        jitter_ms: args.jitter_ms,
        rate_limit: args.rate_limit,
        fail_503: args.fail_503,
        commit_then_fail: args.commit_then_fail,
        slow: args.slow,
        slow_ms: args.slow_ms,
        max_body_bytes: args.max_body_bytes,
    }
}

pub async fn run(global: &GlobalArgs, args: SandboxArgs) -> anyhow::Result<Exit> {
    let config = config_from(&args);
    let custom_keys = !args.api_keys.is_empty();
    let handle = match sandbox::start(config, args.addr).await {
        Ok(h) => h,
        Err(e @ sandbox::SandboxError::Config(_)) => return Err(UsageError(e.to_string()).into()),
        Err(e) => return Err(e).context("starting the sandbox"),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", handle.base_url()).context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    drop(out);
    if !global.quiet {
        let keys = if custom_keys {
            format!("{} configured key(s)", args.api_keys.len())
        } else {
            format!("the demo key `{DEMO_API_KEY}`")
        };
        eprintln!(
            "leadsheet sandbox: API4Partners on {} accepting {keys}; {} preloaded lead(s); stats at /_sandbox/stats; Ctrl-C stops",
            handle.base_url(),
            args.preload
        );
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    handle.shutdown().await;
    Ok(Exit::Success)
}
