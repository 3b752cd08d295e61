import Clavis
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reading secrets from stdin or a no-echo prompt, and writing values and messages.
enum Terminal {
    /// The most a secret read from stdin or a file may hold.
    static let maximumSecretSize = 1 << 20

    /// Writes `message` as `error: MESSAGE` on stderr.
    static func printError(_ message: String) {
        let line = message.hasPrefix("error:") ? message : "error: \(message)"
        writeAll(2, Array((line + "\n").utf8))
    }

    /// Writes a human message (progress, confirmations) on stderr.
    static func note(_ message: String) {
        writeAll(2, Array((message + "\n").utf8))
    }

    /// Writes a line on stdout (values for scripts).
    static func printLine(_ text: String) {
        writeAll(1, Array((text + "\n").utf8))
    }

    /// Writes the secret's raw bytes and a newline on stdout. A value that did not reach its
    /// reader (stdout closed, a broken pipe, a full disk) is a failure, not a silent success.
    static func printSecret(_ secret: Secret) throws {
        var failure = secret.withRevealedBytes { raw in ClavisExecutables.writeAll(raw, to: 1) }
        if failure == nil { failure = withUnsafeBytes(of: UInt8(0x0A)) { ClavisExecutables.writeAll($0, to: 1) } }
        if let failure {
            throw CLIFailure(message: "could not write the value to stdout: \(String(cString: strerror(failure)))")
        }
    }

    /// Reads a secret: from stdin when it is not a terminal (one trailing newline stripped),
    /// otherwise from a prompt on the terminal with echo off.
    static func readSecret(prompt: String) throws -> Secret {
        if isatty(0) == 1 {
            return try promptWithoutEcho(prompt)
        }
        return try readAll(fd: 0, what: "stdin").trimmingOneTrailingNewline()
    }

    /// Reads a file a user names on the command line — a certificate, an env file, a passphrase
    /// or key to convert — through ``SecretFile`` (one open, regular files only, size-capped; a
    /// link is followed, as certificates often are links), one trailing newline stripped.
    static func readSecretFile(_ path: String) throws -> Secret {
        try SecretFile.read(path, reference: path, options: .init(what: "file", maximumSize: maximumSecretSize, allowEmpty: true,
                                                                  followsLinks: true)).trimmingOneTrailingNewline()
    }

    /// Reads everything from `fd` into a secret, wiping the intermediate buffer.
    static func readAll(fd: Int32, what: String) throws -> Secret {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var filled = 0
        defer { buffer.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
        while true {
            if filled == buffer.count {
                guard buffer.count < maximumSecretSize else {
                    throw CLIFailure(message: "\(what) holds more than \(maximumSecretSize) bytes; that is not a secret")
                }
                var bigger = [UInt8](repeating: 0, count: buffer.count * 2)
                bigger.withUnsafeMutableBytes { target in
                    buffer.withUnsafeBytes { source in target.copyMemory(from: source) }
                }
                buffer.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } }
                buffer = bigger
            }
            let got = buffer.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.baseAddress.map { $0 + filled }, raw.count - filled)
            }
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { throw CLIFailure(message: "cannot read \(what): \(String(cString: strerror(errno)))") }
            if got == 0 { break }
            filled += got
        }
        return buffer.withUnsafeBytes { Secret(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<filled])) }
    }

    /// Prompts on the controlling terminal with echo off and reads one line.
    static func promptWithoutEcho(_ prompt: String) throws -> Secret {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        let fd = tty >= 0 ? tty : 0
        defer { if tty >= 0 { close(tty) } }
        writeAll(tty >= 0 ? tty : 2, Array(prompt.utf8))
        var original = termios()
        let canToggle = tcgetattr(fd, &original) == 0
        if canToggle {
            var silent = original
            silent.c_lflag &= ~tcflag_t(ECHO)
            silent.c_lflag |= tcflag_t(ICANON)
            tcsetattr(fd, TCSAFLUSH, &silent)
        }
        defer {
            if canToggle { tcsetattr(fd, TCSAFLUSH, &original) }
            writeAll(tty >= 0 ? tty : 2, [0x0A])
        }
        var line = [UInt8]()
        defer { line.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
        line.reserveCapacity(256)
        var byte: UInt8 = 0
        while true {
            let got = Glibc.read(fd, &byte, 1)
            if got < 0, errno == EINTR { continue }
            if got <= 0 || byte == 0x0A { break }
            guard line.count < maximumSecretSize else { throw CLIFailure(message: "the value typed is too long") }
            line.append(byte)
        }
        byte = 0
        if line.last == 0x0D { line.removeLast() }
        guard !line.isEmpty else { throw CLIFailure(message: "no value was entered; nothing was stored") }
        return Secret(bytes: line)
    }

    /// Encodes `value` as JSON (sorted keys, no escaped slashes) and prints it on stdout.
    static func printJSON<Value: Encodable>(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        let data = try encoder.encode(value)
        writeAll(1, Array(data) + [0x0A])
    }

    /// Encodes `value` as one line of JSON (sorted keys) on stdout.
    static func printJSONLine<Value: Encodable>(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        writeAll(1, Array(try encoder.encode(value)) + [0x0A])
    }

    static func writeAll<Bytes: Collection>(_ fd: Int32, _ bytes: Bytes) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { writeAll(fd, $0) }
    }

    static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) {
        _ = ClavisExecutables.writeAll(raw, to: fd)
    }
}
