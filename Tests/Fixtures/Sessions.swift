import Foundation

/// Whether the test harness (scripts/test, .ci/run) has started a D-Bus session with an unlocked
/// gnome-keyring. Tests that need one are enabled only then, and fail if it does not work.
public enum TestSession {
    /// `true` under `bash scripts/test` and in CI.
    public static var hasKeyring: Bool { ProcessInfo.processInfo.environment["CLAVIS_TEST_SESSION"] == "1" }

    /// How many times slower than a plain debug build this run is: `scripts/sanitize` sets
    /// `CLAVIS_TEST_SLOWDOWN` (AddressSanitizer with whole-stack unwinding), so "fails fast" bounds
    /// still tell a quick failure from a hang without failing on the sanitizer's cost.
    public static var slowdown: Int { ProcessInfo.processInfo.environment["CLAVIS_TEST_SLOWDOWN"].flatMap(Int.init).map { max(1, $0) } ?? 1 }

    /// Runs `script` with bash inside a new private D-Bus session, with its own keyring directories
    /// (`XDG_DATA_HOME`, `XDG_RUNTIME_DIR`) under `home`. `$CLAVIS` names the built `clavis`.
    /// With `configFile`, the bus uses that configuration (e.g. one with no service files).
    public static func isolated(_ script: String, home: TemporaryDirectory, configFile: String? = nil,
                                timeout: Duration = .seconds(60)) async throws -> CommandResult {
        let data = home.file("data"), runtime = home.file("runtime")
        for directory in [data, runtime] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        var arguments: [String] = []
        if let configFile { arguments.append("--config-file=\(configFile)") }
        arguments += ["--", "bash", "-c", Self.keyringReadiness + script]
        var result = try await Command.run("dbus-run-session", arguments,
                                     environment: ["XDG_DATA_HOME": data, "XDG_RUNTIME_DIR": runtime, "CLAVIS": Command.clavis],
                                     removing: ["DBUS_SESSION_BUS_ADDRESS"], timeout: timeout)
        result.stderr = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("Failed to set fd limit") }.joined(separator: "\n")
        return result
    }

    /// Defined before every isolated script: `gnome-keyring-daemon` as the script calls it, then a
    /// wait (up to 5 s) until the daemon owns `org.freedesktop.secrets`. `--unlock` can return
    /// before it does; a `clavis` started in that gap has the bus activate a second daemon, whose
    /// messages ("discover_other_daemon: 1", the bus's activation log) land in the script's
    /// stderr, which the tests hold to exact lines.
    static let keyringReadiness = #"""
        gnome-keyring-daemon() {
            command gnome-keyring-daemon "$@"; local status=$? tries=0
            until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
                tries=$((tries + 1)); [ "$tries" -ge 250 ] && break; sleep 0.02
            done
            return $status
        }

        """#

    /// A session bus configuration with no service files: nothing can be auto-started, so there
    /// is no Secret Service provider.
    public static func busConfigWithoutServices(in directory: TemporaryDirectory) throws -> String {
        try directory.write("bus.conf", """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:tmpdir=\(directory.path)</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
              </policy>
            </busconfig>
            """)
    }
}
