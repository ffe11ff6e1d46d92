//! The request id that ties nginx's access log, the components' log lines, the error a
//! person sees and Spin's trace together.
//!
//! The well-formed shape is nginx's own `$request_id`: 32 lower-case hex digits whose
//! second half is not all zero. That is also a W3C trace id, and its second half a valid
//! parent span id, so nginx passes it to Spin in a `traceparent` and Spin's spans carry
//! it (conf.d/default.conf).

/// The header nginx sets, and the response carries back.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

const ID_BYTES: usize = 16;

/// Whether `text` has the shape of a request id (and of a W3C trace id).
pub fn is_well_formed(text: &str) -> bool {
    text.len() == 2 * ID_BYTES
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && text.bytes().skip(ID_BYTES).any(|b| b != b'0')
}

/// The id nginx gave the request when it is well-formed, else a new one: a request that
/// reached Spin without nginx (or with a damaged id) still gets an id of its own.
pub fn from_header(header: Option<&str>) -> String {
    match header {
        Some(id) if is_well_formed(id) => id.to_owned(),
        _ => new_id(),
    }
}

/// A random id; from the clock if the host had no randomness (an id need not be secret,
/// only distinct), so that every request has one.
fn new_id() -> String {
    let mut bytes = [0u8; ID_BYTES];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes = nanos.to_be_bytes();
    }
    bytes[ID_BYTES - 1] |= 1; // the second half never all zeros
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_well_formed_id_and_replaces_any_other() {
        let nginx = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(from_header(Some(nginx)), nginx);
        for bad in [
            "",
            "4BF92F3577B34DA6A3CE929D0E0E4736",
            "4bf92f3577b34da6a3ce929d0e0e473",
            "4bf92f3577b34da6a3ce929d0e0e4736a",
            "00000000000000000000000000000000",
            "4bf92f3577b34da60000000000000000",
            "4bf92f3577b34da6-3ce929d0e0e4736",
            "\"},\"level\":\"forged\"",
        ] {
            let replaced = from_header(Some(bad));
            assert_ne!(replaced, bad);
            assert!(is_well_formed(&replaced), "{replaced}");
        }
        assert!(is_well_formed(&from_header(None)));
    }
}
