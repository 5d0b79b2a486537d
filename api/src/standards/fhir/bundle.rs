//! Search results as a FHIR `Bundle` of type `searchset`: each entry with its `fullUrl` and
//! `search.mode` `match`, a `self` link and, when there is more, a `next` link.

use serde_json::{Value, json};

/// A searchset of `resources` (each with `resourceType` and `id`) found at `self_url`; `base`
/// is the server's `/fhir` URL.
pub fn searchset(base: &str, resources: Vec<Value>, total: Option<u64>, self_url: &str, next_url: Option<&str>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let full_url = format!("{base}/{}/{}", r["resourceType"].as_str().unwrap_or_default(), r["id"].as_str().unwrap_or_default());
            json!({ "fullUrl": full_url, "resource": r, "search": { "mode": "match" } })
        })
        .collect();
    let mut links = vec![json!({ "relation": "self", "url": self_url })];
    if let Some(next) = next_url {
        links.push(json!({ "relation": "next", "url": next }));
    }
    let mut bundle = json!({ "resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries });
    if let Some(total) = total {
        bundle["total"] = json!(total);
    }
    bundle
}

/// A query string from `(name, value)` pairs, percent-encoded.
pub fn query(pairs: &[(&str, String)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        out.append_pair(name, value);
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_links_and_total() {
        let b = searchset(
            "http://x/fhir",
            vec![json!({ "resourceType": "Task", "id": "7" })],
            Some(3),
            "http://x/fhir/Task",
            Some("http://x/fhir/Task?_cursor=a"),
        );
        assert_eq!(b["entry"][0]["fullUrl"], "http://x/fhir/Task/7");
        assert_eq!(b["link"][1]["relation"], "next");
        assert_eq!(b["total"], 3);
        assert_eq!(query(&[("_lastUpdated", "gt2026-01-01T00:00:00+00:00".into())]), "_lastUpdated=gt2026-01-01T00%3A00%3A00%2B00%3A00");
    }
}
