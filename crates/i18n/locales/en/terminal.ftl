# What the `tandem` binary prints for people on the terminal (src/*.rs). JSON events (`--json`)
# stay English and are not here.

## Shared by several commands
cli-session-ended = Session ended: { $reason }
cli-session-task-failed = the session task failed
cli-wrote-file = Wrote { $path }.
cli-cannot-write-file = Cannot write { $path }: { $reason }
cli-stdin-failed = warning: cannot read commands from stdin: { $error }
cli-runtime-failed = starting the async runtime
cli-unknown-language = `{ $tag }` is not a language Tandem speaks: en or fr
cli-unknown-theme = `{ $name }` is not a theme: light, dark or system
cli-unknown-host-key = `{ $name }` is not a host key: { $names }

## tandem share (src/share_cmd.rs)
share-peer-name = The technician
share-auto-accept-warning = warning: --auto-accept: whoever enters the code can { $grant ->
    [control] see your screen and control your mouse and keyboard
   *[other] see your screen
} without being asked
share-window-failed = warning: the status window failed ({ $error }); continuing in the terminal
share-failed = sharing failed
share-connected = Connected to the relay at { $relay }.
share-your-code = Your code:  { $code }
share-code-instructions = Read it to your technician. It works once and expires in { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
}.
share-paired = A technician is connecting; checking the code…
share-secured = Code confirmed. Check number: { $verifier }
share-reconnecting = Reconnecting… the connection was lost; nothing is shared until it is back (up to { $seconds } s).
share-resumed = Reconnected: the session goes on with the same permissions.
share-consent-in-window = { $technician } wants to { $grant ->
    [control] control your mouse and keyboard
    [diagnostics] read facts about this computer (system, memory, disks, network, running programs)
    [recording] record your screen (you can stop it with `record off`; if you refuse, the session goes on)
   *[view] see your screen
}: answer in the Tandem window.
share-consent-in-terminal = { $technician } wants to { $grant ->
    [control] control your mouse and keyboard
    [diagnostics] read facts about this computer (system, memory, disks, network, running programs)
    [recording] record your screen (you can stop it with `record off`; if you refuse, the session goes on)
   *[view] see your screen
}. Allow? [y/N]
share-consent-withdrawn = That question no longer needs an answer.
share-permissions-control = { $technician } can see your screen and control it.{ $clipboard ->
    [shared] { " " }Your clipboards are shared (`clipboard off` to stop).
   *[not-shared] { "" }
} Type `revoke` to take back control, `stop` to end.
share-permissions-view = { $technician } can see your screen.{ $clipboard ->
    [shared] { " " }Your clipboards are shared (`clipboard off` to stop).
   *[not-shared] { "" }
} Type `stop` to end.
share-permissions-none = { $technician } cannot see your screen.
share-feedback-in-window = The session is ending. How did it go? Answer in the Tandem window.
share-feedback-in-terminal = The session is ending. How did it go? Type a number from 1 (bad) to 5 (great), optionally followed by a comment, or press Enter to skip.
share-recording-on = Recording: the technician is recording your screen. Type `record off` to stop it.
share-recording-off = The technician is no longer recording your screen.
share-recording-refused = You refused the recording; the session goes on.
share-feedback-delivered = Thank you: your answer was sent to the technician.
share-feedback-not-delivered = Thank you: the technician had already left, so your answer is only in your session report.
share-diagnostics-shared = The technician received a snapshot of this computer's system information.
share-input-dropped = The technician's input was ignored: they do not have control.
share-control-released = The technician gave control back to you: they can only see your screen now.
share-technician-clipboard-on = The technician switched clipboard sharing back on on their side.
share-technician-clipboard-off = The technician switched clipboard sharing off: clipboards are not shared now.
share-shown-screen-on = The technician is showing you their screen (you only watch; `close-shown` closes it).
share-shown-screen-off = The technician's screen is no longer shown.
share-shown-frame = The technician's screen: { $width }x{ $height }.
share-input-summary = The technician's input: { $injected } events applied, { $discarded } discarded.
share-commands-help = commands: y, n, revoke, record off, clipboard on|off|auto, new, stop, close-shown, shown-snapshot PATH, { $collab }
share-shown-snapshot-nothing = the technician is not showing their screen

## Chat, clipboard and files on the terminal (src/collab_cli.rs)
collab-commands-help = send PATH, chat TEXT, accept ID, refuse ID, cancel ID
collab-chat-from-you = You: { $text }
collab-chat-from-peer = { $peer }: { $text }
collab-clipboard-sent = Your clipboard ({ $format ->
    [image] image
   *[text] text
}, { $size }) was shared.
collab-clipboard-received = { $peer }'s clipboard ({ $format ->
    [image] image
   *[text] text
}, { $size }) is now on your clipboard.
collab-files-what = { $files ->
    [one] { $name } ({ $size })
   *[other] { $name }: { $files } files, { $size }
}
collab-file-offered-ask = { $peer } wants to send you { $what }. Accept? [y/N] (or `accept { $id }` / `refuse { $id }`)
collab-file-offered = { $peer } wants to send you { $what }.
collab-file-offer-sent = Offered { $name } ({ $files ->
    [one] { $files } file
   *[other] { $files } files
}, { $size }) as { $transfer }; waiting for { $peer } to accept.
collab-files-not-sent = Not sent: { $names }.
collab-transfer-resumes = Transfer { $transfer } starts, resuming after { $size } already there.
collab-transfer-starts = Transfer { $transfer } starts.
collab-transfer-progress = { $transfer } { $name }: { $percent }% ({ $done } of { $total }) at { $rate }/s
collab-transfer-progress-eta = { $progress }, { $seconds } s left
collab-file-received = Received { $path } ({ $size }), verified.
collab-transfer-done = Transfer { $transfer } done: { $name } { $direction ->
    [sent] sent
   *[received] received
} ({ $files ->
    [one] { $files } file
   *[other] { $files } files
}, { $size } in { $seconds } s, { $rate }/s).
collab-transfer-failed = Transfer { $transfer } ({ $name }) stopped: { $reason }

## tandem join (src/join_cmd.rs)
join-default-name = Your technician
join-peer-name = The user
join-not-a-code = that is not a Tandem code
join-window-failed = warning: the viewer window failed ({ $error }); continuing headless
join-failed = the session failed
join-connected = Connected to the relay; looking for the session…
join-paired = Found the session; checking the code…
join-secured = Code confirmed. Check number: { $verifier }. Waiting for the user to allow access…
join-reconnecting = Reconnecting… the connection to the host was lost (trying for up to { $seconds } s).
join-resumed = Reconnected: the session goes on.
join-permissions-control = You can see and control the screen.{ $clipboard ->
    [shared] { " " }Clipboards are shared.
   *[not-shared] { "" }
}
join-permissions-view = You can see the screen (no control).{ $clipboard ->
    [shared] { " " }Clipboards are shared.
   *[not-shared] { "" }
}
join-permissions-none = The user has not allowed you to see the screen.
join-feedback = The user rated the session { $rating }/5.
join-feedback-comment = The user rated the session { $rating }/5: { $comment }
join-diagnostics-declined = The user declined to share their system information.
join-diagnostics = The user's system information:
join-control-request-not-sent = Control request not sent: the user answered moments ago. Try again in { $seconds } s.
join-monitors = The user's monitors (`monitor N` or `monitor all`):
join-monitor-at = { $monitor } at { $x },{ $y }
join-showing-on = The user now sees your screen (view only; `show off` stops).
join-showing-closed = The user closed your screen.
join-showing-failed = Your screen is not shown: { $reason }
join-showing-off = You stopped showing your screen.
join-key-mode-text = Keyboard: text mode (what you type appears, any layout).
join-key-mode-physical = Keyboard: physical mode (keys by position).
join-control-declined = The user declined your request for control; you can still see the screen and may ask again.
join-clipboard-switch-on = Your side of clipboard sharing is on: clipboards travel while the user allows it.
join-clipboard-switch-off = Your side of clipboard sharing is off: no clipboard travels either way.
join-first-frame = Receiving the screen ({ $width }x{ $height }).
join-stats = { $width }x{ $height }, { $frames } frames, { $overlay }
join-cursor-shape = The user's pointer changed ({ $width }x{ $height }).
join-snapshot = Wrote what the viewer decoded to { $path }
join-finishing = Ending: the user may be asked how it went; waiting for them (up to a minute). `end` again ends at once.
join-summary = { $frames } frames in { $seconds } s ({ $fps } fps), { $per_frame } bytes per frame on average
join-recording-asking = Asked the user to allow recording…
join-recording-refused = The user refused recording; the session goes on.
join-recording-started = Recording into { $path } (`record off` to stop).
join-recording-stopped = Recording stopped: { $path } ({ $bytes } bytes). Replay it with `tandem play { $path }`.
join-recording-failed = Recording into { $path } failed: { $reason }
join-note-added = Note added to the session report.
join-outcome-help = outcome: resolved, not-resolved or escalated, then an optional summary
join-outcome-set = Outcome recorded: { $outcome }.
join-monitor-help = monitor: a number from the monitors list, or all
join-keys-error = keys: { $error }
join-keymode-help = keymode: text or physical
join-commands-help = commands: snapshot PATH, control, release, clipboard on|off, monitor N|all, show on|off, record on|off, keys COMBO, keymode text|physical, end, y, n, { $collab }

## Where the relay comes from (src/trust.rs)
trust-source-builtin = the relay built into this program
trust-no-relay = no relay configured: paste the invite your IT gave you (`--invite tandem://…`), or put `invite = "tandem://…"` in { $file } (printed by `tandem relay`)
trust-reading-config = reading { $path }
trust-config-invalid = { $path } is not valid
trust-invite-or-relay = { $source }: give either `invite`, or `relay` with `fingerprint` or `ca` (not both)
trust-fingerprint-invalid = { $source }: the fingerprint is not a valid SHA-256 fingerprint
trust-fingerprint-and-ca = { $source }: give a fingerprint or a CA file, not both
trust-no-fingerprint = { $source }: say how to trust the relay: its fingerprint (printed by `tandem relay`) or a CA file
trust-invite-scheme = { $source }: an invite starts with { $scheme } (as `tandem relay` prints it)
trust-invite-no-fingerprint = { $source }: the invite has no #fingerprint part
trust-invite-address = { $source }: the invite's relay address should be HOST:PORT
trust-invite-fingerprint-invalid = { $source }: the invite's fingerprint is not valid

## tandem relay (src/relay_cmd.rs)
relay-listening = Tandem relay listening on { $addr } (UDP)
    Certificate fingerprint: { $fingerprint }
    Invite for users: { $invite }
    (`tandem share --invite …`, or `invite = "…"` in ~/.config/tandem/client.toml or /etc/tandem/client.toml; --public-host sets the host clients use)
relay-metrics = Metrics: http://{ $addr }/metrics (also /healthz, /readyz)
relay-cluster-node = Cluster node { $node }: codes are shared through Redis
relay-draining = Draining: no new codes; live sessions may finish (send SIGTERM again to stop now).
relay-task-failed = the relay task failed
relay-stopped = Relay stopped.
relay-reload-skipped = SIGHUP: no --config file to reload; nothing changed.
relay-reloading-certificate = reloading the certificate
relay-reloaded-certificate = Reloaded { $path }: limits, code lifetime and certificate (fingerprint { $fingerprint }).
relay-reloaded = Reloaded { $path }: limits, code lifetime and certificate (fingerprint unchanged).
relay-reload-failed = Reload failed, keeping the running configuration: { $error }
relay-session-started = session { $session } paired
relay-session-ended = session { $session } ended: { $reason }
relay-reading-config = reading the relay config { $path }
relay-parsing-config = parsing the relay config { $path }
relay-starting = starting the relay

## tandem demo (src/demo_cmd.rs)
demo-finding-executable = finding the tandem executable
demo-starting-xvfb = No display in use: starting a virtual one (Xvfb) with live content…
demo-xvfb-failed = starting Xvfb (install it with scripts/install-deps.sh)
demo-no-xterm = (xterm is not installed; the shared screen shows only Tandem's window)
demo-relay-failed = starting the embedded relay
demo-relay-listening = Relay listening on { $addr } (fingerprint { $fingerprint })
demo-share-ended = tandem share ended: { $reason }
demo-code-issued = Code issued: { $code }
demo-technician-name = Demo technician
demo-window-open = The viewer window is open: close it to end the demo.
demo-secured = Code confirmed end to end; check number { $verifier }
demo-permissions = The user allowed: view={ $view } control={ $control }
demo-stats = { $frames } frames, { $fps } fps, { $per_frame } bytes/frame
demo-summary = Viewer received { $frames } frames in { $seconds } s: { $fps } fps, { $per_frame } bytes per frame on average
demo-snapshot = What the viewer decoded: { $path }
demo-unclean-exit = a process did not end cleanly (join ok: { $join }, share ok: { $share })
demo-starting = starting { $what }
demo-child-silent = { $what } said nothing for { $seconds } s
demo-child-exited = { $what } exited

## tandem play (src/play_cmd.rs)
play-cannot-open = cannot play { $path }
play-opened = { $path }: { $seconds } s, { $updates ->
    [one] { $updates } screen update
   *[other] { $updates } screen updates
}
play-truncated = (the file is cut short: it plays up to its last whole record)
play-damaged = (unreadable past a point: { $error })
play-png-at-time = --png-at takes a time in seconds (e.g. 12.5) and a file name
play-cannot-decode = cannot decode { $path } to { $seconds } s
play-cannot-write = cannot write { $path }
play-frame-written = Wrote the picture at { $seconds } s ({ $width }x{ $height }) to { $path }
play-no-display = no display to open the player on: use --png-at SECONDS OUT.png
play-title = Tandem recording — { $path }
play-window-failed = the player window failed: { $error }

## tandem bench (src/bench_cmd.rs); the table itself is the bench crate's, in English
bench-no-corpus = no corpus found: pass --corpus DIR (subdirectories of frame_NNNN.png)
bench-progress-frames = frames
bench-failed = benchmarking the corpus at { $path }

## The session report's Markdown (src/report.rs); its JSON keys and values stay English
report-untitled = support session
report-title = Tandem session report: { $title }
report-row-label = { $label }:
report-row-side = Report of
report-row-ticket = Ticket
report-row-technician = Technician
report-row-machine = User's machine
report-row-started = Started
report-row-ended = Ended
report-row-duration = Duration
report-row-check-number = Check number
report-row-outcome = Outcome
report-row-summary = Summary
report-row-feedback = User's feedback
report-row-ended-how = How it ended
report-side = { $side ->
    [technician] technician
   *[user] user
}
report-seconds = { $seconds } s
report-outcome = { $outcome ->
    [resolved] resolved
    [not-resolved] not resolved
   *[escalated] escalated
}
report-permissions = Permissions
report-permissions-none = None granted.
report-permission = { $what ->
    [control] see and control the screen
    [view] see the screen
   *[nothing] nothing
}{ $clipboard ->
    [shared] , clipboard shared
   *[not-shared] { "" }
}
report-recording = Recording
report-recording-none = Not recorded.
report-recording-refused = asked to record; the user refused
report-recording-unanswered = asked to record; no answer
report-recording-span = { $from } to { $to }
report-recording-status = { $status ->
    [recorded] recorded
    [failed] failed
   *[other] { $status }
}
report-recording-file = { " " }into `{ $file }`
report-recording-bytes = , { $bytes } bytes
report-link = The link
report-link-none = Never lost.
report-link-resumed = lost; the session resumed at { $resumed }
report-link-not-resumed = lost; the session did not resume
report-shown = The technician's screen shown to the user
report-shown-none = Not shown.
report-shown-shown = shown
report-shown-closed = shown, closed by the user
report-shown-failed = shown, stopped: { $reason }
report-files = Files
report-files-none = None.
report-file-failed = failed: { $reason }
report-file-sizes = { $files ->
    [one] { $files } file
   *[other] { $files } files
}, { $bytes } bytes
report-file-direction = { $direction ->
    [sent] sent
   *[received] received
}
report-file-received = { $bytes } bytes, BLAKE3 `{ $blake3 }`
report-chat = Chat
report-chat-none = No messages.
report-notes = Notes
report-notes-none = None.
report-system = System information
report-system-none = Not shared.
report-cannot-create-folder = cannot create the reports folder { $path }
report-cannot-serialise = cannot serialise the report
report-written = Session report: { $path }
report-failed = The session report could not be written: { $error }
report-posted = Session report sent to { $url } (HTTP { $status }).
report-webhook-failed = The session report could not be sent to { $url }: { $reason }
