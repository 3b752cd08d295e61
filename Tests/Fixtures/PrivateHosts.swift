import Foundation

/// Runs a program with a hosts file of the test's own in place of `/etc/hosts`, in a private mount
/// namespace (`unshare -m` + `mount --bind`), so that Azure's real host names lead to the emulator
/// for that program alone. The program starts only if every name in `mustResolveToLoopback`
/// resolves into 127.0.0.0/8 there (exit 98 otherwise), so a failed set-up can never send a request
/// off the machine. Needs root, as CI has.
public enum PrivateHosts {
    /// `true` where the namespace can be made (root).
    public static var available: Bool { getuid() == 0 }

    /// Runs `program arguments…` with `hostsFile` as `/etc/hosts`.
    public static func run(hostsFile: String, mustResolveToLoopback names: [String], _ program: String, _ arguments: [String],
                           environment: [String: String] = [:], removing: [String] = [], timeout: Duration = .seconds(120)) async throws -> CommandResult {
        let directory = try TemporaryDirectory()
        let hostsPath = try directory.write("hosts", hostsFile)
        let guarded = """
            mount --bind "$CLAVIS_TEST_HOSTS" /etc/hosts || exit 97
            for name in \(names.joined(separator: " ")); do
                getent hosts "$name" | grep -q '^127[.]' || { echo "$name does not resolve to loopback" >&2; exit 98; }
            done
            exec "$@"
            """
        var environment = environment
        environment["CLAVIS_TEST_HOSTS"] = hostsPath
        return try await Command.run("unshare", ["-m", "--propagation", "private", "sh", "-c", guarded, "sh", program] + arguments,
                                     environment: environment, removing: removing, timeout: timeout)
    }
}
