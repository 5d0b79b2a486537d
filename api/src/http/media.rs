//! Content negotiation for GraphQL over HTTP: which response media type the `Accept`
//! header asks for, and whether a request body is JSON.

/// The response media types Circles speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseType {
    /// `application/graphql-response+json`: HTTP status follows the outcome.
    GraphqlResponse,
    /// `application/json`: 200 for every well-formed GraphQL request.
    Json,
}

impl ResponseType {
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            ResponseType::Json => "application/json; charset=utf-8",
        }
    }
}

/// The preferred supported type of an `Accept` header; `None` when it accepts neither.
/// No header means `application/json`.
pub fn negotiate(accept: Option<&str>) -> Option<ResponseType> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(ResponseType::Json);
    };
    let mut ranges: Vec<(f32, usize, String)> = accept
        .split(',')
        .enumerate()
        .map(|(i, range)| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts.filter_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.trim().parse::<f32>().ok())).next().unwrap_or(1.0);
            (q, i, media)
        })
        .filter(|(q, _, _)| *q > 0.0)
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.into_iter().find_map(|(_, _, media)| match media.as_str() {
        "application/graphql-response+json" => Some(ResponseType::GraphqlResponse),
        "application/json" | "application/*" | "*/*" => Some(ResponseType::Json),
        _ => None,
    })
}

/// Whether a request's media type asks for a browser page.
pub fn wants_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/html"))
}

/// `application/json`, with an optional utf-8 charset.
pub fn is_json_body(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let charset_ok = parts.all(|p| {
        let p = p.trim().to_ascii_lowercase();
        !p.starts_with("charset=") || p == "charset=utf-8" || p == "charset=\"utf-8\""
    });
    media == "application/json" && charset_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResponseType::*;

    #[test]
    fn negotiation_table() {
        let cases: &[(Option<&str>, Option<ResponseType>)] = &[
            (None, Some(Json)),
            (Some(""), Some(Json)),
            (Some("application/json"), Some(Json)),
            (Some("application/graphql-response+json"), Some(GraphqlResponse)),
            (Some("application/graphql-response+json, application/json;q=0.9"), Some(GraphqlResponse)),
            (Some("application/json;q=0.9, application/graphql-response+json"), Some(GraphqlResponse)),
            (Some("*/*"), Some(Json)),
            (Some("text/html"), None),
            (Some("application/graphql-response+json;q=0"), None),
        ];
        for (accept, want) in cases {
            assert_eq!(negotiate(*accept), *want, "{accept:?}");
        }
    }

    #[test]
    fn json_bodies() {
        assert!(is_json_body(Some("application/json")));
        assert!(is_json_body(Some("application/json; charset=utf-8")));
        assert!(!is_json_body(Some("application/json; charset=latin1")));
        assert!(!is_json_body(Some("text/plain")));
        assert!(!is_json_body(None));
    }
}
