//! Limits on what one request's document may ask, checked before it runs (the depth and
//! complexity limits, which weigh lists by `first` and statistics fields heavily, are checked
//! after validation by `graphql::errors::QueryLimits`):
//! - every field selection counts, aliases and fragment spreads included: at most
//!   `MAX_FIELDS` per request, `MAX_ANONYMOUS_FIELDS` without a valid token;
//! - at most `MAX_INTROSPECTION_ROOTS` `__schema` / `__type` selections per request (one
//!   GraphiQL introspection query uses one; 875 aliased ones answered 15.8 MB);
//! - selections nested at most `MAX_NESTING` deep (fragments count), at most
//!   `MAX_DIRECTIVES` directives on one field.
//!
//! Over a limit: QUERY_TOO_COMPLEX, before anything runs.

use async_graphql::Positioned;

use crate::errors::ApiError;
use async_graphql::parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet};

pub const MAX_FIELDS: usize = 2_000;
pub const MAX_ANONYMOUS_FIELDS: usize = 400;
pub const MAX_INTROSPECTION_ROOTS: usize = 2;
/// Deepest nesting of selection sets, fragments included (the parser's own guard is deeper).
pub const MAX_NESTING: usize = 32;
pub const MAX_DIRECTIVES: usize = 20;
/// The largest answer of a query; a larger one is replaced by QUERY_TOO_COMPLEX.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Count {
    fields: usize,
    introspection: usize,
}

/// QUERY_TOO_COMPLEX naming the limit, if the document asks too much.
pub fn check(doc: &ExecutableDocument, anonymous: bool) -> Result<(), ApiError> {
    count(doc, anonymous).map_err(ApiError::QueryTooComplex)
}

fn count(doc: &ExecutableDocument, anonymous: bool) -> Result<(), String> {
    let max_fields = if anonymous { MAX_ANONYMOUS_FIELDS } else { MAX_FIELDS };
    let mut count = Count::default();
    for (_, op) in doc.operations.iter() {
        walk(doc, &op.node.selection_set, &mut count, 0, max_fields)?;
    }
    if count.introspection > MAX_INTROSPECTION_ROOTS {
        return Err(format!("at most {MAX_INTROSPECTION_ROOTS} __schema or __type selections per request, not {}", count.introspection));
    }
    Ok(())
}

fn walk(doc: &ExecutableDocument, set: &Positioned<SelectionSet>, count: &mut Count, depth: usize, max: usize) -> Result<(), String> {
    // Fragment cycles are refused by validation later; this stops them looping here too.
    if depth > MAX_NESTING {
        return Err(format!("selections are nested more than {MAX_NESTING} deep (fragments count)"));
    }
    for item in &set.node.items {
        match &item.node {
            Selection::Field(field) => {
                count.fields += 1;
                if field.node.directives.len() > MAX_DIRECTIVES {
                    return Err(format!("more than {MAX_DIRECTIVES} directives on the field `{}`", field.node.name.node));
                }
                if count.fields > max {
                    let who = if max == MAX_ANONYMOUS_FIELDS { " without a token" } else { "" };
                    return Err(format!("more than {max} field selections per request{who} (aliases and fragments count)"));
                }
                if matches!(field.node.name.node.as_str(), "__schema" | "__type") {
                    count.introspection += 1;
                }
                walk(doc, &field.node.selection_set, count, depth + 1, max)?;
            }
            Selection::InlineFragment(fragment) => walk(doc, &fragment.node.selection_set, count, depth + 1, max)?,
            Selection::FragmentSpread(spread) => {
                let fragment: Option<&Positioned<FragmentDefinition>> = doc.fragments.get(&spread.node.fragment_name.node);
                if let Some(fragment) = fragment {
                    walk(doc, &fragment.node.selection_set, count, depth + 1, max)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(query: &str, anonymous: bool) -> Result<(), String> {
        count(&async_graphql::parser::parse_query(query).map_err(|e| e.to_string())?, anonymous)
    }

    #[test]
    fn aliases_fragments_and_introspection_count() {
        assert!(verdict("{ __typename }", true).is_ok());
        assert!(verdict("{ __schema { types { name fields { name } } } }", true).is_ok());
        let aliased: String = (0..875).map(|i| format!("a{i}: __schema {{ queryType {{ name }} }} ")).collect();
        assert!(verdict(&format!("{{ {aliased} }}"), false).is_err());
        let many: String = (0..3).map(|i| format!("t{i}: __type(name: \"Query\") {{ name }} ")).collect();
        assert!(verdict(&format!("{{ {many} }}"), false).is_err_and(|e| e.contains("__schema or __type")));
        let fields: String = (0..300).map(|i| format!("f{i}: __typename ")).collect();
        let doc = format!("query {{ ...F ...F }} fragment F on Query {{ {fields} }}");
        assert!(verdict(&doc, true).is_err_and(|e| e.contains("without a token")), "fragment spreads count each time");
        assert!(verdict(&doc, false).is_ok());
        assert!(verdict("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }", false).is_err());
        let nested = format!("{{ __schema {{ types {{ {}name{} }} }} }}", "ofType { ".repeat(20), " }".repeat(20));
        assert!(verdict(&nested, false).is_ok(), "GraphiQL's introspection nests about this deep");
        let deep = format!("{{ __schema {{ types {{ {}name{} }} }} }}", "ofType { ".repeat(40), " }".repeat(40));
        assert!(verdict(&deep, false).is_err_and(|e| e.contains("nested")));
        let directives = format!("{{ __typename {} }}", "@include(if: true) ".repeat(21));
        assert!(verdict(&directives, false).is_err_and(|e| e.contains("directives")));
    }
}
