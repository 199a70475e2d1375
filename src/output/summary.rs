//! [`Summary`]: what a run did, built once and shown twice, as the workbook's Summary sheet and
//! as the `--json` object on stdout, so the two can never disagree.

use serde_json::{Map, Value};

/// A value of the Summary sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum SummaryValue {
    Text(String),
    Count(u64),
    Number(f64),
}

impl From<String> for SummaryValue {
    fn from(s: String) -> Self {
        SummaryValue::Text(s)
    }
}

impl From<&str> for SummaryValue {
    fn from(s: &str) -> Self {
        SummaryValue::Text(s.to_string())
    }
}

impl From<u64> for SummaryValue {
    fn from(n: u64) -> Self {
        SummaryValue::Count(n)
    }
}

impl From<usize> for SummaryValue {
    fn from(n: usize) -> Self {
        SummaryValue::Count(n as u64)
    }
}

impl SummaryValue {
    fn json(&self) -> Value {
        match self {
            SummaryValue::Text(t) => Value::String(t.clone()),
            SummaryValue::Count(n) => Value::from(*n),
            SummaryValue::Number(x) => Value::from(*x),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    /// The Summary sheet's label; `None`: only in `--json`.
    label: Option<String>,
    /// The `--json` key; `None`: only on the sheet.
    key: Option<&'static str>,
    sheet: Vec<(String, SummaryValue)>,
    json: Value,
}

/// The lines of a run's summary, in order.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    entries: Vec<Entry>,
}

impl Summary {
    /// A line of both the sheet (`label`) and the JSON (`key`, when given).
    pub fn add(
        &mut self,
        label: &str,
        key: Option<&'static str>,
        value: impl Into<SummaryValue>,
    ) -> &mut Self {
        let value = value.into();
        self.entries.push(Entry {
            label: Some(label.to_string()),
            key,
            json: value.json(),
            sheet: vec![(label.to_string(), value)],
        });
        self
    }

    /// A value of the JSON only.
    pub fn json(&mut self, key: &'static str, value: Value) -> &mut Self {
        self.entries.push(Entry {
            label: None,
            key: Some(key),
            sheet: Vec::new(),
            json: value,
        });
        self
    }

    /// Counts by name: one sheet line each (`Rows VALID`), one JSON object (`rowsByStatus`).
    pub fn group(
        &mut self,
        prefix: &str,
        key: Option<&'static str>,
        counts: impl IntoIterator<Item = (String, u64)>,
    ) -> &mut Self {
        let counts: Vec<(String, u64)> = counts.into_iter().collect();
        self.entries.push(Entry {
            label: Some(prefix.to_string()),
            key,
            sheet: counts
                .iter()
                .map(|(name, n)| (format!("{prefix} {name}"), SummaryValue::Count(*n)))
                .collect(),
            json: Value::Object(
                counts
                    .iter()
                    .map(|(name, n)| (name.clone(), Value::from(*n)))
                    .collect(),
            ),
        });
        self
    }

    /// Replaces the value of the entry with JSON key `key` (the results file, once it is known
    /// where they were written).
    pub fn set(&mut self, key: &str, value: impl Into<SummaryValue>) -> &mut Self {
        let value = value.into();
        if let Some(e) = self.entries.iter_mut().find(|e| e.key == Some(key)) {
            e.json = value.json();
            if let Some(label) = &e.label {
                e.sheet = vec![(label.clone(), value)];
            }
        }
        self
    }

    /// The Summary sheet's lines.
    pub fn lines(&self) -> Vec<(String, SummaryValue)> {
        self.entries
            .iter()
            .filter(|e| e.label.is_some())
            .flat_map(|e| e.sheet.iter().cloned())
            .collect()
    }

    /// The `--json` object.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for e in &self.entries {
            if let Some(k) = e.key {
                out.insert(k.to_string(), e.json.clone());
            }
        }
        Value::Object(out)
    }

    /// The text of the sheet line `label`, for messages built from the same numbers.
    pub fn get(&self, label: &str) -> Option<&SummaryValue> {
        self.entries
            .iter()
            .flat_map(|e| e.sheet.iter())
            .find(|(l, _)| l == label)
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_summary_two_views() {
        let mut s = Summary::default();
        s.add("Command", Some("command"), "import")
            .add("Data rows", Some("dataRows"), 3usize)
            .group(
                "Rows",
                Some("rowsByStatus"),
                [("CREATED".to_string(), 2), ("INVALID".to_string(), 1)],
            )
            .json("exitCode", 2.into())
            .add("Header row", None, 1usize);
        assert_eq!(
            s.lines(),
            vec![
                ("Command".to_string(), SummaryValue::Text("import".into())),
                ("Data rows".to_string(), SummaryValue::Count(3)),
                ("Rows CREATED".to_string(), SummaryValue::Count(2)),
                ("Rows INVALID".to_string(), SummaryValue::Count(1)),
                ("Header row".to_string(), SummaryValue::Count(1)),
            ]
        );
        assert_eq!(
            s.to_json(),
            serde_json::json!({"command": "import", "dataRows": 3,
                "rowsByStatus": {"CREATED": 2, "INVALID": 1}, "exitCode": 2})
        );
    }
}
