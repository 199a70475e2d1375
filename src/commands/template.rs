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

use crate::cli::{GlobalArgs, TemplateArgs};
use crate::export::layout::ImportLayout;
use crate::mapping::MappingConfig;
use crate::mapping::fields;
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
    if headers.is_empty() {
        return Err(
            UsageError("the mapping reads no column: nothing to put in a template".into()).into(),
        );
    }
    let sheet_name = mapping
        .settings
        .sheet
        .as_ref()
        .map(|s| s.0.clone())
        .filter(|s| s.parse::<usize>().is_err())
        .unwrap_or_else(|| "Leads".into());
    let choices = layout.column_choices(version);
    write(&args.output, &sheet_name, &headers, &choices)
        .with_context(|| format!("writing {}", args.output.display()))?;
    if !global.quiet {
        let dropdowns = choices.iter().filter(|(_, c)| c.is_some()).count();
        eprintln!(
            "leadsheet template: {} column(s), {dropdowns} with a dropdown (API {version}), written to {}",
            headers.len(),
            args.output.display()
        );
    }
    Ok(Exit::Success)
}

fn write(
    path: &std::path::Path,
    sheet_name: &str,
    headers: &[String],
    choices: &[(fields::FieldId, Option<Vec<String>>)],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let header_format = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0x1F3864))
        .set_font_color(Color::White);
    let text = Format::new().set_num_format("@");
    let ws = book.add_worksheet().set_name(sheet_name)?;
    let mut lists: Vec<(u16, Vec<String>)> = Vec::new();
    for (c, (header, (field, words))) in headers.iter().zip(choices).enumerate() {
        let c = c as u16;
        let def = fields::def(*field);
        ws.write_string_with_format(0, c, header, &header_format)?;
        ws.set_column_width(c, (header.chars().count() as f64 + 4.0).clamp(12.0, 40.0))?;
        let mut note = def.path();
        if let Some(words) = words {
            note.push_str(&format!("\nOne of the {} values in the list", words.len()));
            lists.push((c, words.clone()));
        }
        ws.insert_note(0, c, &Note::new(note).set_author("leadsheet"))?;
        // Ids typed into the sheet stay text (a 15-digit id, a zip with a leading zero).
        if matches!(def.kind, fields::Kind::Id) {
            ws.set_column_format(c, &text)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, 0, headers.len().saturating_sub(1) as u16)?;
    let ls = book.add_worksheet().set_name("Lists")?;
    for (i, (col, words)) in lists.iter().enumerate() {
        let lc = i as u16;
        ls.write_string(0, lc, &headers[*col as usize])?;
        for (r, w) in words.iter().enumerate() {
            ls.write_string(r as u32 + 1, lc, w)?;
        }
    }
    let ws = book.worksheet_from_index(0)?;
    for (i, (col, words)) in lists.iter().enumerate() {
        let letter = crate::sheet::column_letter(i);
        let range = format!("=Lists!${letter}$2:${letter}${}", words.len() + 1);
        let dv = DataValidation::new()
            .allow_list_formula(Formula::new(range))
            .set_error_style(DataValidationErrorStyle::Warning);
        ws.add_data_validation(1, *col, ROWS, *col, &dv)?;
    }
    book.worksheet_from_name("Lists")?.set_hidden(true);
    book.save(path)
}
