//! Connection settings: which server (a 3DS environment, a base URL, or the embedded
//! sandbox), which partner, which API key. Flags win over environment variables, which win
//! over the profile in the config file (`~/.config/leadsheet/config.toml`, `--profile`).
//! There is no silent default server: the user chooses. The key never comes from argv and is
//! never shown: [`ApiKey`] redacts itself.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::files::Small;

/// The 3DS environments of REFERENCE.md §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    /// Production
    Prd,
    /// Partner development (non-production)
    Ppt,
    /// Quality assurance (non-production)
    Qal,
    /// Pre-production validation (non-production)
    Ptd,
    /// Post-production validation (non-production)
    Ppd,
}

impl Env {
    pub fn base_url(self) -> &'static str {
        match self {
            Env::Prd => "https://apigw-prd.3ds.com",
            Env::Ppt => "https://apigw-ppt.3ds.com",
            Env::Qal => "https://apigw-qal.3ds.com",
            Env::Ptd => "https://apigw-ptd.3ds.com",
            Env::Ppd => "https://apigw-ppd.3ds.com",
        }
    }
}

/// An API key. Its `Debug` and `Display` print `***`, so it cannot leak into logs by accident.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for the one header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// One profile of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    pub env: Option<Env>,
    pub base_url: Option<String>,
    pub api_key: Option<ApiKey>,
    pub partner_id: Option<String>,
}

/// `config.toml`: `[profiles.NAME]` tables; `default` is used without `--profile`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the config file {path} is larger than {max_mib} MiB, and a config file is a few profiles: is this the file you meant?"
    )]
    TooLarge { path: PathBuf, max_mib: u64 },
    #[error("the config file {path} is not valid: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("profile `{name}` is not in {path}; its profiles are: {available}")]
    NoProfile {
        name: String,
        path: PathBuf,
        available: String,
    },
    #[error(
        "choose a server: --env ppt|prd|qal|ptd|ppd, --base-url URL, or --sandbox (or set env/base_url in a config profile)"
    )]
    NoServer,
    #[error("give only one of --env, --base-url and --sandbox")]
    TwoServers,
    #[error("invalid base URL `{0}`: {1}")]
    BadUrl(String, String),
    #[error(
        "plain http:// is refused for {0}: API keys must travel over https (http is allowed only to this machine)"
    )]
    PlainHttp(String),
    #[error("no API key: set LEADSHEET_API_KEY, or api_key in a profile of {}", .0.display())]
    NoKey(PathBuf),
}

impl ConfigError {
    /// Every connection setting is the user's to fix.
    pub fn exit(&self) -> crate::Exit {
        crate::Exit::Usage
    }
}

/// The config file's path: `--config`, `LEADSHEET_CONFIG`, else the user's config directory.
pub fn config_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("LEADSHEET_CONFIG") {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("APPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("leadsheet").join("config.toml")
}

/// The largest config file read: a config is a few profiles, and a device (`/dev/zero`) or a
/// wrong file is not read into memory to find out it is not one.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Loads the profile `name` (default `default`). A missing file is an empty config; a missing
/// profile is an error only when it was asked for by name.
pub fn load_profile(path: &Path, name: Option<&str>) -> Result<ProfileConfig, ConfigError> {
    let text = match crate::files::read_small(path, MAX_CONFIG_BYTES) {
        Ok(Small::Text(t)) => t,
        Ok(Small::TooLarge) => {
            return Err(ConfigError::TooLarge {
                path: path.to_path_buf(),
                max_mib: MAX_CONFIG_BYTES >> 20,
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && name.is_none() => {
            return Ok(ProfileConfig::default());
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    // toml's own message quotes the offending line, which may hold the key: say only where.
    let file: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: syntax_message(&text, &e),
    })?;
    match name {
        None => Ok(file.profiles.get("default").cloned().unwrap_or_default()),
        Some(n) => file
            .profiles
            .get(n)
            .cloned()
            .ok_or_else(|| ConfigError::NoProfile {
                name: n.to_string(),
                path: path.to_path_buf(),
                available: file.profiles.keys().cloned().collect::<Vec<_>>().join(", "),
            }),
    }
}

/// A TOML error without the quoted source line or value: its message and where it is.
fn syntax_message(text: &str, e: &toml::de::Error) -> String {
    // "invalid type: integer `98765432101234`, expected a string": the value may be the key.
    let what: String = e
        .message()
        .trim_end_matches('.')
        .split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { "…" } else { part })
        .collect::<Vec<_>>()
        .join("`");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("{what} at line {line}, column {column}")
        }
        None => what,
    }
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Url(String),
    /// The embedded sandbox, started in-process.
    Sandbox,
}

/// What the user asked for, before resolution.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInput {
    pub env: Option<Env>,
    pub base_url: Option<String>,
    pub sandbox: bool,
    pub profile: Option<String>,
    pub config: Option<PathBuf>,
    /// From `LEADSHEET_API_KEY`.
    pub api_key_env: Option<ApiKey>,
}

/// Resolved connection settings (the key stays `None` for the sandbox, which uses its own).
#[derive(Debug, Clone)]
pub struct Connection {
    pub target: Target,
    pub api_key: Option<ApiKey>,
    /// From the profile; flags and LEADSHEET_PARTNER_ID win over it.
    pub partner_id: Option<String>,
}

/// True for `localhost` and loopback addresses, where plain http is allowed.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a base URL: https anywhere, http only to this machine. Returns it without a trailing `/`.
pub fn check_base_url(url: &str) -> Result<String, ConfigError> {
    let shown = without_userinfo(url);
    let parsed =
        reqwest::Url::parse(url).map_err(|e| ConfigError::BadUrl(shown.clone(), e.to_string()))?;
    // `user:password@` would be printed with the server's name, journaled and written in every
    // Summary; the key goes in LEADSHEET_API_KEY or the config file, never in a URL.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ConfigError::BadUrl(
            shown,
            "it holds a user name or password (`user:password@`), which leadsheet would print and write in its files; the API key goes in LEADSHEET_API_KEY or the config file".into(),
        ));
    }
    let url = url.trim_end_matches('/');
    let host = parsed
        .host_str()
        .ok_or_else(|| ConfigError::BadUrl(url.to_string(), "no host".into()))?;
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        "http" => return Err(ConfigError::PlainHttp(url.to_string())),
        other => {
            return Err(ConfigError::BadUrl(
                url.to_string(),
                format!("scheme `{other}` is not http(s)"),
            ));
        }
    }
    Ok(url.to_string())
}

/// `url` with anything between `//` and an `@` before the path hidden, for a message about a
/// URL that may hold a password.
fn without_userinfo(url: &str) -> String {
    if let Some(i) = url.find("://") {
        let rest = &url[i + 3..];
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        if let Some(at) = authority.rfind('@') {
            return format!("{}***@{}", &url[..i + 3], &rest[at + 1..]);
        }
    }
    url.to_string()
}

pub fn resolve(input: &ConnectionInput) -> Result<Connection, ConfigError> {
    let path = config_path(input.config.as_deref());
    let profile = load_profile(&path, input.profile.as_deref())?;
    let chosen = usize::from(input.env.is_some())
        + usize::from(input.base_url.is_some())
        + usize::from(input.sandbox);
    if chosen > 1 {
        return Err(ConfigError::TwoServers);
    }
    let target = if input.sandbox {
        Target::Sandbox
    } else if let Some(env) = input.env {
        Target::Url(env.base_url().to_string())
    } else if let Some(url) = &input.base_url {
        Target::Url(check_base_url(url)?)
    } else if let Some(url) = &profile.base_url {
        Target::Url(check_base_url(url)?)
    } else if let Some(env) = profile.env {
        Target::Url(env.base_url().to_string())
    } else {
        return Err(ConfigError::NoServer);
    };
    let api_key = match &target {
        Target::Sandbox => None,
        Target::Url(_) => Some(
            input
                .api_key_env
                .clone()
                .filter(|k| !k.expose().trim().is_empty())
                .or(profile.api_key.clone())
                .ok_or(ConfigError::NoKey(path))?,
        ),
    };
    Ok(Connection {
        target,
        api_key,
        partner_id: profile.partner_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_redacted() {
        let k = ApiKey::new("s3cr3t");
        assert_eq!(format!("{k} {k:?}"), "*** ApiKey(***)");
    }

    #[test]
    fn credentials_in_a_base_url_are_refused_unshown() {
        for url in [
            "https://bob:hunter2@api.example.com/",
            "http://bob:hunter2@127.0.0.1:8787",
            "https://bob:hunter2@host:99999999/x",
        ] {
            let e = check_base_url(url).unwrap_err().to_string();
            assert!(!e.contains("hunter2") && !e.contains("bob"), "{e}");
        }
        assert!(
            check_base_url("https://bob@api.example.com")
                .unwrap_err()
                .to_string()
                .contains("user name or password")
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_base_url("http://127.0.0.1:8787/").is_ok());
        assert!(check_base_url("http://localhost:1").is_ok());
        assert!(check_base_url("http://[::1]:80").is_ok());
        assert!(matches!(
            check_base_url("http://apigw-ppt.3ds.com"),
            Err(ConfigError::PlainHttp(_))
        ));
        assert_eq!(
            check_base_url("https://apigw-ppt.3ds.com/").unwrap(),
            "https://apigw-ppt.3ds.com"
        );
        assert!(check_base_url("ftp://x").is_err());
    }

    #[test]
    fn a_file_too_big_to_be_a_config_is_not_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "#".repeat((MAX_CONFIG_BYTES + 1) as usize)).unwrap();
        let e = load_profile(&path, None).unwrap_err();
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
        #[cfg(unix)]
        assert!(matches!(
            load_profile(Path::new("/dev/zero"), None),
            Err(ConfigError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_syntax_error_does_not_quote_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[profiles.default]\napi_key = s3cr3tKEYabc\n").unwrap();
        let e = load_profile(&path, None).unwrap_err().to_string();
        assert!(!e.contains("s3cr3t"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        std::fs::write(&path, "[profiles.default]\napi_key = 98765432101234\n").unwrap();
        let e = load_profile(&path, None).unwrap_err().to_string();
        assert!(!e.contains("98765432101234"), "{e}");
        let debug = format!(
            "{:?}",
            ProfileConfig {
                api_key: Some(ApiKey::new("s3cr3t")),
                ..Default::default()
            }
        );
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }

    #[test]
    fn profiles_and_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[profiles.default]\nenv = \"ppt\"\napi_key = \"from-file\"\npartner_id = \"42\"\n[profiles.prod]\nenv = \"prd\"\napi_key = \"prod-key\"\n").unwrap();
        let base = ConnectionInput {
            config: Some(path.clone()),
            ..Default::default()
        };
        let c = resolve(&base).unwrap();
        assert_eq!(c.target, Target::Url("https://apigw-ppt.3ds.com".into()));
        assert_eq!(c.api_key.unwrap().expose(), "from-file");
        assert_eq!(c.partner_id.as_deref(), Some("42"));
        let c = resolve(&ConnectionInput {
            profile: Some("prod".into()),
            api_key_env: Some(ApiKey::new("env-key")),
            ..base.clone()
        })
        .unwrap();
        assert_eq!(c.target, Target::Url("https://apigw-prd.3ds.com".into()));
        assert_eq!(c.api_key.unwrap().expose(), "env-key");
        assert!(matches!(
            resolve(&ConnectionInput {
                profile: Some("nope".into()),
                ..base.clone()
            }),
            Err(ConfigError::NoProfile { .. })
        ));
        let none = ConnectionInput {
            config: Some(dir.path().join("absent.toml")),
            ..Default::default()
        };
        assert!(matches!(resolve(&none), Err(ConfigError::NoServer)));
        let two = ConnectionInput {
            sandbox: true,
            env: Some(Env::Ppt),
            ..none.clone()
        };
        assert!(matches!(resolve(&two), Err(ConfigError::TwoServers)));
        let sb = ConnectionInput {
            sandbox: true,
            ..none.clone()
        };
        assert!(resolve(&sb).unwrap().api_key.is_none());
        let nokey = ConnectionInput {
            env: Some(Env::Ppt),
            ..none
        };
        assert!(matches!(resolve(&nokey), Err(ConfigError::NoKey(_))));
    }
}
