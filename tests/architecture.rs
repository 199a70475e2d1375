//! The layers stay layers: every `crate::…` and `super::…` path in `src/` is read, and the test
//! fails when a top-level module reaches a module at or above its own layer, when the sandbox
//! reaches past the contract's vocabulary, or when files import each other in a circle. The
//! layers are those of `ARCHITECTURE.md`, bottom to top.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::root;

/// Top-level modules and their layer: a module may use only modules of lower layers.
const LAYERS: &[(&str, u32)] = &[
    ("scratch", 0),
    ("files", 0),
    ("terminal", 1),
    ("sheet", 1),
    ("config", 1),
    ("durable", 1),
    ("api", 2),
    ("problem", 3),
    ("sandbox", 3),
    ("mapping", 4),
    ("validate", 5),
    ("pipeline", 6),
    ("export", 6),
    ("output", 7),
    ("cli", 8),
    ("error", 9),
    ("commands", 10),
];

/// A module path (`["api", "client", "attempt"]`) for every file under `src`.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                parts.clear();
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The code of a file without comments and without its tests.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expands `a::{b, c::{d, e}}` (the text after a path's last `::`) into full paths.
fn expand(prefix: &[String], rest: &str, out: &mut Vec<Vec<String>>) {
    let rest = rest.trim();
    if let Some(inner) = rest.strip_prefix('{') {
        let inner = inner.strip_suffix('}').unwrap_or(inner);
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(prefix, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(prefix, &inner[start..], out);
        return;
    }
    let (head, tail) = match rest.find("::") {
        Some(i) => (&rest[..i], Some(&rest[i + 2..])),
        None => (rest, None),
    };
    let head = head.split_whitespace().next().unwrap_or_default();
    if head.is_empty() || !head.chars().all(is_ident) {
        if !prefix.is_empty() {
            out.push(prefix.to_vec());
        }
        return;
    }
    let mut p = prefix.to_vec();
    if head != "self" {
        p.push(head.to_string());
    }
    match tail {
        Some(t) => expand(&p, t, out),
        None => out.push(p),
    }
}

/// The text of a path after `crate::` or `super::`: identifiers and `::`, and a `{…}` group.
fn path_text(rest: &str) -> &str {
    let end = rest
        .find(|c: char| !is_ident(c) && c != ':')
        .unwrap_or(rest.len());
    if !rest[end..].starts_with('{') {
        return rest[..end].trim_end_matches(':');
    }
    let mut depth = 0;
    for (i, c) in rest[end..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &rest[..end + i + 1];
                }
            }
            _ => {}
        }
    }
    rest
}

/// Every `crate::…` and `super::…` path of `code` in `module`, as an absolute module path.
fn paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let starts = code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
        .map(|(i, _)| i);
    for i in starts {
        // `super::super::`: its first `super` reads the whole path.
        if code[..i].ends_with(|c: char| is_ident(c) || c == ':') {
            continue;
        }
        let mut rest = &code[i..];
        let base: Vec<String> = match rest.strip_prefix("crate::") {
            Some(r) => {
                rest = r;
                Vec::new()
            }
            None => {
                let mut up = 0;
                while let Some(r) = rest.strip_prefix("super::") {
                    rest = r;
                    up += 1;
                }
                module[..module.len().saturating_sub(up)].to_vec()
            }
        };
        expand(&base, path_text(rest), &mut out);
    }
    out
}

/// The file a path lands in: its longest prefix that is a module file.
fn resolve<'a>(
    path: &[String],
    files: &'a BTreeMap<Vec<String>, PathBuf>,
) -> Option<&'a Vec<String>> {
    (0..=path.len())
        .rev()
        .find_map(|k| files.get_key_value(&path[..k]).map(|(m, _)| m))
}

fn edges() -> BTreeMap<Vec<String>, BTreeMap<Vec<String>, BTreeSet<String>>> {
    let src = root().join("src");
    let files = modules(&src);
    let mut edges: BTreeMap<Vec<String>, BTreeMap<Vec<String>, BTreeSet<String>>> = BTreeMap::new();
    for (module, file) in &files {
        for path in paths(&code(file), module) {
            let Some(target) = resolve(&path, &files) else {
                continue;
            };
            let ancestor = target.len() <= module.len() && module[..target.len()] == target[..];
            if !ancestor {
                edges
                    .entry(module.clone())
                    .or_default()
                    .entry(target.clone())
                    .or_default()
                    .insert(path.join("::"));
            }
        }
    }
    edges
}

fn show(m: &[String]) -> String {
    if m.is_empty() {
        "src/lib.rs".into()
    } else {
        format!("src/{}", m.join("/"))
    }
}

#[test]
fn layers_only_use_the_layers_below() {
    let layer = |m: &str| LAYERS.iter().find(|(n, _)| *n == m).map(|(_, l)| *l);
    let mut wrong = Vec::new();
    for (from, targets) in edges() {
        let Some(top) = from.first() else { continue };
        let from_layer = layer(top).unwrap_or_else(|| panic!("src/{top} has no layer in LAYERS"));
        for (to, names) in targets {
            let Some(to_top) = to.first() else { continue };
            if to_top == top {
                continue;
            }
            let to_layer = layer(to_top).unwrap_or_else(|| panic!("src/{to_top} has no layer"));
            if to_layer >= from_layer {
                wrong.push(format!(
                    "{} → {} ({})",
                    show(&from),
                    show(&to),
                    names.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            // The sandbox is the oracle: it shares the contract's words, not the client.
            if top == "sandbox" && !(to.len() >= 2 && to[0] == "api" && to[1] == "contract") {
                wrong.push(format!(
                    "{} → {}: the sandbox may use only api::contract",
                    show(&from),
                    show(&to)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_file_imports_another_in_a_circle() {
    let edges = edges();
    // Depth-first search for a path back to where it started.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeMap<Vec<String>, BTreeSet<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            return Some(stack[i..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flat_map(|t| t.keys()) {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(circle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            let names: Vec<String> = circle.iter().map(|m| show(m)).collect();
            panic!("a circle of imports: {} → {}", names.join(" → "), names[0]);
        }
    }
}

/// The files of `commands/` that are not commands: what several commands share.
const SHARED_BY_COMMANDS: &[&str] = &["journal", "offline", "report", "session", "settings"];

#[test]
fn no_command_imports_another() {
    let command = |m: &[String]| {
        m.len() == 2 && m[0] == "commands" && !SHARED_BY_COMMANDS.contains(&m[1].as_str())
    };
    let wrong: Vec<String> = edges()
        .into_iter()
        .filter(|(from, _)| from.first().is_some_and(|t| t == "commands"))
        .flat_map(|(from, targets)| {
            targets
                .into_keys()
                .filter(|to| command(to))
                .map(move |to| format!("{} → {}", show(&from), show(&to)))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "commands importing commands:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_reader_sees_what_the_layers_say() {
    // The harness must see real edges, or the tests above would pass on nothing.
    let edges = edges();
    let has = |from: &[&str], to: &[&str]| {
        edges.iter().any(|(f, ts)| {
            f.iter().map(String::as_str).eq(from.iter().copied())
                && ts
                    .keys()
                    .any(|t| t.iter().map(String::as_str).eq(to.iter().copied()))
        })
    };
    assert!(has(&["output", "results"], &["pipeline"]));
    assert!(has(&["api", "client", "attempt"], &["api", "retry"]));
    assert!(has(&["sandbox", "leads"], &["api", "contract"]));
    assert!(has(&["commands", "import"], &["commands", "session"]));
}
