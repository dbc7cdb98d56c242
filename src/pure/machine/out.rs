//! Everything the run writes for the runner: workflow commands for the log, the output and
//! summary files, the JSON report. Outside a runner, the same calls print plain text for a person.
//!
//! Every line goes through the core's encoders, so untrusted text cannot form a workflow command
//! under the runner's own parsing rules (`pure::command`). Secrets are masked (`::add-mask::`)
//! the moment they exist, and registered with one `Redactor` that every byte leaving through
//! here passes: the log, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY` and the JSON report (the
//! bodies posted to GitHub go through [`Out::redact`] too). Public values (CA, fingerprints,
//! hosts) are never masked, because the runner drops job outputs that contain a masked value.
//!
//! Log lines are queued, not written: the machine hands them to its driver with the next
//! effect, in order. Files are written through effects by the caller, with the text from here.

use std::cell::{Cell, RefCell};

use serde::{Deserialize, Serialize};

use super::wire::{Line, Stream};
use crate::pure::command::{self, Level};
use crate::pure::secret::{Redactor, Secret};
use crate::pure::summary::{self, RunReport};
use crate::pure::terminal;

/// Where the run writes, from the driver's snapshot of the environment.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunnerPaths {
    pub in_runner: bool,
    /// `GITHUB_OUTPUT`.
    pub output: Option<String>,
    /// `GITHUB_STEP_SUMMARY`.
    pub step_summary: Option<String>,
    /// `RUNNER_TEMP`, else the system's temp folder: where the JSON report goes.
    pub temp: String,
    /// A person reads stdout: outside a runner, or a terminal. The summary is then printed as
    /// plain text as well (the runner renders only the Markdown file).
    pub person: bool,
    /// Colour the plain text (stdout is a terminal and `NO_COLOR` is unset).
    pub colour: bool,
    /// The temp folder is removed when the run ends (the demo): the printed summary then names
    /// no report path, since the file would be gone by the time a person looks.
    pub temp_removed: bool,
}

pub struct Out {
    paths: RunnerPaths,
    delimiter: RefCell<String>,
    redactor: RefCell<Redactor>,
    /// Outside a runner: the header of the open phase, until its first line is printed.
    pending_group: RefCell<Option<String>>,
    /// Once the run knows it is a dry run, every phase title and log line says so.
    dry_run: Cell<bool>,
    lines: RefCell<Vec<Line>>,
}

impl Out {
    pub fn new(paths: RunnerPaths) -> Self {
        Out {
            paths,
            delimiter: RefCell::new(String::new()),
            redactor: RefCell::new(Redactor::new()),
            pending_group: RefCell::new(None),
            dry_run: Cell::new(false),
            lines: RefCell::new(Vec::new()),
        }
    }

    /// `random` makes the output delimiter: 16 bytes no value can guess (the toolkit's shape).
    pub fn seed(&self, random: &[u8]) {
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        *self.delimiter.borrow_mut() = format!("ghadelimiter_{hex}");
    }

    /// The lines queued since the last call, for the driver to write.
    pub fn take_lines(&self) -> Vec<Line> {
        std::mem::take(&mut *self.lines.borrow_mut())
    }

    fn push(&self, stream: Stream, text: String) {
        self.lines.borrow_mut().push(Line { stream, text });
    }

    /// `text` with every secret registered so far replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.borrow().redact(text)
    }

    pub fn in_runner(&self) -> bool {
        self.paths.in_runner
    }

    pub fn paths(&self) -> &RunnerPaths {
        &self.paths
    }

    /// Queues one rendered line for stdout, redacted once more: the last gate.
    fn line(&self, text: &str) {
        self.flush_group();
        let text = self.redact(text);
        self.push(Stream::Stdout, text);
    }

    /// Queues one rendered line for stderr, redacted once more.
    fn err_line(&self, text: &str) {
        self.flush_group();
        let text = self.redact(text);
        self.push(Stream::Stderr, text);
    }

    /// Registers a secret with the redactor and, in a runner, with the runner's log masking
    /// (each form not masked yet: as given and trimmed).
    pub fn mask(&self, secret: &Secret) {
        let new_masks = self.redactor.borrow_mut().register(secret);
        if self.paths.in_runner {
            for form in new_masks {
                // Not redacted: this line is the mask itself, and the runner echoes it as `***`.
                self.push(Stream::Stdout, command::render_mask(&form));
            }
        }
    }

    /// From now on, phase titles and log lines say that this is a dry run.
    pub fn set_dry_run(&self) {
        self.dry_run.set(true);
    }

    /// Opens a phase of the log. Outside a runner the `== title` header waits for the phase's
    /// first line, so a phase that prints nothing leaves no empty header behind.
    pub fn group(&self, title: &str) {
        let title = self.redact(title);
        let title = if self.dry_run.get() {
            format!("{title} (dry run)")
        } else {
            title
        };
        if self.paths.in_runner {
            self.line(&command::render_group(&title));
        } else {
            *self.pending_group.borrow_mut() =
                Some(format!("== {}", command::escape_log_line(&title)));
        }
    }

    pub fn end_group(&self) {
        if self.paths.in_runner {
            self.line(command::END_GROUP);
        } else {
            self.pending_group.borrow_mut().take();
        }
    }

    /// Prints the header of the open phase, if it has not been printed yet.
    fn flush_group(&self) {
        let header = self.pending_group.borrow_mut().take();
        if let Some(header) = header {
            let header = self.redact(&header);
            self.push(Stream::Stdout, header);
        }
    }

    /// A plain log line (untrusted text escaped).
    pub fn info(&self, text: &str) {
        let text = self.redact(text);
        let text = if self.dry_run.get() {
            format!("dry run: {text}")
        } else {
            text
        };
        self.line(&command::escape_log_line(&text));
    }

    pub fn warning(&self, text: &str) {
        let text = self.redact(text);
        if self.paths.in_runner {
            self.line(&command::render_annotation(Level::Warning, None, &text));
        } else {
            self.err_line(&format!("warning: {}", command::escape_log_line(&text)));
        }
    }

    pub fn notice(&self, text: &str) {
        let text = self.redact(text);
        if self.paths.in_runner {
            self.line(&command::render_annotation(Level::Notice, None, &text));
        } else {
            self.line(&format!("note: {}", command::escape_log_line(&text)));
        }
    }

    /// The one failure annotation of a run, with its hint.
    pub fn error(&self, title: &str, message: &str, hint: Option<&str>) {
        let message = self.redact(message);
        let hint = hint.map(|h| self.redact(h));
        let text = match &hint {
            Some(h) => format!("{message}\nhint: {h}"),
            None => message.clone(),
        };
        if self.paths.in_runner {
            self.line(&command::render_annotation(
                Level::Error,
                Some(title),
                &text,
            ));
        } else {
            self.err_line(&format!("error: {}", command::escape_log_line(&message)));
            if let Some(h) = hint {
                self.err_line(&format!("hint: {}", command::escape_log_line(&h)));
            }
        }
    }

    /// The records to append to `GITHUB_OUTPUT` (heredoc records, LF only), and its path.
    /// Outside a runner without the file, the outputs are printed as `name=value` lines and
    /// nothing is returned.
    pub fn outputs(
        &self,
        outputs: &[(&'static str, String)],
    ) -> Result<Option<(String, String)>, String> {
        let Some(path) = &self.paths.output else {
            if !self.paths.in_runner {
                for (name, value) in outputs {
                    self.line(&format!(
                        "output {name}={}",
                        command::escape_log_line(&self.redact(value))
                    ));
                }
            }
            return Ok(None);
        };
        let mut text = String::new();
        for (name, value) in outputs {
            // A lone CR would end a line for the runner's readers of a later step's log.
            let value = self.redact(value).replace('\r', " ");
            let record = command::render_output(name, &value, &self.delimiter.borrow())
                .map_err(|e| e.to_string())?;
            text.push_str(&record);
        }
        Ok(Some((path.clone(), text)))
    }

    /// The Markdown summary to append to `GITHUB_STEP_SUMMARY` (when `step_summary` is posted
    /// and the file is set), with its path. The plain-text summary is printed when a person
    /// reads stdout or no summary file exists.
    pub fn summary(&self, report: &RunReport, step_summary: bool) -> Option<(String, String)> {
        if self.paths.person || self.paths.step_summary.is_none() {
            self.terminal_summary(report);
        }
        match &self.paths.step_summary {
            Some(path) if step_summary => {
                Some((path.clone(), self.redact(&summary::render_summary(report))))
            }
            _ => None,
        }
    }

    /// Prints the report as plain text (`pure::terminal`), each line redacted by `line`.
    pub fn terminal_summary(&self, report: &RunReport) {
        let text = if self.paths.temp_removed && report.report_path.is_some() {
            let mut shown = report.clone();
            shown.report_path = None;
            terminal::render_text(&shown, self.paths.colour)
        } else {
            terminal::render_text(report, self.paths.colour)
        };
        // The summary stands on its own: an open phase that printed nothing keeps no header.
        self.pending_group.borrow_mut().take();
        self.line("");
        for line in text.lines() {
            self.line(line);
        }
    }

    /// Where the JSON report goes: `file_name` must be one plain file name (no separator, no
    /// `..`), so nothing outside the temp folder can be named.
    pub fn report_path(&self, file_name: &str) -> Option<String> {
        let plain = !file_name.is_empty()
            && file_name != "."
            && file_name != ".."
            && !file_name.contains(['/', '\\', '\0']);
        let dir = self.paths.temp.trim_end_matches(['/', '\\']);
        let sep = if dir.contains('\\') && !dir.contains('/') {
            '\\'
        } else {
            '/'
        };
        plain.then(|| format!("{dir}{sep}{file_name}"))
    }
}
