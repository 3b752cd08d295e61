import Foundation

enum FileWalker {
    static let skippedDirectories: Set<String> = [".build", ".git", ".swiftpm", "node_modules"]

    static func files(under root: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw ScanError(message: "\(root) does not exist")
        }
        guard isDirectory.boolValue else { return [""] }
        if let tracked = gitFiles(root) { return tracked.filter { !$0.split(separator: "/").contains { skippedDirectories.contains(String($0)) } } }
        var result: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if skippedDirectories.contains(name) { enumerator?.skipDescendants(); continue }
            var directory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &directory), !directory.boolValue {
                result.append(relative)
            }
        }
        return result.sorted()
    }

    /// Tracked and untracked-but-not-ignored files, when `root` is inside a git work tree.
    static func gitFiles(_ root: String) -> [String]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            .filter { FileManager.default.fileExists(atPath: root + "/" + $0) }.sorted()
    }
}
