//! Cell → value conversions: dates in the formats a mapping names (and a source time zone),
//! numbers with decimal commas, lists split on a separator, value maps from the partner's
//! vocabulary to the API's, enum spellings put right. A conversion that fails is a message
//! for that cell, never a guess: `12/01/2025` is refused unless the mapping says which of
//! day and month comes first.

use std::collections::HashMap;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

use crate::api::contract::Kind;
use crate::sheet::{Cell, number_text};

/// The cell text that clears a field in an update: an empty cell sends nothing (the stored
/// value stays), `#CLEAR` sends the field's empty value. Ignoring case; also as a mapping's
/// constant (`value = "#CLEAR"`).
pub const CLEAR: &str = "#CLEAR";

/// A converted value, ready to go into the request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Num(f64),
    List(Vec<String>),
    /// [`CLEAR`]: the field's empty value, sent on purpose.
    Clear,
}

impl Value {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Num(n) => serde_json::Number::from_f64(*n)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::List(items) => serde_json::Value::Array(
                items
                    .iter()
                    .cloned()
                    .map(serde_json::Value::String)
                    .collect(),
            ),
            Value::Clear => serde_json::Value::Null,
        }
    }

    /// The value as a user would read it in a message.
    pub fn display(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Num(n) => number_text(*n),
            Value::List(items) => items.join("; "),
            Value::Clear => CLEAR.to_string(),
        }
    }
}

/// A date format: the user's pattern and its chrono translation.
#[derive(Debug, Clone, PartialEq)]
pub struct DateFormat {
    pub pattern: String,
    chrono: String,
    has_time: bool,
}

impl DateFormat {
    /// The chrono (strftime) form of the pattern, for formatting dates the same way.
    pub fn chrono_pattern(&self) -> &str {
        &self.chrono
    }

    pub fn has_time(&self) -> bool {
        self.has_time
    }
}

/// Translates `DD.MM.YYYY HH:mm` style patterns (or strftime patterns containing `%`).
///
/// # Errors
/// A message naming the part of the pattern that is not understood.
pub fn date_format(pattern: &str) -> Result<DateFormat, String> {
    if pattern.contains('%') {
        let has_time = ["%H", "%I", "%M", "%S", "%T", "%R"]
            .iter()
            .any(|t| pattern.contains(t));
        return Ok(DateFormat {
            pattern: pattern.to_string(),
            chrono: pattern.to_string(),
            has_time,
        });
    }
    // Longest tokens first; `M` is the month and `m` the minute, as in most spreadsheet tools.
    const TOKENS: &[(&str, &str, bool)] = &[
        ("YYYY", "%Y", false),
        ("yyyy", "%Y", false),
        ("YY", "%y", false),
        ("yy", "%y", false),
        ("MM", "%m", false),
        ("M", "%m", false),
        ("DD", "%d", false),
        ("dd", "%d", false),
        ("D", "%d", false),
        ("d", "%d", false),
        ("HH", "%H", true),
        ("H", "%H", true),
        ("hh", "%I", true),
        ("h", "%I", true),
        ("mm", "%M", true),
        ("ss", "%S", true),
        (".SSS", "%.f", true),
        (".sss", "%.f", true),
        ("AM", "%p", true),
        ("PM", "%p", true),
    ];
    let mut out = String::new();
    let mut has_time = false;
    let mut rest = pattern;
    let (mut day, mut month, mut year) = (false, false, false);
    'outer: while !rest.is_empty() {
        for (tok, repl, time) in TOKENS {
            if let Some(r) = rest.strip_prefix(tok) {
                out.push_str(repl);
                has_time |= time;
                day |= repl == &"%d";
                month |= repl == &"%m";
                year |= repl.starts_with("%Y") || repl == &"%y";
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        if c.is_ascii_alphabetic() {
            return Err(format!(
                "date format `{pattern}`: `{c}` is not a known part (use YYYY, MM, DD, HH, mm, ss)"
            ));
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !(day && month && year) {
        let minutes = if !month && pattern.contains("mm") {
            " (lower-case `mm` is minutes; the month is `MM`)"
        } else {
            ""
        };
        return Err(format!(
            "date format `{pattern}` must name the day, the month and the year (DD, MM, YYYY){minutes}"
        ));
    }
    Ok(DateFormat {
        pattern: pattern.to_string(),
        chrono: out,
        has_time,
    })
}

/// Refuses a list of formats that could read the same text two ways (`DD/MM/YYYY` beside
/// `MM/DD/YYYY`): that would be a silent guess.
pub fn check_ambiguity(formats: &[DateFormat]) -> Result<(), String> {
    let shape = |f: &DateFormat| f.chrono.replace("%d", "%N").replace("%m", "%N");
    for (i, a) in formats.iter().enumerate() {
        for b in &formats[i + 1..] {
            if a.chrono != b.chrono && shape(a) == shape(b) {
                return Err(format!(
                    "date formats `{}` and `{}` read the same text differently (which is the day?); keep one",
                    a.pattern, b.pattern
                ));
            }
        }
    }
    Ok(())
}

/// Everything needed to turn cells of one column into values of one field.
#[derive(Debug, Clone)]
pub struct Conv {
    pub kind: Kind,
    pub formats: Vec<DateFormat>,
    pub tz: Tz,
    pub decimal_comma: bool,
    pub separator: String,
    /// Normalized partner word → API value.
    pub map: HashMap<String, String>,
    /// The enumeration the values must belong to (case is put right).
    pub enum_values: Option<&'static [&'static str]>,
}

fn map_key(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Conv {
    pub fn new(kind: Kind) -> Conv {
        Conv {
            kind,
            formats: Vec::new(),
            tz: Tz::UTC,
            decimal_comma: false,
            separator: ";".into(),
            map: HashMap::new(),
            enum_values: None,
        }
    }

    pub fn with_map(mut self, pairs: impl IntoIterator<Item = (String, String)>) -> Conv {
        self.map = pairs.into_iter().map(|(k, v)| (map_key(&k), v)).collect();
        self
    }

    fn mapped(&self, s: &str) -> String {
        let s = s.trim();
        // Most columns have no map: skip building the lookup key.
        let v = if self.map.is_empty() {
            s
        } else {
            self.map.get(&map_key(s)).map(String::as_str).unwrap_or(s)
        };
        match self.enum_values {
            Some(values) => values
                .iter()
                .find(|e| e.eq_ignore_ascii_case(v))
                .map_or_else(|| v.to_string(), |e| (*e).to_string()),
            None => v.to_string(),
        }
    }

    /// Converts one cell; `Ok(None)` for an empty cell.
    ///
    /// # Errors
    /// A message for the row's Problems line: what the cell holds and what was expected.
    pub fn cell(&self, cell: &Cell) -> Result<Option<Value>, String> {
        match cell {
            Cell::Empty => Ok(None),
            Cell::Error(e) => Err(format!(
                "the cell holds the spreadsheet error `{e}`; fix the formula or the value"
            )),
            Cell::DateTime { value, date_only } => match self.kind {
                Kind::DateTime => self.datetime_value(*value, *date_only).map(Some),
                Kind::Date => Ok(Some(Value::Text(value.date().to_string()))),
                _ => self.text(&cell.to_text()),
            },
            Cell::Int(i) if self.kind == Kind::Number => Ok(Some(Value::Num(*i as f64))),
            Cell::Float(f) if self.kind == Kind::Number => Ok(Some(Value::Num(*f))),
            Cell::Float(f) if matches!(self.kind, Kind::DateTime | Kind::Date) => Err(format!(
                "`{}` is a number, not a date; format the cell as a date or write it as text",
                number_text(*f)
            )),
            Cell::Text(s) => self.text(s),
            other => self.text(&other.to_text()),
        }
    }

    /// Converts text (a CSV cell, a constant, a default); `Ok(None)` when blank.
    ///
    /// # Errors
    /// As [`Conv::cell`].
    pub fn text(&self, raw: &str) -> Result<Option<Value>, String> {
        let s = raw.trim();
        // A leading `'` before `=`, `+`, `-` or `@` is how leadsheet's CSV files (and Excel)
        // keep a value from being taken for a formula; it is not part of the value.
        let s = match s.strip_prefix('\'') {
            Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
            _ => s,
        };
        if s.is_empty() {
            return Ok(None);
        }
        if s.eq_ignore_ascii_case(CLEAR) {
            return Ok(Some(Value::Clear));
        }
        let v = match self.kind {
            Kind::Text | Kind::Id | Kind::Email => Value::Text(self.mapped(s)),
            Kind::Enum(_) => Value::Text(self.mapped(s)),
            Kind::Currency => Value::Text(self.mapped(s).to_ascii_uppercase()),
            Kind::TextList | Kind::EnumList(_) => {
                let items: Vec<String> = s
                    .split(self.separator.as_str())
                    .map(str::trim)
                    .filter(|i| !i.is_empty())
                    .map(|i| self.mapped(i))
                    .collect();
                if items.is_empty() {
                    return Ok(None);
                }
                Value::List(items)
            }
            Kind::Number => Value::Num(parse_number(&self.mapped(s), self.decimal_comma)?),
            Kind::DateTime => {
                let s = self.mapped(s);
                let (value, date_only) = self.parse_date_text(&s)?;
                match value {
                    Parsed::Utc(t) => Value::Text(t.to_rfc3339_opts(SecondsFormat::Millis, true)),
                    Parsed::Local(n) => self.datetime_value(n, date_only)?,
                }
            }
            Kind::Date => {
                let s = self.mapped(s);
                let (value, _) = self.parse_date_text(&s)?;
                match value {
                    Parsed::Utc(t) => Value::Text(t.date_naive().to_string()),
                    Parsed::Local(n) => Value::Text(n.date().to_string()),
                }
            }
        };
        Ok(Some(v))
    }

    /// A local date-time in the source zone → UTC text. A date without a time keeps its
    /// calendar day (midnight UTC): shifting 31 December into 30 December is the bug users
    /// remember other tools for.
    fn datetime_value(&self, local: NaiveDateTime, date_only: bool) -> Result<Value, String> {
        if date_only {
            let t = local.date().and_time(chrono::NaiveTime::MIN).and_utc();
            return Ok(Value::Text(t.to_rfc3339_opts(SecondsFormat::Millis, true)));
        }
        let utc = match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
            LocalResult::None => {
                return Err(format!(
                    "{local} does not exist in time zone {} (a daylight-saving gap)",
                    self.tz.name()
                ));
            }
        };
        Ok(Value::Text(
            utc.to_rfc3339_opts(SecondsFormat::Millis, true),
        ))
    }

    fn parse_date_text(&self, s: &str) -> Result<(Parsed, bool), String> {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok((Parsed::Utc(t.with_timezone(&Utc)), false));
        }
        for f in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
                return Ok((Parsed::Local(n), false));
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok((Parsed::Local(d.and_time(chrono::NaiveTime::MIN)), true));
        }
        for f in &self.formats {
            if f.has_time {
                if let Ok(n) = NaiveDateTime::parse_from_str(s, &f.chrono) {
                    return Ok((Parsed::Local(n), false));
                }
            } else if let Ok(d) = NaiveDate::parse_from_str(s, &f.chrono) {
                return Ok((Parsed::Local(d.and_time(chrono::NaiveTime::MIN)), true));
            }
        }
        if self.formats.is_empty() {
            let hint = match guess_format(s) {
                Some("MM/DD/YYYY") => "; if it is month/day/year, set format = \"MM/DD/YYYY\" for this column in the mapping (or \"DD/MM/YYYY\" for day/month/year)".to_string(),
                Some(g) => format!("; if it is {g}, set format = \"{g}\" for this column in the mapping"),
                None => String::new(),
            };
            Err(format!(
                "`{s}` is not an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DDTHH:mm:ssZ){hint}"
            ))
        } else {
            let names: Vec<&str> = self.formats.iter().map(|f| f.pattern.as_str()).collect();
            Err(format!(
                "`{s}` does not match the date format {} set in the mapping",
                names.join(" or ")
            ))
        }
    }
}

enum Parsed {
    Utc(DateTime<Utc>),
    Local(NaiveDateTime),
}

/// A likely format for a hint only; never applied.
fn guess_format(s: &str) -> Option<&'static str> {
    let digits_sep: String = s
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    match digits_sep.as_str() {
        "99.99.9999" | "9.9.9999" | "99.9.9999" | "9.99.9999" => Some("DD.MM.YYYY"),
        "99/99/9999" | "9/9/9999" | "99/9/9999" | "9/99/9999" => {
            let first: u32 = s.split('/').next()?.parse().ok()?;
            Some(if first > 12 {
                "DD/MM/YYYY"
            } else {
                "MM/DD/YYYY"
            })
        }
        "99-99-9999" => Some("DD-MM-YYYY"),
        "99.99.9999 99:99" => Some("DD.MM.YYYY HH:mm"),
        _ => None,
    }
}

/// Parses an amount as written in a sheet: `13800`, `13,800.50`, or with decimal commas
/// `13.800,50`. Thousands separators must sit every three digits; anything else is refused
/// rather than guessed, so `13,5` without decimal commas is an error, not 135.
///
/// # Errors
/// A message saying what is wrong with the number as written.
pub fn parse_number(raw: &str, decimal_comma: bool) -> Result<f64, String> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\''))
        .collect();
    let (group, dec) = if decimal_comma {
        ('.', ',')
    } else {
        (',', '.')
    };
    let bad = |why: &str| -> String {
        let hint = if !decimal_comma && cleaned.contains(',') && !cleaned.contains('.') {
            "; if the comma is the decimal separator, set decimal_comma = true in the mapping"
        } else if decimal_comma && cleaned.contains('.') && !cleaned.contains(',') {
            "; the mapping says decimal_comma = true, so write decimals with a comma"
        } else {
            ""
        };
        format!("`{raw}` is not a number{why}{hint}")
    };
    let body = cleaned.strip_prefix(['-', '+']).unwrap_or(&cleaned);
    if body.is_empty() {
        return Err(bad(""));
    }
    let mut parts = body.split(dec);
    let int_part = parts.next().unwrap_or_default();
    let frac = parts.next();
    if parts.next().is_some() {
        return Err(bad(""));
    }
    let groups: Vec<&str> = int_part.split(group).collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return Err(bad(""));
    }
    let digits = groups.concat();
    if digits.is_empty() && frac.is_none_or(str::is_empty) {
        return Err(bad(""));
    }
    if !digits.bytes().all(|b| b.is_ascii_digit())
        || !frac.unwrap_or("").bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad(""));
    }
    let normal = format!(
        "{}{}.{}",
        if cleaned.starts_with('-') { "-" } else { "" },
        if digits.is_empty() { "0" } else { &digits },
        frac.filter(|f| !f.is_empty()).unwrap_or("0")
    );
    normal.parse::<f64>().map_err(|_| bad(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("13800", false, Some(13800.0))]
    #[case("13,800.50", false, Some(13800.5))]
    #[case("13.800,50", true, Some(13800.5))]
    #[case("13 800,5", true, Some(13800.5))]
    #[case("0,5", true, Some(0.5))]
    #[case("1'000.25", false, Some(1000.25))]
    #[case("-5", false, Some(-5.0))]
    #[case("13,5", false, None)]
    #[case("1,23,456", false, None)]
    #[case("12.5.3", false, None)]
    #[case("€100", false, None)]
    #[case("abc", false, None)]
    #[case("", false, None)]
    fn numbers(#[case] raw: &str, #[case] comma: bool, #[case] want: Option<f64>) {
        assert_eq!(parse_number(raw, comma).ok(), want, "{raw}");
    }

    #[test]
    fn lower_case_mm_is_minutes() {
        let e = date_format("dd.mm.yyyy").unwrap_err();
        assert!(e.contains("`MM`"), "{e}");
        assert!(date_format("DD.MM.YYYY").is_ok());
    }

    #[test]
    fn decimal_comma_hint() {
        let e = parse_number("13,5", false).unwrap_err();
        assert!(e.contains("decimal_comma"), "{e}");
    }

    fn dt(formats: &[&str], tz: &str) -> Conv {
        let mut c = Conv::new(Kind::DateTime);
        c.formats = formats.iter().map(|f| date_format(f).unwrap()).collect();
        c.tz = tz.parse().unwrap();
        c
    }

    #[rstest]
    #[case(&[], "UTC", "2025-12-31", Ok("2025-12-31T00:00:00.000Z"))]
    #[case(&[], "Europe/Berlin", "2025-12-31", Ok("2025-12-31T00:00:00.000Z"))]
    #[case(&[], "Europe/Berlin", "2025-06-01 14:00", Ok("2025-06-01T12:00:00.000Z"))]
    #[case(&[], "Europe/Berlin", "2025-06-01T18:46:51.326Z", Ok("2025-06-01T18:46:51.326Z"))]
    #[case(&[], "UTC", "2025-06-01T20:46:51+02:00", Ok("2025-06-01T18:46:51.000Z"))]
    #[case(&["DD.MM.YYYY"], "UTC", "31.12.2025", Ok("2025-12-31T00:00:00.000Z"))]
    #[case(&["MM/DD/YYYY"], "UTC", "12/31/2025", Ok("2025-12-31T00:00:00.000Z"))]
    #[case(&["DD.MM.YYYY HH:mm"], "America/New_York", "01.07.2025 09:30", Ok("2025-07-01T13:30:00.000Z"))]
    #[case(&["DD.MM.YYYY"], "UTC", "2025-12-31", Ok("2025-12-31T00:00:00.000Z"))]
    #[case(&["DD.MM.YYYY"], "UTC", "31/12/2025", Err("does not match"))]
    #[case(&[], "UTC", "31.12.2025", Err("DD.MM.YYYY"))]
    #[case(&["MM/DD/YYYY"], "UTC", "31/12/2025", Err("does not match"))]
    #[case(&[], "Europe/Berlin", "2025-03-30 02:30", Err("daylight"))]
    fn dates(
        #[case] formats: &[&str],
        #[case] tz: &str,
        #[case] input: &str,
        #[case] want: Result<&str, &str>,
    ) {
        let got = dt(formats, tz).text(input);
        match want {
            Ok(w) => assert_eq!(got, Ok(Some(Value::Text(w.into()))), "{input}"),
            Err(needle) => {
                let e = got.unwrap_err();
                assert!(e.contains(needle), "{input}: {e}");
            }
        }
    }

    #[test]
    fn date_cells_keep_their_day() {
        let c = dt(&[], "Asia/Tokyo");
        let v = NaiveDate::from_ymd_opt(2025, 12, 31)
            .unwrap()
            .and_time(chrono::NaiveTime::MIN);
        assert_eq!(
            c.cell(&Cell::DateTime {
                value: v,
                date_only: true
            }),
            Ok(Some(Value::Text("2025-12-31T00:00:00.000Z".into())))
        );
        let mut d = Conv::new(Kind::Date);
        d.formats = vec![date_format("DD.MM.YYYY").unwrap()];
        assert_eq!(
            d.text("01.02.2026"),
            Ok(Some(Value::Text("2026-02-01".into())))
        );
    }

    #[test]
    fn ambiguous_formats_are_refused() {
        let f = |p: &str| date_format(p).unwrap();
        assert!(check_ambiguity(&[f("DD/MM/YYYY"), f("MM/DD/YYYY")]).is_err());
        assert!(check_ambiguity(&[f("DD.MM.YYYY"), f("DD.MM.YYYY HH:mm")]).is_ok());
        assert!(date_format("DD.MM").is_err());
        assert!(date_format("QQ.MM.YYYY").is_err());
    }

    #[test]
    fn maps_lists_and_enums() {
        let c = Conv {
            enum_values: Some(crate::api::contract::enums::STATUS),
            ..Conv::new(Kind::Enum(crate::api::contract::EnumTable::Status))
        }
        .with_map([("Closed Won".to_string(), "WON".to_string())]);
        assert_eq!(c.text(" closed won "), Ok(Some(Value::Text("WON".into()))));
        assert_eq!(
            c.text("lead_open"),
            Ok(Some(Value::Text("LEAD_OPEN".into())))
        );
        assert_eq!(c.text("Prospect"), Ok(Some(Value::Text("Prospect".into()))));
        let l = Conv::new(Kind::TextList);
        assert_eq!(
            l.text("Siemens; PTC ;;"),
            Ok(Some(Value::List(vec!["Siemens".into(), "PTC".into()])))
        );
        let id = Conv::new(Kind::Id);
        assert_eq!(
            id.cell(&Cell::Float(200000000014442.0)),
            Ok(Some(Value::Text("200000000014442".into())))
        );
        assert_eq!(
            id.cell(&Cell::Text("01234".into())),
            Ok(Some(Value::Text("01234".into())))
        );
        assert!(
            id.cell(&Cell::Error("#N/A".into()))
                .unwrap_err()
                .contains("#N/A")
        );
    }
}
