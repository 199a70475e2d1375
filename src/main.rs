//! The `leadsheet` binary: parse the command line, set up logging and the runtime, run, and
//! turn the result into an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use leadsheet::{Cli, Exit};

fn main() -> ExitCode {
    // clap's own exit code for a bad flag is 2, which leadsheet uses for rejected rows:
    // usage errors exit 3 as documented; --help and --version exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Success.code()
            });
        }
    };
    init_logging(cli.global.quiet, cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            leadsheet::say!("leadsheet: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Fatal.code());
        }
    };
    let exit = match runtime.block_on(leadsheet::run(cli)) {
        Ok(exit) => exit,
        Err(e) => {
            leadsheet::say!("leadsheet: error: {}", leadsheet::error_chain(&e));
            e.exit()
        }
    };
    // In-flight work (a sandbox, a progress bar) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    ExitCode::from(exit.code())
}

fn init_logging(quiet: bool, verbose: u8) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "leadsheet=info",
        (false, _) => "leadsheet=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEADSHEET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
