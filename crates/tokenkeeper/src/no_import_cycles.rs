//! Modules form layers: among the modules of one parent (the crate's top-level modules, or the
//! files of `refresh/`, `http/`...) none may reach back to one that depends on it. Read from
//! the source text, since the compiler accepts circles: it is this test that keeps `cli` and
//! `demo`, `workers` and the engines they run, `refresh::account` and `refresh::sweep` from
//! growing one again. It sees paths written out (`crate::x`, `super::x`, `use crate::{x, y}`),
//! not what a parent re-exports from its children.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModulePath = Vec<String>;

/// Every source file under `src/`, with the module it defines.
fn source_files() -> Vec<(ModulePath, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file is readable");
                files.push((module_of(&root, &path), text));
            }
        }
    }
    files
}

fn module_of(root: &Path, file: &Path) -> ModulePath {
    let relative: PathBuf = file
        .strip_prefix(root)
        .expect("under src/")
        .with_extension("");
    let mut path: ModulePath = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if matches!(
        path.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        path.pop();
    }
    path
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths `text` names after `prefix` (`crate::` or `super::`): `a::b` for `crate::a::b`,
/// and each entry for a group such as `crate::{a::b, c}`.
fn paths_after(text: &str, prefix: &str) -> Vec<ModulePath> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let preceded_by_ident = rest[..at].chars().next_back().is_some_and(is_ident_char);
        rest = &rest[at + prefix.len()..];
        if preceded_by_ident {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Entries of the group start after `{` or a `,` at its own depth.
            let mut depth = 1;
            let mut entry_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => entry_start = true,
                    c if depth == 1 && entry_start && is_ident_char(c) => {
                        entry_start = false;
                        found.push(path_at(&group[i..]));
                    }
                    _ => {}
                }
            }
        } else {
            found.push(path_at(rest));
        }
    }
    found
}

/// `a::b::c` at the start of `text`, as far as it goes.
fn path_at(text: &str) -> ModulePath {
    let mut path = Vec::new();
    let mut rest = text;
    loop {
        let end = rest.find(|c| !is_ident_char(c)).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        path.push(rest[..end].to_owned());
        match rest[end..].strip_prefix("::") {
            Some(more) => rest = more,
            None => break,
        }
    }
    path
}

/// Edges between sibling modules, grouped by their parent: `parent -> (from -> to)`.
fn sibling_imports() -> BTreeMap<ModulePath, BTreeMap<String, BTreeSet<String>>> {
    let files = source_files();
    let modules: BTreeSet<ModulePath> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph: BTreeMap<ModulePath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, text) in &files {
        // Comments may name any module; only code counts.
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let parent = &module[..module.len().saturating_sub(1)];
        let targets = paths_after(&code, "crate::").into_iter().chain(
            paths_after(&code, "super::")
                .into_iter()
                .map(|path| [parent, &path[..]].concat()),
        );
        for target in targets {
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            let (Some(from), Some(to)) = (module.get(common), target.get(common)) else {
                continue;
            };
            // Items of the common parent itself (`super::Thing`) are not siblings.
            let to_module = [&target[..common], std::slice::from_ref(to)].concat();
            if !modules.contains(&to_module) {
                continue;
            }
            graph
                .entry(target[..common].to_vec())
                .or_default()
                .entry(from.clone())
                .or_default()
                .insert(to.clone());
        }
    }
    graph
}

/// A circle in `edges`, as the modules along it, if there is one.
fn find_circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        trail: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = trail.iter().position(|n| n == node) {
            let mut circle = trail[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        trail.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, done, trail) {
                return Some(circle);
            }
        }
        trail.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut done, &mut Vec::new()))
}

#[test]
fn no_module_imports_one_that_imports_it() {
    let graph = sibling_imports();
    // The check sees the layers it is meant to guard.
    let top = &graph[&Vec::new()];
    assert!(top["cli"].contains("app") && top["workers"].contains("refresh"));
    assert!(graph[&vec!["refresh".to_owned()]]["sweep"].contains("account"));
    let circles: Vec<String> = graph
        .iter()
        .filter_map(|(parent, edges)| {
            let circle = find_circle(edges)?;
            Some(format!(
                "in crate::{}: {}",
                parent.join("::"),
                circle.join(" -> ")
            ))
        })
        .collect();
    assert!(
        circles.is_empty(),
        "modules import each other: {circles:#?}"
    );
}

#[test]
fn reads_single_grouped_and_relative_paths() {
    let code =
        "use crate::a::b;\nuse crate::{c, d::{e, f}, g::h};\nlet x = super::i::j();\nmy_crate::k";
    assert_eq!(
        paths_after(code, "crate::"),
        [vec!["a", "b"], vec!["c"], vec!["d"], vec!["g", "h"]]
    );
    assert_eq!(paths_after(code, "super::"), [vec!["i", "j"]]);
    let circle = BTreeMap::from([
        ("cli".to_owned(), BTreeSet::from(["demo".to_owned()])),
        ("demo".to_owned(), BTreeSet::from(["cli".to_owned()])),
    ]);
    assert_eq!(find_circle(&circle).unwrap(), ["cli", "demo", "cli"]);
}
