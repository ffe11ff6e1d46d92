//! The sell form as a browser posts it (`application/x-www-form-urlencoded`).

use crate::cookies::CSRF_FIELD;
use crate::item::{Description, FieldErrors, ItemName, NewItem, Quantity, field};

/// What the person typed, kept verbatim so a form with mistakes comes back as they left it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SellForm {
    pub name: String,
    pub quantity: String,
    pub description: String,
    pub csrf_token: Option<String>,
}

impl SellForm {
    /// Reads the form fields; the first value wins when a field is repeated.
    pub fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        let mut seen = Vec::new();
        for (key, value) in form_urlencoded::parse(body) {
            if seen.contains(&key) {
                continue;
            }
            match key.as_ref() {
                field::NAME => form.name = value.into_owned(),
                field::QUANTITY => form.quantity = value.into_owned(),
                field::DESCRIPTION => form.description = value.into_owned(),
                CSRF_FIELD => form.csrf_token = Some(value.into_owned()),
                _ => {}
            }
            seen.push(key);
        }
        form
    }

    pub fn validate(&self) -> Result<NewItem, FieldErrors> {
        NewItem::from_parts(
            ItemName::parse(&self.name),
            Quantity::parse_text(&self.quantity),
            Description::parse(&self.description),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_decoded_and_the_first_repeat_wins() {
        let form = SellForm::parse(
            b"name=Old+lamp&quantity=2&description=Brass%21&name=Other&csrf_token=t",
        );
        assert_eq!(form.name, "Old lamp");
        assert_eq!(form.quantity, "2");
        assert_eq!(form.description, "Brass!");
        assert_eq!(form.csrf_token.as_deref(), Some("t"));
        assert!(form.validate().is_ok());
    }

    #[test]
    fn missing_fields_are_reported_as_missing() {
        let errors = SellForm::parse(b"").validate().unwrap_err();
        for name in [field::NAME, field::QUANTITY, field::DESCRIPTION] {
            assert!(errors.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters_not_a_failure() {
        let form = SellForm::parse(b"name=%FF%FE&quantity=1&description=x");
        assert_eq!(form.name, "\u{FFFD}\u{FFFD}");
    }
}
