//! The renderer with operators' templates: what they may write, what is refused at start-up
//! (naming `email.template_dir` and the file), and what a member's values can and cannot do.

use super::*;
use crate::domain::{AccessToken, AccountStatus, EmailAddress, MemberId, ProviderName, UserId};
use crate::notify::NetworkNames;
use chrono::TimeZone;

const LINK: &str = "https://tk.example/connect/linkedin?x=1&sig=abc";

fn settings(template_dir: Option<&std::path::Path>) -> EmailSettings {
    EmailSettings {
        template_dir: template_dir.map(Into::into),
        timezone: chrono_tz::Europe::Paris,
        product_name: "Acme".into(),
        support_contact: String::new(),
    }
}

fn account(name: Option<&str>, member_id: &str) -> Account {
    let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
    Account {
        id: 7,
        user_id: UserId::parse("42").unwrap(),
        provider: ProviderName::linkedin(),
        member_id: MemberId::parse(member_id).unwrap().into(),
        email: EmailAddress::parse("ada@example.com").unwrap(),
        name: name.map(Into::into),
        token: AccessToken::new("secret"),
        token_expires_at: at,
        refresh_token: None,
        refresh_token_expires_at: None,
        scope: String::new(),
        expiration: at,
        status: AccountStatus::NeedsReconnect,
        linked_at: at,
        last_refreshed_at: None,
        refresh_attempts: 0,
        last_error: None,
        created_at: at,
        updated_at: at,
        version: 1,
    }
}

fn deadline() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap()
}

/// A template folder with `text` and `html`, and the renderer it gives (or its refusal).
fn with_templates(text: &str, html: &str) -> (tempfile::TempDir, Result<Renderer, TemplateError>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reconnect.txt"), text).unwrap();
    std::fs::write(dir.path().join("reconnect.html"), html).unwrap();
    let renderer = Renderer::new(&settings(Some(dir.path())));
    (dir, renderer)
}

fn render(renderer: &Renderer, name: Option<&str>) -> RenderedEmail {
    renderer
        .render(
            NotificationKind::ReconnectRequired,
            &account(name, "782bbtaQ"),
            deadline(),
            LINK,
        )
        .unwrap()
}

#[test]
fn operators_placeholder_templates_render_as_they_always_did() {
    let (_dir, renderer) = with_templates(
        "Hi {{name}} of {{ product }}:\n{{link}}\n",
        "<p>Hi {{name}}: <a href=\"{{link}}\">{{deadline}}</a></p>\n",
    );
    let email = render(&renderer.unwrap(), Some("Ada"));
    assert_eq!(email.text, format!("Hi Ada of Acme:\n{LINK}\n"));
    assert_eq!(
        email.html,
        "<p>Hi Ada: <a href=\"https://tk.example/connect/linkedin?x=1&amp;sig=abc\">\
         Friday 1 May 2026 at 11:00 (Europe/Paris)</a></p>\n"
    );
    // No name from LinkedIn: the greeting still reads.
    assert!(render(&Renderer::new(&settings(None)).unwrap(), None)
        .text
        .starts_with("Hello there,\n"));
}

#[test]
fn a_member_name_cannot_add_markup_to_the_html_part() {
    let renderer = Renderer::new(&settings(None)).unwrap();
    let name = r#"<img src=x onerror="alert('x')">"#;
    let email = render(&renderer, Some(name));
    assert!(
        email
            .html
            .contains("Hello &lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;,"),
        "{}",
        email.html
    );
    assert!(!email.html.contains("<img"), "{}", email.html);
    // The text part is not HTML: the name reads as the member wrote it.
    assert!(
        email.text.contains(&format!("Hello {name},")),
        "{}",
        email.text
    );
}

fn refused(text: &str, html: &str) -> String {
    match with_templates(text, html).1 {
        Ok(_) => panic!("accepted: {text:?} / {html:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_template_that_cannot_render_is_refused_naming_the_key_and_the_file() {
    let html = "<a href=\"{{link}}\">x</a>";
    for (text, reason) in [
        ("{{ nmae }} {{link}}", "cannot be rendered: undefined value"),
        (
            "{% if link %}{{link}}",
            "is not a valid template: syntax error",
        ),
        (
            "{{ link | no_such_filter }}",
            "cannot be rendered: unknown filter",
        ),
        (
            "{% if false %}{{link}}{% endif %}",
            "has no {{link}}: the email would not let the member reconnect",
        ),
    ] {
        let error = refused(text, html);
        assert!(
            error.starts_with("configuration key `email.template_dir`: "),
            "{error}"
        );
        assert!(error.contains("reconnect.txt: "), "{error}");
        assert!(error.contains(reason), "{text}: {error}");
    }
    let error = refused("{{link}}", "<p>{{ link.nope }}</p>");
    assert!(
        error.contains("reconnect.html: cannot be rendered"),
        "{error}"
    );
}

#[test]
fn a_hostile_template_runs_out_of_fuel_or_depth_instead_of_taking_the_worker_down() {
    let html = "<a href=\"{{link}}\">x</a>";
    let hostile = [
        // Endless work.
        "{% for a in range(100000) %}{% for b in range(100000) %}.{% endfor %}{% endfor %}{{link}}",
        // Memory: a gigabyte string.
        "{{ 'x' * 1000000000 }}{{link}}",
        "{% set ns = namespace(s=link) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        // Recursion, through a macro and through including itself.
        "{% macro deeper(n) %}{{ deeper(n + 1) }}{% endmacro %}{{ deeper(0) }}{{link}}",
        "{% include 'reconnect.txt' %}{{link}}",
    ];
    for text in hostile {
        // The worker renders on a tokio worker thread: its stack, not the main thread's.
        let error = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || refused(text, html))
            .unwrap()
            .join()
            .unwrap();
        assert!(
            error.contains("reconnect.txt: cannot be rendered"),
            "{text}: {error}"
        );
    }
}

#[test]
fn a_template_failing_for_one_member_fails_that_render_without_showing_values() {
    // Passes the start-up sample, fails for any other member.
    let (_dir, renderer) = with_templates(
        "{% if member_id != '782bbtaQ' %}{{ link.nope }}{% endif %}{{link}}",
        "<a href=\"{{link}}\">x</a>",
    );
    let renderer = renderer.unwrap();
    let error = renderer
        .render(
            NotificationKind::ReconnectDue,
            &account(Some("Ada"), "other"),
            deadline(),
            LINK,
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "the email template reconnect.txt failed at line 1: undefined value"
    );
    assert!(renderer
        .render(
            NotificationKind::ReconnectDue,
            &account(Some("Ada"), "782bbtaQ"),
            deadline(),
            LINK
        )
        .is_ok());
}

/// Every kind of email to an X member names X, in the subject and both bodies, and states
/// none of LinkedIn's own rules; a LinkedIn member's emails are the snapshots' (tests/service).
#[test]
fn every_email_to_an_x_member_names_x_and_none_of_linkedins_rules() {
    use crate::domain::ProviderKind;
    let x = ProviderName::parse("x").unwrap();
    let renderer = Renderer::new(&settings(None))
        .unwrap()
        .naming(NetworkNames::from_names([(
            x.clone(),
            "X".to_owned(),
            ProviderKind::X,
        )]));
    let mut member = account(Some("Ada"), "782bbtaQ");
    member.provider = x;
    for &kind in NotificationKind::ALL {
        let email = renderer.render(kind, &member, deadline(), LINK).unwrap();
        for part in [&email.subject, &email.text, &email.html] {
            assert!(!part.contains("LinkedIn"), "{kind}: {part}");
            assert!(!part.contains("two months"), "{kind}: {part}");
            assert!(!part.contains("one year"), "{kind}: {part}");
        }
        assert!(email.subject.contains("X "), "{kind}: {}", email.subject);
        assert!(email.text.contains("X account: 782bbtaQ"), "{kind}");
        assert!(email.html.contains(">Reconnect X</a>"), "{kind}");
    }
    let required = renderer
        .render(
            NotificationKind::ReconnectRequired,
            &member,
            deadline(),
            LINK,
        )
        .unwrap();
    assert_eq!(
        required.subject,
        "Action needed: reconnect your X account to Acme"
    );
}
