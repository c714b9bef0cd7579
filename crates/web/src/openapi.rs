//! The OpenAPI 3.1 document of `/api/v1`, generated from the route registry so
//! that every operation declares its security (or that it is public).

use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::routes::{registry, Access};

/// Builds the document.
pub fn build() -> Value {
    let mut paths = Map::new();
    // One generator for the whole document: the schemas of request and answer
    // types land once in `components.schemas`, referenced from each operation.
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().with(|s| s.definitions_path = "/components/schemas".into()).into_generator();
    for spec in registry().specs().into_iter().filter(|s| s.is_api()) {
        let path = spec.path.trim_start_matches("/api/v1");
        let mut params: Vec<Value> = spec
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        for q in spec.doc.query {
            let schema: Value =
                serde_json::from_str(q.schema).unwrap_or_else(|e| panic!("{} {}: query parameter {}: schema is not JSON: {e}", spec.method, spec.path, q.name));
            params.push(json!({"name": q.name, "in": "query", "required": q.required, "schema": schema}));
        }
        let answer = spec.doc.response.map_or_else(|| json!({}), |f| f(&mut generator).to_value());
        let success = if spec.doc.status == 0 { 200 } else { spec.doc.status };
        let security = match spec.access {
            Access::Public => json!([]),
            _ => json!([{"bearerAuth": []}, {"cookieAuth": []}]),
        };
        let op_id = format!("{}_{}", spec.method.as_str().to_lowercase(), path.trim_matches('/').replace(['/', '.'], "_").replace(['{', '}'], ""));
        let mut responses = json!({
            "400": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"}
        });
        responses[success.to_string()] = json!({"description": "OK", "content": {"application/json": {"schema": answer}}});
        if spec.access != Access::Public {
            responses["401"] = json!({"$ref": "#/components/responses/Error"});
            responses["403"] = json!({"$ref": "#/components/responses/Error"});
        }
        let mut op = json!({
            "operationId": op_id,
            "summary": spec.summary,
            "parameters": params,
            "security": security,
            "x-veille-access": spec.access,
            "responses": responses,
        });
        if spec.method == axum::http::Method::POST {
            // A write can meet a newer version than the one it was based on,
            // or (people) probable duplicates to review first.
            op["responses"]["409"] = json!({"$ref": "#/components/responses/Error"});
        }
        if !spec.doc.query.is_empty() {
            // A value the schema lets through may still say nothing the
            // handler can read (a month 0000000): 422 with its field.
            op["responses"]["422"] = json!({"$ref": "#/components/responses/Invalid"});
        }
        if spec.method == axum::http::Method::PUT {
            // An upload of raw bytes (an attachment by its hash): kept (201) or already there (200).
            op["requestBody"] = json!({"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}});
            op["responses"]["201"] = op["responses"][success.to_string()].clone();
            op["responses"]["422"] = json!({"$ref": "#/components/responses/Invalid"});
        }
        if let Some(f) = spec.doc.request {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": f(&mut generator).to_value()}}});
            op["responses"]["422"] = json!({"$ref": "#/components/responses/Invalid"});
        }
        paths.entry(path.to_owned()).or_insert_with(|| json!({})).as_object_mut().map(|o| o.insert(spec.method.as_str().to_lowercase(), op));
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "veille API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "JSON API of veille. Authenticate with a personal API token (Authorization: Bearer …) created on the account page. Every answer is filtered by the same permission function as the pages."
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "__Host-veille_session"}
            },
            "responses": {
                "Invalid": {
                    "description": "Fields that did not validate, each with a message in the caller's language",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["error"],
                        "properties": {"error": {"type": "object", "required": ["code", "message", "fields"],
                            "properties": {"code": {"const": "invalid"}, "message": {"type": "string"},
                                "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}}
                    }}}
                },
                "Error": {
                    "description": "An error with a message in the caller's language",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["error"],
                        "properties": {"error": {"type": "object", "required": ["code", "message"],
                            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "detail": {"type": "string"}}}}
                    }}}
                }
            }
        }
    });
    crate::api_contract::bound_integer_formats(&mut document);
    document
}

/// GET /api/v1/openapi.json
pub async fn document() -> Response {
    axum::Json(build()).into_response()
}
