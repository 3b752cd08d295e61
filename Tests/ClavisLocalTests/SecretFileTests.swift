import ClavisCore
import ClavisLocal
import Foundation
import Testing
import ClavisTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Every secret file is opened once (no link at the last step, never blocking), checked on the
/// descriptor, size-capped, and refused when empty: each case here failed on the code before.
@Suite struct SecretFileTests {
    /// Runs `body` on a thread of its own and fails the test if it has not finished by `deadline`;
    /// then `unblock` runs, so a read stuck on a FIFO is freed.
    func finishes(within deadline: Duration, unblock: @escaping @Sendable () -> Void,
                  _ body: @escaping @Sendable () async -> Void) async {
        let finished = Flag()
        let task = Task.detached { await body(); finished.set() }
        let start = ContinuousClock.now
        while !finished.value && ContinuousClock.now - start < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        let done = finished.value
        #expect(done, "the read did not return within \(deadline): it blocked")
        if !done { unblock() }
        await task.value
    }

    @Test func aFIFOIsRefusedAtOnceInsteadOfBlocking() async throws {
        let directory = try TemporaryDirectory()
        let fifo = directory.file("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        let reference = try SecretReference(parsing: "dir:\(directory.path)#pipe")
        await finishes(within: .seconds(5), unblock: {
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
        }) {
            await expectError(.invalidValue, containing: "FIFO") { try await DirectorySource().secret(for: reference) }
        }
    }

    @Test func devicesAreRefusedWithTheirOwnError() async throws {
        await expectError(.invalidValue, containing: "character device") {
            try await DirectorySource().secret(for: SecretReference(parsing: "dir:/dev#zero"))
        }
    }

    @Test func aHundredMegabyteFileIsRefusedBeforeReading() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("huge", "")
        #expect(truncate(path, 100 << 20) == 0)
        await expectError(.invalidValue, containing: "the limit is") {
            try await DirectorySource().secret(for: SecretReference(parsing: "dir:\(directory.path)#huge"))
        }
    }

    @Test func emptyFilesAreRefusedLikeEmptyVariables() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("empty", "")
        try directory.write("newline", "\n")
        await expectError(.notFound, containing: "is empty") {
            try await CredentialSource(directory: directory.path).secret(for: SecretReference(parsing: "credential:empty"))
        }
        await expectError(.notFound, containing: "only a newline") {
            try await DirectorySource().secret(for: SecretReference(parsing: "dir:\(directory.path)#newline"))
        }
    }

    @Test func aSymlinkIsNeverFollowedAtTheLastStep() throws {
        let directory = try TemporaryDirectory()
        let target = try directory.write("real", "value")
        try FileManager.default.createSymbolicLink(atPath: directory.file("link"), withDestinationPath: target)
        expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) }, containing: "symbolic link") {
            _ = try SecretFile.read(directory.file("link"), reference: "test")
        }
        #expect(try SecretFile.read(target, reference: "test").revealedString() == "value")
    }

    @Test func privateFilesAreCheckedOnTheDescriptor() throws {
        let directory = try TemporaryDirectory()
        let open = try directory.write("open", "value", mode: 0o644)
        expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) }, containing: "chmod 600") {
            _ = try SecretFile.read(open, reference: "test", options: .init(requirePrivate: true))
        }
    }

    /// A name is resolved inside the directory, then opened: swapping a link out of the directory
    /// in between must never hand out the outside file. The swap runs flat out while we read.
    @Test func aLinkSwappedInAfterTheCheckNeverLeadsOut() async throws {
        let directory = try TemporaryDirectory()
        let outside = try TemporaryDirectory()
        let secretOutside = try outside.write("x", "OUTSIDE")
        try directory.write("inside/x", "inside")
        let swapped = directory.file("sub")
        let stop = Flag()
        let swapper = Thread {
            // `sub` flips between a real directory inside and a link to the outside directory.
            while !stop.value {
                _ = rename(directory.file("inside"), swapped)
                _ = rename(swapped, directory.file("inside"))
                _ = symlink(outside.path, swapped)
                _ = unlink(swapped)
            }
        }
        swapper.start()
        defer { stop.set() }
        _ = secretOutside
        let reference = try SecretReference(parsing: "dir:\(directory.path)#sub/x")
        var leaked = 0
        for _ in 0..<3000 {
            if let value = try? await DirectorySource().secret(for: reference), value.revealedString() == "OUTSIDE" { leaked += 1 }
        }
        #expect(leaked == 0, "the outside file was read \(leaked) times")
    }
}

/// A flag set from one thread and read from another.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    var value: Bool { lock.withLock { raised } }
    func set() { lock.withLock { raised = true } }
}
