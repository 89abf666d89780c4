//! The layer guard: the host's top-level modules stand on floors by role, and a module may
//! import only what stands on a floor below it. `cargo xtask test` runs this before any test
//! (and `cargo xtask floors` alone); it fails on an import that runs up or sideways, and on a
//! cycle between top-level modules, naming the file and the line.
//!
//! It reads `crate::NAME` paths as text (every `use crate::...` and every inline
//! `crate::...::item`), which is all the host uses to reach another module: `super::` never
//! leaves a module's own folder. Test modules (`#[cfg(test)]` to the end of a file) are left
//! out: a test may reach anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The floors of `host/src`, bottom first. A module on floor N may import modules on floors
/// below N only. `lib.rs` and `main.rs` stand above every floor.
pub const HOST_FLOORS: &[(&str, &[&str])] = &[
    (
        "footing: what several ground capabilities read",
        &["cluster_view", "telemetry"],
    ),
    (
        "ground: capabilities with no knowledge of tenants or plugins",
        &[
            "background_task",
            "egress",
            "request_id",
            "secret",
            "source_limit",
            "units",
        ],
    ),
    ("storage", &["sql", "store"]),
    ("plugin runtime", &["runtime"]),
    ("runtime services", &["credentials", "error", "loader"]),
    ("metering", &["usage"]),
    ("the services context", &["services"]),
    ("the call path", &["connection"]),
    ("workers", &["syncs", "tenant_webhooks", "vendor_webhooks"]),
    ("application layer: the use cases", &["app"]),
    ("faces", &["api", "console", "mcp"]),
    ("configuration", &["config"]),
    ("composition root", &["server"]),
];

/// One import that breaks the rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Breach {
    pub file: PathBuf,
    pub line: usize,
    pub from: String,
    pub to: String,
    pub why: String,
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: `{}` imports `{}`: {}",
            self.file.display(),
            self.line,
            self.from,
            self.to,
            self.why
        )
    }
}

/// Checks `src` (a crate's `src/`) against `floors`; every breach, in file order.
pub fn check(src: &Path, floors: &[(&str, &[&str])]) -> anyhow::Result<Vec<Breach>> {
    let floor_of: BTreeMap<&str, usize> = floors
        .iter()
        .enumerate()
        .flat_map(|(n, (_, modules))| modules.iter().map(move |m| (*m, n)))
        .collect();
    let mut breaches = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(src)? {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let Some(module) = top_module(relative) else {
            continue;
        };
        let Some(&floor) = floor_of.get(module.as_str()) else {
            breaches.push(Breach {
                file: file.clone(),
                line: 1,
                from: module.clone(),
                to: module.clone(),
                why: "this top-level module stands on no floor: add it to the floor table in \
                      xtask/src/floors.rs"
                    .into(),
            });
            continue;
        };
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        for (line, target) in crate_paths(&text) {
            if target == module {
                continue;
            }
            edges
                .entry(module.clone())
                .or_default()
                .insert(target.clone());
            let why = match floor_of.get(target.as_str()) {
                None => continue, // `crate::` items of lib.rs itself (re-exports)
                Some(&to) if to > floor => {
                    format!(
                        "`{target}` stands above it ({} over {})",
                        floors[to].0, floors[floor].0
                    )
                }
                Some(&to) if to == floor => format!(
                    "`{target}` stands on the same floor ({}); move what both need below",
                    floors[floor].0
                ),
                Some(_) => continue,
            };
            breaches.push(Breach {
                file: file.clone(),
                line,
                from: module.clone(),
                to: target,
                why,
            });
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        breaches.push(Breach {
            file: src.to_path_buf(),
            line: 0,
            from: cycle[0].clone(),
            to: cycle[1].clone(),
            why: format!(
                "top-level modules import each other in a circle: {}",
                cycle.join(" -> ")
            ),
        });
    }
    Ok(breaches)
}

/// Runs [`check`] on `host/src` and fails with every breach.
pub fn guard(root: &Path) -> anyhow::Result<()> {
    let src = root.join("host/src");
    let breaches = check(&src, HOST_FLOORS)?;
    if breaches.is_empty() {
        let modules: usize = HOST_FLOORS.iter().map(|(_, m)| m.len()).sum();
        println!(
            "xtask: floors hold: {modules} top-level modules on {} floors, no import runs up or sideways",
            HOST_FLOORS.len()
        );
        return Ok(());
    }
    for breach in &breaches {
        eprintln!("{breach}");
    }
    bail!(
        "{} import(s) break the floors of host/src (see docs/contribute/architecture.md)",
        breaches.len()
    )
}

/// The top-level module a file of `src/` belongs to (`api` for `api.rs` and `api/x.rs`);
/// none for the crate roots.
fn top_module(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_owned())
}

/// Every `crate::NAME` a file reaches outside its test module, with its line number. A
/// grouped `use crate::{a, b::c}` names each of `a` and `b`.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut in_group: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        if let Some(depth) = in_group.as_mut() {
            // Inside `use crate::{ ... }` spanning lines: each entry at depth 1 is a module.
            for name in group_heads(trimmed, depth) {
                found.push((number, name));
            }
            if *depth == 0 {
                in_group = None;
            }
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().last();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue; // `connector_host::crate::` never appears; `$crate::` is a macro's
            }
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 1usize;
                for name in group_heads(group, &mut depth) {
                    found.push((number, name));
                }
                if depth > 0 {
                    in_group = Some(depth);
                }
                break;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((number, name));
            }
        }
    }
    found
}

/// The first segment of each entry of a `{ ... }` group at depth 1, tracking `depth` over
/// nested braces and lines.
fn group_heads(text: &str, depth: &mut usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut expecting = *depth == 1;
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            if expecting && *depth == 1 {
                heads.push(std::mem::take(&mut word));
            }
            word.clear();
            expecting = false;
        }
        match c {
            '{' => *depth += 1,
            '}' => {
                *depth = depth.saturating_sub(1);
                if *depth == 0 {
                    return heads;
                }
            }
            ',' if *depth == 1 => expecting = true,
            _ => {}
        }
    }
    if !word.is_empty() && expecting && *depth == 1 {
        heads.push(word);
    }
    heads
}

/// One cycle among the modules' imports, as a path that ends where it starts.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        if let Some(cycle) = visit(start, edges, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

fn rust_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOORS: &[(&str, &[&str])] = &[
        ("ground", &["store"]),
        ("workers", &["syncs", "webhooks"]),
        ("faces", &["api"]),
    ];

    fn tree(files: &[(&str, &str)]) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        for (path, text) in files {
            let path = dir.0.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    /// A throwaway directory under the target dir, removed on drop.
    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);

        impl Dir {
            pub fn new() -> Self {
                static NEXT: std::sync::atomic::AtomicUsize =
                    std::sync::atomic::AtomicUsize::new(0);
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let path =
                    std::env::temp_dir().join(format!("xtask-floors-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&path);
                std::fs::create_dir_all(&path).unwrap();
                Self(path)
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn imports_downward_pass() {
        let dir = tree(&[
            ("lib.rs", "pub mod api;\nuse crate::api::router;\n"),
            (
                "api.rs",
                "use crate::syncs::create;\nuse crate::{store::Store, webhooks};\n",
            ),
            ("syncs/run.rs", "fn f() { crate::store::Store::open(); }\n"),
            ("store.rs", "use crate::store::x;\n"),
        ]);
        assert_eq!(check(&dir.0, FLOORS).unwrap(), Vec::new());
    }

    /// The layout this guard was written against: a worker reaching up into the REST face
    /// for its state and error type (`syncs/run.rs` importing `crate::api::connection_calls`).
    #[test]
    fn a_worker_importing_a_face_fails() {
        let dir = tree(&[
            ("api.rs", "use crate::syncs::create;\n"),
            (
                "syncs/run.rs",
                "use crate::api::connection_calls::{call_record_as, load};\n",
            ),
        ]);
        let breaches = check(&dir.0, FLOORS).unwrap();
        assert!(
            breaches
                .iter()
                .any(|b| b.from == "syncs" && b.to == "api" && b.line == 1)
        );
        assert!(
            breaches.iter().any(|b| b.why.contains("circle")),
            "{breaches:?}"
        );
    }

    #[test]
    fn sideways_and_grouped_and_multiline_imports_are_read() {
        let dir = tree(&[
            (
                "syncs.rs",
                "use crate::{\n    store::Store,\n    webhooks::{self, Send},\n};\n",
            ),
            ("webhooks.rs", "pub fn f() {}\n"),
        ]);
        let breaches = check(&dir.0, FLOORS).unwrap();
        assert_eq!(breaches.len(), 1, "{breaches:?}");
        assert_eq!((breaches[0].to.as_str(), breaches[0].line), ("webhooks", 3));
    }

    #[test]
    fn tests_and_comments_and_unknown_modules() {
        let dir = tree(&[
            (
                "store.rs",
                "// crate::api is mentioned here\n#[cfg(test)]\nmod tests { use crate::api::x; }\n",
            ),
            ("stray.rs", "fn f() {}\n"),
        ]);
        let breaches = check(&dir.0, FLOORS).unwrap();
        assert_eq!(breaches.len(), 1, "{breaches:?}");
        assert!(breaches[0].why.contains("no floor"));
    }

    #[test]
    fn the_host_stands_on_its_floors() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let breaches = check(&root.join("host/src"), HOST_FLOORS).unwrap();
        let listed: Vec<String> = breaches.iter().map(ToString::to_string).collect();
        assert!(listed.is_empty(), "{}", listed.join("\n"));
    }
}
