//! Peer-supplied text meant for people: the technician's name, `End` details and the relay's refusal
//! details. Such text reaches terminals and windows, so it must not carry characters that control
//! them: C0/C1 controls (ESC starts terminal escape sequences such as OSC 52 or `ESC[2J`; newlines
//! forge extra lines), line and paragraph separators, and Unicode bidi overrides and isolates, which
//! reorder what is shown.
//!
//! Three tools, one rule ([`is_unsafe`]): decoders refuse such text (`Reader::display_str`), our own
//! constructors replace it ([`sanitize`]), and anything printed escapes it ([`for_display`]), so text
//! that reached us another way (an error chain, an older peer) is still harmless on screen.

use std::borrow::Cow;
use std::fmt::Write as _;

/// What [`sanitize`] puts in place of an unsafe character.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Whether `c` must not appear in display text: a control character ([`char::is_control`]: C0,
/// DEL, C1), a line or paragraph separator (U+2028, U+2029), or a bidi embedding, override or
/// isolate (U+202A–U+202E, U+2066–U+2069).
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character replaced by [`REPLACEMENT`]: for strings this side sends.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if is_unsafe(c) { REPLACEMENT } else { c })
            .collect(),
    )
}

/// `text` with every unsafe character written as a visible escape (`\u{1b}`): for printing or
/// showing text that came from a peer, in a terminal or a window.
pub fn for_display(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters_are_the_documented_set() {
        for c in [
            '\u{1b}', '\n', '\r', '\t', '\0', '\u{7f}', '\u{9b}', '\u{85}',
        ] {
            assert!(is_unsafe(c), "{c:?}");
        }
        for c in ('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}') {
            assert!(is_unsafe(c), "{c:?}");
        }
        assert!(is_unsafe('\u{2028}') && is_unsafe('\u{2029}'));
        for c in ['a', ' ', 'é', '€', '日', '\u{200D}', '\u{2070}', '\u{2027}'] {
            assert!(!is_unsafe(c), "{c:?}");
        }
    }

    #[test]
    fn terminal_escapes_are_shown_not_run() {
        let osc52 = "Bob\u{1b}]52;c;Y3VybCBldmlsLnNofHNo\u{7}";
        assert_eq!(
            for_display(osc52),
            "Bob\\u{1b}]52;c;Y3VybCBldmlsLnNofHNo\\u{7}"
        );
        assert_eq!(for_display("\u{1b}[2J"), "\\u{1b}[2J");
        assert_eq!(for_display("a\nb"), "a\\u{a}b");
        assert_eq!(for_display("\u{202E}gpj.exe"), "\\u{202e}gpj.exe");
        assert!(matches!(for_display("Ann Lee, IT"), Cow::Borrowed(_)));
    }

    #[test]
    fn sanitize_replaces_each_unsafe_character() {
        assert_eq!(sanitize("a\u{1b}[2Jb\n"), "a\u{FFFD}[2Jb\u{FFFD}");
        assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
    }
}
