//! `leadsheet validate`: the offline half of an import. Reads the sheet, maps and checks every
//! row, sends nothing, and writes the results workbook (the same format `import` writes).

use super::offline::{self, Outputs};
use super::settings;
use crate::cli::{GlobalArgs, ValidateArgs};
use crate::{Error, Exit};

pub async fn run(global: &GlobalArgs, args: ValidateArgs) -> Result<Exit, Error> {
    let plan = settings::offline_plan(
        &args.input,
        args.emit_requests.is_some(),
        settings::profile_partner_id(),
    )?;
    let out = Outputs {
        results: args.output,
        emit_requests: args.emit_requests,
        json: args.json,
        journal: None,
    };
    offline::check(global, plan, out).await
}
