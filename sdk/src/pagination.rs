//! Cursors for the three common pagination styles. Each cursor is opaque text to clients; a
//! cursor that does not decode is an `invalid-config` error naming the problem.

use crate::ConnectorError;

/// Offset pagination (`startAt`/`maxResults`, `offset`/`limit`): the cursor is the next offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OffsetCursor {
    /// Offset of the first entry of the page.
    pub start: u64,
}

impl OffsetCursor {
    /// Reads a cursor; `None` is the first page.
    pub fn decode(cursor: Option<&str>) -> Result<Self, ConnectorError> {
        match cursor {
            None => Ok(Self::default()),
            Some(text) => text
                .strip_prefix("o:")
                .and_then(|n| n.parse().ok())
                .map(|start| Self { start })
                .ok_or_else(|| bad_cursor(text)),
        }
    }

    /// The cursor of the page after one holding `count` entries.
    pub fn next(self, count: usize) -> String {
        format!("o:{}", self.start + count as u64)
    }

    /// The next cursor, or `None` when the page came back short (the vendor has no more).
    pub fn next_if_full(self, count: usize, limit: u32) -> Option<String> {
        (count > 0 && count >= limit as usize).then(|| self.next(count))
    }

    /// One page of a list the vendor returns whole (Figma's project files, an incident's
    /// todos): the entries from the cursor's offset, at most `limit`, and the next page's
    /// cursor while entries remain.
    pub fn page_of<T>(
        all: Vec<T>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<T>, Option<String>), ConnectorError> {
        let at = Self::decode(cursor)?;
        let total = all.len();
        let start = usize::try_from(at.start).unwrap_or(usize::MAX).min(total);
        let entries: Vec<T> = all
            .into_iter()
            .skip(start)
            .take(limit.max(1) as usize)
            .collect();
        let next = (start + entries.len() < total).then(|| at.next(entries.len()));
        Ok((entries, next))
    }

    /// The next cursor unless the vendor said this was the last page (`isLast`) or the page is
    /// empty, or the offset has reached `total` when the vendor reports one.
    pub fn next_unless_last(
        self,
        count: usize,
        is_last: bool,
        total: Option<u64>,
    ) -> Option<String> {
        let reached_total = total.is_some_and(|total| self.start + count as u64 >= total);
        (count > 0 && !is_last && !reached_total).then(|| self.next(count))
    }
}

/// Token pagination (`nextPageToken`, `cursor`): the cursor carries the vendor's token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenCursor {
    /// The vendor's token; `None` for the first page.
    pub token: Option<String>,
}

impl TokenCursor {
    /// Reads a cursor; `None` is the first page.
    pub fn decode(cursor: Option<&str>) -> Result<Self, ConnectorError> {
        match cursor {
            None => Ok(Self::default()),
            Some(text) => match text.strip_prefix("t:") {
                Some(token) if !token.is_empty() => Ok(Self {
                    token: Some(token.to_owned()),
                }),
                _ => Err(bad_cursor(text)),
            },
        }
    }

    /// Wraps the vendor's next token; `None` or empty means there is no next page.
    pub fn next(token: Option<&str>) -> Option<String> {
        token.filter(|t| !t.is_empty()).map(|t| format!("t:{t}"))
    }
}

/// `Link` header pagination (RFC 8288): the cursor is the `rel="next"` URL, which the connector
/// must check is on the vendor's origin before following it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkHeader;

impl LinkHeader {
    /// The `rel="next"` target of a `Link` header value, if any.
    pub fn next(header: &str) -> Option<String> {
        header.split(',').find_map(|link| {
            let mut parts = link.split(';');
            let target = parts.next()?.trim().strip_prefix('<')?.strip_suffix('>')?;
            let is_next = parts.any(|param| {
                let param = param.trim();
                param.strip_prefix("rel=").is_some_and(|rel| {
                    rel.trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
                })
            });
            is_next.then(|| target.to_owned())
        })
    }

    /// The request for one page of a `Link`-paged listing: `first` when the client asks for
    /// the first page, else the `next` URL the cursor carries, which must stay on `origin`.
    /// Pair it with [`crate::http::Response::json_page`].
    pub fn request(
        origin: &str,
        first: crate::http::Request,
        page: &crate::PageRequest,
    ) -> Result<crate::http::Request, ConnectorError> {
        match &page.cursor {
            Some(next) => Ok(crate::http::Request::get(Self::resolve(origin, next)?)),
            None => Ok(first),
        }
    }

    /// Resolves a `next` target (often a path) against the origin it came from, refusing a
    /// cursor that points at another origin: cursors come back from clients and are not trusted.
    pub fn resolve(origin: &str, cursor: &str) -> Result<String, ConnectorError> {
        let base = url::Url::parse(origin).map_err(|_| bad_cursor(cursor))?;
        let target = base.join(cursor).map_err(|_| bad_cursor(cursor))?;
        if target.origin() != base.origin() {
            return Err(bad_cursor(cursor));
        }
        Ok(target.to_string())
    }
}

fn bad_cursor(text: &str) -> ConnectorError {
    let shown: String = text.chars().take(40).collect();
    ConnectorError::InvalidConfig(format!("cursor `{shown}` is not one this connector issued"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_list_is_served_a_page_at_a_time() {
        let (first, next) = OffsetCursor::page_of((1..=5).collect(), None, 2).unwrap();
        assert_eq!((first, next.as_deref()), (vec![1, 2], Some("o:2")));
        let (last, next) = OffsetCursor::page_of((1..=5).collect(), Some("o:4"), 2).unwrap();
        assert_eq!((last, next), (vec![5], None));
        let (past, next) =
            OffsetCursor::page_of((1..=5).collect::<Vec<_>>(), Some("o:9"), 2).unwrap();
        assert_eq!((past.len(), next), (0, None));
        assert!(OffsetCursor::page_of(vec![1], Some("t:x"), 2).is_err());
    }

    #[test]
    fn offset_cursor_round_trips_and_stops_on_a_short_page() {
        let first = OffsetCursor::decode(None).unwrap();
        let next = first.next_if_full(50, 50).unwrap();
        assert_eq!(OffsetCursor::decode(Some(&next)).unwrap().start, 50);
        assert_eq!(first.next_if_full(10, 50), None);
        assert_eq!(first.next_unless_last(50, true, None), None);
        assert_eq!(first.next_unless_last(50, false, Some(50)), None);
        assert_eq!(
            first.next_unless_last(50, false, Some(51)).as_deref(),
            Some("o:50")
        );
    }

    #[test]
    fn foreign_cursors_are_refused() {
        assert!(OffsetCursor::decode(Some("50")).is_err());
        assert!(OffsetCursor::decode(Some("o:-1")).is_err());
        assert!(TokenCursor::decode(Some("o:5")).is_err());
        assert!(TokenCursor::decode(Some("t:")).is_err());
    }

    #[test]
    fn token_cursor_wraps_the_vendor_token() {
        let next = TokenCursor::next(Some("abc==")).unwrap();
        assert_eq!(
            TokenCursor::decode(Some(&next)).unwrap().token.as_deref(),
            Some("abc==")
        );
        assert_eq!(TokenCursor::next(Some("")), None);
    }

    #[test]
    fn link_header_finds_next_among_several() {
        let header = r#"</wiki/api/v2/spaces?cursor=a>; rel="prev", </wiki/api/v2/spaces?cursor=b>; rel="next""#;
        assert_eq!(
            LinkHeader::next(header).as_deref(),
            Some("/wiki/api/v2/spaces?cursor=b")
        );
        assert_eq!(LinkHeader::next(r#"<https://x/y>; rel="prev""#), None);
    }

    #[test]
    fn link_cursor_must_stay_on_the_origin() {
        let origin = "https://site.atlassian.net";
        assert_eq!(
            LinkHeader::resolve(origin, "/wiki/api/v2/spaces?cursor=b").unwrap(),
            "https://site.atlassian.net/wiki/api/v2/spaces?cursor=b"
        );
        assert!(LinkHeader::resolve(origin, "https://evil.example/steal").is_err());
        assert!(LinkHeader::resolve(origin, "//evil.example/x").is_err());
    }
}
