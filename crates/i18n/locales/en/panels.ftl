# The panels of both windows: chat, files, clipboard (crates/collab-ui, the viewer's and the host's
# collaboration panels), system information, notes, the statistics overlay and the player.
# `$peer` is who is on the other side: `user` or `technician`.

## Chat, files and clipboard (crates/collab-ui)
panel-transfer-summary = { $files ->
    [one] { $name } ({ $size })
   *[other] { $name }: { $files } files, { $size }
}
panel-clipboard-what = { $format ->
    [image] image
   *[text] text
}, { $size }
panel-clipboard-sent = Your clipboard was shared ({ $what }).
panel-clipboard-received = { $peer ->
    [user] The user's
   *[technician] The technician's
} clipboard is now on yours ({ $what }).
panel-clipboard-failed = Clipboard not synced: { $detail }
panel-transfer-sending = Sending
panel-transfer-receiving = Receiving
panel-transfer-offered = { $peer ->
    [user] The user
   *[technician] The technician
} wants to send you this.
panel-clear-finished = Clear finished
panel-accept = Accept
panel-refuse = Refuse
panel-cancel = Cancel
panel-transfer-starting = Starting…
panel-transfer-waiting = Waiting for { $peer ->
    [user] the user
   *[technician] the technician
} to accept…
panel-transfer-progress = { $percent }%   { $done } of { $total }
panel-transfer-pace = { $rate }/s, { $left } left
panel-seconds = { $seconds } s
panel-transfer-rate = , { $rate }/s
panel-transfer-received-saved = Received in { $took }: saved as { $path }{ $more ->
    [0] { "" }
   *[other] { " " }and { $more } more
}
panel-transfer-received = Received in { $took }.
panel-transfer-sent = Sent in { $took }.
panel-transfer-stopped = Stopped: { $reason }
panel-transfer-not-sent = Not sent: { $names }{ $more ->
    [0] { "" }
   *[other] { " " }and { $more } more
}
panel-chat-hint = Type a message, Enter to send
panel-chat-hint-inactive = Chat works once the screen is shared
panel-chat-empty = No messages yet.
panel-chat-you = You:
panel-chat-from = { $peer }:
panel-send-file = Send file…
panel-send-file-hover = Send a file or a folder; you can also drop files on this window
panel-send-path-label = File or folder:
panel-send-path-hint = /path/to/file
panel-send = Send
panel-drop-files = { $text } ({ $files } files)

## The technician's panels (crates/viewer/src/collab_panels.rs)
panel-chat = Chat
panel-chat-unread = Chat ({ $unread })
panel-chat-heading = Chat with { $peer ->
    [user] the user
   *[technician] the technician
}
panel-chat-peer-label = { $peer ->
    [user] User
   *[technician] Technician
}
panel-drop-to-send = Drop to send to { $peer ->
    [user] the user
   *[technician] the technician
}

## The user's panel (crates/host/src/collab_panel.rs)
panel-share-clipboard = Share clipboard
panel-share-clipboard-hover = What you copy can be pasted on their side, and the other way round
panel-files = Files
panel-files-drop-hint = Drop files on this window to send them.
panel-chat-new = { $unread } new

## System information (crates/viewer/src/sysinfo_panel.rs)
sysinfo-button = System info
sysinfo-button-waiting = System info…
sysinfo-button-hover = Ask the user for this computer's system information
sysinfo-title = System information
sysinfo-waiting = Waiting for the user to allow it…
sysinfo-filter = Filter:
sysinfo-copy = Copy
sysinfo-copy-json = Copy JSON
sysinfo-seconds = { $seconds } s
sysinfo-minutes = { $minutes } min
sysinfo-hours = { $hours } h { $minutes } min
sysinfo-days = { $days } d { $hours } h

# The fields of the system information, by their JSON key.
sysinfo-key-addresses = Addresses
sysinfo-key-cores = Cores
sysinfo-key-cpu = CPU
sysinfo-key-default-route = Default route
sysinfo-key-disks = Disks
sysinfo-key-displays = Displays
sysinfo-key-dns-servers = DNS servers
sysinfo-key-file-system = File system
sysinfo-key-height = Height
sysinfo-key-hostname = Hostname
sysinfo-key-kernel = Kernel
sysinfo-key-load-15m = Load 15m
sysinfo-key-load-1m = Load 1m
sysinfo-key-load-5m = Load 5m
sysinfo-key-mac = MAC
sysinfo-key-memory = Memory
sysinfo-key-model = Model
sysinfo-key-mount = Mount
sysinfo-key-name = Name
sysinfo-key-network = Network
sysinfo-key-os = OS
sysinfo-key-pid = PID
sysinfo-key-primary = Primary
sysinfo-key-swap-total = Swap total
sysinfo-key-swap-used = Swap used
sysinfo-key-top-by-cpu = Top by cpu
sysinfo-key-top-by-memory = Top by memory
sysinfo-key-total = Total
sysinfo-key-uptime = Uptime
sysinfo-key-used = Used
sysinfo-key-user = User
sysinfo-key-width = Width

## The statistics overlay (crates/viewer/src/stats.rs)
stats-fps = { $fps } fps
stats-throughput = { $kbytes } kB/s
stats-round-trip = round trip { $ms } ms
stats-encode = encode { $value }
stats-decode = decode { $ms } ms
stats-lossy = lossy { $value }
stats-input-to-pixel = input to pixel ≈ { $ms } ms

## The technician's notes (crates/viewer/src/notes.rs)
notes-button = Notes
notes-button-hover = Your notes and the outcome, for the session report
notes-title-ended = Before you close: the outcome
notes-label = Notes (kept with the session report):
notes-outcome = Outcome:
notes-outcome-resolved = Resolved
notes-outcome-not-resolved = Not resolved
notes-outcome-escalated = Escalated
notes-summary = Summary (optional):
notes-close-without-outcome = Close without an outcome
notes-save-and-close = Save and close

## The recording player (crates/viewer/src/player.rs)
player-play = Play
player-pause = Pause
player-speed = { $speed }x
player-cut-short = (cut short)
player-cut-short-hover = The file ends inside a record: it plays up to its last whole one.
player-stopped = Stopped: { $error }

## Why a transfer stopped (crates/collab-ui/src/reasons.rs), in the panels and on the terminal.
# `$detail` is quoted as it is: a library's or the system's error, or the other side's own words.
# The English must be the sentence JSON events carry (crates/collab/src/fail.rs; a test checks).
transfer-why-not-sharing-yet = Files can be sent once the screen is shared.
transfer-why-too-many-open = At most { $max } transfers can be open at once.
transfer-why-cannot-start = cannot start the transfer: { $detail }
transfer-why-scan-failed = { $detail }
transfer-why-nothing-to-send = There is no file to send there (empty folder, or only links and special files).
transfer-why-you-refused = You refused the files.
transfer-why-downloads-unusable = The download folder cannot be used: { $detail }
transfer-why-you-cancelled = You cancelled it.
transfer-why-peer-cancelled = { $peer ->
    [user] The user
   *[technician] The technician
} cancelled the transfer.
transfer-why-peer-stopped = { $peer ->
    [user] The user
   *[technician] The technician
} stopped the transfer: { $detail }
transfer-why-refused-too-many = Refused: { $max } transfers are already open.
transfer-why-refused-empty = Refused: the offer lists no file.
transfer-why-refused-invalid = Refused: { $detail }
transfer-why-peer-refused = { $peer ->
    [user] The user
   *[technician] The technician
} refused the files.
transfer-why-impossible-resume = The receiver asked to resume at an impossible position.
transfer-why-stream-closed = The data stream is not open.
transfer-why-send-failed = { $detail }
transfer-why-receive-failed = { $detail }
transfer-why-no-longer-sharing = The session is no longer sharing.
transfer-why-ended-while-sending = The session ended before the transfer finished.
transfer-why-ended-while-receiving = The session ended before the transfer finished; offer the same files again in a new session to resume.
transfer-why-ended-unanswered = The session ended before the offer was answered.

## Why the clipboard was not synced (crates/collab-ui/src/reasons.rs). `$detail`: as it is.
# The English must be the sentence JSON events carry (crates/collab/src/fail.rs; a test checks).
clipboard-why-not-shared = Your clipboard was not shared: { $detail }.
clipboard-why-unusable = The clipboard cannot be used here: { $detail }
clipboard-why-not-set = The clipboard could not be set: { $detail }
clipboard-why-peer-refused = { $detail }
