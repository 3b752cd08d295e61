import ArgumentParser
import Foundation

/// `clavis broker …`: runs the `clavis-broker` executable with the same arguments, as
/// `clavis emulator` runs `clavis-emulator` — so `clavis` itself links no server code.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run or query the local token service (the clavis-broker executable).",
        discussion: """
            Everything after `broker` goes to clavis-broker, found next to clavis (or in the package's bin), then on PATH:
              clavis broker serve --config broker.json
              clavis broker status [--json]
            Programs then get tokens with `clavis run --broker IDENTITY -- PROGRAM` (docs/broker.md).
            """)

    @Argument(parsing: .captureForPassthrough, help: "serve|status [OPTIONS] - passed to clavis-broker.")
    var arguments: [String] = []

    func run() async throws {
        try ServerExecutable.exec("clavis-broker", arguments)
    }
}
