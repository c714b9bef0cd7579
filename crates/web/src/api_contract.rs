//! The API's published contract, enforced: the query parameters an operation
//! declares in the OpenAPI document are checked against their schemas before
//! the handler runs, so a value the document does not allow (`limit=` empty,
//! `territory=` that is not a UUID, `open_now=maybe`) is a 400 naming the
//! parameter instead of being silently read as "no filter".
//!
//! Only the part of JSON Schema the document uses for query parameters is
//! understood: `type` (string, integer, number, boolean), `enum`, `format`
//! (uuid, date, date-time), `minimum`, `maximum`, `minLength`, `maxLength`.
//! A schema using anything else fails the test that checks every declared
//! parameter ([`unsupported`]).

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use crate::auth::Authenticated;
use crate::routes::QueryParam;

/// A declared parameter with its schema parsed once.
#[derive(Debug, Clone)]
pub struct CheckedParam {
    name: &'static str,
    required: bool,
    schema: Value,
}

/// Parses the schemas of an operation's parameters.
pub fn prepare(params: &[QueryParam]) -> Vec<CheckedParam> {
    params
        .iter()
        .map(|p| CheckedParam {
            name: p.name,
            required: p.required,
            schema: serde_json::from_str(p.schema).unwrap_or_else(|e| panic!("query parameter {}: schema is not JSON: {e}", p.name)),
        })
        .collect()
}

/// The first declared parameter the raw query breaks, with why (sent back to
/// the caller; never logged, it may quote what was sent).
pub fn check(params: &[CheckedParam], raw: Option<&str>) -> Result<(), String> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes()).into_owned().collect();
    for p in params {
        let mut given = pairs.iter().filter(|(k, _)| k == p.name).peekable();
        if p.required && given.peek().is_none() {
            return Err(format!("query parameter `{}` is required", p.name));
        }
        for (_, value) in given {
            if let Err(why) = value_fits(&p.schema, value) {
                return Err(format!("query parameter `{}`: {why}", p.name));
            }
        }
    }
    Ok(())
}

/// The route layer: runs the handler only when the query fits the declared
/// parameters; otherwise a 400 in the caller's language naming the parameter.
pub async fn enforce(params: Arc<Vec<CheckedParam>>, req: Request, next: Next) -> Response {
    match check(&params, req.uri().query()) {
        Ok(()) => next.run(req).await,
        Err(detail) => {
            let (parts, _) = req.into_parts();
            let account_lang = parts.extensions.get::<Authenticated>().map(|w| w.account.lang.clone());
            crate::api::bad_body(crate::page::request_lang(&parts, account_lang.as_deref()), detail)
        }
    }
}

fn value_fits(schema: &Value, value: &str) -> Result<(), String> {
    let number = match schema.get("type").and_then(Value::as_str) {
        Some("integer") => Some(value.parse::<i64>().map_err(|_| "expected an integer".to_owned())? as f64),
        Some("number") => Some(value.parse::<f64>().ok().filter(|f| f.is_finite()).ok_or("expected a number")?),
        Some("boolean") if value == "true" || value == "false" => None,
        Some("boolean") => return Err("expected true or false".into()),
        _ => None,
    };
    if let Some(n) = number {
        if schema.get("minimum").and_then(Value::as_f64).is_some_and(|min| n < min) {
            return Err("below the minimum".into());
        }
        if schema.get("maximum").and_then(Value::as_f64).is_some_and(|max| n > max) {
            return Err("above the maximum".into());
        }
    }
    let chars = value.chars().count() as u64;
    if schema.get("minLength").and_then(Value::as_u64).is_some_and(|min| chars < min) {
        return Err("too short".into());
    }
    if schema.get("maxLength").and_then(Value::as_u64).is_some_and(|max| chars > max) {
        return Err("too long".into());
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        let known = allowed.iter().any(|a| match a {
            Value::String(s) => s == value,
            other => value.parse::<Value>().is_ok_and(|v| v == *other),
        });
        if !known {
            return Err("not one of the allowed values".into());
        }
    }
    let format_ok = match schema.get("format").and_then(Value::as_str) {
        Some("uuid") => uuid::Uuid::parse_str(value).is_ok(),
        Some("date") => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
        Some("date-time") => chrono::DateTime::parse_from_rfc3339(value).is_ok(),
        _ => true,
    };
    if !format_ok {
        return Err("not in the expected format".into());
    }
    Ok(())
}

/// The schema keywords of a declared parameter this check does not
/// understand (a test requires none).
pub fn unsupported(param: &QueryParam) -> Vec<String> {
    const KNOWN: &[&str] = &["type", "enum", "format", "minimum", "maximum", "minLength", "maxLength", "description"];
    const FORMATS: &[&str] = &["uuid", "date", "date-time"];
    let schema: Value = serde_json::from_str(param.schema).unwrap_or(Value::Null);
    let Some(map) = schema.as_object() else { return vec!["(not an object)".into()] };
    let mut out: Vec<String> = map.keys().filter(|k| !KNOWN.contains(&k.as_str())).cloned().collect();
    if let Some(f) = map.get("format").and_then(Value::as_str).filter(|f| !FORMATS.contains(f)) {
        out.push(format!("format {f}"));
    }
    if let Some(t) = map.get("type").and_then(Value::as_str).filter(|t| !["string", "integer", "number", "boolean"].contains(t)) {
        out.push(format!("type {t}"));
    }
    out
}

/// JSON Schema's integer formats as schemars writes them (`uint32`…) carry
/// no bounds a client or fuzzer reads; this adds `minimum`/`maximum` to every
/// integer schema of the document that has such a format and no bound of its
/// own, so a value the server cannot hold is outside the published schema.
pub fn bound_integer_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let bounds: Option<(i64, i64)> = match map.get("format").and_then(Value::as_str) {
                Some("uint8") => Some((0, u8::MAX.into())),
                Some("uint16") => Some((0, u16::MAX.into())),
                Some("uint32") => Some((0, u32::MAX.into())),
                Some("uint64" | "uint") => Some((0, i64::MAX)),
                Some("int8") => Some((i8::MIN.into(), i8::MAX.into())),
                Some("int16") => Some((i16::MIN.into(), i16::MAX.into())),
                Some("int32") => Some((i32::MIN.into(), i32::MAX.into())),
                Some("int64" | "int") => Some((i64::MIN, i64::MAX)),
                _ => None,
            };
            if let Some((min, max)) = bounds {
                map.entry("minimum").or_insert(min.into());
                map.entry("maximum").or_insert(max.into());
            }
            map.values_mut().for_each(bound_integer_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integer_formats),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<CheckedParam> {
        prepare(&[
            QueryParam { name: "limit", schema: r#"{"type": "integer", "minimum": 1, "maximum": 500}"#, required: false },
            QueryParam { name: "territory", schema: r#"{"type": "string", "format": "uuid"}"#, required: false },
            QueryParam { name: "open_now", schema: r#"{"type": "boolean"}"#, required: false },
            QueryParam { name: "status", schema: r#"{"type": "string", "enum": ["open", "closed"]}"#, required: false },
            QueryParam { name: "lat", schema: r#"{"type": "number", "minimum": -90, "maximum": 90}"#, required: true },
        ])
    }

    #[test]
    fn values_the_schema_allows_pass() {
        let ok = "lat=48.85&limit=20&territory=01a23141-339f-73ec-9778-f6cbf7b65941&open_now=true&status=closed&other=anything";
        assert_eq!(check(&params(), Some(ok)), Ok(()));
    }

    #[test]
    fn each_violation_names_the_parameter() {
        for (raw, name) in [
            ("lat=1&limit=", "limit"),
            ("lat=1&limit=0", "limit"),
            ("lat=1&limit=2.5", "limit"),
            ("lat=1&territory=", "territory"),
            ("lat=1&territory=paris", "territory"),
            ("lat=1&open_now=1", "open_now"),
            ("lat=1&status=pending", "status"),
            ("lat=91", "lat"),
            ("lat=NaN", "lat"),
            ("limit=3", "lat"),
        ] {
            let err = check(&params(), Some(raw)).expect_err(raw);
            assert!(err.contains(&format!("`{name}`")), "{raw}: {err}");
        }
    }

    #[test]
    fn every_declared_parameter_uses_only_what_the_check_understands() {
        for spec in crate::routes::registry().specs() {
            for p in spec.doc.query {
                assert_eq!(unsupported(p), Vec::<String>::new(), "{} {} parameter {}", spec.method, spec.path, p.name);
            }
        }
    }

    #[test]
    fn integer_formats_get_bounds() {
        let mut v = serde_json::json!({"properties": {"adults": {"type": "integer", "format": "uint32", "minimum": 0}, "n": {"type": "integer", "format": "int32", "maximum": 10}}});
        bound_integer_formats(&mut v);
        assert_eq!(v["properties"]["adults"]["maximum"], 4_294_967_295_i64);
        assert_eq!(v["properties"]["adults"]["minimum"], 0);
        assert_eq!(v["properties"]["n"]["maximum"], 10);
        assert_eq!(v["properties"]["n"]["minimum"], i64::from(i32::MIN));
    }
}
