//! `cargo xtask docs`: checks the book in `docs/` and the README (every relative link and image
//! resolves, every page is in `SUMMARY.md` and every entry there exists), then builds the book
//! into `target/book/` when `mdbook` is installed. The check runs in `cargo xtask test` too.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// Checks the links, then builds the book if `mdbook` is on the PATH.
pub fn build(root: &Path) -> anyhow::Result<()> {
    check(root)?;
    let installed = Command::new("mdbook")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !installed {
        println!(
            "xtask: mdbook is not installed; the book reads as plain Markdown in docs/src/ \
             (cargo install mdbook, then run this again to build it)"
        );
        return Ok(());
    }
    let status = Command::new("mdbook")
        .arg("build")
        .arg(root.join("docs"))
        .status()
        .context("running mdbook")?;
    if !status.success() {
        bail!("mdbook build failed");
    }
    println!(
        "xtask: the book is in {}",
        root.join("target/book").display()
    );
    Ok(())
}

/// Every relative link of the book and the README resolves, and `SUMMARY.md` lists exactly
/// the book's pages.
pub fn check(root: &Path) -> anyhow::Result<()> {
    let src = root.join("docs/src");
    let mut broken = Vec::new();
    let mut pages = Vec::new();
    collect(&src, &mut pages)?;
    let mut files = pages.clone();
    files.push(root.join("README.md"));
    for file in &files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        for target in links(&text) {
            let path = target.split('#').next().unwrap_or_default();
            if path.is_empty() {
                continue;
            }
            let resolved = file.parent().unwrap_or(root).join(path);
            if !resolved.exists() {
                broken.push(format!("{}: `{target}` does not exist", file.display()));
            }
        }
    }
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).context("reading SUMMARY.md")?;
    let listed: BTreeSet<PathBuf> = links(&summary).iter().map(|l| src.join(l)).collect();
    for page in &pages {
        let name = page
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name != "SUMMARY.md" && !listed.contains(page) {
            broken.push(format!("{}: not listed in SUMMARY.md", page.display()));
        }
    }
    if !broken.is_empty() {
        for line in &broken {
            eprintln!("{line}");
        }
        bail!("{} broken link(s) in the docs", broken.len());
    }
    println!(
        "xtask: docs hold: {} pages, every link resolves",
        pages.len()
    );
    Ok(())
}

/// The targets of `[text](target)` and `![alt](target)` outside code blocks that are
/// relative paths (not `http:`, `https:`, `mailto:` or a bare `#anchor`).
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Inline code (`[x](y)` in backticks) is text, not a link.
        let prose: String = line
            .split('`')
            .enumerate()
            .filter(|(n, _)| n % 2 == 0)
            .map(|(_, part)| part)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = rest[..end].trim();
            let external = target.contains("://") || target.starts_with("mailto:");
            if !external && !target.starts_with('#') && !target.is_empty() && !target.contains('`')
            {
                found.push(target.to_owned());
            }
            rest = &rest[end..];
        }
    }
    found
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out.sort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_outside_code_and_relative_only() {
        let text = "see [a](guide/a.md) and ![i](images/x.png#top)\n```\n[no](code.md)\n```\n\
                    [web](https://example.com) [anchor](#here) `[x](y)`";
        assert_eq!(links(text), vec!["guide/a.md", "images/x.png#top"]);
    }

    #[test]
    fn the_book_and_readme_links_resolve() {
        check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap();
    }
}
