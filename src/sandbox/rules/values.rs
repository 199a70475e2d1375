//! The sandbox's checks of single values: types, enums of the path's version, the currency
//! pattern, ISO 8601 dates (406 `ERR805`). The fields come from the contract's table; what is
//! checked of each kind is the sandbox's own judgement, kept apart from the client's on purpose
//! (it is the oracle the client is tested against).

use serde_json::{Map, Value};

use super::{ERR805_MESSAGE, INVALID_FIELD, Rejection};
use crate::api::contract::{self, ApiVersion, enums, formats};

pub(super) fn invalid(path: &str, what: impl std::fmt::Display) -> Rejection {
    Rejection {
        status: 400,
        code: INVALID_FIELD,
        message: format!("{path}: {what}"),
    }
}

/// How the sandbox checks a value. The fields come from the contract's table; what is checked
/// of each kind is the sandbox's own judgement, kept apart from the client's on purpose (it is
/// the oracle the client is tested against). It checks only what the contract declares: no
/// e-mail syntax for `dsOwnerEmail`, whose schema has no `format` (REFERENCE.md §5.2).
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Text,
    Enum(&'static [&'static str]),
    EnumList(&'static [&'static str]),
    TextList,
    DateTime,
    Currency,
}

impl Kind {
    pub fn of(kind: contract::Kind, version: ApiVersion) -> Kind {
        use contract::Kind as K;
        match kind {
            K::Enum(t) => Kind::Enum(t.values(version)),
            K::EnumList(t) => Kind::EnumList(t.values(version)),
            K::TextList => Kind::TextList,
            K::DateTime => Kind::DateTime,
            K::Currency => Kind::Currency,
            K::Text | K::Id | K::Email | K::Number | K::Date => Kind::Text,
        }
    }
}

pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Rejection> {
    v.as_object()
        .ok_or_else(|| invalid(path, format!("must be an object, not {}", type_name(v))))
}

pub(super) fn required<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Value, Rejection> {
    obj.get(key)
        .ok_or_else(|| invalid(&format!("{path}.{key}"), "is required"))
}

pub(super) fn text<'a>(v: &'a Value, path: &str) -> Result<&'a str, Rejection> {
    v.as_str()
        .ok_or_else(|| invalid(path, format!("must be a string, not {}", type_name(v))))
}

pub(super) fn required_text<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, Rejection> {
    let s = text(required(obj, key, path)?, &format!("{path}.{key}"))?;
    if s.trim().is_empty() {
        return Err(invalid(&format!("{path}.{key}"), "must not be empty"));
    }
    Ok(s)
}

pub(super) fn one_of(
    allowed: &[&str],
    value: &str,
    path: &str,
    version: Option<ApiVersion>,
) -> Result<(), Rejection> {
    if enums::is_member(allowed, value) {
        return Ok(());
    }
    let hint = enums::closest(allowed, value)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default();
    let ver = version.map(|v| format!(" in {v}")).unwrap_or_default();
    Err(invalid(
        path,
        format!(
            "`{value}` is not allowed{ver}; expected one of {}{hint}",
            allowed.join(", ")
        ),
    ))
}

/// ISO 8601 as the API means it for `closeDate`/`nextMilestoneDate`: a full date-time with a
/// `T` and an offset or `Z` (the contract's `date-time`, `contract::formats`). A bare date, or a
/// space for the `T`, is answered 406 `ERR805`.
pub fn is_iso_datetime(s: &str) -> bool {
    formats::is_date_time(s)
}

pub(super) fn is_plain_date(s: &str) -> bool {
    formats::is_date(s)
}

pub(super) fn check_field(kind: Kind, v: &Value, path: &str) -> Result<(), Rejection> {
    match kind {
        Kind::Text => text(v, path).map(drop),
        Kind::Enum(allowed) => one_of(allowed, text(v, path)?, path, None),
        Kind::EnumList(allowed) => {
            let items = v
                .as_array()
                .ok_or_else(|| invalid(path, format!("must be an array, not {}", type_name(v))))?;
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{}]", i + 1);
                one_of(allowed, text(item, &p)?, &p, None)?;
            }
            Ok(())
        }
        Kind::TextList => {
            let items = v
                .as_array()
                .ok_or_else(|| invalid(path, format!("must be an array, not {}", type_name(v))))?;
            for (i, item) in items.iter().enumerate() {
                text(item, &format!("{path}[{}]", i + 1))?;
            }
            Ok(())
        }
        Kind::DateTime => {
            let s = text(v, path)?;
            if is_iso_datetime(s) {
                Ok(())
            } else {
                Err(Rejection {
                    status: 406,
                    code: "ERR805",
                    message: ERR805_MESSAGE.to_string(),
                })
            }
        }
        Kind::Currency => {
            let s = text(v, path)?;
            if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
                Ok(())
            } else {
                Err(invalid(
                    path,
                    format!(
                        "`{s}` must be a three-letter ISO 4217 code in capitals (pattern ^[A-Z]{{3}}$)"
                    ),
                ))
            }
        }
    }
}
