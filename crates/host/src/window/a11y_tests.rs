//! The window's screens as a screen reader sees them: egui_kittest runs the real screen functions
//! headless and queries egui's AccessKit tree by role and name (the tree eframe's `accesskit`
//! feature hands to the desktop's accessibility bus). English and French.

#![allow(clippy::unwrap_used)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use egui::Key;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tandem_i18n::{Language, tr};

use super::bar::{self, BarAction};
use super::consent::{self, Question};
use super::guard::ConsentGuard;
use super::waiting::{self, WaitingAction};
use crate::Grant;

/// The language is process-wide: tests that set it take turns.
static LANGUAGE: Mutex<()> = Mutex::new(());

fn in_language<T>(language: Language, test: impl FnOnce() -> T) -> T {
    let _turn = LANGUAGE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    tandem_i18n::set_language(language);
    let result = test();
    tandem_i18n::set_language(Language::English);
    result
}

struct Consent {
    guard: ConsentGuard,
    now: Instant,
    answer: Option<bool>,
}

fn consent_harness(grant: Grant) -> Harness<'static, Consent> {
    let state = Consent {
        guard: ConsentGuard::default(),
        now: Instant::now(),
        answer: None,
    };
    Harness::builder()
        .with_size(egui::vec2(480.0, 320.0))
        .build_ui_state(
            move |ui, state: &mut Consent| {
                let question = Question {
                    grant,
                    technician: "Alex",
                    verifier: Some("4821"),
                };
                if let Some(answer) = consent::show(ui, &question, &mut state.guard, state.now) {
                    state.answer.get_or_insert(answer);
                }
            },
            state,
        )
}

/// Frames enough for the guard's delay to pass (the clock is the state's, not the wall's).
fn after_the_delay(harness: &mut Harness<'static, Consent>) {
    harness.state_mut().now += ConsentGuard::DELAY + Duration::from_millis(100);
    harness.run_steps(2);
}

#[test]
fn the_question_its_meaning_the_check_number_and_both_buttons_have_names() {
    in_language(Language::English, || {
        let mut harness = consent_harness(Grant::View);
        harness.run_steps(2);
        harness.check_accessibility();
        harness.get_by_label("Alex wants to see your screen");
        harness.get_by_label_contains("Alex will see everything on your screen");
        harness.get_by_label("Check number: 4821");
        harness.get_by_role_and_label(Role::Button, "Allow");
        let deny = harness.get_by_role_and_label(Role::Button, "Deny");
        assert!(deny.is_focused(), "the keyboard starts on Deny");

        let mut harness = consent_harness(Grant::Control);
        harness.run_steps(2);
        harness.get_by_label("Alex wants to use your mouse and keyboard");
        harness.get_by_label_contains("will be able to use your mouse and keyboard");
    });
}

#[test]
fn in_french_the_buttons_are_autoriser_and_refuser() {
    in_language(Language::French, || {
        let mut harness = consent_harness(Grant::View);
        harness.run_steps(2);
        harness.get_by_label("Alex souhaite voir votre écran");
        harness.get_by_label("Numéro de vérification\u{a0}: 4821");
        harness.get_by_role_and_label(Role::Button, "Autoriser");
        let deny = harness.get_by_role_and_label(Role::Button, "Refuser");
        assert!(deny.is_focused());
        after_the_delay(&mut harness);
        harness
            .get_by_role_and_label(Role::Button, "Autoriser")
            .click_accesskit();
        harness.run_steps(2);
        assert_eq!(harness.state().answer, Some(true));
    });
}

#[test]
fn enter_never_allows() {
    in_language(Language::English, || {
        // Enter on the question as it appears: the keyboard is on Deny, so it denies.
        let mut harness = consent_harness(Grant::Control);
        harness.run_steps(2);
        after_the_delay(&mut harness);
        harness.key_press(Key::Enter);
        harness.run_steps(2);
        assert_eq!(harness.state().answer, Some(false));

        // Tab to Allow, then Enter: nothing. Space there allows.
        let mut harness = consent_harness(Grant::Control);
        harness.run_steps(2);
        after_the_delay(&mut harness);
        harness.key_press(Key::Tab);
        harness.run_steps(2);
        assert!(
            harness
                .get_by_role_and_label(Role::Button, "Allow")
                .is_focused()
        );
        harness.key_press(Key::Enter);
        harness.run_steps(2);
        assert_eq!(harness.state().answer, None, "Enter on Allow does nothing");
        harness.key_press(Key::Space);
        harness.run_steps(2);
        assert_eq!(harness.state().answer, Some(true), "Space on Allow allows");

        // Escape denies.
        let mut harness = consent_harness(Grant::Recording);
        harness.run_steps(2);
        harness.key_press(Key::Escape);
        harness.run_steps(2);
        assert_eq!(harness.state().answer, Some(false));
    });
}

#[test]
fn allow_does_nothing_until_the_guard_allows_it() {
    in_language(Language::English, || {
        let mut harness = consent_harness(Grant::View);
        harness.run_steps(2);
        harness.get_by_role_and_label(Role::Button, "Allow").click();
        harness.run_steps(2);
        assert_eq!(harness.state().answer, None, "a click before the delay");
        after_the_delay(&mut harness);
        harness.get_by_role_and_label(Role::Button, "Allow").click();
        harness.run_steps(2);
        assert_eq!(harness.state().answer, Some(true));
    });
}

#[test]
fn the_waiting_screen_names_the_code_and_its_buttons() {
    for (language, copy, new_code, stop) in [
        (Language::English, "Copy", "New code", "Stop"),
        (Language::French, "Copier", "Nouveau code", "Arrêter"),
    ] {
        in_language(language, || {
            let mut harness = Harness::new_ui_state(
                |ui, action: &mut Option<WaitingAction>| {
                    let shown = waiting::Waiting {
                        code: "482 193 715",
                        left: Duration::from_secs(9 * 60 + 5),
                        notice: None,
                    };
                    if let Some(a) = waiting::show(ui, &shown) {
                        *action = Some(a);
                    }
                },
                None,
            );
            harness.run_steps(2);
            harness.check_accessibility();
            harness.get_by_label("482 193 715");
            harness.get_by_role_and_label(Role::Button, copy);
            harness.get_by_role_and_label(Role::Button, stop);
            harness
                .get_by_role_and_label(Role::Button, new_code)
                .click_accesskit();
            harness.run_steps(2);
            assert_eq!(*harness.state(), Some(WaitingAction::NewCode));
        });
    }
    in_language(Language::English, || {
        let mut harness = Harness::new_ui(|ui| {
            let shown = waiting::Waiting {
                code: "482 193 715",
                left: Duration::from_secs(9 * 60 + 5),
                notice: None,
            };
            waiting::show(ui, &shown);
        });
        harness.run_steps(2);
        harness.get_by_label("It expires in 9:05.");
    });
}

#[test]
fn the_bar_says_who_and_what_and_stop_sharing_is_first_for_the_keyboard() {
    in_language(Language::English, || {
        let mut harness = Harness::builder()
            .with_size(egui::vec2(900.0, bar::HEIGHT))
            .build_ui_state(
                |ui, action: &mut Option<BarAction>| {
                    let shown = bar::Bar {
                        technician: "Alex",
                        view: true,
                        control: true,
                        recording: true,
                        released: false,
                        reconnecting: None,
                    };
                    if let (Some(a), _) = bar::show(ui, &shown) {
                        *action = Some(a);
                    }
                },
                None,
            );
        harness.run_steps(2);
        harness.check_accessibility();
        harness.get_by_label("Sharing with Alex");
        harness.get_by_label_contains("seeing and controlling · recording");
        harness.get_by_role_and_label(Role::Button, "Take back control");
        harness.get_by_role_and_label(Role::Button, "Open");
        harness.key_press(Key::Tab);
        harness.run_steps(2);
        assert!(
            harness
                .get_by_role_and_label(Role::Button, "Stop sharing")
                .is_focused()
        );
        harness.key_press(Key::Enter);
        harness.run_steps(2);
        assert_eq!(*harness.state(), Some(BarAction::StopSharing));
    });
}

/// Issue 14: after the technician gives control back, the bar says so in one sentence, in both
/// languages, and offers no Take back control (there is nothing to take back).
#[test]
fn the_bar_says_the_technician_gave_control_back() {
    for (language, sentence) in [
        (Language::English, "Alex gave control back to you"),
        (Language::French, "Alex vous a rendu le contrôle"),
    ] {
        in_language(language, || {
            let mut harness = Harness::builder()
                .with_size(egui::vec2(900.0, bar::HEIGHT))
                .build_ui(|ui| {
                    let shown = bar::Bar {
                        technician: "Alex",
                        view: true,
                        control: false,
                        recording: false,
                        released: true,
                        reconnecting: None,
                    };
                    bar::show(ui, &shown);
                });
            harness.run_steps(2);
            harness.check_accessibility();
            harness.get_by_label(sentence);
            assert!(
                harness
                    .query_by_role_and_label(Role::Button, &tr!("window-take-back-control"))
                    .is_none()
            );
        });
    }
}

/// Issue 14: the full window says when the technician gave control back and when they switched
/// their side of clipboard sharing off (the user's own switch alone cannot turn it on then).
#[test]
fn the_full_window_says_what_the_technician_changed() {
    in_language(Language::English, || {
        let mut harness = Harness::builder()
            .with_size(egui::vec2(480.0, 400.0))
            .build_ui(|ui| {
                let shown = super::active::Active {
                    technician: "Alex",
                    view: true,
                    control: false,
                    recording: false,
                    verifier: None,
                    released: true,
                    technician_clipboard: false,
                    reconnecting: None,
                };
                super::active::show(ui, &shown);
            });
        harness.run_steps(2);
        harness.check_accessibility();
        harness.get_by_label("Alex gave control back to you: they can only see your screen now.");
        harness.get_by_label_contains("Alex switched clipboard sharing off on their side");
    });
}
