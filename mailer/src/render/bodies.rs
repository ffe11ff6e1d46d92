//! The two bodies of an email, plain text and HTML, from the same blocks.

use super::*;

/// Text someone typed, on one line: control characters (line breaks included) become
/// spaces, so a name cannot start a new line in a subject or a greeting.
pub(super) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

pub(super) fn text_body(
    shop: Shop<'_>,
    greeting: &str,
    blocks: &[Block],
    footer: &[Block],
) -> String {
    let mut text = format!("{greeting}\n\n");
    let mut write = |blocks: &[Block]| {
        for block in blocks {
            match block {
                Block::Paragraph(paragraph) => text.push_str(paragraph),
                Block::Link { label, url, .. } => {
                    text.push_str(&format!("{label}:\n{url}"));
                }
                Block::Quote { by, text: quoted } => {
                    text.push_str(&format!("{by}:\n"));
                    let lines: Vec<String> =
                        quoted.lines().map(|line| format!("> {line}")).collect();
                    text.push_str(&lines.join("\n"));
                }
            }
            text.push_str("\n\n");
        }
    };
    write(blocks);
    if !footer.is_empty() {
        write(footer);
    }
    // "-- " on its own line: where mail programs know a signature starts.
    text.push_str(&format!("-- \n{}\n{}\n", shop.name, shop.url.as_str()));
    text
}

/// Styles inline, as mail programs drop style sheets.
pub(super) const BODY_STYLE: &str = "margin:0;padding:24px;background:#ffffff;color:#1f2328;\
    font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5";
pub(super) const BUTTON_STYLE: &str = "display:inline-block;padding:10px 18px;border-radius:6px;\
    background:#0b5cad;color:#ffffff;font-weight:bold;text-decoration:none";
pub(super) const SMALL_STYLE: &str = "font-size:14px;color:#57606a";

pub(super) fn html_body(
    shop: Shop<'_>,
    subject: &str,
    greeting: &str,
    blocks: &[Block],
    footer: &[Block],
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (subject) }
            }
            body style=(BODY_STYLE) {
                div style="max-width:560px;margin:0 auto" {
                    p style="font-size:18px;font-weight:bold;margin:0 0 24px" { (shop.name) }
                    p { (greeting) }
                    @for block in blocks {
                        (html_block(block, false))
                    }
                    hr style="border:none;border-top:1px solid #d0d7de;margin:24px 0";
                    @for block in footer {
                        (html_block(block, true))
                    }
                    p style=(SMALL_STYLE) {
                        (shop.name) " · " a href=(shop.url.as_str()) { (shop.url.as_str()) }
                    }
                }
            }
        }
    }
}

pub(super) fn html_block(block: &Block, small: bool) -> Markup {
    match block {
        Block::Paragraph(paragraph) if small => html! { p style=(SMALL_STYLE) { (paragraph) } },
        Block::Paragraph(paragraph) => html! { p { (paragraph) } },
        Block::Link { label, url, .. } if small => {
            html! { p style=(SMALL_STYLE) { a href=(url) { (label) } } }
        }
        Block::Link {
            label,
            url,
            spelled_out,
        } => html! {
            p { a href=(url) style=(BUTTON_STYLE) { (label) } }
            @if *spelled_out {
                p style=(SMALL_STYLE) {
                    "If the button does not work, copy this address into your browser:"
                    br;
                    span style="word-break:break-all" { (url) }
                }
            }
        },
        Block::Quote { by, text } => html! {
            p { (by) ":" }
            blockquote style="margin:0 0 16px;padding:8px 16px;border-left:4px solid #d0d7de;white-space:pre-wrap" {
                (text)
            }
        },
    }
}
