//! Integration tests, compiled into one binary. Every test that needs a server starts the
//! sandbox in-process on `127.0.0.1:0`; nothing here touches the real network.

mod util;

mod architecture;
mod conformance;
mod export_online;
mod fuzz;
mod hostile;
mod hostile_server;
mod import_online;
mod readme;
mod resume;
mod sandbox_api;
mod sandbox_cli;
mod sandbox_faults;
mod sandbox_hostile;
mod secrets;
mod sheet_read;
mod template;
mod tls;
mod validate_cli;
mod wild;
