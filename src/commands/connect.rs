//! Connection setup shared by the commands that talk to a server: resolves the flags,
//! environment and profile into a target and a key, starts the in-process sandbox for
//! `--sandbox`, and builds the client.

use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::UsageError;
use crate::api::client::{Client, ClientConfig};
use crate::api::contract::ApiVersion;
use crate::cli::ConnectionArgs;
use crate::config::{self, ApiKey, ConnectionInput, Target};
use crate::sandbox::{self, DEMO_API_KEY, DEMO_PARTNER_ID, SandboxConfig, SandboxHandle};

pub struct Connected {
    pub client: Client,
    /// Keeps the in-process sandbox alive for the run.
    pub sandbox: Option<SandboxHandle>,
    /// The profile's partner id, or the sandbox's demo partner.
    pub partner_fallback: Option<String>,
    /// Where requests go, for messages and the Summary.
    pub label: String,
}

/// Client settings other than the connection.
pub struct Tuning {
    pub version: ApiVersion,
    pub timeout: Duration,
    pub max_retries: u32,
    pub concurrency: usize,
    pub rate: Option<f64>,
}

/// The partner id `import` would fall back on, without connecting (for `--dry-run`): the
/// profile's, or the sandbox's demo partner.
pub fn offline_partner_fallback(args: &ConnectionArgs) -> anyhow::Result<Option<String>> {
    let path = config::config_path(args.config.as_deref());
    let profile = config::load_profile(&path, args.profile.as_deref())
        .map_err(|e| UsageError(e.to_string()))?;
    Ok(match (profile.partner_id, args.sandbox) {
        (Some(p), _) => Some(p),
        (None, true) => Some(DEMO_PARTNER_ID.to_string()),
        (None, false) => None,
    })
}

pub async fn connect(
    args: &ConnectionArgs,
    tuning: Tuning,
    cancel: CancellationToken,
    quiet: bool,
) -> anyhow::Result<Connected> {
    let input = ConnectionInput {
        env: args.env,
        base_url: args.base_url.clone(),
        sandbox: args.sandbox,
        profile: args.profile.clone(),
        config: args.config.clone(),
        api_key_env: std::env::var("LEADSHEET_API_KEY").ok().map(ApiKey::new),
    };
    let conn = config::resolve(&input).map_err(|e| UsageError(e.to_string()))?;
    // Below one request an hour is surely a typo (and 1/rate must fit a Duration).
    if matches!(tuning.rate, Some(r) if !(r.is_finite() && r >= 1.0 / 3600.0)) {
        return Err(UsageError(
            "--rate must be a number of requests per second of at least 0.0003 (one an hour)"
                .into(),
        )
        .into());
    }
    let (base_url, key, sandbox, label, partner_fallback) = match conn.target {
        Target::Sandbox => {
            let cfg = SandboxConfig {
                preload: args.sandbox_preload,
                ..Default::default()
            };
            let handle = sandbox::start(cfg, "127.0.0.1:0".parse().expect("a literal address"))
                .await
                .context("starting the embedded sandbox")?;
            let url = handle.base_url();
            if !quiet {
                eprintln!(
                    "leadsheet: using the embedded sandbox at {url} (demo key, partner {DEMO_PARTNER_ID}{}); nothing leaves this machine",
                    if args.sandbox_preload > 0 {
                        format!(", {} preloaded leads", args.sandbox_preload)
                    } else {
                        String::new()
                    }
                );
            }
            let label = format!("embedded sandbox ({url})");
            (
                url,
                ApiKey::new(DEMO_API_KEY),
                Some(handle),
                label,
                Some(
                    conn.partner_id
                        .unwrap_or_else(|| DEMO_PARTNER_ID.to_string()),
                ),
            )
        }
        Target::Url(url) => {
            let key = conn.api_key.context("no API key")?;
            (url.clone(), key, None, url, conn.partner_id)
        }
    };
    let client = Client::new(
        &ClientConfig {
            base_url,
            api_key: key,
            version: tuning.version,
            timeout: tuning.timeout,
            max_retries: tuning.max_retries,
            concurrency: tuning.concurrency,
            rate: tuning.rate,
            max_backoff: Duration::from_secs(60),
        },
        cancel,
    )
    .map_err(|e| UsageError(e.to_string()))?;
    Ok(Connected {
        client,
        sandbox,
        partner_fallback,
        label,
    })
}
