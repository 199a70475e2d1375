//! The README stays true to the binary: every flag of every command is documented, and it opens
//! with the two commands the project promises (the sample import against the sandbox, the tests).

use clap::CommandFactory;

use crate::util::*;

#[test]
fn readme_documents_every_flag() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let cli = leadsheet::Cli::command();
    let mut missing = vec![];
    for sub in cli.get_subcommands() {
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long()
                && !matches!(long, "help" | "version")
                && !readme.contains(&format!("--{long}"))
            {
                missing.push(format!("{} --{long}", sub.get_name()));
            }
        }
        assert!(
            readme.contains(&format!("leadsheet {}", sub.get_name())),
            "README never shows `leadsheet {}`",
            sub.get_name()
        );
    }
    assert!(
        missing.is_empty(),
        "flags missing from the README: {missing:?}"
    );
}

#[test]
fn readme_opens_with_the_two_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme.split("```").nth(1).unwrap();
    let lines: Vec<&str> = block
        .lines()
        .filter(|l| !l.trim().is_empty() && *l != "sh")
        .collect();
    assert!(
        lines[0].contains("import samples/")
            && lines[0].contains("--sandbox")
            && lines[0].contains("-o "),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1].trim(), "cargo test");
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.contains("cargo test"));

    // The first command works as written (its results go to a scratch directory).
    let args: Vec<&str> = lines[0]
        .split_whitespace()
        .skip_while(|w| *w != "--")
        .skip(1)
        .collect();
    let dir = crate::util::scratch();
    let results = dir.path().join("results.xlsx");
    let mut cmd = leadsheet();
    cmd.current_dir(root());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if *a == "-o" {
            it.next();
            cmd.arg("-o").arg(&results);
        } else {
            cmd.arg(a);
        }
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "some sample rows are wrong on purpose: {err}"
    );
    assert!(err.contains("embedded sandbox"), "{err}");
    let rows = results_rows(&results);
    assert_eq!(rows.iter().filter(|r| r["Status"] == "CREATED").count(), 6);
}

#[test]
fn readme_lists_every_enum_value() {
    use leadsheet::contract::enums::*;
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## Enum values")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has an `Enum values` section");
    for list in [
        STATUS,
        FORECAST_CATEGORY,
        REASON_WON,
        REASON_LOST,
        REVENUE_TYPE_V0,
        REVENUE_TYPE_V1,
    ] {
        for v in list {
            assert!(
                section.contains(&format!("`{v}`")),
                "`{v}` is missing from the README's Enum values"
            );
        }
    }
}
