# How a session ended, for the person on each side (crates/viewer/src/ending.rs, the host's and
# the viewer's session loops). In English these are exactly the session's own sentences, which
# JSON events and logs carry; `$detail` and `$what` are the peer's or a library's own words.

end-user-stopped = You stopped sharing.
end-user-stopped-before-join = You stopped sharing before anyone joined.
end-user-declined = You declined to share your screen.
end-technician-ended = { $side ->
    [viewer] You ended the session.
   *[host] The technician ended the session.
}
end-reason = { $reason ->
    [host-ended] The person sharing their screen ended the session.
    [viewer-ended] The technician ended the session.
    [consent-denied] The person sharing their screen declined the request.
    [protocol-error] The session ended after a protocol error.
   *[shutdown] The session ended because the program was shut down.
}
end-peer-ended-saying = { $peer ->
    [host] The host ended the session
   *[viewer] The technician ended the session
}: { $detail }
end-peer-left = { $detail }
end-reconnect-failed = The connection was lost and cannot be restored: { $detail }
end-reconnect-expired = The connection was lost and could not be restored within { $seconds } s.
end-viewer-silent = The viewer did not introduce itself.
end-capture-failed = Screen capture failed: { $detail }
end-undecodable-update = The host sent a screen update that could not be decoded: { $detail }
end-broke-protocol = { $peer ->
    [host] The host
   *[viewer] The viewer
} broke the protocol: { $what }
end-session-ended = The session ended.

## A session that could not start or go on
end-wrong-code = someone tried to join with a wrong code { $tries } times (a code allows one try), so sharing stopped in case someone is guessing: start sharing again when your technician is ready, and read the code carefully
end-code-expired = your code expired before anyone used it: start sharing again to get a new code
end-unknown-code = no session is waiting under that code: it was wrong, already used or expired — ask for a new one
end-code-expired-unused = the code expired unused
end-fingerprint-mismatch = the relay's certificate fingerprint is { $actual }, but you pinned { $expected }: this is not the relay you expect (or someone is in between); check the fingerprint with the relay's operator
end-rate-limited = the relay refused for now: { $detail }
end-relay-refused = the relay refused ({ $reason ->
    [unknown-code] unknown code
    [rate-limited] rate limited
    [unsupported-version] unsupported protocol version
    [full] relay full
    [bad-request] bad request
   *[unavailable] relay cluster unavailable
}): { $detail }
end-relay-connection-lost = lost the connection to the relay: { $detail }
end-failed = { $detail }
