//! Events for people and for scripts: one prose line each, or with `--json` one JSON object per line.

use std::io::Write;

use serde_json::{Map, Value};

#[derive(Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints `event` with `fields` as JSON, or `human` as prose.
    pub fn event(&self, event: &str, fields: Value, human: impl FnOnce() -> String) {
        let mut stdout = std::io::stdout().lock();
        // A closed stdout (e.g. piped into `head`) must not kill a session.
        let _ = if self.json {
            let mut object = Map::new();
            object.insert("event".into(), Value::from(event));
            if let Value::Object(fields) = fields {
                object.extend(fields);
            }
            writeln!(stdout, "{}", Value::Object(object))
        } else {
            writeln!(stdout, "{}", human())
        };
        let _ = stdout.flush();
    }
}
