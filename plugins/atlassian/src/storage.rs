//! Confluence storage format (XHTML) to readable text, and text to storage format.

/// Renders storage-format XHTML as plain text: block ends become line breaks, list items get a
/// dash, tags are dropped and entities decoded.
pub fn storage_to_text(xhtml: &str) -> String {
    let mut out = String::new();
    let mut rest = xhtml;
    while let Some(start) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..start]));
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let closing = tag.starts_with('/');
        match (name.as_str(), closing) {
            ("br", _) => out.push('\n'),
            ("li", false) => out.push_str("- "),
            (
                "p" | "li" | "tr" | "pre" | "blockquote" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6",
                true,
            ) => out.push('\n'),
            ("td" | "th", true) => out.push(' '),
            _ => {}
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(&decode_entities(rest));
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_owned()
}

fn decode_entities(text: &str) -> String {
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Plain text as storage format: one `<p>` per paragraph, line breaks as `<br/>`, escaped.
pub fn storage_from_text(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let escaped = p
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            format!(
                "<p>{}</p>",
                escaped.lines().collect::<Vec<_>>().join("<br/>")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_becomes_text() {
        let xhtml =
            "<h1>Plan</h1><p>Ship &amp; <strong>tell</strong></p><ul><li>one</li><li>two</li></ul>";
        assert_eq!(storage_to_text(xhtml), "Plan\nShip & tell\n- one\n- two");
    }

    #[test]
    fn text_becomes_escaped_storage() {
        assert_eq!(
            storage_from_text("a < b\nc\n\nnext"),
            "<p>a &lt; b<br/>c</p><p>next</p>"
        );
        assert_eq!(
            storage_to_text(&storage_from_text("a < b\n\nnext")),
            "a < b\nnext"
        );
    }
}
