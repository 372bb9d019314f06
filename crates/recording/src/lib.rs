//! Session recordings: the screen updates a viewer received, exactly as the codec produced them,
//! with their times, in a small container ([`format`]), and their replay to any time ([`replay`]).
//!
//! A recording is not re-encoded video: it holds the codec's own update stream (plus cursor
//! positions and picture-size changes), so it is as small as the session's screen traffic and a
//! replay decodes to exactly the pictures the viewer showed. It starts at a keyframe (the codec's
//! tile cache and video state start empty there). A file cut short (a crash, a full disk) plays up
//! to its last whole record. Keys, clipboard contents and codes are never recorded: there is no
//! record kind for them.

pub mod format;
pub mod replay;

pub use format::{Header, Record, RecordingError, RecordingReader, RecordingWriter, is_keyframe};
pub use replay::{Entry, Playback, RecordingSource, Replay, ReplayError};
