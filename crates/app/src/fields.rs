//! Problems with what was typed, by field, already in the user's language:
//! the forms show each next to its field and keep what was typed; the JSON
//! API answers them as a 422 with the same messages.

use std::collections::BTreeMap;

/// Errors of a form, by field name, already in the user's language.
#[derive(Clone, Debug, Default)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    /// No errors.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds an error to a field.
    pub fn add(&mut self, field: &str, message: String) {
        self.0.entry(field.to_owned()).or_insert(message);
    }
    /// The error of a field, or empty.
    pub fn get(&self, field: &str) -> String {
        self.0.get(field).cloned().unwrap_or_default()
    }
    /// Whether a field has an error.
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }
    /// Whether there is any error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// All errors, for the summary at the top of the form.
    pub fn all(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}
