//! Everything the run writes for the runner: workflow commands on stdout, the output and summary
//! files, the JSON report. Outside a runner, the same calls print plain text for a person.
//!
//! Every line goes through the core's encoders, so untrusted text cannot form a workflow command
//! under the runner's own parsing rules (`pure::command`). Secrets are masked (`::add-mask::`)
//! the moment they exist, and registered with one `Redactor` that every byte leaving through
//! here passes: stdout, stderr, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY` and the JSON report (the
//! bodies posted to GitHub go through [`Runner::redact`] too). Public values (CA, fingerprints,
//! hosts) are never masked, because the runner drops job outputs that contain a masked value.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

use rand::Rng;

use crate::pure::command::{self, Level};
use crate::pure::secret::{Redactor, Secret};
use crate::pure::summary::{self, RunReport};
use crate::pure::terminal;

/// Where the run writes. Built from the environment by `env::read_runner_paths`.
#[derive(Clone, Debug, Default)]
pub struct RunnerPaths {
    pub in_runner: bool,
    pub output: Option<PathBuf>,
    pub step_summary: Option<PathBuf>,
    pub temp: Option<PathBuf>,
    /// A person reads stdout: outside a runner, or a terminal. The summary is then printed as
    /// plain text as well (the runner renders only the Markdown file).
    pub person: bool,
    /// Colour the plain text (stdout is a terminal and `NO_COLOR` is unset).
    pub colour: bool,
    /// The temp folder is removed when the run ends (the demo): the printed summary then names
    /// no report path, since the file would be gone by the time a person looks.
    pub temp_removed: bool,
}

pub struct Runner {
    paths: RunnerPaths,
    delimiter: String,
    redactor: Mutex<Redactor>,
    /// Outside a runner: the header of the open phase, until its first line is printed.
    pending_group: Mutex<Option<String>>,
    /// Once the run knows it is a dry run, every phase title and log line says so.
    dry_run: std::sync::atomic::AtomicBool,
}

impl Runner {
    pub fn new(paths: RunnerPaths) -> Self {
        // The toolkit's shape: a random delimiter per run that no value can guess.
        let random: u128 = rand::thread_rng().gen();
        Runner {
            paths,
            delimiter: format!("ghadelimiter_{random:032x}"),
            redactor: Mutex::new(Redactor::new()),
            pending_group: Mutex::new(None),
            dry_run: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// `text` with every secret registered so far replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.redactor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .redact(text)
    }

    pub fn in_runner(&self) -> bool {
        self.paths.in_runner
    }

    pub fn temp_dir(&self) -> Option<&PathBuf> {
        self.paths.temp.as_ref()
    }

    /// Writes one rendered line to stdout, redacted once more: the last gate.
    fn line(&self, text: &str) {
        self.flush_group();
        let text = self.redact(text);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Writes one rendered line to stderr, redacted once more.
    fn err_line(&self, text: &str) {
        self.flush_group();
        let text = self.redact(text);
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }

    /// Registers a secret with the redactor and, in a runner, with the runner's log masking
    /// (each form not masked yet: as given and trimmed).
    pub fn mask(&self, secret: &Secret) {
        let new_masks = self
            .redactor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .register(secret);
        if self.paths.in_runner {
            let mut out = std::io::stdout().lock();
            for form in new_masks {
                // Not redacted: this line is the mask itself, and the runner echoes it as `***`.
                let _ = writeln!(out, "{}", command::render_mask(&form));
            }
        }
    }

    /// From now on, phase titles and log lines say that this is a dry run.
    pub fn set_dry_run(&self) {
        self.dry_run
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn dry(&self) -> bool {
        self.dry_run.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Opens a phase of the log. Outside a runner the `== title` header waits for the phase's
    /// first line, so a phase that prints nothing leaves no empty header behind.
    pub fn group(&self, title: &str) {
        let title = self.redact(title);
        let title = if self.dry() {
            format!("{title} (dry run)")
        } else {
            title
        };
        if self.paths.in_runner {
            self.line(&command::render_group(&title));
        } else {
            *self.pending_group() = Some(format!("== {}", command::escape_log_line(&title)));
        }
    }

    pub fn end_group(&self) {
        if self.paths.in_runner {
            self.line(command::END_GROUP);
        } else {
            self.pending_group().take();
        }
    }

    fn pending_group(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.pending_group.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Prints the header of the open phase, if it has not been printed yet.
    fn flush_group(&self) {
        if let Some(header) = self.pending_group().take() {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", self.redact(&header));
        }
    }

    /// A plain log line (untrusted text escaped).
    pub fn info(&self, text: &str) {
        let text = self.redact(text);
        let text = if self.dry() {
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

    /// Appends the outputs to `GITHUB_OUTPUT` (heredoc records, LF only). Outside a runner they
    /// are printed as `name=value` lines.
    pub fn write_outputs(&self, outputs: &[(&'static str, String)]) -> std::io::Result<()> {
        let Some(path) = &self.paths.output else {
            if !self.paths.in_runner {
                for (name, value) in outputs {
                    self.line(&format!(
                        "output {name}={}",
                        command::escape_log_line(&self.redact(value))
                    ));
                }
            }
            return Ok(());
        };
        let mut text = String::new();
        for (name, value) in outputs {
            // A lone CR would end a line for the runner's readers of a later step's log.
            let value = self.redact(value).replace('\r', " ");
            let record = command::render_output(name, &value, &self.delimiter)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            text.push_str(&record);
        }
        let mut file = OpenOptions::new().append(true).create(true).open(path)?;
        file.write_all(text.as_bytes())
    }

    /// Appends the Markdown summary to `GITHUB_STEP_SUMMARY` (when `step_summary` is posted and
    /// the file is set), and prints the plain-text summary when a person reads stdout or no
    /// summary file exists.
    pub fn write_summary(&self, report: &RunReport, step_summary: bool) -> std::io::Result<()> {
        if self.paths.person || self.paths.step_summary.is_none() {
            self.write_terminal_summary(report);
        }
        match &self.paths.step_summary {
            Some(path) if step_summary => {
                let markdown = self.redact(&summary::render_summary(report));
                let mut file = OpenOptions::new().append(true).create(true).open(path)?;
                file.write_all(markdown.as_bytes())
            }
            _ => Ok(()),
        }
    }

    /// Prints the report as plain text (`pure::terminal`), each line redacted by `line`.
    pub fn write_terminal_summary(&self, report: &RunReport) {
        let text = if self.paths.temp_removed && report.report_path.is_some() {
            let mut shown = report.clone();
            shown.report_path = None;
            terminal::render_text(&shown, self.paths.colour)
        } else {
            terminal::render_text(report, self.paths.colour)
        };
        // The summary stands on its own: an open phase that printed nothing keeps no header.
        self.pending_group().take();
        self.line("");
        for line in text.lines() {
            self.line(line);
        }
    }

    /// Writes the JSON report under the runner's temp folder (or the system temp folder outside a
    /// runner) and returns its path.
    pub fn write_report(&self, file_name: &str, json: &str) -> std::io::Result<PathBuf> {
        let path = self.report_path(file_name).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a plain file name")
        })?;
        std::fs::write(&path, self.redact(json))?;
        Ok(path)
    }

    /// Where the JSON report goes: `file_name` must be one plain file name (no separator, no
    /// `..`), so nothing outside the temp folder can be named.
    pub fn report_path(&self, file_name: &str) -> Option<PathBuf> {
        let plain = !file_name.is_empty()
            && file_name != "."
            && file_name != ".."
            && !file_name.contains(['/', '\\', '\0']);
        let dir = self.paths.temp.clone().unwrap_or_else(std::env::temp_dir);
        plain.then(|| dir.join(file_name))
    }
}
