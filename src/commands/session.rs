//! The lifecycle every online command shares: resolve where requests go and with which key,
//! start the in-process sandbox for `--sandbox`, build the one client; install the one
//! interrupt handler (the first Ctrl-C, SIGTERM or SIGHUP stops taking work and gives what is
//! in flight a grace period, the second quits at once); and at the end stop the sandbox.
//! `import`, `export`, `get` and `portfolio` all run inside a [`Session`], so none of them
//! handles these things its own way. The handler is for the commands with work to save (an
//! import's results, an export's fetched leads); `get` and `portfolio` have none, so they keep
//! the default and stop at once: neither leaves a partial file, the portfolio being renamed
//! into place only when complete.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::journal::Kept;
use super::settings::ClientSettings;
use crate::Error;
use crate::api::client::{Client, ClientConfig};
use crate::config::{self, ApiKey, ConnectionInput, Target};
use crate::pipeline::{self, Prepared, RunEnd, Sending, SubmitSettings};
use crate::sandbox::{self, DEMO_API_KEY, DEMO_PARTNER_ID, SandboxConfig, SandboxHandle};
use crate::terminal::Progress;

/// How long the requests in flight may take after Ctrl-C.
pub const GRACE: Duration = Duration::from_secs(5);

/// The longest wait between attempts of one request.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub struct Session {
    pub client: Client,
    /// Where requests go, for messages and the Summary.
    pub label: String,
    /// The profile's partner id, or the sandbox's demo partner.
    pub partner_fallback: Option<String>,
    cancel: CancellationToken,
    /// Keeps the in-process sandbox alive for the run.
    sandbox: Option<SandboxHandle>,
    quiet: bool,
}

impl Session {
    /// Resolves the connection (flags, then environment, then profile), starts the sandbox if
    /// asked, and builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] for connection settings that do not work, [`Error::Sandbox`] when the
    /// sandbox cannot start, [`Error::Client`] when the client cannot be built.
    pub async fn connect(settings: &ClientSettings, quiet: bool) -> Result<Session, Error> {
        let args = &settings.connection;
        let input = ConnectionInput {
            env: args.env,
            base_url: args.base_url.clone(),
            sandbox: args.sandbox,
            profile: args.profile.clone(),
            config: args.config.clone(),
            api_key_env: std::env::var("LEADSHEET_API_KEY").ok().map(ApiKey::new),
        };
        let conn = config::resolve(&input)?;
        let (base_url, key, sandbox, label, partner_fallback) = match conn.target {
            Target::Sandbox => {
                let cfg = SandboxConfig {
                    preload: args.sandbox_preload,
                    ..Default::default()
                };
                let handle = sandbox::start(cfg, "127.0.0.1:0".parse().expect("a literal address"))
                    .await
                    .map_err(|e| Error::from(e).context("starting the embedded sandbox"))?;
                let url = handle.base_url();
                if !quiet {
                    crate::say!(
                        "leadsheet: using the embedded sandbox at {url} (demo key, partner {DEMO_PARTNER_ID}{}); nothing leaves this machine",
                        if args.sandbox_preload > 0 {
                            format!(", {} preloaded leads", args.sandbox_preload)
                        } else {
                            String::new()
                        }
                    );
                }
                let partner = conn
                    .partner_id
                    .unwrap_or_else(|| DEMO_PARTNER_ID.to_string());
                let label = format!("embedded sandbox ({url})");
                (
                    url,
                    ApiKey::new(DEMO_API_KEY),
                    Some(handle),
                    label,
                    Some(partner),
                )
            }
            Target::Url(url) => {
                let key = conn
                    .api_key
                    .ok_or_else(|| config::ConfigError::NoKey(config::config_path(None)))?;
                (url.clone(), key, None, url, conn.partner_id)
            }
        };
        let cancel = CancellationToken::new();
        let client = Client::new(
            &ClientConfig {
                base_url,
                api_key: key,
                version: settings.version,
                timeout: settings.timeout,
                max_retries: settings.max_retries,
                concurrency: settings.concurrency,
                rate: settings.rate,
                max_backoff: MAX_BACKOFF,
            },
            cancel.clone(),
        )?;
        Ok(Session {
            client,
            label,
            partner_fallback,
            cancel,
            sandbox,
            quiet,
        })
    }

    /// Fires on the first Ctrl-C; the client's retry waits end when it does.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Installs the one interrupt handler. Ctrl-C, SIGTERM (a service manager stopping the
    /// job) and SIGHUP (a closed terminal or SSH session) all do the same: the first says
    /// `stopping` and cancels (work in flight finishes within the grace period, and what was
    /// done is still written); a second quits at once with exit code 130.
    pub fn on_interrupt(&self, stopping: &'static str) {
        // Listening before taking over from the default handler: no signal falls between.
        let Some(mut signals) = Signals::new() else {
            return;
        };
        HANDLED.store(true, std::sync::atomic::Ordering::SeqCst);
        let cancel = self.cancel.clone();
        let quiet = self.quiet;
        tokio::spawn(async move {
            let Some(what) = signals.next().await else {
                return;
            };
            // Cancel first: after SIGHUP the terminal may be gone, and what follows must not
            // depend on writing to it.
            cancel.cancel();
            if !quiet {
                crate::say!("\nleadsheet: {what}: stopping — {stopping} (again quits at once)");
            }
            if signals.next().await.is_some() {
                crate::say!(
                    "leadsheet: quit at once; the results were not written (an import's journal keeps what it had written down: `import … --resume` settles the rest and rebuilds them)"
                );
                crate::scratch::remove_all();
                std::process::exit(130);
            }
        });
    }

    /// Sends the valid leads of `prepared` (`sendable` rows) under the interrupt handler, with
    /// a progress bar, writing `kept`'s journal; says how the run ended and how long it took.
    pub async fn submit(
        &self,
        prepared: &mut Prepared,
        kept: Option<&Kept>,
        settings: &SubmitSettings,
        sendable: u64,
    ) -> (RunEnd, Duration) {
        self.on_interrupt("finishing the requests in flight, then writing the results");
        let started = std::time::Instant::now();
        let mut progress = Progress::new(sendable, self.quiet, "importing");
        let sending = Sending {
            client: &self.client,
            journal: kept.map(|k| &k.journal),
            resumed: kept.and_then(|k| k.resumed.as_ref()),
        };
        let cancel = self.cancel.clone();
        let end = pipeline::submit(prepared, &sending, settings, cancel, &mut progress).await;
        progress.finish();
        (end, started.elapsed())
    }

    /// Stops the in-process sandbox, if there is one.
    pub async fn close(mut self) {
        if let Some(sb) = self.sandbox.take() {
            sb.shutdown().await;
        }
    }
}

/// Whether a command's own handler ([`Session::on_interrupt`]) has taken the signals over.
static HANDLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Until a command installs its own handler (an import while it sends, an export while it
/// fetches), an interrupt ends the run at once, as the signal would, but first removes the
/// run's scratch copies of the user's data, which the signal's own ending would leave in the
/// temporary directory. Exit code 130 (Ctrl-C), 143 (SIGTERM) or 129 (SIGHUP); nothing is
/// written, and an import's journal keeps what it had.
pub fn interrupt_by_default(quiet: bool) {
    let Some(mut signals) = Signals::new() else {
        return;
    };
    tokio::spawn(async move {
        while let Some(what) = signals.next().await {
            if HANDLED.load(std::sync::atomic::Ordering::SeqCst) {
                continue;
            }
            crate::scratch::remove_all();
            if !quiet {
                crate::say!("\nleadsheet: {what}: stopped; nothing was written");
            }
            std::process::exit(match what {
                "SIGTERM" => 143,
                "SIGHUP" => 129,
                _ => 130,
            });
        }
    });
}

/// The signals that interrupt a run: Ctrl-C everywhere, and SIGTERM and SIGHUP on Unix.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Option<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            // Registered here, not when first awaited: a signal from now on is caught.
            Some(Signals {
                int: signal(SignalKind::interrupt()).ok()?,
                term: signal(SignalKind::terminate()).ok()?,
                hup: signal(SignalKind::hangup()).ok()?,
            })
        }
        #[cfg(not(unix))]
        Some(Signals {})
    }

    /// The next interrupt, by name; `None` when signals can no longer be received.
    async fn next(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        {
            tokio::select! {
                s = self.int.recv() => s.map(|()| "Ctrl-C"),
                s = self.term.recv() => s.map(|()| "SIGTERM"),
                s = self.hup.recv() => s.map(|()| "SIGHUP"),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.ok().map(|()| "Ctrl-C")
        }
    }
}
