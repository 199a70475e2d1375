//! [`Error`]: what stops a command, typed to the edge. Each library module has its own error
//! enum that knows its exit code (`SheetError::exit`, `MappingError::exit`, …); this one gathers
//! them, adds the command line's own usage errors and the context a command adds, and gives
//! `main` the exit code without a downcast. [`chain`] prints an error with its causes.

use crate::Exit;
use crate::api::client::ClientError;
use crate::config::ConfigError;
use crate::export::ExportError;
use crate::mapping::MappingError;
use crate::output::OutputError;
use crate::pipeline::PipelineError;
use crate::pipeline::journal::JournalError;
use crate::sandbox::SandboxError;
use crate::sheet::SheetError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sheet(#[from] SheetError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Flags that cannot work together or a value a flag cannot take; nothing was done.
    #[error("{0}")]
    Usage(String),
    /// A system resource the run needs (the async runtime, a background task, stdout).
    #[error("{what}")]
    System {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// What the command was doing when `source` stopped it.
    #[error("{context}")]
    Context {
        context: String,
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    /// Adds what the command was doing.
    pub fn context(self, context: impl Into<String>) -> Error {
        Error::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }

    /// The exit code the process ends with.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Sheet(e) => e.exit(),
            Error::Mapping(e) => e.exit(),
            Error::Pipeline(e) => e.exit(),
            Error::Config(e) => e.exit(),
            Error::Client(e) => e.exit(),
            Error::Export(e) => e.exit(),
            Error::Output(e) => e.exit(),
            Error::Sandbox(e) => e.exit(),
            Error::Journal(e) => e.exit(),
            Error::Usage(_) => Exit::Usage,
            Error::System { .. } => Exit::Fatal,
            Error::Context { source, .. } => source.exit(),
        }
    }
}

/// An error and its causes on one line, `outer: inner: innermost`, each said once.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_come_from_the_cause() {
        let e = Error::from(MappingError::Invalid {
            path: "m.toml".into(),
            message: "bad".into(),
        })
        .context("reading the mapping");
        assert_eq!(e.exit(), Exit::Usage);
        assert_eq!(chain(&e), "reading the mapping: mapping m.toml: bad");
        let io = Error::from(SheetError::Io {
            path: "leads.csv".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found"),
        });
        assert_eq!(io.exit(), Exit::Fatal);
        assert_eq!(chain(&io), "cannot read leads.csv: not found");
    }
}
