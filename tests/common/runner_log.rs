//! What the GitHub Actions runner makes of a step's output: which lines become workflow commands,
//! which values get masked, and what a person reading the log sees.
//!
//! Written from the runner's source (actions/runner): `Handlers/OutputManager.cs` (every line
//! holding `##[` or `::` is offered to the command manager; anything not taken is printed),
//! `Runner.Common/ActionCommand.cs` (`TryParseV2`: `::name props::data` after `TrimStart()`;
//! `TryParse`: the legacy `##[name props]data` found with `IndexOf` anywhere in the line),
//! `Runner.Worker/ActionCommandManager.cs` (only registered names parse; `stop-commands` pauses
//! everything until `::TOKEN::` or `##[TOKEN]`, and masks a token longer than 6 characters;
//! `add-mask` registers the value and each of its lines, trimmed). Lines are split as .NET's
//! `StreamReader.ReadLine` splits them: at `\n`, `\r` or `\r\n`.
//!
//! The tests feed every run's stdout and stderr through it and assert that no secret is visible
//! and that no command starts that the action did not mean to send.
#![allow(dead_code)]

/// Commands the runner registers (its `IActionCommandExtension`s plus `stop-commands`).
const REGISTERED: [&str; 15] = [
    "add-mask",
    "add-matcher",
    "add-path",
    "debug",
    "echo",
    "endgroup",
    "error",
    "group",
    "notice",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "warning",
    "stop-commands",
];

/// The commands this project sends.
pub const OURS: [&str; 7] = [
    "add-mask", "group", "endgroup", "error", "warning", "notice", "debug",
];

#[derive(Debug, Default)]
pub struct RunnerLog {
    masks: Vec<String>,
    stop_token: Option<String>,
    /// What the log shows, masked, one entry per line.
    pub shown: Vec<String>,
    /// `(name, data)` of every command the runner processed, in order.
    pub commands: Vec<(String, String)>,
}

impl RunnerLog {
    pub fn new() -> Self {
        RunnerLog::default()
    }

    /// Feeds a stream's whole text, line by line.
    pub fn feed(&mut self, text: &str) {
        for line in read_lines(text) {
            self.feed_line(line);
        }
    }

    fn registered(&self, name: &str) -> bool {
        REGISTERED.iter().any(|r| r.eq_ignore_ascii_case(name))
            || self
                .stop_token
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(name))
    }

    fn feed_line(&mut self, line: &str) {
        let parsed = if line.contains("##[") || line.contains("::") {
            parse_v2(line, |n| self.registered(n))
                .or_else(|| parse_legacy(line, |n| self.registered(n)))
        } else {
            None
        };
        let Some((name, data)) = parsed else {
            let shown = self.mask(line);
            self.shown.push(shown);
            return;
        };
        if let Some(token) = &self.stop_token {
            if name.eq_ignore_ascii_case(token) {
                self.stop_token = None;
                self.commands
                    .push(("resume-commands".into(), String::new()));
            }
            let shown = self.mask(line);
            self.shown.push(shown);
            return;
        }
        if name.eq_ignore_ascii_case("stop-commands") {
            if data.chars().count() > 6 {
                self.add_mask(&data);
            }
            self.stop_token = Some(data.clone());
            self.commands.push((name, data));
            let shown = self.mask(line);
            self.shown.push(shown);
            return;
        }
        if name.eq_ignore_ascii_case("add-mask") {
            if !data.trim().is_empty() {
                self.add_mask(&data);
                for part in data
                    .split(['\r', '\n'])
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                {
                    self.add_mask(part);
                }
            }
            self.commands.push((name, "***".into()));
            return;
        }
        let shown = self.mask(&data);
        self.shown.push(shown.clone());
        self.commands.push((name.to_ascii_lowercase(), shown));
    }

    fn add_mask(&mut self, value: &str) {
        if !value.is_empty() && !self.masks.iter().any(|m| m == value) {
            self.masks.push(value.to_string());
            self.masks.sort_by_key(|m| std::cmp::Reverse(m.len()));
        }
    }

    fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for m in &self.masks {
            out = out.replace(m.as_str(), "***");
        }
        out
    }

    /// Everything the log shows, one line each.
    pub fn text(&self) -> String {
        self.shown.join("\n")
    }

    /// Commands the runner processed that this project does not send.
    pub fn foreign_commands(&self) -> Vec<&(String, String)> {
        self.commands
            .iter()
            .filter(|(n, _)| !OURS.contains(&n.as_str()))
            .collect()
    }
}

/// .NET `StreamReader.ReadLine`: `\n`, `\r` and `\r\n` each end a line.
fn read_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

fn unescape(text: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (from, to) in pairs {
        out = out.replace(from, to);
    }
    out
}

/// `TryParseV2`: `TrimStart()`, then `::`, the command info up to the next `::`, the name up to
/// the first space; data unescaped (`%0D`, `%0A`, then `%25`).
fn parse_v2(line: &str, registered: impl Fn(&str) -> bool) -> Option<(String, String)> {
    let message = line.trim_start();
    let rest = message.strip_prefix("::")?;
    let end = rest.find("::")?;
    let info = &rest[..end];
    let name = info.split(' ').next().unwrap_or_default();
    if !registered(name) {
        return None;
    }
    let data = unescape(
        &rest[end + 2..],
        &[("%0D", "\r"), ("%0A", "\n"), ("%25", "%")],
    );
    Some((name.to_string(), data))
}

/// `TryParse`: `##[` anywhere, the command info up to the next `]`; data unescaped with the
/// legacy mapping (`%3B`, `%0D`, `%0A`, `%5D`, then `%25`).
fn parse_legacy(line: &str, registered: impl Fn(&str) -> bool) -> Option<(String, String)> {
    let prefix = line.find("##[")?;
    let after = &line[prefix + 3..];
    let rb = after.find(']')?;
    let info = &after[..rb];
    let name = info.split(' ').next().unwrap_or_default();
    if !registered(name) {
        return None;
    }
    let data = unescape(
        &after[rb + 1..],
        &[
            ("%3B", ";"),
            ("%0D", "\r"),
            ("%0A", "\n"),
            ("%5D", "]"),
            ("%25", "%"),
        ],
    );
    Some((name.to_string(), data))
}

/// Feeds stdout then stderr (the runner reads both through the same manager) and asserts that
/// none of `secrets` is visible in what the log shows and that no foreign command ran.
pub fn assert_runner_safe(stdout: &str, stderr: &str, secrets: &[String]) -> RunnerLog {
    let mut log = RunnerLog::new();
    log.feed(stdout);
    log.feed(stderr);
    let shown = log.text();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        assert!(
            !shown.contains(secret.as_str()),
            "a secret is visible in the runner's log:\n{shown}"
        );
    }
    assert!(
        log.foreign_commands().is_empty(),
        "the log started commands this project does not send: {:?}\n{shown}",
        log.foreign_commands()
    );
    log
}
