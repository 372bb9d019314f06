//! Input injection behind [`InputSink`]; [`EnigoSink`] is the real one (XTEST via enigo's x11rb backend).

use enigo::{Axis, Button, Coordinate, Direction, Enigo, Key, Keyboard, Mouse, Settings};
use tandem_proto::session::{Input, MouseButton};
use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum InputError {
    #[error("cannot connect to the display for input injection: {0}")]
    Connect(String),
    #[error("injecting input failed: {0}")]
    Inject(String),
}

/// Applies the technician's input to this machine.
pub trait InputSink {
    fn apply(&mut self, input: &Input) -> Result<(), InputError>;
}

/// Injects into the X display `DISPLAY` names.
pub struct EnigoSink {
    enigo: Enigo,
}

impl EnigoSink {
    pub fn new() -> Result<Self, InputError> {
        let settings = Settings {
            // enigo's default sleeps 12 ms per key on X11; the technician's own typing paces us.
            linux_delay: 0,
            ..Settings::default()
        };
        let enigo = Enigo::new(&settings).map_err(|e| InputError::Connect(e.to_string()))?;
        Ok(Self { enigo })
    }
}

impl InputSink for EnigoSink {
    fn apply(&mut self, input: &Input) -> Result<(), InputError> {
        let result = match input {
            Input::PointerMove { x, y } => {
                let (x, y) = (clamp_coord(*x), clamp_coord(*y));
                self.enigo.move_mouse(x, y, Coordinate::Abs)
            }
            Input::Button { button, pressed } => {
                self.enigo.button(button_of(*button), direction(*pressed))
            }
            Input::Scroll { dx, dy } => {
                let mut r = Ok(());
                if *dy != 0 {
                    r = self.enigo.scroll(*dy, Axis::Vertical);
                }
                if r.is_ok() && *dx != 0 {
                    r = self.enigo.scroll(*dx, Axis::Horizontal);
                }
                r
            }
            Input::Key {
                keysym, pressed, ..
            } => self.enigo.key(Key::Other(*keysym), direction(*pressed)),
            Input::Text { text } => self.enigo.text(text),
        };
        result.map_err(|e| InputError::Inject(e.to_string()))
    }
}

fn clamp_coord(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn direction(pressed: bool) -> Direction {
    if pressed {
        Direction::Press
    } else {
        Direction::Release
    }
}

fn button_of(button: MouseButton) -> Button {
    match button {
        MouseButton::Left => Button::Left,
        MouseButton::Middle => Button::Middle,
        MouseButton::Right => Button::Right,
        MouseButton::Back => Button::Back,
        MouseButton::Forward => Button::Forward,
    }
}
