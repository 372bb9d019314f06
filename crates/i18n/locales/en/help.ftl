# `tandem --help` and every command's help (src/help_text.rs). The ids come from the command tree:
# `help-<command>` is a command's summary (`help-tandem` for `tandem` itself) and
# `help-<command>-<argument>` an argument's help (the argument's name with `-` for `_`). The
# binary's tests fail on a command or argument without its entry here and on an entry that names
# none. The English must say what the doc comments on the clap structs say (a test compares them).
# The default value, the possible values and the environment variable are added after the text.

## tandem (src/main.rs)
help-tandem = Remote desktop support through a one-time code
help-tandem-verbose = More log lines on stderr: -v also shows informational lines and other libraries' warnings, -vv debug lines. `RUST_LOG` overrides it
help-tandem-lang = The language of windows and messages: en or fr (default: the system's, else English)

## tandem relay (src/relay_cmd.rs)
help-relay = Run the rendezvous relay that pairs hosts and viewers
help-relay-listen = UDP address to listen on [default: 0.0.0.0:7447, or the config file's `listen`]
help-relay-data-dir = Where the relay keeps its certificate and key (default: $XDG_DATA_HOME/tandem/relay or ~/.local/share/tandem/relay; under systemd, $STATE_DIRECTORY)
help-relay-config = A TOML config file (limits, code lifetime, certificate files, metrics); flags override it. See contrib/relay.toml for every key. SIGHUP re-reads it
help-relay-metrics = TCP address for Prometheus /metrics, /healthz and /readyz, e.g. 127.0.0.1:9447
help-relay-cluster = Join a cluster of relays sharing one directory of waiting codes in Redis, e.g. redis://10.0.0.5:6379/0 (or the config file's [cluster] table)
help-relay-cluster-node-id = This node's id in the cluster (default: the config's, or a random one)
help-relay-cluster-public-addr = Where clients reach this node, host:port (default: the config's, or the listen address)
help-relay-public-host = The host name (or address) clients use to reach this relay, for the invite it prints (default: the listen address if it is a specific IP, else this machine's host name)
help-relay-log-format = Log lines (stderr) as text or one JSON object per line
help-relay-json = One JSON object per line for each event (stdout)

## tandem share (src/share_cmd.rs, src/trust.rs, src/collab_cli.rs, src/report.rs)
help-share = Share this screen: get a code to read to your technician
help-share-invite = The relay as one string, `tandem://HOST:PORT#FINGERPRINT` (printed by `tandem relay`)
help-share-relay = Relay address, HOST:PORT. Without it: the client config file, then the built-in relay
help-share-fingerprint = The relay certificate's SHA-256 fingerprint (as `tandem relay` printed it)
help-share-ca = Verify the relay's certificate chain against this PEM CA file instead of a fingerprint
help-share-reconnect-grace = When the connection is lost, keep trying to restore the same session for this many seconds (no new code, no new consent) before ending it; 0 ends at once
help-share-code-ttl = How long the code stays valid, in seconds (the relay may cap it)
help-share-auto-accept = Grant without asking: `view` (see the screen) or `control` (also mouse and keyboard). For scripted use only: anyone with the code gets in
help-share-no-window = Don't open the small status window even when a display is present (ask in the terminal)
help-share-theme = The window's colours: light, dark, or the system's (default)
help-share-quality = Quality of photographic regions, 1-100 (text and UI are always exact)
help-share-fps = Most frames per second to capture
help-share-adaptive = Adapt to a slow link (measured from the technician's acknowledgements): lower the quality of photographic regions and the frame rate before delay builds up, and raise them again when the link clears. Text and UI stay exact either way
help-share-downloads = Where received files go (default: your Downloads folder, in `Tandem`). Files are never overwritten: a second `a.txt` becomes `a (1).txt`
help-share-accept-files = Accept every file the other side sends without asking (for scripts)
help-share-no-clipboard = Never share the clipboard in this session, whatever is allowed
help-share-reports = Where the session report (JSON and Markdown) is written at the end (default: ~/.local/share/tandem/reports)
help-share-no-report = Write no session report
help-share-no-feedback = Don't ask "how did it go?" when you stop sharing
help-share-feedback = Ask "how did it go?" when you stop sharing even without a window or terminal (answer on stdin: a number from 1 to 5 and an optional comment, or an empty line to skip)
help-share-json = One JSON object per line for each event

## tandem join (src/join_cmd.rs; the relay, files and report flags are share's)
help-join = Join a shared screen with the code the user read to you
help-join-code = The code the user read to you, e.g. "482 193 715"
help-join-invite = { help-share-invite }
help-join-relay = { help-share-relay }
help-join-fingerprint = { help-share-fingerprint }
help-join-ca = { help-share-ca }
help-join-reconnect-grace = { help-share-reconnect-grace }
help-join-name = Your name, shown to the user when they are asked to allow you in (default: "Your technician", in the user's language if it is yours)
help-join-headless = No window: decode the screen and report (implied when there is no display)
help-join-theme = { help-share-theme }
help-join-host-key = The host key: held, it turns the next key into a window shortcut (F full screen, S fit or 1:1, Delete Ctrl+Alt+Del, C request or release control, T statistics, Q end) and nothing reaches the remote side. right-ctrl (default), left-ctrl, right-alt, left-alt, right-shift, left-shift, right-super or left-super
help-join-present = How the window draws the remote picture: x11 (default; an X11 child window that gets only the changed rectangles, ~8x less viewer CPU; egui draws it while a menu or panel lies over it, and where x11 cannot start), or egui (the window redraws for every change)
help-join-duration = End the session after this many seconds
help-join-snapshot = Write a PNG of the decoded screen here when the session ends
help-join-request-control = Ask for control as soon as viewing is allowed
help-join-clipboard = Your side of clipboard sharing at the start: `off` keeps clipboards from travelling until you switch it on (the toolbar, or `clipboard on` on stdin), whatever the user allows
help-join-record = Ask the user to let you record the session as soon as the screen is shown, into FILE (replay it with `tandem play FILE`). Without it, the window's Record button (or `record on` on stdin) records into ~/.local/share/tandem/recordings
help-join-downloads = { help-share-downloads }
help-join-accept-files = { help-share-accept-files }
help-join-no-clipboard = { help-share-no-clipboard }
help-join-ticket = The ticket this session is for (e.g. INC0012345): it names the session report
help-join-outcome = The outcome for the report, if known up front (else `outcome ...` on stdin)
help-join-reports = { help-share-reports }
help-join-no-report = { help-share-no-report }
help-join-report-webhook = POST the session report (JSON) to this URL at the end, e.g. a ticketing system's webhook
help-join-json = One JSON object per line for each event. Commands are read on stdin: `snapshot PATH`, `control`, `release`, `clipboard on|off`, `monitor N`/`monitor all`, `keys ctrl+alt+del`, `keymode text|physical`, `show on|off`, `record on`/`record off`, `end`, `send PATH`, `chat TEXT`, `accept ID`, `refuse ID`, `cancel ID`, `y`/`n`

## tandem demo (src/demo_cmd.rs)
help-demo = Run relay, share and join on this machine in one go (on a virtual display if there is none)
help-demo-headless = Use a virtual display and a headless viewer even when a display is present
help-demo-seconds = Headless: how long the session runs, in seconds
help-demo-snapshot = Headless: where to write the PNG of what the viewer decoded

## tandem bench (src/bench_cmd.rs, src/bench_session)
help-bench = Measure the screen codec on a corpus of recordings, or a live session (`--session`)
help-bench-corpus = A directory whose subdirectories each hold frame_NNNN.png in order (default: ../shared/bench/corpus when present)
help-bench-json = One JSON object per clip per line (with --session: one JSON object)
help-bench-session = Measure a live session instead of the codec: relay + share on one Xvfb display, the viewer's window full screen on another; still screen, typing, scrolling, a window drag and a key-press latency probe (needs Xvfb, xterm, xdotool)
help-bench-tandem = With --session: the tandem binary to measure (default: this one). Use a release build for numbers
help-bench-compare = With --session: also run the script with these peers, in the same run (vnc = tigervnc and x11vnc)
help-bench-still = With --session: seconds of a still screen
help-bench-phase = With --session: seconds of each of the typing, scrolling and drag phases
help-bench-probes = With --session: key presses of the latency probe
help-bench-fps = With --session: `tandem share --fps`
help-bench-screenshots = With --session: write PNGs of both screens per stack, once the viewer shows A, here
help-bench-threads = Encoder threads (0 = all cores)

## tandem play (src/play_cmd.rs)
help-play = Replay a session recording (`join --record`), or extract a frame as a PNG
help-play-file = The recording (`join --record FILE`, or the viewer's Record button)
help-play-png-at = Decode to this time (seconds from the start, e.g. 12.5) and write the picture to OUT.png instead of opening a window
help-play-json = One JSON object per line for each event

## clap's own words, in every command's help
# The usage line's heading; the colon is added after it (French puts a no-break space before it).
cli-help-heading-usage = Usage
# Section headings; clap adds the colon.
cli-help-heading-commands = Commands
cli-help-heading-arguments = Arguments
cli-help-heading-options = Options
cli-help-flag-help = Print help
cli-help-flag-version = Print version
cli-help-command-help = Print this message or the help of the given subcommand(s)
cli-help-default = [default: { $value }]
cli-help-possible-values = [possible values: { $values }]
cli-help-environment = [env: { $variable }]
