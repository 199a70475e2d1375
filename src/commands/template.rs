//! `leadsheet template`: a blank import workbook for a mapping, with a dropdown for every enum
//! column (see `output::template`).

use super::settings;
use crate::cli::{GlobalArgs, TemplateArgs};
use crate::output::Format;
use crate::output::template::{FORMATS, Template};
use crate::{Error, Exit};

pub fn run(global: &GlobalArgs, args: TemplateArgs) -> Result<Exit, Error> {
    Format::choose(
        &args.output,
        "a template (dropdowns need a workbook)",
        FORMATS,
        None,
    )?;
    let (mapping, mapping_path) = settings::mapping(args.mapping.as_deref())?;
    let version = args
        .api_version
        .or(mapping.settings.api_version)
        .unwrap_or_default();
    let template = Template::plan(&mapping, &mapping_path, version, usize::from(args.items))?;
    template.write(&args.output)?;
    if !global.quiet {
        crate::say!(
            "leadsheet template: {} column(s), {} with a dropdown (API {version}), written to {}",
            template.columns.len(),
            template.dropdowns(),
            args.output.display()
        );
    }
    Ok(Exit::Success)
}
