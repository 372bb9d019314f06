//! The session report each side writes when a session ends: what happened, for the ticket, as JSON
//! (a versioned schema, `tandem.session-report/1`) and Markdown, built from the events the front
//! end sees. Never screen content, keystrokes, clipboard contents, codes or keys: the events carry
//! none of them (clipboard events carry only a format and a size, and are not recorded).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;
use tandem_collab::{Notice, Way};
use tandem_i18n::tr;
use tandem_proto::flow::ChatFrom;
use tandem_proto::text::for_display;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const SCHEMA: &str = "tandem.session-report/1";

/// What the technician concluded.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Resolved,
    #[value(alias = "unresolved")]
    NotResolved,
    Escalated,
}

/// The viewer window's outcome and the report's are the same three answers.
impl From<tandem_viewer::notes::Outcome> for Outcome {
    fn from(outcome: tandem_viewer::notes::Outcome) -> Self {
        use tandem_viewer::notes::Outcome as Window;
        match outcome {
            Window::Resolved => Self::Resolved,
            Window::NotResolved => Self::NotResolved,
            Window::Escalated => Self::Escalated,
        }
    }
}

impl From<Outcome> for tandem_viewer::notes::Outcome {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Resolved => Self::Resolved,
            Outcome::NotResolved => Self::NotResolved,
            Outcome::Escalated => Self::Escalated,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    /// `technician` or `user`: whose report this is.
    pub side: &'static str,
    pub ticket: Option<String>,
    pub technician: Option<String>,
    /// The user's machine, from the diagnostics snapshot when the user allowed it.
    pub machine: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub duration_secs: Option<f64>,
    pub check_number: Option<String>,
    pub permissions: Vec<PermissionChange>,
    pub files: Vec<FileRecord>,
    pub chat: Vec<ChatLine>,
    pub diagnostics: Option<Value>,
    pub notes: Vec<Note>,
    pub outcome: Option<Outcome>,
    pub summary: Option<String>,
    /// The user's answer to "how did it go?", when they gave one.
    pub feedback: Option<Feedback>,
    /// Each time the technician asked to record: refused, or when it ran (and on the technician's
    /// side, into which file). Never the recording's content.
    pub recordings: Vec<RecordingRecord>,
    /// Each time the link was lost, and when (if) the session resumed.
    pub interruptions: Vec<Interruption>,
    /// When the technician showed their own screen to the user ("Show my screen").
    pub shown_screen: Vec<ShownPeriod>,
    /// How it ended, in English (the JSON is read by programs).
    pub ended: Option<String>,
    /// The same in the language of the Markdown.
    #[serde(skip)]
    ended_said: Option<String>,
    #[serde(skip)]
    started: Instant,
    /// Files of incoming transfers still running, by transfer id.
    #[serde(skip)]
    receiving: HashMap<u32, Vec<ReceivedFile>>,
}

/// A lost link: when it went, when the session resumed (`None`: it did not, the session ended).
#[derive(Debug, Serialize)]
pub struct Interruption {
    pub lost_at: String,
    pub resumed_at: Option<String>,
}

/// The technician's screen shown to the user, from `started_at` to `stopped_at`; `closed_by_user`
/// when the user closed it, `failed` when the technician's capture could not go on.
#[derive(Debug, Serialize)]
pub struct ShownPeriod {
    pub started_at: String,
    pub stopped_at: Option<String>,
    pub closed_by_user: bool,
    pub failed: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PermissionChange {
    pub at: String,
    pub view: bool,
    pub control: bool,
    pub clipboard: bool,
}

#[derive(Debug, Serialize)]
pub struct FileRecord {
    pub at: String,
    /// `sent` or `received`, seen from this side.
    pub direction: &'static str,
    pub name: String,
    pub files: usize,
    pub bytes: u64,
    /// `done` or `failed`.
    pub status: &'static str,
    /// Why it failed, in English (the JSON is read by programs).
    pub reason: Option<String>,
    /// The same in the language of the Markdown.
    #[serde(skip)]
    reason_said: Option<String>,
    /// Received files: where each went and its BLAKE3 hash.
    pub received: Vec<ReceivedFile>,
}

#[derive(Debug, Serialize)]
pub struct ReceivedFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub blake3: String,
}

#[derive(Debug, Serialize)]
pub struct ChatLine {
    pub at: String,
    /// `technician` or `user`.
    pub from: &'static str,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Feedback {
    /// 1 (bad) to 5 (great).
    pub rating: u8,
    pub comment: String,
    /// Whether it reached the technician (on the user's side; the technician's always did).
    pub delivered: bool,
}

#[derive(Debug, Serialize)]
pub struct RecordingRecord {
    /// When the technician asked (when it started, on the user's side if no question was seen).
    pub asked_at: String,
    /// `asked` (no answer before the end), `refused`, `recording` (still running when the report
    /// was written: never, the end stops it), `recorded` or `failed`.
    pub status: &'static str,
    /// The recording's file name (the technician's side only).
    pub file: Option<String>,
    pub started_at: Option<String>,
    pub stopped_at: Option<String>,
    /// The file's size (the technician's side only).
    pub bytes: Option<u64>,
    /// Why it failed, for `failed`.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Note {
    pub at: String,
    pub text: String,
}

/// Now, RFC 3339 in UTC to the millisecond: precise enough to order events, short enough to read.
fn now() -> String {
    let now = OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond())
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default()
}

impl Report {
    /// A report for `side` (`"technician"` or `"user"`), started now.
    pub fn new(side: &'static str, ticket: Option<String>) -> Self {
        Self {
            schema: SCHEMA,
            side,
            ticket,
            technician: None,
            machine: None,
            started_at: now(),
            ended_at: None,
            duration_secs: None,
            check_number: None,
            permissions: Vec::new(),
            files: Vec::new(),
            chat: Vec::new(),
            diagnostics: None,
            notes: Vec::new(),
            outcome: None,
            summary: None,
            feedback: None,
            recordings: Vec::new(),
            interruptions: Vec::new(),
            shown_screen: Vec::new(),
            ended: None,
            ended_said: None,
            started: Instant::now(),
            receiving: HashMap::new(),
        }
    }

    pub fn secured(&mut self, check_number: &str) {
        self.check_number = Some(check_number.to_owned());
    }

    pub fn permissions(&mut self, view: bool, control: bool, clipboard: bool) {
        self.permissions.push(PermissionChange {
            at: now(),
            view,
            control,
            clipboard,
        });
    }

    pub fn diagnostics(&mut self, snapshot: &str) {
        let value: Value = serde_json::from_str(snapshot).unwrap_or(Value::Null);
        self.machine = value["hostname"].as_str().map(str::to_owned);
        self.diagnostics = Some(value);
    }

    pub fn note(&mut self, text: &str) {
        self.notes.push(Note {
            at: now(),
            text: for_display(text).into_owned(),
        });
    }

    pub fn set_outcome(&mut self, outcome: Outcome, summary: Option<String>) {
        self.outcome = Some(outcome);
        if summary.is_some() {
            self.summary = summary.map(|s| for_display(&s).into_owned());
        }
    }

    /// Chat and files, from the collaboration notices. `peer` names the other side in the chat.
    pub fn notice(&mut self, notice: &Notice, peer: &'static str) {
        match notice {
            Notice::Chat { from, text } => self.chat.push(ChatLine {
                at: now(),
                from: match from {
                    ChatFrom::Us => self.side,
                    ChatFrom::Peer => peer,
                },
                text: for_display(text).into_owned(),
            }),
            Notice::FileReceived {
                transfer,
                path,
                bytes,
                blake3,
            } => {
                self.receiving
                    .entry(transfer.id)
                    .or_default()
                    .push(ReceivedFile {
                        path: path.clone(),
                        bytes: *bytes,
                        blake3: blake3.clone(),
                    });
            }
            Notice::FileDone {
                transfer,
                name,
                files,
                bytes,
                ..
            } => self.file(transfer.way, transfer.id, name, *files, *bytes, None),
            Notice::FileFailed {
                transfer,
                name,
                reason,
            } => {
                let peer = if peer == "user" {
                    tandem_collab_ui::Peer::User
                } else {
                    tandem_collab_ui::Peer::Technician
                };
                let said = tandem_collab_ui::reasons::transfer_stopped(reason, peer);
                self.file(
                    transfer.way,
                    transfer.id,
                    name,
                    0,
                    0,
                    Some((reason.to_string(), said)),
                )
            }
            _ => {}
        }
    }

    fn file(
        &mut self,
        way: Way,
        id: u32,
        name: &str,
        files: usize,
        bytes: u64,
        reason: Option<(String, String)>,
    ) {
        let received = match way {
            Way::Incoming => self.receiving.remove(&id).unwrap_or_default(),
            Way::Outgoing => Vec::new(),
        };
        self.files.push(FileRecord {
            at: now(),
            direction: match way {
                Way::Outgoing => "sent",
                Way::Incoming => "received",
            },
            name: for_display(name).into_owned(),
            files,
            bytes,
            status: if reason.is_some() { "failed" } else { "done" },
            reason_said: reason
                .as_ref()
                .map(|(_, said)| for_display(said).into_owned()),
            reason: reason.map(|(english, _)| for_display(&english).into_owned()),
            received,
        });
    }

    /// What the technician's side sees.
    pub fn observe_viewer(&mut self, event: &tandem_viewer::ViewerEvent) {
        use tandem_viewer::ViewerEvent;
        match event {
            ViewerEvent::Secured { verifier } => self.secured(verifier),
            ViewerEvent::Permissions {
                view,
                control,
                clipboard,
            } => self.permissions(*view, *control, *clipboard),
            ViewerEvent::Collab(notice) => self.notice(notice, "user"),
            ViewerEvent::Diagnostics {
                snapshot: Some(snapshot),
            } => self.diagnostics(snapshot),
            ViewerEvent::Feedback { rating, comment } => {
                self.feedback = Some(Feedback {
                    rating: *rating,
                    comment: for_display(comment).into_owned(),
                    delivered: true,
                });
            }
            ViewerEvent::Recording(event) => self.viewer_recording(event),
            ViewerEvent::Reconnecting { .. } => self.link_lost(),
            ViewerEvent::Resumed => self.link_resumed(),
            ViewerEvent::Showing {
                on,
                closed_by_user,
                failed,
            } => self.showing(*on, *closed_by_user, failed.as_deref()),
            ViewerEvent::Ended { reason, reason_en } => self.ended(reason_en, reason),
            _ => {}
        }
    }

    fn viewer_recording(&mut self, event: &tandem_viewer::RecordingEvent) {
        use tandem_viewer::RecordingEvent;
        match event {
            RecordingEvent::Asking => self.recording_asked(),
            RecordingEvent::Refused => self.recording_answered("refused"),
            RecordingEvent::Started { path } => {
                let record = self.recording_started();
                record.file = path
                    .file_name()
                    .map(|n| for_display(&n.to_string_lossy()).into_owned());
            }
            RecordingEvent::Stopped(summary) => {
                let record = self.recording_stopped("recorded");
                record.bytes = Some(summary.bytes);
            }
            RecordingEvent::Failed { reason, .. } => {
                let record = self.recording_stopped("failed");
                record.reason = Some(for_display(reason).into_owned());
            }
        }
    }

    fn recording_asked(&mut self) {
        self.recordings.push(RecordingRecord {
            asked_at: now(),
            status: "asked",
            file: None,
            started_at: None,
            stopped_at: None,
            bytes: None,
            reason: None,
        });
    }

    /// The last question's answer, if it is still open.
    fn recording_answered(&mut self, status: &'static str) {
        if let Some(last) = self.recordings.last_mut()
            && last.status == "asked"
        {
            last.status = status;
        }
    }

    /// The recording that starts now: the last question's, or a new entry.
    fn recording_started(&mut self) -> &mut RecordingRecord {
        if self.recordings.last().is_none_or(|r| r.status != "asked") {
            self.recording_asked();
        }
        let at = now();
        let last = self.recordings.len() - 1;
        let record = &mut self.recordings[last];
        record.status = "recording";
        record.started_at = Some(at);
        record
    }

    /// The running recording stops now (a new entry if none runs, so nothing is lost).
    fn recording_stopped(&mut self, status: &'static str) -> &mut RecordingRecord {
        let running = self
            .recordings
            .iter()
            .rposition(|r| r.status == "recording");
        let index = match running {
            Some(i) => i,
            None => {
                self.recording_asked();
                self.recordings.len() - 1
            }
        };
        let record = &mut self.recordings[index];
        record.status = status;
        record.stopped_at = Some(now());
        record
    }

    /// What the user's side sees.
    pub fn observe_host(&mut self, event: &tandem_host::HostEvent) {
        use tandem_host::HostEvent;
        match event {
            HostEvent::Secured { verifier } => self.secured(verifier),
            HostEvent::ConsentNeeded { technician, grant } => {
                self.technician = Some(for_display(technician).into_owned());
                if *grant == tandem_host::Grant::Recording {
                    self.recording_asked();
                }
            }
            HostEvent::Permissions {
                technician,
                view,
                control,
                clipboard,
            } => {
                self.technician = Some(for_display(technician).into_owned());
                self.permissions(*view, *control, *clipboard);
            }
            HostEvent::Collab(notice) => self.notice(notice, "technician"),
            HostEvent::FeedbackGiven {
                rating,
                comment,
                delivered,
            } => {
                self.feedback = Some(Feedback {
                    rating: *rating,
                    comment: for_display(comment).into_owned(),
                    delivered: *delivered,
                });
            }
            HostEvent::RecordingRefused => self.recording_answered("refused"),
            HostEvent::Recording { on: true } => {
                self.recording_started();
            }
            HostEvent::Recording { on: false } => {
                self.recording_stopped("recorded");
            }
            HostEvent::Reconnecting { .. } => self.link_lost(),
            HostEvent::Resumed => self.link_resumed(),
            HostEvent::ShownScreen { picture } => self.showing(picture.is_some(), false, None),
            HostEvent::Ended { reason, reason_en } => self.ended(reason_en, reason),
            _ => {}
        }
    }

    /// The link went: a new interruption, unless one is already open (a second notice of it).
    fn link_lost(&mut self) {
        if self
            .interruptions
            .last()
            .is_none_or(|i| i.resumed_at.is_some())
        {
            self.interruptions.push(Interruption {
                lost_at: now(),
                resumed_at: None,
            });
        }
    }

    fn link_resumed(&mut self) {
        if let Some(open) = self
            .interruptions
            .last_mut()
            .filter(|i| i.resumed_at.is_none())
        {
            open.resumed_at = Some(now());
        }
    }

    /// "Show my screen" started (`on`) or stopped; repeated notices of the same state are one.
    fn showing(&mut self, on: bool, closed_by_user: bool, failed: Option<&str>) {
        let running = self
            .shown_screen
            .last_mut()
            .filter(|period| period.stopped_at.is_none());
        match (on, running) {
            (true, None) => self.shown_screen.push(ShownPeriod {
                started_at: now(),
                stopped_at: None,
                closed_by_user: false,
                failed: None,
            }),
            (false, Some(period)) => {
                period.stopped_at = Some(now());
                period.closed_by_user = closed_by_user;
                period.failed = failed.map(|f| for_display(f).into_owned());
            }
            _ => {}
        }
    }

    /// The session ended: `english` for the JSON, `said` (the person's language) for the Markdown.
    pub fn ended(&mut self, english: &str, said: &str) {
        // The end stops a recording still running (its own stop may come later or not at all).
        if self.recordings.iter().any(|r| r.status == "recording") {
            self.recording_stopped("recorded");
        }
        if let Some(period) = self
            .shown_screen
            .last_mut()
            .filter(|p| p.stopped_at.is_none())
        {
            period.stopped_at = Some(now());
        }
        self.ended = Some(for_display(english).into_owned());
        self.ended_said = Some(for_display(said).into_owned());
        self.ended_at = Some(now());
        self.duration_secs = Some(self.started.elapsed().as_secs_f64());
    }

    /// The report as Markdown, for a ticket comment.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let title = match self.ticket.as_deref() {
            Some(ticket) => ticket.to_owned(),
            None => tr!("report-untitled"),
        };
        md.push_str(&format!("# {}\n\n", tr!("report-title", title = title)));
        // `label` is a message id: a row's heading.
        let row = |md: &mut String, label: &str, v: Option<&str>| {
            let label = tandem_i18n::message(label, &[]);
            md.push_str(&format!(
                "- **{}** {}\n",
                tr!("report-row-label", label = label),
                v.unwrap_or("—")
            ));
        };
        let side = tr!("report-side", side = self.side);
        row(&mut md, "report-row-side", Some(&side));
        row(&mut md, "report-row-ticket", self.ticket.as_deref());
        row(&mut md, "report-row-technician", self.technician.as_deref());
        row(&mut md, "report-row-machine", self.machine.as_deref());
        row(&mut md, "report-row-started", Some(&self.started_at));
        row(&mut md, "report-row-ended", self.ended_at.as_deref());
        let duration = self
            .duration_secs
            .map(|d| tr!("report-seconds", seconds = format!("{d:.0}")));
        row(&mut md, "report-row-duration", duration.as_deref());
        row(
            &mut md,
            "report-row-check-number",
            self.check_number.as_deref(),
        );
        let outcome = self.outcome.map(|o| {
            tr!(
                "report-outcome",
                outcome = match o {
                    Outcome::Resolved => "resolved",
                    Outcome::NotResolved => "not-resolved",
                    Outcome::Escalated => "escalated",
                }
            )
        });
        row(&mut md, "report-row-outcome", outcome.as_deref());
        row(&mut md, "report-row-summary", self.summary.as_deref());
        let feedback = self.feedback.as_ref().map(|f| {
            if f.comment.is_empty() {
                format!("{}/5", f.rating)
            } else {
                format!("{}/5, \"{}\"", f.rating, f.comment)
            }
        });
        row(&mut md, "report-row-feedback", feedback.as_deref());
        row(&mut md, "report-row-ended-how", self.ended_said.as_deref());

        let heading = |md: &mut String, text: String| md.push_str(&format!("\n## {text}\n\n"));
        heading(&mut md, tr!("report-permissions"));
        if self.permissions.is_empty() {
            md.push_str(&format!("{}\n", tr!("report-permissions-none")));
        }
        for p in &self.permissions {
            let what = match (p.view, p.control) {
                (_, true) => "control",
                (true, false) => "view",
                (false, false) => "nothing",
            };
            let clipboard = if p.clipboard { "shared" } else { "not-shared" };
            let line = tr!("report-permission", what = what, clipboard = clipboard);
            md.push_str(&format!("- {}: {line}\n", p.at));
        }

        heading(&mut md, tr!("report-recording"));
        if self.recordings.is_empty() {
            md.push_str(&format!("{}\n", tr!("report-recording-none")));
        }
        for r in &self.recordings {
            let line = match r.status {
                "refused" => format!("- {}: {}\n", r.asked_at, tr!("report-recording-refused")),
                "asked" => format!("- {}: {}\n", r.asked_at, tr!("report-recording-unanswered")),
                status => {
                    let mut what = tr!("report-recording-status", status = status);
                    if let Some(file) = r.file.as_deref() {
                        what.push_str(&tr!("report-recording-file", file = file));
                    }
                    if let Some(bytes) = r.bytes {
                        what.push_str(&tr!("report-recording-bytes", bytes = bytes));
                    }
                    if let Some(why) = r.reason.as_deref() {
                        what.push_str(&format!(" ({why})"));
                    }
                    let span = tr!(
                        "report-recording-span",
                        from = r.started_at.as_deref().unwrap_or("—"),
                        to = r.stopped_at.as_deref().unwrap_or("—")
                    );
                    format!("- {span}: {what}\n")
                }
            };
            md.push_str(&line);
        }

        heading(&mut md, tr!("report-link"));
        if self.interruptions.is_empty() {
            md.push_str(&format!("{}\n", tr!("report-link-none")));
        }
        for i in &self.interruptions {
            let line = match i.resumed_at.as_deref() {
                Some(resumed) => tr!("report-link-resumed", resumed = resumed),
                None => tr!("report-link-not-resumed"),
            };
            md.push_str(&format!("- {}: {line}\n", i.lost_at));
        }

        heading(&mut md, tr!("report-shown"));
        if self.shown_screen.is_empty() {
            md.push_str(&format!("{}\n", tr!("report-shown-none")));
        }
        for p in &self.shown_screen {
            let span = tr!(
                "report-recording-span",
                from = p.started_at.as_str(),
                to = p.stopped_at.as_deref().unwrap_or("—")
            );
            let how = match (&p.failed, p.closed_by_user) {
                (Some(why), _) => tr!("report-shown-failed", reason = why.as_str()),
                (None, true) => tr!("report-shown-closed"),
                (None, false) => tr!("report-shown-shown"),
            };
            md.push_str(&format!("- {span}: {how}\n"));
        }

        heading(&mut md, tr!("report-files"));
        if self.files.is_empty() {
            md.push_str(&format!("{}\n", tr!("report-files-none")));
        }
        for f in &self.files {
            let how = match &f.reason_said {
                Some(reason) => tr!("report-file-failed", reason = reason.as_str()),
                None => tr!("report-file-sizes", files = f.files, bytes = f.bytes),
            };
            let direction = tr!("report-file-direction", direction = f.direction);
            md.push_str(&format!("- {}: {direction} **{}** ({how})\n", f.at, f.name));
            for r in &f.received {
                let received = tr!(
                    "report-file-received",
                    bytes = r.bytes,
                    blake3 = r.blake3.as_str()
                );
                md.push_str(&format!("  - `{}` ({received})\n", r.path.display()));
            }
        }

        heading(&mut md, tr!("report-chat"));
        if self.chat.is_empty() {
            md.push_str(&format!("{}\n", tr!("report-chat-none")));
        }
        for c in &self.chat {
            let from = tr!("report-side", side = c.from);
            md.push_str(&format!("- {} **{from}:** {}\n", c.at, c.text));
        }

        heading(&mut md, tr!("report-notes"));
        if self.notes.is_empty() {
            md.push_str(&format!("{}\n", tr!("report-notes-none")));
        }
        for n in &self.notes {
            md.push_str(&format!("- {}: {}\n", n.at, n.text));
        }

        heading(&mut md, tr!("report-system"));
        match &self.diagnostics {
            Some(value) => {
                let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
                md.push_str("```json\n");
                md.push_str(&pretty);
                md.push_str("\n```\n");
            }
            None => md.push_str(&format!("{}\n", tr!("report-system-none"))),
        }
        md
    }

    /// Writes `<stem>.json` and `<stem>.md` into `dir` (created if needed), each under a temporary
    /// name first, so a crash or a full disk never leaves half a report under the final name.
    pub fn write(&self, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir).with_context(|| {
            tr!(
                "report-cannot-create-folder",
                path = dir.display().to_string()
            )
        })?;
        let stamp: String = self
            .started_at
            .chars()
            .filter(|c| c.is_ascii_digit())
            .take(14)
            .collect();
        let ticket: String = self
            .ticket
            .as_deref()
            .unwrap_or("session")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let stem = format!("tandem-{stamp}-{ticket}-{}", self.side);
        let json =
            serde_json::to_string_pretty(self).with_context(|| tr!("report-cannot-serialise"))?;
        let json_path = dir.join(format!("{stem}.json"));
        let md_path = dir.join(format!("{stem}.md"));
        write_atomically(&json_path, json.as_bytes())?;
        write_atomically(&md_path, self.markdown().as_bytes())?;
        Ok((json_path, md_path))
    }
}

fn write_atomically(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    tandem_files::write_atomically(path, data)
        .with_context(|| tr!("play-cannot-write", path = path.display().to_string()))
}

/// Where and whether the report is written.
#[derive(clap::Args, Clone)]
pub struct ReportFlags {
    /// Where the session report (JSON and Markdown) is written at the end (default:
    /// ~/.local/share/tandem/reports).
    #[arg(long, value_name = "DIR")]
    reports: Option<PathBuf>,
    /// Write no session report.
    #[arg(long)]
    no_report: bool,
}

impl ReportFlags {
    /// Whether a report is written at all.
    pub fn enabled(&self) -> bool {
        !self.no_report
    }

    /// The folder reports go to.
    pub fn dir(&self) -> PathBuf {
        self.reports.clone().unwrap_or_else(default_dir)
    }

    /// Writes `report` unless turned off, and says where (or why not) as a `report_written` or
    /// `report_failed` event.
    pub fn write(&self, report: &Report, out: &crate::output::Output) {
        if self.no_report {
            return;
        }
        match report.write(&self.dir()) {
            Ok((json, markdown)) => out.event(
                "report_written",
                serde_json::json!({ "json": json, "markdown": markdown }),
                || tr!("report-written", path = markdown.display().to_string()),
            ),
            Err(e) => out.event(
                "report_failed",
                serde_json::json!({ "reason": format!("{e:#}") }),
                || tr!("report-failed", error = format!("{e:#}")),
            ),
        }
    }
}

/// Attempts to deliver a report to a webhook before giving up.
const WEBHOOK_ATTEMPTS: u32 = 3;
/// How long one attempt may take.
const WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// POSTs `report` as JSON to `url`, retrying (1 s, then 2 s apart) on a network error or a 5xx/429
/// answer, and says how it went as a `report_posted` or `report_webhook_failed` event.
pub fn post_webhook(url: &str, report: &Report, out: &crate::output::Output) {
    match post_with_retries(url, report) {
        Ok((status, attempts)) => out.event(
            "report_posted",
            serde_json::json!({ "url": url, "status": status, "attempts": attempts }),
            || tr!("report-posted", url = url, status = status),
        ),
        Err(reason) => out.event(
            "report_webhook_failed",
            serde_json::json!({ "url": url, "reason": reason }),
            || tr!("report-webhook-failed", url = url, reason = reason.as_str()),
        ),
    }
}

fn post_with_retries(url: &str, report: &Report) -> Result<(u16, u32), String> {
    let body = serde_json::to_string(report).map_err(|e| e.to_string())?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(WEBHOOK_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut last = String::new();
    for attempt in 1..=WEBHOOK_ATTEMPTS {
        if attempt > 1 {
            std::thread::sleep(std::time::Duration::from_secs(u64::from(attempt - 1)));
        }
        match agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.as_str())
        {
            Ok(response) => {
                let status = response.status().as_u16();
                if (200..300).contains(&status) {
                    return Ok((status, attempt));
                }
                last = format!("the endpoint answered HTTP {status}");
                // A client error will not change on retry.
                if (400..500).contains(&status) && status != 429 {
                    break;
                }
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "{last} (after trying {WEBHOOK_ATTEMPTS} times at most)"
    ))
}

/// `$XDG_DATA_HOME/tandem/reports`, else `~/.local/share/tandem/reports`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("tandem/reports")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_webhook_is_a_clear_error_after_the_retries() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9);
        let report = Report::new("technician", Some("INC1".into()));
        let error = post_with_retries(&format!("http://127.0.0.1:{port}/hook"), &report)
            .err()
            .unwrap_or_default();
        assert!(error.contains("after trying 3 times"), "{error}");
    }

    /// Issue 13: each recording request is in the report: refused, or when it ran, into which file
    /// and how large; a recording still running at the end is closed by the end.
    #[test]
    fn recordings_are_reported_refused_or_with_their_file() {
        use tandem_viewer::{RecordingEvent, RecordingSummary, ViewerEvent};
        let mut report = Report::new("technician", None);
        let path = PathBuf::from("/tmp/rec/session.tdrec");
        for event in [
            RecordingEvent::Asking,
            RecordingEvent::Refused,
            RecordingEvent::Asking,
            RecordingEvent::Started { path: path.clone() },
            RecordingEvent::Stopped(RecordingSummary {
                path: path.clone(),
                bytes: 1234,
                updates: 3,
            }),
            RecordingEvent::Started { path },
        ] {
            report.observe_viewer(&ViewerEvent::Recording(event));
        }
        report.ended("You ended the session.", "You ended the session.");
        let json = serde_json::to_value(&report).unwrap_or_default();
        let recordings = json["recordings"].as_array().cloned().unwrap_or_default();
        assert_eq!(recordings.len(), 3, "{recordings:?}");
        assert_eq!(recordings[0]["status"], "refused");
        assert_eq!(recordings[1]["status"], "recorded");
        assert_eq!(recordings[1]["file"], "session.tdrec");
        assert_eq!(recordings[1]["bytes"], 1234);
        assert_eq!(recordings[2]["status"], "recorded");
        assert!(recordings[2]["stopped_at"].is_string());
        let md = report.markdown();
        assert!(md.contains("the user refused"), "{md}");
        assert!(
            md.contains("recorded into `session.tdrec`, 1234 bytes"),
            "{md}"
        );
    }

    #[test]
    fn lost_links_and_the_shown_screen_are_reported_with_their_times() {
        use tandem_viewer::ViewerEvent;
        let mut report = Report::new("technician", None);
        let reconnecting = ViewerEvent::Reconnecting {
            grace: std::time::Duration::from_secs(60),
        };
        let showing = |on, closed_by_user| ViewerEvent::Showing {
            on,
            closed_by_user,
            failed: None,
        };
        for event in [
            reconnecting.clone(),
            // A second notice of the same loss is the same interruption.
            reconnecting.clone(),
            ViewerEvent::Resumed,
            showing(true, false),
            showing(true, false),
            showing(false, true),
            showing(true, false),
            reconnecting,
        ] {
            report.observe_viewer(&event);
        }
        report.ended("The link was lost.", "The link was lost.");
        let json = serde_json::to_value(&report).unwrap_or_default();
        let lost = json["interruptions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(lost.len(), 2, "{lost:?}");
        assert!(lost[0]["resumed_at"].is_string());
        assert!(lost[1]["resumed_at"].is_null());
        let shown = json["shown_screen"].as_array().cloned().unwrap_or_default();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert_eq!(shown[0]["closed_by_user"], true);
        // Still showing at the end: it stopped then.
        assert_eq!(shown[1]["closed_by_user"], false);
        assert!(shown[1]["stopped_at"].is_string());
        let md = report.markdown();
        assert!(md.contains("lost; the session resumed at "), "{md}");
        assert!(md.contains("lost; the session did not resume"), "{md}");
        assert!(md.contains("shown, closed by the user"), "{md}");
    }

    #[test]
    fn the_markdown_holds_the_facts_and_escapes_control_characters() {
        let mut report = Report::new("technician", Some("INC7".into()));
        report.note("rebooted \u{1b}[2J the spooler");
        report.set_outcome(Outcome::Escalated, Some("needs a new part".into()));
        report.ended("You ended the session.", "You ended the session.");
        let md = report.markdown();
        assert!(md.contains("# Tandem session report: INC7"));
        assert!(md.contains("escalated") && md.contains("needs a new part"));
        assert!(!md.contains('\u{1b}'), "{md}");
        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(json["outcome"], "escalated");
    }
}
