//! `leadsheet sandbox`: serve the embedded API4Partners server until Ctrl-C. The first line on
//! stdout is the base URL, so scripts can start it on port 0 and read where it listens.
//!
//! It listens on loopback unless told otherwise (`--addr`'s default). Told to listen on another
//! address, it says so on stderr: the demo key is printed in the README, so anyone who can reach
//! the port can use it.

use std::io::Write;

use crate::cli::{GlobalArgs, SandboxArgs};
use crate::sandbox::{self, DEMO_API_KEY, SandboxConfig};
use crate::{Error, Exit};

fn config_from(args: &SandboxArgs) -> SandboxConfig {
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
        drop: args.drop,
        slow: args.slow,
        slow_ms: args.slow_ms,
        max_body_bytes: args.max_body_bytes,
        ..SandboxConfig::default()
    }
}

/// The warning for a sandbox others can reach, naming who may use it.
fn exposure_warning(listening: std::net::SocketAddr, configured_keys: usize) -> String {
    let keys = if configured_keys == 0 {
        format!("the public demo key `{DEMO_API_KEY}`")
    } else {
        format!("its {configured_keys} configured key(s)")
    };
    format!(
        "leadsheet sandbox: warning: listening on {listening}, which is not loopback: others on \
         the network who can reach this port can use the sandbox with {keys}; \
         use --addr 127.0.0.1:PORT to keep it on this machine"
    )
}

pub async fn run(global: &GlobalArgs, args: SandboxArgs) -> Result<Exit, Error> {
    let handle = sandbox::start(config_from(&args), args.addr).await?;
    let stdout = |source| Error::System {
        what: "cannot write to stdout".into(),
        source,
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", handle.base_url()).map_err(stdout)?;
    out.flush().map_err(stdout)?;
    drop(out);
    if !global.quiet && handle.is_exposed() {
        crate::say!("{}", exposure_warning(handle.addr(), args.api_keys.len()));
    }
    if !global.quiet {
        let keys = if args.api_keys.is_empty() {
            format!("the demo key `{DEMO_API_KEY}`")
        } else {
            format!("{} configured key(s)", args.api_keys.len())
        };
        crate::say!(
            "leadsheet sandbox: API4Partners on {} accepting {keys}; {} preloaded lead(s); stats at /_sandbox/stats; Ctrl-C stops",
            handle.base_url(),
            args.preload
        );
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|source| Error::System {
            what: "cannot wait for Ctrl-C".into(),
            source,
        })?;
    handle.shutdown().await;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_names_the_address_and_the_key() {
        let w = exposure_warning("0.0.0.0:8787".parse().expect("an address"), 0);
        assert!(
            w.contains("0.0.0.0:8787") && w.contains(DEMO_API_KEY),
            "{w}"
        );
        let w = exposure_warning("[::]:1".parse().expect("an address"), 2);
        assert!(
            w.contains("2 configured key(s)") && !w.contains(DEMO_API_KEY),
            "{w}"
        );
    }
}
