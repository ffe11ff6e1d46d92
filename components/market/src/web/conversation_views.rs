//! The HTML of conversations: the inbox (`/conversations`), a conversation's page
//! (`/conversations/{id}`), its thread and reply form (also on an order's page), and the
//! question to a seller (on an item's page and an order's). A message is plain text:
//! maud escapes it, CSS keeps its line breaks, and nothing in it becomes a link.

use maud::{Markup, html};

use crate::domain::conversation::{Conversation, MESSAGE_MAX_CHARS, Message};
use crate::storage::db::OwnPage;
use crate::web::trade_views::{
    BEFORE_PARAM, INBOX, Refused, alert, ask_path, at, conversation_path, csrf_field, item_path,
    person_link, text_area,
};
use crate::web::views::{Header, layout};

/// A question to a seller that was refused: why, and the text as it was typed.
#[derive(Debug, Clone, Copy)]
pub struct AskProblem<'a> {
    pub message: &'a str,
    pub typed: &'a str,
}

/// The form that writes to the seller of item `item` (`POST /items/{id}/ask`), starting
/// the viewer's conversation about it or adding to it.
pub(crate) fn ask_form(
    item: i64,
    label: &str,
    csrf_token: &str,
    problem: Option<AskProblem>,
) -> Markup {
    let error_id = problem.map(|_| "ask-error");
    html! {
        form.message-form #ask-form method="post" action=(ask_path(item)) {
            (csrf_field(csrf_token))
            @if let Some(problem) = problem { (alert("ask-error", problem.message)) }
            (text_area("ask-text", label, MESSAGE_MAX_CHARS, true,
                problem.map_or("", |problem| problem.typed), error_id))
            button type="submit" { "Send" }
        }
    }
}

/// The form that adds a message to conversation `id`, with why the last one was refused.
pub(crate) fn reply_form(id: i64, csrf_token: &str, refused: Option<&Refused>) -> Markup {
    let error_id = refused.map(|_| "reply-error");
    html! {
        form.message-form #reply-form method="post" action={ (conversation_path(id)) "/messages" } {
            (csrf_field(csrf_token))
            @if let Some(refused) = refused { (alert("reply-error", refused.message)) }
            (text_area("reply-text", "Your message", MESSAGE_MAX_CHARS, true,
                refused.map_or("", |refused| refused.form.value(crate::web::trade_views::TEXT_FIELD)),
                error_id))
            button type="submit" { "Send" }
        }
    }
}

/// Messages oldest to newest, each with who wrote it ("You" for `viewer`) and when;
/// `latest` puts `id="latest"` on the last, where a reply comes back to.
pub(crate) fn thread(messages: &[Message], viewer: i64, latest: bool) -> Markup {
    let last = messages.len().saturating_sub(1);
    html! {
        ol.messages {
            @for (index, message) in messages.iter().enumerate() {
                @let mine = message.author_id == viewer;
                li.message.mine[mine] id=[(latest && index == last).then_some("latest")] {
                    p.message-meta {
                        strong { @if mine { "You" } @else { (message.author_name) } }
                        " · " (at(&message.sent_at))
                    }
                    p.message-text { (message.text) }
                }
            }
        }
    }
}

/// The other person of a conversation, as the viewer sees it: their id and name.
fn other(conversation: &Conversation, viewer: i64) -> (i64, &str) {
    if conversation.asker_id == viewer {
        (conversation.seller_id, &conversation.seller_name)
    } else {
        (conversation.asker_id, &conversation.asker_name)
    }
}

/// `/conversations`: the viewer's conversations, newest activity first, with what they
/// have not read.
pub fn inbox_page(conversations: &[Conversation], viewer: i64, header: &Header) -> Markup {
    let content = html! {
        h1 { "Inbox" }
        @if conversations.is_empty() {
            p.empty { "No conversations yet. Ask a seller about an item on its page." }
        } @else {
            table.records.inbox {
                caption { "Your conversations, newest activity first" }
                thead { tr { th scope="col" { "Item" } th scope="col" { "With" }
                             th scope="col" { "Last message" } th scope="col" { "Unread" } } }
                tbody {
                    @for conversation in conversations {
                        @let (other_id, other_name) = other(conversation, viewer);
                        tr.unread[conversation.unread > 0] #{ "conversation-" (conversation.id) } {
                            td { a href=(conversation_path(conversation.id)) { (conversation.item_name) } }
                            td { (person_link(other_id, other_name, None)) }
                            td { (at(&conversation.last_message_at)) }
                            td {
                                @if conversation.unread > 0 {
                                    strong.unread-count { (conversation.unread) " unread" }
                                } @else { "All read" }
                            }
                        }
                    }
                }
            }
        }
    };
    layout("Inbox", header, content)
}

/// Everything a conversation's page shows.
pub struct ConversationView<'a> {
    pub conversation: &'a Conversation,
    pub page: &'a OwnPage<Message>,
    pub viewer: i64,
    /// Whether this is a page of older messages (`?before=`).
    pub older: bool,
    pub csrf_token: &'a str,
    pub header: Header<'a>,
    /// The reply that was refused, if the page is shown again for it.
    pub refused: Option<Refused<'a>>,
}

/// `/conversations/{id}`: the thread oldest to newest, older messages a link away, and
/// the reply form.
pub fn conversation_page(view: &ConversationView) -> Markup {
    let conversation = view.conversation;
    let path = conversation_path(conversation.id);
    let (other_id, other_name) = other(conversation, view.viewer);
    let title = format!("About “{}”", conversation.item_name);
    let content = html! {
        h1 { (title) }
        p {
            "Your conversation with " (person_link(other_id, other_name, None))
            " about " a href=(item_path(conversation.item_id)) { (conversation.item_name) } "."
        }
        @if let Some(next) = view.page.next {
            nav.pagination aria-label="Older messages" {
                a rel="next" href={ (path) "?" (BEFORE_PARAM) "=" (next) } { "Older messages" }
            }
        }
        @if view.page.entries.is_empty() {
            p.empty { "No messages here." }
        } @else {
            (thread(&view.page.entries, view.viewer, !view.older))
        }
        @if view.older {
            nav.pagination aria-label="Newer messages" { a href=(path) { "Newest messages" } }
        }
        section aria-labelledby="reply-heading" {
            h2 #reply-heading { "Reply" }
            (reply_form(conversation.id, view.csrf_token, view.refused.as_ref()))
        }
        p { a href=(INBOX) { "Back to the inbox" } }
    };
    layout(&title, &view.header, content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::item::FieldErrors;
    use crate::web::form::PostedForm;
    use crate::web::trade_views::tests::signed_in;

    fn conversation(unread: i64) -> Conversation {
        Conversation {
            id: 3,
            item_id: 5,
            item_name: "Lamp".into(),
            asker_id: 1,
            asker_name: "Ada".into(),
            seller_id: 2,
            seller_name: "Bo".into(),
            last_message_at: "2026-11-22T10:00:00.000000Z".into(),
            unread,
        }
    }

    fn message(id: i64, author_id: i64, text: &str) -> Message {
        Message {
            id,
            author_id,
            author_name: if author_id == 1 { "Ada" } else { "Bo" }.into(),
            text: text.into(),
            sent_at: "2026-11-22T10:00:00.000000Z".into(),
        }
    }

    fn page(view: &ConversationView) -> String {
        conversation_page(view).into_string()
    }

    #[test]
    fn a_message_is_plain_text_never_markup_or_a_link() {
        let conversation = conversation(0);
        let messages = OwnPage {
            entries: vec![
                message(1, 2, "Hi"),
                message(
                    2,
                    2,
                    "<script>alert(1)</script>\nhttps://evil.example/x?a=1&b=2",
                ),
            ],
            next: None,
        };
        let html = page(&ConversationView {
            conversation: &conversation,
            page: &messages,
            viewer: 1,
            older: false,
            csrf_token: "tok",
            header: signed_in(),
            refused: None,
        });
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains(
                "&lt;script&gt;alert(1)&lt;/script&gt;\nhttps://evil.example/x?a=1&amp;b=2"
            )
        );
        assert!(!html.contains(r#"href="https://evil.example"#), "{html}");
        assert_eq!(html.matches(r#"id="latest""#).count(), 1);
        let last = html.find(r#"id="latest""#).unwrap();
        assert!(
            html[last..].contains("evil.example"),
            "the last is the latest"
        );
        assert!(html.contains(r#"<strong>Bo</strong>"#));
        assert!(html.contains(r#"action="/conversations/3/messages""#));
        assert!(html.contains(r#"<label for="reply-text">Your message</label>"#));
        assert!(html.contains(r#"maxlength="2000" required"#), "{html}");
    }

    #[test]
    fn older_messages_are_a_link_away_and_a_refused_reply_keeps_its_text() {
        let conversation = conversation(0);
        let messages = OwnPage {
            entries: vec![message(60, 1, "Mine")],
            next: Some(60),
        };
        let form = PostedForm::parse(b"text=Again+%3Cb%3E");
        let html = page(&ConversationView {
            conversation: &conversation,
            page: &messages,
            viewer: 1,
            older: false,
            csrf_token: "tok",
            header: signed_in(),
            refused: Some(Refused {
                message: "You are sending messages too fast.",
                errors: &FieldErrors::default(),
                form: &form,
            }),
        });
        assert!(html.contains(r#"href="/conversations/3?before=60">Older messages"#));
        assert!(html.contains("<strong>You</strong>"), "{html}");
        assert!(html.contains(
            r#"<p class="alert" id="reply-error" role="alert">You are sending messages too fast.</p>"#
        ));
        assert!(html.contains(r#"aria-describedby="reply-error""#));
        assert!(html.contains(">Again &lt;b&gt;</textarea>"), "{html}");
    }

    #[test]
    fn the_inbox_says_what_is_unread_in_words() {
        let html = inbox_page(&[conversation(2), conversation(0)], 2, &signed_in()).into_string();
        assert!(html.contains(r#"<strong class="unread-count">2 unread</strong>"#));
        assert!(html.contains("All read"));
        assert!(html.contains(r#"<a href="/conversations/3">Lamp</a>"#));
        assert!(html.contains(r#"<a href="/people/1">Ada</a>"#), "{html}");
    }
}
