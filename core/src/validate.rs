//! Field-level validation errors, reported with JSON paths
//! (`lines[2].amount`) so the case system can point at the bad field.

use serde::Serialize;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// JSON path of the field, e.g. `lines[0].service_code`.
    pub field: String,
    /// Stable snake_case code, e.g. `invalid_check_digit`.
    pub code: String,
    /// English explanation for developers.
    pub message: String,
}

/// All invalid fields of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid field(s)", .0.len())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> ValidationErrors {
        ValidationErrors::default()
    }

    /// One error.
    pub fn single(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        let mut v = ValidationErrors::new();
        v.add(field, code, message);
        v
    }

    pub fn add(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            code: code.to_string(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was added.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// Checks that a text is present after trimming and at most `max` chars;
    /// returns the trimmed text.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let t = value.trim();
        if t.is_empty() {
            self.add(field, "required", "must not be empty");
        } else if t.chars().count() > max {
            self.add(field, "too_long", format!("at most {max} characters"));
        }
        t.to_string()
    }

    /// Like [`ValidationErrors::text`] for optional texts; empty becomes `None`.
    pub fn optional_text(
        &mut self,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        let t = value.map(str::trim).filter(|t| !t.is_empty())?;
        if t.chars().count() > max {
            self.add(field, "too_long", format!("at most {max} characters"));
        }
        Some(t.to_string())
    }

    /// Checks `min <= value <= max`.
    pub fn range(&mut self, field: &str, value: i64, min: i64, max: i64) {
        if value < min || value > max {
            self.add(
                field,
                "out_of_range",
                format!("must be between {min} and {max}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_errors_with_paths() {
        let mut v = ValidationErrors::new();
        assert_eq!(v.text("name", "  Lisa ", 10), "Lisa");
        assert!(v.is_empty());
        v.text("name", "   ", 10);
        v.text("city", "Stockholms stad", 5);
        v.range("lines[0].times", 0, 1, 100);
        assert_eq!(v.optional_text("phone", Some(" "), 5), None);
        let codes: Vec<_> =
            v.0.iter()
                .map(|e| (e.field.as_str(), e.code.as_str()))
                .collect();
        assert_eq!(
            codes,
            vec![
                ("name", "required"),
                ("city", "too_long"),
                ("lines[0].times", "out_of_range")
            ]
        );
        assert!(v.into_result(()).is_err());
    }
}
