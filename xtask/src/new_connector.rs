//! `cargo xtask new-connector NAME`: a connector crate under `plugins/NAME` that builds and
//! loads as it is, listed in the plugins workspace. With `--declarative`: a manifest in
//! `plugins/manifests/NAME.yaml` and its end-to-end test against a vendor fake, which pass as
//! they are.

use std::path::Path;

use anyhow::{Context as _, bail};

const CARGO_TOML: &str = include_str!("../template/Cargo.toml.txt");
const LIB_RS: &str = include_str!("../template/lib.rs.txt");
const MANIFEST_YAML: &str = include_str!("../template/manifest.yaml.txt");
const MANIFEST_TEST_RS: &str = include_str!("../template/manifest_test.rs.txt");

/// The files of a new connector crate named `name`, as (path under the crate, contents).
pub fn render(name: &str) -> anyhow::Result<Vec<(&'static str, String)>> {
    let fill = filler(name)?;
    Ok(vec![
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/lib.rs", fill(LIB_RS)),
    ])
}

/// A new declarative connector `name`: its manifest and its test (contents of each).
pub fn render_declarative(name: &str) -> anyhow::Result<(String, String)> {
    let fill = filler(name)?;
    Ok((fill(MANIFEST_YAML), fill(MANIFEST_TEST_RS)))
}

/// Fills a template's `{{name}}`, `{{title}}`, `{{type}}` and `{{snake}}` for `name`.
fn filler(name: &str) -> anyhow::Result<impl Fn(&str) -> String> {
    let valid = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid || name.ends_with('-') {
        bail!("`{name}` is not a connector name: use a-z, 0-9 and `-`, starting with a letter");
    }
    let words: Vec<String> = name
        .split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let (name, title, camel, snake) = (
        name.to_owned(),
        words.join(" "),
        words.concat(),
        name.replace('-', "_"),
    );
    Ok(move |template: &str| {
        template
            .replace("{{name}}", &name)
            .replace("{{title}}", &title)
            .replace("{{type}}", &camel)
            .replace("{{snake}}", &snake)
    })
}

/// Writes `plugins/NAME` and adds it to the plugins workspace; refuses to overwrite.
pub fn create(root: &Path, name: &str) -> anyhow::Result<()> {
    let files = render(name)?;
    let dir = root.join("plugins").join(name);
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    for (path, contents) in &files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, contents)
            .with_context(|| format!("writing {}", target.display()))?;
    }
    add_member(&root.join("plugins/Cargo.toml"), name)?;
    println!(
        "created plugins/{name}; `cargo xtask build-plugins` builds it into target/plugins/{name}.wasm and `cargo xtask run` loads it"
    );
    Ok(())
}

/// Writes `plugins/manifests/NAME.yaml` and `tests/tests/e2e/NAME.rs` (registered in the
/// end-to-end suite); refuses to overwrite either.
pub fn create_declarative(root: &Path, name: &str) -> anyhow::Result<()> {
    let (manifest, test) = render_declarative(name)?;
    let snake = name.replace('-', "_");
    let manifest_path = root.join("plugins/manifests").join(format!("{name}.yaml"));
    let test_path = root.join("tests/tests/e2e").join(format!("{snake}.rs"));
    for path in [&manifest_path, &test_path] {
        if path.exists() {
            bail!("{} already exists", path.display());
        }
    }
    std::fs::create_dir_all(root.join("plugins/manifests"))
        .context("creating plugins/manifests")?;
    std::fs::write(&manifest_path, manifest)
        .with_context(|| format!("writing {}", manifest_path.display()))?;
    std::fs::write(&test_path, test).with_context(|| format!("writing {}", test_path.display()))?;
    add_test_module(&root.join("tests/tests/e2e/main.rs"), &snake)?;
    println!(
        "created plugins/manifests/{name}.yaml and tests/tests/e2e/{snake}.rs; `cargo xtask test -- {snake}::` runs its test, `cargo xtask run` serves it"
    );
    Ok(())
}

/// Adds `mod NAME;` to the end-to-end suite's module list, in order.
fn add_test_module(main: &Path, module: &str) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(main).with_context(|| format!("reading {}", main.display()))?;
    let line = format!("mod {module};");
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("mod ") && *l > line.as_str())
        .or_else(|| {
            lines
                .iter()
                .rposition(|l| l.starts_with("mod "))
                .map(|i| i + 1)
        })
        .context("the end-to-end suite declares no modules")?;
    lines.insert(at, &line);
    std::fs::write(main, lines.join("\n") + "\n")
        .with_context(|| format!("writing {}", main.display()))
}

/// Adds `name` to the `members` list of the plugins workspace manifest.
fn add_member(manifest: &Path, name: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let start = text
        .find("members = [")
        .context("the plugins workspace has no members list")?;
    let end = start
        + text[start..]
            .find(']')
            .context("the members list is not closed")?;
    let updated = format!("{}, \"{name}\"{}", &text[..end], &text[end..]);
    std::fs::write(manifest, updated).with_context(|| format!("writing {}", manifest.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `plugins/fixtures/scaffolded` is this template rendered as `scaffolded`: the tests build
    /// and load it, so what `new-connector` writes is known to build and load.
    #[test]
    fn the_template_renders_the_committed_scaffolded_fixture() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/fixtures/scaffolded");
        for (path, contents) in render("scaffolded").unwrap() {
            let committed = std::fs::read_to_string(root.join(path)).unwrap();
            assert_eq!(
                committed, contents,
                "{path} differs from the template's output"
            );
        }
    }

    /// `plugins/fixtures/manifests/scaffolded-manifest.yaml` and
    /// `tests/tests/e2e/scaffolded_manifest.rs` are the declarative templates rendered as
    /// `scaffolded-manifest`: the end-to-end suite runs them, so what `--declarative` writes
    /// is known to load and pass.
    #[test]
    fn the_declarative_templates_render_the_committed_fixture_and_its_test() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (manifest, test) = render_declarative("scaffolded-manifest").unwrap();
        let committed = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
        assert_eq!(
            committed("plugins/fixtures/manifests/scaffolded-manifest.yaml"),
            manifest
        );
        assert_eq!(committed("tests/tests/e2e/scaffolded_manifest.rs"), test);
    }

    #[test]
    fn test_modules_are_added_in_order() {
        let dir = tempfile_dir().join("modules");
        std::fs::create_dir_all(&dir).unwrap();
        let main = dir.join("main.rs");
        std::fs::write(&main, "//! Suite.\n\nmod alpha;\nmod gamma;\n").unwrap();
        add_test_module(&main, "beta").unwrap();
        add_test_module(&main, "zeta").unwrap();
        assert_eq!(
            std::fs::read_to_string(&main).unwrap(),
            "//! Suite.\n\nmod alpha;\nmod beta;\nmod gamma;\nmod zeta;\n"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn names_are_checked_and_turned_into_titles_and_types() {
        let files = render("acme-desk").unwrap();
        assert!(files[1].1.contains("pub struct AcmeDesk {"));
        assert!(
            files[1]
                .1
                .contains(r#"ConnectorInfo::builder("acme-desk", "Acme Desk")"#)
        );
        for bad in ["", "Acme", "9lives", "a_b", "a-", "../x"] {
            assert!(render(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn members_gain_the_new_crate() {
        let dir = tempfile_dir();
        let manifest = dir.join("Cargo.toml");
        std::fs::write(&manifest, "[workspace]\nmembers = [\"a\", \"b\"]\n").unwrap();
        add_member(&manifest, "new-one").unwrap();
        assert_eq!(
            std::fs::read_to_string(&manifest).unwrap(),
            "[workspace]\nmembers = [\"a\", \"b\", \"new-one\"]\n"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-new-connector-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
