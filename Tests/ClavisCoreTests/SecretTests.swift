import ClavisCore
import Foundation
import InMemoryLogging
import Logging
import Testing

@Suite struct SecretRedactionTests {
    let value = "hunter2-CANARY-7f3a"
    var secret: Secret { Secret(value) }

    @Test func descriptionsAreRedacted() {
        #expect(secret.description == "<redacted>")
        #expect(secret.debugDescription == "<redacted>")
        #expect(String(describing: secret) == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        #expect("\(secret)" == "<redacted>")
        #expect(!"\(String(describing: Optional(secret)))".contains(value))
        #expect(!"\([secret, secret])".contains(value))
    }

    @Test func dumpShowsNoBytes() {
        var output = ""
        dump(secret, to: &output)
        #expect(output.contains("<redacted>"))
        #expect(!output.contains(value))
        struct Holder { var name = "x"; var secret: Secret }
        var holderOutput = ""
        dump(Holder(secret: secret), to: &holderOutput)
        #expect(!holderOutput.contains(value))
        #expect(!holderOutput.contains("hunter2"))
        #expect(Mirror(reflecting: secret).children.isEmpty)
    }

    @Test func logLinesAreRedacted() {
        let handler = InMemoryLogHandler()
        var logger = Logger(label: "test", factory: { _ in handler })
        logger.logLevel = .trace
        logger.trace("value is \(secret)", metadata: ["clavis.secret": "\(secret)", "raw": .stringConvertible(secret)])
        let rendered = handler.entries.map { "\($0.message) \($0.metadata)" }.joined()
        #expect(!rendered.isEmpty)
        #expect(rendered.contains("<redacted>"))
        #expect(!rendered.contains(value))
    }

    @Test func errorsThatInterpolateASecretAreRedacted() {
        let error = ClavisError(.invalidValue, reference: "env:X", reason: "bad value \(secret)")
        #expect(!"\(error)".contains(value))
        #expect(!String(reflecting: error).contains(value))
        #expect(!error.localizedDescription.contains(value))
    }

    @Test func revealReturnsTheBytes() {
        #expect(secret.revealedString() == value)
        #expect(secret.revealedBytes() == Array(value.utf8))
        #expect(secret.count == value.utf8.count)
        #expect(Secret(bytes: [0xFF, 0xFE]).revealedString() == nil)
        #expect(Secret(bytes: [0xFF, 0xFE]).revealedBytes() == [0xFF, 0xFE])
    }

    @Test func equalityComparesBytes() {
        #expect(Secret("a") == Secret("a"))
        #expect(Secret("a") != Secret("b"))
        #expect(Secret("a") != Secret("aa"))
        #expect(Secret("") == Secret(bytes: []))
    }

    @Test func trimsExactlyOneTrailingNewline() {
        #expect(Secret("x\n").trimmingOneTrailingNewline().revealedString() == "x")
        #expect(Secret("x\r\n").trimmingOneTrailingNewline().revealedString() == "x")
        #expect(Secret("x\n\n").trimmingOneTrailingNewline().revealedString() == "x\n")
        #expect(Secret("x").trimmingOneTrailingNewline().revealedString() == "x")
        #expect(Secret("\n").trimmingOneTrailingNewline().isEmpty)
        #expect(Secret("a\nb").trimmingOneTrailingNewline().revealedString() == "a\nb")
    }

    @Test func inPlaceInitializer() {
        let filled = Secret(count: 3) { buffer in
            for index in 0..<3 { buffer[index] = UInt8(65 + index) }
        }
        #expect(filled.revealedString() == "ABC")
    }
}
