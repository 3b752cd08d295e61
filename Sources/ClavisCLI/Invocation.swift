import Clavis
import Foundation

/// What `clavis` was asked before any command parses it: the global `--verbose` flag (taken out
/// of the arguments, so every command accepts it in any position before `--`) and whether the
/// caller wants JSON (`--json`, `--format json`, `--sarif`), so a failure can be reported as a
/// JSON object on stdout as well as the `error:` line on stderr.
struct Invocation: Sendable {
    /// The arguments for the command parser: the originals without `--verbose`.
    var arguments: [String]
    /// `--verbose` was given: log each request at debug level (as `CLAVIS_LOG_LEVEL=debug`).
    var verbose: Bool
    /// The caller asked for machine-readable output.
    var wantsJSON: Bool
    /// The command passes its arguments to a server executable (`clavis emulator|broker …`), which
    /// learns `--verbose` through `CLAVIS_LOG_LEVEL` instead.
    var startsServer: Bool

    /// Reads `arguments` (without the program name). Nothing after a `--` is looked at: those
    /// belong to the program `clavis run` starts. `clavis run` without `--` takes everything after
    /// `run` as its own or the program's, so nothing after `run` is looked at then either.
    init(_ arguments: [String]) {
        let dash = arguments.firstIndex(of: "--")
        var end = dash ?? arguments.endIndex
        let command = arguments.firstIndex(where: { !$0.hasPrefix("-") })
        if dash == nil, let command, arguments[command] == "run" { end = arguments.index(after: command) }
        startsServer = command.map { ["emulator", "broker"].contains(arguments[$0]) } ?? false
        let ours = arguments[..<end]
        verbose = ours.contains("--verbose")
        wantsJSON = ours.contains("--json") || ours.contains("--sarif") || ours.contains("--format=json")
            || zip(ours, ours.dropFirst()).contains { $0 == "--format" && $1 == "json" }
        self.arguments = ours.filter { $0 != "--verbose" } + arguments[end...]
    }

    /// This process's invocation.
    static let current = Invocation(Array(CommandLine.arguments.dropFirst()))
}

/// A failure as a JSON object, for callers that asked for JSON: `{"error": {...}}` on stdout.
struct ErrorReport: Encodable {
    /// The fields of one failure. `code` is the stable name to branch on (`unknown-tenant`,
    /// `not-found`, …); `message` is the `error:` line without its prefix.
    struct Body: Encodable {
        var code: String
        /// The broader code `code` refines (`not-found` for `incident-not-found`), if any.
        var refines: String?
        var message: String
        var reference: String?
        var hint: String?
        /// Entra ID's `error_codes` (AADSTS numbers) when Entra refused a token request.
        var aadsts: [Int]?
        /// Entra ID's `trace_id` and `correlation_id`, for Microsoft support.
        var traceId: String?
        var correlationId: String?
        /// The HTTP status and the service's most specific error code (`innererror.code`, else
        /// `code`) when Graph, the Defender API or Key Vault refused a request.
        var httpStatus: Int?
        var serviceCode: String?
        var exitCode: Int32
    }

    var error: Body

    init(_ error: any Error, message: String, exitCode: Int32) {
        var body = Body(code: "", message: message, exitCode: exitCode)
        switch error {
        case let error as ClavisError:
            body.code = error.code.rawValue
            body.refines = error.code.refines
            body.reference = error.reference
            body.hint = error.hint
            if let entra = error.entraError {
                body.aadsts = entra.codes.isEmpty ? nil : entra.codes
                body.traceId = entra.traceId
                body.correlationId = entra.correlationId
            }
            if let reply = error.serviceReply {
                body.httpStatus = reply.status
                body.serviceCode = reply.code == "HTTP \(reply.status)" ? nil : reply.specificCode
            }
        case let error as AgeError:
            body.code = "age-" + error.kind.rawValue
        default:  // a CLIFailure or the argument parser's: 64 is a usage error (sysexits EX_USAGE)
            body.code = exitCode == 64 ? "usage" : "failed"
        }
        self.error = body
    }
}
