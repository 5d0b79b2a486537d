//! Refuses a GraphQL request whose string inputs break `domain::input_rules` before it runs,
//! with BAD_USER_INPUT naming the input by its argument path (`filter.region`), also when the
//! value came in a variable (`filter: $f` with `{"f": {"region": …}}` is `filter.region`; a
//! variable not used as an argument is named by itself). Every string is checked, whatever
//! its type (strings, IDs, dates, enums in variables), so no resolver can forget it.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use std::collections::HashMap;

use async_graphql::Positioned;
use async_graphql_value::{ConstValue, Value};
use serde_json::{Map, Value as Json};

use crate::domain::input_rules;

/// The first refused input: its path and why.
pub fn check(doc: &ExecutableDocument, variables: &Map<String, Json>) -> Result<(), (String, String)> {
    // Argument literals first, noting where each variable is used.
    let mut uses = HashMap::new();
    for (_, op) in doc.operations.iter() {
        selections(&op.node.selection_set, &mut uses)?;
    }
    for fragment in doc.fragments.values() {
        selections(&fragment.node.selection_set, &mut uses)?;
    }
    let path = |name: &str| uses.get(name).cloned().unwrap_or_else(|| name.to_owned());
    for (_, op) in doc.operations.iter() {
        for def in &op.node.variable_definitions {
            if let Some(default) = &def.node.default_value {
                constant(&path(def.node.name.node.as_str()), &default.node)?;
            }
        }
    }
    for (name, value) in variables {
        json(&path(name), value)?;
    }
    Ok(())
}

fn refuse(path: &str, value: &str) -> Result<(), (String, String)> {
    match input_rules::refusal(value) {
        Some(why) => Err((path.to_owned(), format!("{path} {why}"))),
        None => Ok(()),
    }
}

fn json(path: &str, value: &Json) -> Result<(), (String, String)> {
    match value {
        Json::String(s) => refuse(path, s),
        Json::Array(items) => items.iter().enumerate().try_for_each(|(i, v)| json(&format!("{path}[{i}]"), v)),
        Json::Object(map) => map.iter().try_for_each(|(k, v)| {
            refuse(path, k)?;
            json(&format!("{path}.{k}"), v)
        }),
        _ => Ok(()),
    }
}

/// A value written in the document (a variable's default, or an argument).
fn constant(path: &str, value: &ConstValue) -> Result<(), (String, String)> {
    match value {
        ConstValue::String(s) => refuse(path, s),
        ConstValue::List(items) => items.iter().enumerate().try_for_each(|(i, v)| constant(&format!("{path}[{i}]"), v)),
        ConstValue::Object(map) => map.iter().try_for_each(|(k, v)| constant(&format!("{path}.{k}"), v)),
        _ => Ok(()),
    }
}

fn selections(set: &Positioned<SelectionSet>, uses: &mut HashMap<String, String>) -> Result<(), (String, String)> {
    for item in &set.node.items {
        match &item.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    literal(name.node.as_str(), &value.node, uses)?;
                }
                selections(&field.node.selection_set, uses)?;
            }
            Selection::InlineFragment(fragment) => selections(&fragment.node.selection_set, uses)?,
            Selection::FragmentSpread(_) => {}
        }
    }
    Ok(())
}

/// An argument as written: its literal strings are checked, its variables' paths noted.
fn literal(path: &str, value: &Value, uses: &mut HashMap<String, String>) -> Result<(), (String, String)> {
    match value {
        Value::String(s) => refuse(path, s),
        Value::Variable(name) => {
            uses.entry(name.to_string()).or_insert_with(|| path.to_owned());
            Ok(())
        }
        Value::List(items) => items.iter().enumerate().try_for_each(|(i, v)| literal(&format!("{path}[{i}]"), v, uses)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| literal(&format!("{path}.{k}"), v, uses)),
        _ => Ok(()),
    }
}
