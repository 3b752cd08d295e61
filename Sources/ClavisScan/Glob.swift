import Foundation

enum Glob {
    /// `*` matches within a path segment, `**` across segments, `?` one character.
    static func matches(_ pattern: String, _ path: String) -> Bool {
        matches(Array(pattern.utf8)[...], Array(path.utf8)[...])
    }

    private static func matches(_ pattern: ArraySlice<UInt8>, _ path: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == UInt8(ascii: "*") {
            let rest = pattern.dropFirst()
            if rest.first == UInt8(ascii: "*") {
                var after = rest.dropFirst()
                if after.first == UInt8(ascii: "/") { after = after.dropFirst() }
                for start in path.indices + [path.endIndex] where matches(after, path[start...]) { return true }
                return false
            }
            var index = path.startIndex
            while true {
                if matches(rest, path[index...]) { return true }
                guard index < path.endIndex, path[index] != UInt8(ascii: "/") else { return false }
                index += 1
            }
        }
        guard let character = path.first else { return false }
        if first == UInt8(ascii: "?") ? character != UInt8(ascii: "/") : first == character {
            return matches(pattern.dropFirst(), path.dropFirst())
        }
        return false
    }
}
