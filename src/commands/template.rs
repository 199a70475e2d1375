//! `leadsheet template`: a blank import workbook for a mapping, so that sales-ops start from a
//! sheet that already has the right columns. Every enum column (status, forecast category, the
//! reasons, the revenue type) has a dropdown of the values the mapping accepts: the partner's
//! own words where its value map has them, else the 3DS values of the chosen API version. The
//! lists live on a hidden `Lists` sheet (a dropdown typed inline is limited to 255 characters);
//! a value outside the list gets a warning, not a refusal, because list fields take several
//! values separated by the mapping's separator. Each header has a note naming its field.

use anyhow::Context;
use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, Format, Formula, Note, Workbook,
};

use crate::api::contract::{self, FieldPath, Kind};
use crate::cli::{GlobalArgs, TemplateArgs};
use crate::export::layout::ImportLayout;
use crate::mapping::MappingConfig;
use crate::mapping::resolve::normalize_header;
use crate::{Exit, UsageError};

/// Rows the dropdowns cover below the header.
const ROWS: u32 = 10_000;

pub fn run(global: &GlobalArgs, args: TemplateArgs) -> anyhow::Result<Exit> {
    let is_xlsx = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if !is_xlsx {
        return Err(UsageError(format!(
            "-o {}: a template is an .xlsx workbook (dropdowns need one)",
            args.output.display()
        ))
        .into());
    }
    let mapping = match &args.mapping {
        Some(p) => MappingConfig::load(p).map_err(|e| UsageError(format!("{e:#}")))?,
        None => MappingConfig::default_layout(),
    };
    let version = args
        .api_version
        .or(mapping.settings.api_version)
        .unwrap_or_default();
    let items = usize::from(args.items);
    let layout = ImportLayout::new(&mapping, [items; 3], None).map_err(UsageError)?;
    let headers = layout.headers();
    if headers.is_empty() && mapping.settings.group_by.is_none() {
        return Err(
            UsageError("the mapping reads no column: nothing to put in a template".into()).into(),
        );
    }
    // The sheet's name as the mapping gives it (a number is a name too: a sheet named `2`
    // wins over the second sheet when the mapping is read back).
    let sheet_name = mapping
        .settings
        .sheet
        .as_ref()
        .map(|s| s.0.clone())
        .unwrap_or_else(|| "Leads".into());
    let mut columns: Vec<Column> = Vec::new();
    let mut seen = std::collections::HashSet::new();
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
        let def = contract::field(field);
        let mut note = FieldPath::of(field).pattern();
        if let Some(words) = &choices {
            note.push_str(&format!("\nOne of the {} values in the list", words.len()));
        }
        columns.push(Column {
            header: header.clone(),
            note,
            text: matches!(def.kind, Kind::Id),
            choices,
        });
    }
    let header_row = mapping.settings.header_row.unwrap_or(1).max(1) - 1;
    // Written beside the output, then renamed: a failure leaves an earlier file as it was.
    let partial = args.output.with_extension("xlsx.partial");
    write(&partial, &sheet_name, header_row, &columns)
        .with_context(|| format!("writing {}", args.output.display()))?;
    std::fs::rename(&partial, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    if !global.quiet {
        let dropdowns = columns.iter().filter(|c| c.choices.is_some()).count();
        eprintln!(
            "leadsheet template: {} column(s), {dropdowns} with a dropdown (API {version}), written to {}",
            columns.len(),
            args.output.display()
        );
    }
    Ok(Exit::Success)
}

/// A column of the template.
struct Column {
    header: String,
    note: String,
    /// Formatted as text, so that ids typed in keep their zeros and digits.
    text: bool,
    /// The dropdown's words.
    choices: Option<Vec<String>>,
}

fn write(
    path: &std::path::Path,
    sheet_name: &str,
    header_row: u32,
    columns: &[Column],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let header_format = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0x1F3864))
        .set_font_color(Color::White);
    let text = Format::new().set_num_format("@");
    let lists_name = if sheet_name.eq_ignore_ascii_case("Lists") {
        "leadsheet lists"
    } else {
        "Lists"
    };
    let ws = book.add_worksheet().set_name(sheet_name)?;
    let mut lists: Vec<(u16, &[String])> = Vec::new();
    for (c, col) in columns.iter().enumerate() {
        let c = c as u16;
        ws.write_string_with_format(header_row, c, &col.header, &header_format)?;
        ws.set_column_width(
            c,
            (col.header.chars().count() as f64 + 4.0).clamp(12.0, 40.0),
        )?;
        ws.insert_note(header_row, c, &Note::new(&col.note).set_author("leadsheet"))?;
        if col.text {
            ws.set_column_format(c, &text)?;
        }
        if let Some(words) = &col.choices {
            lists.push((c, words));
        }
    }
    ws.set_freeze_panes(header_row + 1, 0)?;
    ws.autofilter(
        header_row,
        0,
        header_row,
        columns.len().saturating_sub(1) as u16,
    )?;
    let ls = book.add_worksheet().set_name(lists_name)?;
    for (i, (col, words)) in lists.iter().enumerate() {
        let lc = i as u16;
        ls.write_string(0, lc, &columns[*col as usize].header)?;
        for (r, w) in words.iter().enumerate() {
            ls.write_string(r as u32 + 1, lc, w)?;
        }
    }
    ls.set_hidden(true);
    let ws = book.worksheet_from_index(0)?;
    for (i, (col, words)) in lists.iter().enumerate() {
        let letter = crate::sheet::column_letter(i);
        let range = format!("='{lists_name}'!${letter}$2:${letter}${}", words.len() + 1);
        let dv = DataValidation::new()
            .allow_list_formula(Formula::new(range))
            .set_error_style(DataValidationErrorStyle::Warning);
        ws.add_data_validation(header_row + 1, *col, header_row + ROWS, *col, &dv)?;
    }
    book.save(path)
}
