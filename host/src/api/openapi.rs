//! The OpenAPI 3.1 document of the control API, built from the route table.

use serde_json::{json, Map, Value};
use std::sync::OnceLock;

use super::auth::{API_KEY_HEADER, RESET_KEY_HEADER};
use super::routes::{route_docs, Auth, Body, RouteDoc};
use super::schemas;

/// `operationId`: method and path, e.g. `get_api_trading_state`, `get_root` for `/`.
fn operation_id(r: &RouteDoc) -> String {
    let tail: String = r
        .path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .trim_matches('_')
        .to_string();
    format!(
        "{}_{}",
        r.method,
        if tail.is_empty() { "root" } else { &tail }
    )
}

fn success(body: Body) -> Value {
    let (mime, schema) = match body {
        Body::Json(name) => ("application/json", schemas::reference(name)),
        Body::JsonList(name) => (
            "application/json",
            json!({ "type": "array", "items": schemas::reference(name) }),
        ),
        Body::Html => ("text/html", json!({ "type": "string" })),
        Body::Prometheus => ("text/plain", json!({ "type": "string" })),
    };
    json!({ "description": "OK", "content": { mime: { "schema": schema } } })
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schemas::reference("Error") } }
    })
}

fn operation(r: &RouteDoc) -> Value {
    let mut responses = Map::new();
    responses.insert("200".into(), success(r.body));
    // No global `security`, so a read-only operation simply has none.
    let security = match r.auth {
        Auth::None => None,
        Auth::ApiKey => Some(json!([{ "apiKey": [] }])),
        Auth::ApiKeyAndResetKey => Some(json!([{ "apiKey": [], "resetKey": [] }])),
    };
    if r.auth != Auth::None {
        responses.insert(
            "403".into(),
            error(
                "no API key configured ([api].api_key: mutating endpoints are disabled), or a \
                 key missing or wrong; nothing changed",
            ),
        );
    }
    if !r.query.is_empty() {
        // axum's query extractor answers a malformed value in plain text.
        responses.insert(
            "400".into(),
            json!({
                "description": "a query parameter is not an integer",
                "content": { "text/plain": { "schema": { "type": "string" } } }
            }),
        );
    }
    if r.may_fail {
        responses.insert("500".into(), error("the ledger failed"));
    }
    let mut op = json!({
        "operationId": operation_id(r),
        "summary": r.summary,
        "responses": responses,
    });
    if let Some(security) = security {
        op["security"] = security;
    }
    if !r.query.is_empty() {
        op["parameters"] = r
            .query
            .iter()
            .map(|q| {
                json!({
                    "name": q.name,
                    "in": "query",
                    "required": false,
                    "description": q.description,
                    "schema": { "type": "integer", "format": "int64" },
                })
            })
            .collect();
    }
    op
}

/// Builds the document from the route table.
pub fn build() -> Value {
    let mut paths = Map::new();
    for r in route_docs() {
        let item = paths.entry(r.path).or_insert_with(|| json!({}));
        item[r.method] = operation(&r);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "PolyMix control API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Served by `polymix run` on 127.0.0.1:5001 by default ([api].bind). \
                Read-only endpoints need no key. Mutating endpoints need the API key \
                ([api].api_key) in x-api-key, and reset also the reset key in x-reset-key; \
                with no API key configured they answer 403 and change nothing. Money is in \
                micro-dollars unless a field ends in _usd (decimal dollars), share counts in \
                micro-shares (1000000 = one share; a venue can fill a fraction of a hundredth).",
        },
        "paths": paths,
        "components": {
            "schemas": schemas::all(),
            "securitySchemes": {
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": API_KEY_HEADER,
                    "description": "[api].api_key; without it mutating endpoints are disabled",
                },
                "resetKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": RESET_KEY_HEADER,
                    "description": "[api].reset_key (or PAPER_/LIVE_TRADING_RESET_KEY)",
                },
            },
        },
    })
}

/// The document, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_keys_and_a_resolvable_schema() {
        let doc = document();
        let docs = route_docs();
        let mut documented = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            documented += item.as_object().unwrap().len();
            assert!(docs.iter().any(|r| r.path == path), "{path} is not a route");
        }
        assert_eq!(documented, docs.len(), "one operation per route");
        for r in &docs {
            let op = &doc["paths"][r.path][r.method];
            assert!(op.is_object(), "{} {} missing", r.method, r.path);
            if r.method == "get" {
                assert!(
                    op.get("security").is_none(),
                    "{}: reads need no key",
                    r.path
                );
            } else {
                // Every mutating operation needs the API key and says it may answer 403.
                let sec = &op["security"][0];
                assert!(sec.get("apiKey").is_some(), "{} needs x-api-key", r.path);
                assert!(op["responses"]["403"].is_object(), "{}", r.path);
            }
        }
        assert_eq!(
            doc["paths"]["/api/trades"]["get"]["parameters"][0]["name"],
            "since"
        );
        // Every $ref points at a schema that exists.
        let text = doc.to_string();
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "dangling $ref {name}"
            );
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<String> = route_docs().iter().map(operation_id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(ids.contains(&"get_root".to_string()));
    }
}
