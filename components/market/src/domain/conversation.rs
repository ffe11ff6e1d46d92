//! Conversations between a listing's seller and someone asking about it: one per
//! listing and asker, never with oneself, plain-text messages of 1–2,000 characters,
//! sending limited per person.

/// Longest message, in characters.
pub const MESSAGE_MAX_CHARS: usize = 2_000;
/// Messages a person may send in a minute, over all their conversations.
pub const MESSAGES_PER_MINUTE: i64 = 10;
/// Messages of a conversation shown at a time, newest page first.
pub const MESSAGES_PAGE: u32 = 50;

/// A message as written: trimmed at its ends, 1 to [`MESSAGE_MAX_CHARS`] characters, no
/// control characters but line breaks and tabs. Shown as plain text (escaped; links are
/// not made clickable).
pub fn message_text(text: &str) -> Result<String, String> {
    let text = text.trim().replace("\r\n", "\n");
    let length = text.chars().count();
    if length == 0 {
        return Err("Write a message.".into());
    }
    if length > MESSAGE_MAX_CHARS {
        return Err(format!(
            "A message may be at most {MESSAGE_MAX_CHARS} characters ({length} written)."
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("A message cannot hold control characters.".into());
    }
    Ok(text)
}

/// A conversation as one of its two people sees it in their inbox.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conversation {
    pub id: i64,
    pub item_id: i64,
    pub item_name: String,
    pub asker_id: i64,
    pub asker_name: String,
    pub seller_id: i64,
    pub seller_name: String,
    /// RFC 3339, UTC.
    pub last_message_at: String,
    /// Messages from the other person the viewer has not read.
    pub unread: i64,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    pub id: i64,
    pub author_id: i64,
    pub author_name: String,
    pub text: String,
    /// RFC 3339, UTC.
    pub sent_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_one_to_two_thousand_characters_of_text() {
        assert_eq!(
            message_text("  Fits 1.80 m?\r\n Yes ").unwrap(),
            "Fits 1.80 m?\n Yes"
        );
        assert!(message_text("   ").is_err());
        assert!(message_text(&"é".repeat(2_000)).is_ok());
        assert!(message_text(&"é".repeat(2_001)).is_err());
        assert!(message_text("bell \u{7}").is_err());
    }
}
