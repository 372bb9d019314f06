//! A forwarding tap for tests that play a malicious relay (cargo feature `tap`, off by default).
//!
//! With the feature, [`crate::RelayConfig::tap`] may hold a [`ForwardTap`]: the forwarders call it
//! with every chunk they forward, before writing it to the peer, and write whatever the tap leaves in
//! the buffer. A tap can record the bytes, rewrite them, or hold them back (leave the buffer empty) and
//! release them with a later chunk of the same stream. Bytes still held back when a stream ends are
//! dropped.
//!
//! Without the feature the types below are zero-sized and their methods do nothing, so the shipped
//! forwarding path is unchanged.

#[cfg(feature = "tap")]
pub use enabled::{ForwardTap, TapDirection};
#[cfg(feature = "tap")]
pub(crate) use enabled::{PairingTap, StreamTap, TapSource};

#[cfg(not(feature = "tap"))]
pub(crate) use disabled::{PairingTap, StreamTap, TapSource};

#[cfg(feature = "tap")]
mod enabled {
    use std::fmt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Which way a forwarded chunk travels.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum TapDirection {
        HostToViewer,
        ViewerToHost,
    }

    /// A hook the relay's forwarders call with every chunk they forward (feature `tap`; tests only).
    pub trait ForwardTap: Send + Sync + fmt::Debug {
        /// Called with each chunk read from one side before it is written to the other.
        ///
        /// `stream` numbers the streams of one pairing from 0 in the order the relay accepted them,
        /// whichever side opened them (so the viewer's control stream is 0); both directions of a
        /// bidirectional stream share its number. What is left in `bytes` is forwarded; an empty
        /// buffer forwards nothing now. Runs on the forwarding task: keep it quick.
        fn on_chunk(&self, direction: TapDirection, stream: u64, bytes: &mut Vec<u8>);
    }

    /// The relay-wide tap, from the config.
    pub(crate) struct TapSource(Option<Arc<dyn ForwardTap>>);

    impl TapSource {
        pub(crate) fn new(tap: Option<Arc<dyn ForwardTap>>) -> Self {
            Self(tap)
        }

        /// The taps of one new pairing: (host's side, viewer's side), sharing one stream counter.
        pub(crate) fn pairing(&self) -> (PairingTap, PairingTap) {
            let streams = Arc::new(AtomicU64::new(0));
            let side = |local_is_host| PairingTap {
                tap: self.0.clone(),
                streams: streams.clone(),
                local_is_host,
            };
            (side(true), side(false))
        }
    }

    /// One side's view of a pairing's tap.
    pub(crate) struct PairingTap {
        tap: Option<Arc<dyn ForwardTap>>,
        streams: Arc<AtomicU64>,
        local_is_host: bool,
    }

    impl PairingTap {
        /// Numbers a stream this side opened and returns its taps: (opener → peer, peer → opener).
        pub(crate) fn stream(&self) -> (StreamTap, StreamTap) {
            let Some(tap) = &self.tap else {
                return (StreamTap(None), StreamTap(None));
            };
            let stream = self.streams.fetch_add(1, Ordering::Relaxed);
            let (up, down) = if self.local_is_host {
                (TapDirection::HostToViewer, TapDirection::ViewerToHost)
            } else {
                (TapDirection::ViewerToHost, TapDirection::HostToViewer)
            };
            (
                StreamTap(Some((tap.clone(), up, stream))),
                StreamTap(Some((tap.clone(), down, stream))),
            )
        }
    }

    /// The tap of one direction of one forwarded stream.
    pub(crate) struct StreamTap(Option<(Arc<dyn ForwardTap>, TapDirection, u64)>);

    impl StreamTap {
        /// Lets the tap see and rewrite `chunk`; false when nothing is left to forward.
        pub(crate) fn apply(&self, chunk: &mut quinn::Chunk) -> bool {
            let Some((tap, direction, stream)) = &self.0 else {
                return true;
            };
            let mut bytes = chunk.bytes.to_vec();
            tap.on_chunk(*direction, *stream, &mut bytes);
            chunk.bytes = bytes.into();
            !chunk.bytes.is_empty()
        }
    }
}

#[cfg(not(feature = "tap"))]
mod disabled {
    /// No tap: zero-sized.
    #[derive(Clone, Copy)]
    pub(crate) struct TapSource;

    impl TapSource {
        #[inline(always)]
        pub(crate) fn pairing(&self) -> (PairingTap, PairingTap) {
            (PairingTap, PairingTap)
        }
    }

    #[derive(Clone, Copy)]
    pub(crate) struct PairingTap;

    impl PairingTap {
        #[inline(always)]
        pub(crate) fn stream(&self) -> (StreamTap, StreamTap) {
            (StreamTap, StreamTap)
        }
    }

    #[derive(Clone, Copy)]
    pub(crate) struct StreamTap;

    impl StreamTap {
        #[inline(always)]
        pub(crate) fn apply(&self, _chunk: &mut quinn::Chunk) -> bool {
            true
        }
    }
}
