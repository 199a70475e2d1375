//! `leadsheet template`: a blank import workbook for a mapping, so that sales-ops start from a
//! sheet that already has the right columns. Every enum column (status, forecast category, the
//! reasons, the revenue type) has a dropdown of the values the mapping accepts: the partner's
//! own words where its value map has them, else the 3DS values of the chosen API version. The
//! lists live on a hidden `Lists` sheet (a dropdown typed inline is limited to 255 characters);
//! a value outside the list gets a warning, not a refusal, because list fields take several
//! values separated by the mapping's separator. Each header has a note naming its field.

use std::collections::HashSet;
use std::path::Path;

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Formula, Note, Workbook, XlsxError,
};

use super::xlsx::{self, Styles};
use super::{Format, OutputError, atomic};
use crate::api::contract::{self, ApiVersion, FieldPath, Kind};
use crate::export::layout::ImportLayout;
use crate::mapping::config::{MappingConfig, MappingError};
use crate::mapping::resolve::normalize_header;
use crate::sheet::column_letter;

/// Rows the dropdowns cover below the header.
const ROWS: u32 = 10_000;

/// A template's one format: dropdowns need a workbook.
pub const FORMATS: &[Format] = &[Format::Xlsx];

/// A column of the template.
#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    pub note: String,
    /// Formatted as text, so that ids typed in keep their zeros and digits.
    pub text: bool,
    /// The dropdown's words.
    pub choices: Option<Vec<String>>,
}

/// What a template holds: its sheet, header row and columns.
#[derive(Debug, Clone)]
pub struct Template {
    pub sheet: String,
    /// 0-based.
    pub header_row: u32,
    pub columns: Vec<Column>,
}

impl Template {
    /// The template of `mapping` with `items` numbered groups, offering `version`'s values.
    ///
    /// # Errors
    /// [`MappingError::Invalid`] for a mapping that reads no column, or whose time zones or
    /// date formats cannot be used.
    pub fn plan(
        mapping: &MappingConfig,
        mapping_path: &Path,
        version: ApiVersion,
        items: usize,
    ) -> Result<Template, MappingError> {
        let layout = ImportLayout::new(mapping, mapping_path, [items; 3], None)?;
        let headers = layout.headers();
        if headers.is_empty() && mapping.settings.group_by.is_none() {
            return Err(MappingError::Invalid {
                path: mapping_path.to_path_buf(),
                message: "the mapping reads no column: nothing to put in a template".into(),
            });
        }
        let mut columns: Vec<Column> = Vec::new();
        let mut seen = HashSet::new();
        // The grouping column first when no field reads it.
        if let Some(g) = mapping.settings.group_by.as_ref().and_then(|g| g.0.first()) {
            let taken = headers
                .iter()
                .any(|h| normalize_header(h) == normalize_header(g));
            if !taken {
                seen.insert(normalize_header(g));
                columns.push(Column {
                    header: g.clone(),
                    note: "the key that groups the rows of one lead".into(),
                    text: true,
                    choices: None,
                });
            }
        }
        // A column two fields read (a name used for the lead and its customer) appears once.
        for (header, (field, choices)) in headers.iter().zip(layout.column_choices(version)) {
            if !seen.insert(normalize_header(header)) {
                continue;
            }
            let mut note = FieldPath::of(field).pattern();
            if let Some(words) = &choices {
                note.push_str(&format!("\nOne of the {} values in the list", words.len()));
            }
            columns.push(Column {
                header: header.clone(),
                note,
                text: matches!(contract::field(field).kind, Kind::Id),
                choices,
            });
        }
        // The sheet's name as the mapping gives it (a number is a name too: a sheet named
        // `2` wins over the second sheet when the mapping is read back).
        let sheet = mapping
            .settings
            .sheet
            .as_ref()
            .map(|s| s.0.clone())
            .unwrap_or_else(|| "Leads".into());
        if let Some(why) = unusable_sheet_name(&sheet) {
            return Err(MappingError::Invalid {
                path: mapping_path.to_path_buf(),
                message: format!("settings.sheet `{sheet}` cannot name a workbook's sheet: {why}"),
            });
        }
        Ok(Template {
            sheet,
            header_row: mapping.settings.header_row.unwrap_or(1).max(1) - 1,
            columns,
        })
    }

    pub fn dropdowns(&self) -> usize {
        self.columns.iter().filter(|c| c.choices.is_some()).count()
    }

    /// Writes the workbook; an earlier file at `path` stays as it was if this fails.
    ///
    /// # Errors
    /// [`OutputError::Write`] when the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), OutputError> {
        atomic(path, |tmp| {
            self.workbook(tmp).map_err(|e| OutputError::write(tmp, e))
        })
    }

    fn workbook(&self, path: &Path) -> Result<(), XlsxError> {
        let mut book = Workbook::new();
        let styles = Styles::default();
        let lists_name = if self.sheet.eq_ignore_ascii_case("Lists") {
            "leadsheet lists"
        } else {
            "Lists"
        };
        let hr = self.header_row;
        let ws = book.add_worksheet().set_name(&self.sheet)?;
        let headers: Vec<&str> = self.columns.iter().map(|c| c.header.as_str()).collect();
        xlsx::header_row(ws, hr, &headers, &styles)?;
        let mut lists: Vec<(u16, &[String])> = Vec::new();
        for (c, col) in self.columns.iter().enumerate() {
            let c = c as u16;
            ws.set_column_width(c, xlsx::width_for(&col.header).max(12.0))?;
            ws.insert_note(hr, c, &Note::new(&col.note).set_author("leadsheet"))?;
            if col.text {
                ws.set_column_format(c, &styles.text)?;
            }
            if let Some(words) = &col.choices {
                lists.push((c, words));
            }
        }
        ws.set_freeze_panes(hr + 1, 0)?;
        ws.autofilter(hr, 0, hr, self.columns.len().saturating_sub(1) as u16)?;
        let ls = book.add_worksheet().set_name(lists_name)?;
        for (i, (col, words)) in lists.iter().enumerate() {
            let lc = i as u16;
            ls.write_string(0, lc, &self.columns[*col as usize].header)?;
            for (r, w) in words.iter().enumerate() {
                ls.write_string(r as u32 + 1, lc, w)?;
            }
        }
        ls.set_hidden(true);
        let ws = book.worksheet_from_index(0)?;
        for (i, (col, words)) in lists.iter().enumerate() {
            let letter = column_letter(i);
            let range = format!("='{lists_name}'!${letter}$2:${letter}${}", words.len() + 1);
            let dv = DataValidation::new()
                .allow_list_formula(Formula::new(range))
                .set_error_style(DataValidationErrorStyle::Warning);
            ws.add_data_validation(hr + 1, *col, hr + ROWS, *col, &dv)?;
        }
        xlsx::save(&mut book, path)
    }
}

/// Why Excel would refuse `name` for a sheet, if it would: empty, over 31 characters, one of
/// `[]:*?/\`, or a quote at either end.
fn unusable_sheet_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.chars().count() > 31 {
        Some("Excel allows at most 31 characters")
    } else if name.contains(['[', ']', ':', '*', '?', '/', '\\']) {
        Some("Excel allows none of [ ] : * ? / \\ in it")
    } else if name.starts_with('\'') || name.ends_with('\'') {
        Some("Excel allows no ' at its start or end")
    } else {
        None
    }
}
