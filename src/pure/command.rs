//! Encoders for what the runner parses: workflow commands on stdout, `GITHUB_OUTPUT` records,
//! and escaping of untrusted text for Markdown and HTML.
//!
//! Every text from a certificate, a kubeconfig or a Vault error is data, and goes through one of
//! these before it reaches the log or the summary, so it can never form a `::command::` line, a
//! link, a mention or markup. This module only builds strings; `pure::machine::Out` queues them
//! and a driver writes them. Grammar: docs/actions-behaviour.md §3.2 and §3.4.
//!
//! What counts as a command is the runner's parser, not our intent (actions/runner,
//! `src/Runner.Worker/Handlers/OutputManager.cs` and `src/Runner.Common/ActionCommand.cs`): the
//! output is read line by line (`StreamReader.ReadLine`: `\n`, `\r` and `\r\n` all end a line);
//! a line whose text after `TrimStart()` begins with `::` is tried as `::name props::data`, and
//! when that fails, the legacy form `##[name props]data` is searched for **anywhere** in the line
//! (`IndexOf("##[")`), `##[stop-commands]TOKEN` included, which would turn off every later
//! `::add-mask::`. So untrusted text never carries a line break, never starts a line with `::`,
//! and never contains `##[` in any line we print (see [`defuse`]).

/// RFC 3986 percent-encoding of everything but the unreserved characters (a URL's query value;
/// also the form a secret takes when a server echoes a URL back).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes a workflow command's message: `%`, CR and LF (the runner decodes `%25` last).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value: as data, plus `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Breaks the legacy command prefix wherever it occurs: a backslash goes between `##` and `[`,
/// so the runner's `IndexOf("##[")` no longer finds it, and a reader still reads it.
pub fn defuse(text: &str) -> String {
    if text.contains("##[") {
        text.replace("##[", "##\\[")
    } else {
        text.to_string()
    }
}

/// The level of an annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

/// `::error title=…::message` and its kin. At most 10 of each level become annotations per step.
pub fn render_annotation(level: Level, title: Option<&str>, message: &str) -> String {
    let name = match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Notice => "notice",
    };
    match title {
        Some(t) => format!(
            "::{name} title={}::{}",
            escape_property(&defuse(t)),
            escape_data(&defuse(message))
        ),
        None => format!("::{name}::{}", escape_data(&defuse(message))),
    }
}

/// `::group::title`: opens a collapsible section of the log.
pub fn render_group(title: &str) -> String {
    format!("::group::{}", escape_data(&defuse(title)))
}

pub const END_GROUP: &str = "::endgroup::";

/// `::add-mask::value`. The runner masks the value and each of its lines for the rest of the job.
pub fn render_mask(value: &str) -> String {
    format!("::add-mask::{}", escape_data(value))
}

/// A value a `GITHUB_OUTPUT` record cannot carry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutputRecordError {
    #[error("output name `{0}` is not a valid output name")]
    BadName(String),
    #[error("the value of output `{0}` contains the record delimiter")]
    DelimiterInValue(String),
}

/// One `GITHUB_OUTPUT` record in heredoc form, LF only (the runner splits on `\n` on Linux). The
/// delimiter is random per run (the caller supplies it: this module has no randomness).
pub fn render_output(
    name: &str,
    value: &str,
    delimiter: &str,
) -> Result<String, OutputRecordError> {
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        return Err(OutputRecordError::BadName(name.to_string()));
    }
    if value.lines().any(|line| line == delimiter) || value.contains(delimiter) {
        return Err(OutputRecordError::DelimiterInValue(name.to_string()));
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// Escapes untrusted text for Markdown inline content (tables included) and the HTML GitHub
/// allows in it: HTML specials become entities, Markdown punctuation is backslash-escaped, `@`
/// cannot mention anyone, and line breaks become spaces so a table row stays one row.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '@' => out.push_str("&#64;"),
            '\r' | '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' | '(' | ')' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a message that marks values with backticks (as every message here does): the
/// backticked spans become `<code>` elements, everything is escaped as `escape_markdown` does.
/// An unbalanced last backtick is shown as text.
pub fn escape_markdown_code(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    let balanced = parts.len() % 2 == 1;
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        let inside = i % 2 == 1 && (balanced || i + 1 < parts.len());
        if inside {
            out.push_str("<code>");
            out.push_str(&escape_markdown(part));
            out.push_str("</code>");
        } else {
            if i % 2 == 1 {
                out.push_str("\\`");
            }
            out.push_str(&escape_markdown(part));
        }
    }
    out
}

/// Escapes untrusted text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
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

/// Makes untrusted text safe to print as one plain log line: control characters (line breaks
/// included) become spaces, `##[` is defused wherever it sits, and a line that would begin with
/// `::` after the runner's `TrimStart()` (which trims every Unicode white space) gets a `> `
/// prefix, so no part of it can start a workflow command.
pub fn escape_log_line(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = defuse(&spaced);
    if out.trim_start().starts_with("::") {
        out.insert_str(0, "> ");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_escape_their_parts() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(
            render_annotation(Level::Error, Some("input: bad, really"), "line1\nline2"),
            "::error title=input%3A bad%2C really::line1%0Aline2"
        );
        assert_eq!(
            render_annotation(Level::Warning, None, "::x::"),
            "::warning::::x::"
        );
        assert_eq!(render_group("CA\nx"), "::group::CA%0Ax");
        assert_eq!(render_mask("a\nb"), "::add-mask::a%0Ab");
        assert_eq!(
            render_annotation(Level::Warning, Some("t ##[x]"), "m ##[stop-commands]y"),
            "::warning title=t ##\\[x]::m ##\\[stop-commands]y"
        );
    }

    #[test]
    fn output_records_use_heredoc_and_refuse_the_delimiter() {
        let d = "ghadelimiter_0f3c";
        assert_eq!(
            render_output("result", "changed", d).unwrap(),
            format!("result<<{d}\nchanged\n{d}\n")
        );
        assert_eq!(
            render_output("error-message", "a\nb", d).unwrap(),
            format!("error-message<<{d}\na\nb\n{d}\n")
        );
        assert_eq!(
            render_output("x", &format!("a\n{d}\nb"), d),
            Err(OutputRecordError::DelimiterInValue("x".into()))
        );
        assert_eq!(
            render_output("x", &format!("a{d}"), d),
            Err(OutputRecordError::DelimiterInValue("x".into()))
        );
        assert_eq!(
            render_output("a<<b", "v", d),
            Err(OutputRecordError::BadName("a<<b".into()))
        );
    }

    #[test]
    fn backticked_values_become_code_elements() {
        assert_eq!(
            escape_markdown_code("input `dry-run` is `yes`"),
            "input <code>dry-run</code> is <code>yes</code>"
        );
        assert_eq!(
            escape_markdown_code("`<b>*x*</b>`"),
            "<code>&lt;b&gt;\\*x\\*&lt;/b&gt;</code>"
        );
        assert_eq!(escape_markdown_code("odd ` tick"), "odd \\` tick");
        assert_eq!(
            escape_markdown_code("a `b` c `d"),
            "a <code>b</code> c \\`d"
        );
    }

    #[test]
    fn markdown_and_html_escaping() {
        assert_eq!(
            escape_markdown("CN=<img src=x onerror=alert(1)> | @team [link](http://x) `code`\n# h"),
            "CN=&lt;img src=x onerror=alert\\(1\\)&gt; \\| &#64;team \\[link\\]\\(http://x\\) \\`code\\` \\# h"
        );
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape_log_line("  ::add-mask::x"), ">   ::add-mask::x");
        assert_eq!(escape_log_line("a\nb\u{1b}[31m"), "a b [31m");
        assert_eq!(escape_log_line("##[error]x"), "##\\[error]x");
        assert_eq!(
            escape_log_line("CN=rke2-server-ca ##[stop-commands]x"),
            "CN=rke2-server-ca ##\\[stop-commands]x"
        );
        assert_eq!(
            escape_log_line("\u{3000}::warning::x"),
            "> \u{3000}::warning::x"
        );
        assert_eq!(escape_log_line("a\r::add-mask::b"), "a ::add-mask::b");
    }
}
