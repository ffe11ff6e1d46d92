//! Properties of the domain types and parsers, over generated inputs.

use market::domain::item::{Description, ItemName, QUANTITY_MAX, Quantity};
use market::web::api;
use market::web::form::SellForm;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_parsed_name_is_trimmed_bounded_and_parses_to_itself(raw in any::<String>()) {
        if let Ok(name) = ItemName::parse(&raw) {
            let text = name.as_str();
            prop_assert_eq!(text, text.trim());
            prop_assert!((1..=256).contains(&text.chars().count()));
            prop_assert!(!text.chars().any(char::is_control));
            prop_assert_eq!(ItemName::parse(text), Ok(name.clone()));
        }
    }

    #[test]
    fn a_parsed_description_is_trimmed_bounded_and_free_of_nul(raw in any::<String>()) {
        if let Ok(description) = Description::parse(&raw) {
            let text = description.as_str();
            prop_assert_eq!(text, text.trim());
            prop_assert!((1..=2000).contains(&text.chars().count()));
            prop_assert!(!text.contains('\0'));
        }
    }

    #[test]
    fn any_integer_is_a_quantity_exactly_when_in_range(n in any::<i64>()) {
        let in_range = (0..=i64::from(QUANTITY_MAX)).contains(&n);
        prop_assert_eq!(Quantity::from_i64(n).is_ok(), in_range);
        prop_assert_eq!(Quantity::parse_text(&n.to_string()).map(Quantity::get).ok(), in_range.then_some(n as i32));
    }

    #[test]
    fn form_and_json_parsers_never_panic_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let form = SellForm::parse(&body);
        let _ = form.validate();
        let _ = api::parse_new_item(&body);
        let _ = api::parse_purchase(&body);
    }

    #[test]
    fn text_interpolated_into_html_is_always_escaped(text in any::<String>()) {
        let html = maud::html! { p { (text) } input value=(text); }.into_string();
        prop_assert_eq!(html.matches('<').count(), 3, "only our own tags: {}", html);
        prop_assert_eq!(html.matches('"').count(), 2, "attribute quotes only: {}", html);
    }
}
