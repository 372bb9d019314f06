# The window of the person sharing their screen (crates/host/src/window/).

window-title = Tandem — share your screen
window-title-short = Tandem
window-title-sharing = Tandem — sharing with { $name }
window-technician-unnamed = The technician
window-connecting = Connecting…
window-joining = A technician is connecting…

## Waiting for the technician
window-code-intro = Read this code to your technician:
window-copy = Copy
window-copy-hint = Copy the code, to paste it into a message or an email
window-code-expires = It expires in { $minutes }:{ $seconds }.
window-code-once = It works once. Give it only to the person helping you.
window-new-code = New code
window-stop = Stop
window-code-burned = { $left ->
    [one] Someone tried a wrong code, so that code no longer works. Here is a new one: read it again carefully (1 more wrong try and sharing stops).
   *[other] Someone tried a wrong code, so that code no longer works. Here is a new one: read it again carefully ({ $left } more wrong tries and sharing stops).
}

## Consent: one question at a time
window-consent-title = A question for you
window-consent-view = { $name } wants to see your screen
window-consent-view-means = If you allow, { $name } will see everything on your screen until you stop sharing. They will not be able to use your mouse or keyboard.
window-consent-control = { $name } wants to use your mouse and keyboard
window-consent-control-means = If you allow, { $name } will be able to use your mouse and keyboard as if they were sitting at your computer. You can take back control at any time.
window-consent-diagnostics = { $name } wants to read facts about this computer
window-consent-diagnostics-means = System, memory, disks, network and running programs. { $name } will only read them; nothing is changed.
window-consent-recording = { $name } wants to record your screen
window-consent-recording-means = You will see “Recording” at the top of your screen while it runs, and you can stop it at any time. If you deny, the session goes on.
window-check-number = Check number: { $number }
window-check-number-hint = If { $name } tells you a check number, it must be this one.
window-allow = Allow
window-deny = Deny
window-consent-keys = Keyboard: Enter or Escape denies. To allow, press Tab, then Space.

## While sharing: the bar at the top of the screen
window-bar-sharing = Sharing with { $name }
window-bar-reconnecting = Connection lost, reconnecting ({ $seconds } s)
window-bar-seeing = seeing
window-bar-controlling = seeing and controlling
window-bar-recording = recording
window-bar-released = { $name } gave control back to you
window-bar-open = Open
window-bar-open-hint = Open the full window: chat, files, clipboard
window-stop-sharing = Stop sharing
window-take-back-control = Take back control
window-stop-recording = Stop recording

## While sharing: the full window
window-sharing-with = Sharing with { $name }
window-reconnecting = Reconnecting…
window-reconnecting-detail = The connection to { $name } was lost. Nothing is shared until it is back ({ $seconds } s left).
window-can-control = { $name } can see your screen and use your mouse and keyboard.
window-can-see = { $name } can see your screen.
window-can-nothing = { $name } cannot see your screen.
window-control-released = { $name } gave control back to you: they can only see your screen now.
window-technician-clipboard-off = { $name } switched clipboard sharing off on their side: clipboards are not shared.
window-recording-banner = • Recording: { $name } is recording your screen.
window-back-to-bar = Back to the bar

## After sharing
window-feedback-you-stopped = You stopped sharing your screen.
window-feedback-they-ended = { $name } ended the session.
window-feedback-question = How did it go with { $name }? Your answer goes to them.
window-feedback-bad = 1 (bad)
window-feedback-great = 5 (great)
window-feedback-comment = A comment (optional):
window-feedback-skip = Skip
window-feedback-send = Send
window-ended = Sharing has ended
window-ended-next-stopped = Nothing is shared any more. If you need help again, start Tandem and read the new code to your technician.
window-ended-next-declined = Nothing was shared. If you change your mind, start Tandem again and read the new code.
window-ended-next-other = Nothing is shared any more. If you still need help, start Tandem again and read the new code to your technician.
window-close = Close

## "Show my screen": the technician's screen
window-shown-title = { $name } is showing you their screen
window-shown-only-watch = (you only watch; nothing on your side is shared by this)
window-shown-waiting = Waiting for the technician's screen…
