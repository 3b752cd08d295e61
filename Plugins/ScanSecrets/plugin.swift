import Foundation
import PackagePlugin

/// `swift package scan-secrets [--json|--sarif] [--allowlist FILE] [PATH…]`: runs the Clavis
/// secret scanner over the package directory (or the paths given). Fails the command when it
/// finds a hardcoded secret.
@main
struct ScanSecrets: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        let tool = try context.tool(named: "clavis-scan")
        var arguments = arguments
        if !arguments.contains(where: { !$0.hasPrefix("-") && !isOptionValue($0, in: arguments) }) {
            arguments.append(context.package.directoryURL.path)
        }
        let process = Process()
        process.executableURL = tool.url
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        switch process.terminationStatus {
        case 0: return
        case 1: Diagnostics.error("hardcoded secrets found (see above)"); throw ScanFailure.findings
        default: throw ScanFailure.usage(process.terminationStatus)
        }
    }

    private func isOptionValue(_ argument: String, in arguments: [String]) -> Bool {
        guard let index = arguments.firstIndex(of: argument), index > 0 else { return false }
        return ["--allowlist", "--min-confidence"].contains(arguments[index - 1])
    }
}

enum ScanFailure: Error, CustomStringConvertible {
    case findings
    case usage(Int32)
    var description: String {
        switch self {
        case .findings: "hardcoded secrets found"
        case .usage(let status): "clavis-scan failed with status \(status)"
        }
    }
}
