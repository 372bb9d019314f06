//! The small always-on-top window the person sharing their screen sees: the code to read out, the
//! consent questions, and while a session runs who is connected, what they may do, and Stop.

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use eframe::egui;
use tokio::sync::mpsc::UnboundedSender;

use crate::{Grant, HostCommand, HostEvent};

/// How long the window stays up after the session ended, so the reason can be read.
const LINGER_AFTER_END: Duration = Duration::from_secs(4);

/// Runs the window on this (the main) thread until the session ends or the user closes it.
/// Closing the window stops sharing.
pub fn run(events: Receiver<HostEvent>, commands: UnboundedSender<HostCommand>) -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Tandem — share your screen")
            .with_inner_size([440.0, 240.0])
            .with_resizable(false)
            .with_always_on_top(),
        ..Default::default()
    };
    let app = HostWindow {
        events,
        commands,
        state: State::Connecting,
        technician: String::new(),
        verifier: None,
        pending: Vec::new(),
        ended_at: None,
    };
    eframe::run_native("tandem-share", options, Box::new(|_cc| Ok(Box::new(app))))
}

enum State {
    Connecting,
    Waiting { code: String, expires: Instant },
    Joining,
    Active { view: bool, control: bool },
    Ended(String),
}

struct HostWindow {
    events: Receiver<HostEvent>,
    commands: UnboundedSender<HostCommand>,
    state: State,
    technician: String,
    verifier: Option<String>,
    /// Consent questions awaiting an answer, oldest first.
    pending: Vec<Grant>,
    ended_at: Option<Instant>,
}

impl HostWindow {
    fn absorb_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                HostEvent::Connected { .. } => {}
                HostEvent::CodeIssued { code, expires_in } => {
                    self.state = State::Waiting {
                        code,
                        expires: Instant::now() + expires_in,
                    };
                }
                HostEvent::Paired => self.state = State::Joining,
                HostEvent::Secured { verifier } => self.verifier = Some(verifier),
                HostEvent::ConsentNeeded { grant, technician } => {
                    self.technician = technician;
                    if !self.pending.contains(&grant) {
                        self.pending.push(grant);
                    }
                }
                HostEvent::Permissions {
                    technician,
                    view,
                    control,
                } => {
                    self.technician = technician;
                    self.state = State::Active { view, control };
                }
                HostEvent::ConsentWithdrawn { grant } => self.pending.retain(|g| *g != grant),
                HostEvent::InputDropped | HostEvent::InputSummary { .. } => {}
                HostEvent::Ended { reason } => {
                    self.pending.clear();
                    self.state = State::Ended(reason);
                    self.ended_at = Some(Instant::now());
                }
            }
        }
    }

    fn send(&self, command: HostCommand) {
        // The session may already be over; the window then just closes.
        let _ = self.commands.send(command);
    }
}

impl eframe::App for HostWindow {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.absorb_events();
        let ctx = ui.ctx().clone();
        if ctx.input(|i| i.viewport().close_requested()) {
            self.send(HostCommand::Stop);
        }
        if self
            .ended_at
            .is_some_and(|t| t.elapsed() > LINGER_AFTER_END)
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(&grant) = self.pending.first() {
                self.consent_ui(ui, grant);
            } else {
                self.status_ui(ui);
            }
        });
        // Events arrive from the session thread; look for them a few times a second.
        ctx.request_repaint_after(Duration::from_millis(100));
    }
}

impl HostWindow {
    fn consent_ui(&mut self, ui: &mut egui::Ui, grant: Grant) {
        let who = if self.technician.is_empty() {
            "The technician"
        } else {
            &self.technician
        };
        let question = match grant {
            Grant::View => format!("{who} wants to see your screen."),
            Grant::Control => format!("{who} wants to control your mouse and keyboard."),
        };
        ui.heading(question);
        if let Some(verifier) = &self.verifier {
            ui.label(format!(
                "If they tell you a check number, it must be {verifier}."
            ));
        }
        ui.add_space(12.0);
        let mut answer = None;
        ui.horizontal(|ui| {
            if ui.button("  Allow  ").clicked() {
                answer = Some(true);
            }
            if ui.button("  Deny  ").clicked() {
                answer = Some(false);
            }
        });
        if let Some(allow) = answer {
            self.pending.remove(0);
            self.send(HostCommand::Consent { grant, allow });
        }
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        match &self.state {
            State::Connecting => {
                ui.heading("Connecting to the relay…");
            }
            State::Waiting { code, expires } => {
                ui.label("Read this code to your technician:");
                ui.label(egui::RichText::new(code).size(40.0).monospace().strong());
                let left = expires.saturating_duration_since(Instant::now()).as_secs();
                ui.label(format!(
                    "It works once and expires in {}:{:02}.",
                    left / 60,
                    left % 60
                ));
                ui.horizontal(|ui| {
                    if ui.button("New code").clicked() {
                        self.send(HostCommand::NewCode);
                    }
                    if ui.button("Stop").clicked() {
                        self.send(HostCommand::Stop);
                    }
                });
            }
            State::Joining => {
                ui.heading("A technician is connecting…");
            }
            State::Active { view, control } => {
                ui.heading(format!("Sharing with {}", self.technician));
                let can = match (view, control) {
                    (_, true) => "They can see your screen and use your mouse and keyboard.",
                    (true, false) => "They can see your screen.",
                    (false, false) => "They cannot see your screen.",
                };
                ui.label(can);
                if let Some(verifier) = &self.verifier {
                    ui.label(format!("Check number: {verifier}"));
                }
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    if *control && ui.button("Take back control").clicked() {
                        self.send(HostCommand::RevokeControl);
                    }
                    if ui
                        .button(egui::RichText::new("Stop sharing").strong())
                        .clicked()
                    {
                        self.send(HostCommand::Stop);
                    }
                });
            }
            State::Ended(reason) => {
                ui.heading("Session ended");
                ui.label(reason.as_str());
            }
        }
    }
}
