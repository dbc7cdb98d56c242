//! Everything the run writes for the runner: workflow commands on stdout, the output and summary
//! files, the JSON report. Outside a runner, the same calls print plain text for a person.
//!
//! Every line goes through the core's encoders, so untrusted text cannot form a workflow command.
//! Secrets are masked (`::add-mask::`) the moment they exist, before anything derived from them
//! could be printed; public values (CA, fingerprints, hosts) are never masked, because the runner
//! drops job outputs that contain a masked value.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::PathBuf;

use rand::Rng;

use crate::pure::command::{self, Level};
use crate::pure::secret::Secret;
use crate::pure::ErrorClass;

/// Where the run writes. Built from the environment by `env::read_runner_paths`.
#[derive(Clone, Debug, Default)]
pub struct RunnerPaths {
    pub in_runner: bool,
    pub output: Option<PathBuf>,
    pub step_summary: Option<PathBuf>,
    pub temp: Option<PathBuf>,
}

pub struct Runner {
    paths: RunnerPaths,
    delimiter: String,
}

impl Runner {
    pub fn new(paths: RunnerPaths) -> Self {
        // The toolkit's shape: a random delimiter per run that no value can guess.
        let random: u128 = rand::thread_rng().gen();
        Runner {
            paths,
            delimiter: format!("ghadelimiter_{random:032x}"),
        }
    }

    pub fn in_runner(&self) -> bool {
        self.paths.in_runner
    }

    pub fn temp_dir(&self) -> Option<&PathBuf> {
        self.paths.temp.as_ref()
    }

    fn line(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Registers a secret with the runner's log masking. A no-op outside a runner.
    pub fn mask(&self, secret: &Secret) {
        if self.paths.in_runner && !secret.expose_secret().is_empty() {
            self.line(&command::render_mask(secret.expose_secret()));
        }
    }

    pub fn group(&self, title: &str) {
        if self.paths.in_runner {
            self.line(&command::render_group(title));
        } else {
            self.line(&format!("== {}", command::escape_log_line(title)));
        }
    }

    pub fn end_group(&self) {
        if self.paths.in_runner {
            self.line(command::END_GROUP);
        }
    }

    /// A plain log line (untrusted text escaped).
    pub fn info(&self, text: &str) {
        self.line(&command::escape_log_line(text));
    }

    pub fn warning(&self, text: &str) {
        if self.paths.in_runner {
            self.line(&command::render_annotation(Level::Warning, None, text));
        } else {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "warning: {}", command::escape_log_line(text));
        }
    }

    pub fn notice(&self, text: &str) {
        if self.paths.in_runner {
            self.line(&command::render_annotation(Level::Notice, None, text));
        } else {
            self.line(&format!("note: {}", command::escape_log_line(text)));
        }
    }

    /// The one failure annotation of a run, with its hint.
    pub fn error(&self, class: ErrorClass, message: &str, hint: Option<&str>) {
        let text = match hint {
            Some(h) => format!("{message}\nhint: {h}"),
            None => message.to_string(),
        };
        if self.paths.in_runner {
            self.line(&command::render_annotation(
                Level::Error,
                Some(class.title()),
                &text,
            ));
        } else {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {}", command::escape_log_line(message));
            if let Some(h) = hint {
                let _ = writeln!(err, "hint: {}", command::escape_log_line(h));
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
                        command::escape_log_line(value)
                    ));
                }
            }
            return Ok(());
        };
        let mut text = String::new();
        for (name, value) in outputs {
            let record = command::render_output(name, value, &self.delimiter)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            text.push_str(&record);
        }
        let mut file = OpenOptions::new().append(true).create(true).open(path)?;
        file.write_all(text.as_bytes())
    }

    /// Appends the Markdown summary to `GITHUB_STEP_SUMMARY`; outside a runner, prints it.
    pub fn write_summary(&self, markdown: &str) -> std::io::Result<()> {
        match &self.paths.step_summary {
            Some(path) => {
                let mut file = OpenOptions::new().append(true).create(true).open(path)?;
                file.write_all(markdown.as_bytes())
            }
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(b"\n")?;
                for line in markdown.lines() {
                    writeln!(out, "{}", command::escape_log_line(line))?;
                }
                Ok(())
            }
        }
    }

    /// Writes the JSON report under the runner's temp folder (or the system temp folder outside a
    /// runner) and returns its path.
    pub fn write_report(&self, file_name: &str, json: &str) -> std::io::Result<PathBuf> {
        let dir = self.paths.temp.clone().unwrap_or_else(std::env::temp_dir);
        let path = dir.join(file_name);
        std::fs::write(&path, json)?;
        Ok(path)
    }
}
