//! HTML escaping shared by the pages the service serves and the emails it sends, so a value
//! reads the same in both.

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_what_could_open_a_tag_an_entity_or_close_an_attribute() {
        assert_eq!(
            escape(r#"<a href="x">Ada & 'co'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Ada &amp; &#39;co&#39;&lt;/a&gt;"
        );
        assert_eq!(
            escape("https://tk.example/a?b=1"),
            "https://tk.example/a?b=1"
        );
    }
}
