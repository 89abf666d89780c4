//! Plugin text on its way into the host's log: control characters escaped, so a plugin cannot
//! forge a log line (a newline and a fake `tenant=` field in text format) or a terminal escape,
//! and the length bounded while it is built, so a flood of fields costs no more than the cap.

/// Appends `text` to `out` with control characters escaped (`\n`, `\u{1b}`), stopping once `out`
/// reaches `max` bytes; returns `false` when it had to stop.
pub(crate) fn push_escaped(out: &mut String, text: &str, max: usize) -> bool {
    for c in text.chars() {
        if out.len() >= max {
            out.push('…');
            return false;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    true
}

/// `text` escaped and cut at `max` bytes.
pub(crate) fn escaped(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 4);
    push_escaped(&mut out, text, max);
    out
}

/// `k=v k=v ...` of the fields, escaped, built no further than `max` bytes.
pub(crate) fn escaped_fields(fields: &[(String, String)], max: usize) -> String {
    let mut out = String::new();
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if !push_escaped(&mut out, key, max)
            || !push_escaped(&mut out, "=", max)
            || !push_escaped(&mut out, value, max)
        {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_line_stays_on_one_line() {
        let text = escaped("done\n2026-01-01 INFO tenant=other forged\u{1b}[2J", 1000);
        assert!(!text.contains('\n') && !text.contains('\u{1b}'));
        assert!(text.contains("done\\n2026"), "{text}");
    }

    #[test]
    fn fields_are_cut_while_built() {
        let many: Vec<_> = (0..100_000)
            .map(|i| (format!("k{i}"), "v".repeat(10)))
            .collect();
        let text = escaped_fields(&many, 2048);
        assert!(text.len() <= 2048 + 4, "{}", text.len());
        assert!(escaped_fields(&[("a\nb".into(), "c".into())], 100) == "a\\nb=c");
    }
}
