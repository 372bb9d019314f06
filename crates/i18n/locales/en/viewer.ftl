# The technician's window (crates/viewer/src/app.rs, toolbar.rs, hostkey.rs).

## Where the session stands (the toolbar's left)
viewer-phase-connecting = Connecting
viewer-phase-waiting = Waiting for consent
viewer-phase-viewing = Viewing
viewer-phase-control = In control
viewer-phase-reconnecting = Reconnecting
viewer-phase-ended = Ended
viewer-status-connecting = Connecting to the relay…
viewer-status-looking = Looking for the session…
viewer-status-checking = Checking the code…
viewer-status-reconnecting = The connection was lost; trying for up to { $seconds } s…
viewer-status-reconnected = Reconnected.
viewer-status-waiting = Waiting for the user to allow access…
viewer-status-control = You can use the user's mouse and keyboard.
viewer-status-viewing = You see the screen; ask for control to use it.
viewer-status-not-allowed = The user has not allowed you to see the screen.
viewer-status-control-not-sent = Control request not sent: try again in { $seconds } s.
viewer-status-control-declined = The user declined control; you still see the screen.
viewer-status-rated = The user rated the session { $rating }/5.
viewer-status-rated-comment = The user rated the session { $rating }/5: { $comment }
viewer-status-recording-failed = Recording failed: { $reason }
viewer-status-finishing = Ending: waiting for the user's feedback (up to a minute)…
viewer-status-ended = Session ended: { $reason }
viewer-check-number = Check number: { $number }
viewer-fps = { $fps } fps
viewer-stats-waiting = Statistics: waiting for frames
viewer-end-session = End session
viewer-end-now = End now
viewer-end-hint = End the session for both of you
viewer-host-key-note = Shortcuts: { $key } + key

## The picture
viewer-fit = Fit
viewer-fit-hint = Fit the whole remote screen in the window
viewer-actual-hint = One remote pixel per pixel (scroll bars when larger)
viewer-fullscreen = Full screen
viewer-fullscreen-hint = Full screen on or off
viewer-monitor-hint = Which of the user's monitors to see
viewer-whole-desktop = Whole desktop ({ $width }×{ $height })
viewer-whole-desktop-short = Whole desktop
viewer-monitor = { $name } — { $width }×{ $height }
viewer-monitor-primary = { $name } — { $width }×{ $height }, primary

## The keyboard
viewer-keyboard-mode = Keyboard: { $mode }
viewer-keymode-text = text
viewer-keymode-physical = physical
viewer-keymode-text-label = Text: types what you type, any layout
viewer-keymode-physical-label = Physical: keys by position (same layout, games)
viewer-keyboard-hint = How your keys reach the remote side: as text, or as physical keys
viewer-send-keys = Keys
viewer-send-keys-hint = Send keys your own desktop would take for itself (Ctrl+Alt+Del: the shortcut)
viewer-key-right-ctrl = Right Ctrl
viewer-key-left-ctrl = Left Ctrl
viewer-key-right-alt = Right Alt
viewer-key-left-alt = Left Alt
viewer-key-right-shift = Right Shift
viewer-key-left-shift = Left Shift
viewer-key-right-super = Right Super
viewer-key-left-super = Left Super

## The session
viewer-request-control = Request control
viewer-control-requested = Control requested…
viewer-request-control-hint = Ask the user to let you use their mouse and keyboard
viewer-release-control = Release control
viewer-release-control-hint = Give control back to the user: you keep seeing their screen
viewer-clipboard-shared = Clipboard shared
viewer-clipboard-off-by-you = Clipboard off (by you)
viewer-clipboard-off-by-user = Clipboard off (by the user)
viewer-clipboard-hint = Your side of clipboard sharing: clipboards travel while it is on and the user allows it
viewer-more = More
viewer-more-showing = More •
viewer-more-hint = Statistics, Show my screen (• while you show it), system information, notes
viewer-stats = Stats
viewer-stats-hint = Frame rate, round trip, bandwidth and timings over the picture
viewer-record = Record
viewer-record-asking = Asking the user… (cancel)
viewer-record-stop = Stop recording
viewer-record-refused = Record (refused)
viewer-record-failed = Record (failed)
viewer-record-hint = Record the session (the user is asked first and sees it on their bar)
viewer-show-my-screen = Show my screen
viewer-show-my-screen-hint = Show the user your own screen (they only watch; they can close it)
