#if canImport(Glibc)
import Glibc
#endif

/// A buffered byte source over a file descriptor or an in-memory array.
public final class BufferedInput {
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private let fill: ((UnsafeMutableRawBufferPointer) throws -> Int)?
    private var reachedEnd = false

    /// Reads from an in-memory array.
    public init(bytes: [UInt8]) {
        buffer = bytes
        end = bytes.count
        fill = nil
        reachedEnd = true
    }

    /// Reads from a file descriptor (not closed by this object).
    public init(fileDescriptor: Int32, bufferSize: Int = 1 << 17) {
        buffer = [UInt8](repeating: 0, count: bufferSize)
        fill = { raw in
            while true {
                let got = Glibc.read(fileDescriptor, raw.baseAddress, raw.count)
                if got < 0, errno == EINTR { continue }
                guard got >= 0 else { throw AgeError(.payload, "read failed: \(String(cString: strerror(errno)))") }
                return got
            }
        }
    }

    private func refill() throws -> Bool {
        guard !reachedEnd, let fill else { return false }
        if start > 0 {
            buffer.withUnsafeMutableBytes { raw in
                if let base = raw.baseAddress, end > start { memmove(base, base + start, end - start) }
            }
            end -= start
            start = 0
        }
        if end == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
        let got = try buffer.withUnsafeMutableBytes { raw in
            try fill(UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
        }
        if got == 0 { reachedEnd = true; return false }
        end += got
        return true
    }

    /// One line without its `\n`; `nil` at end of input before a newline. Lines longer than
    /// `maximum` fail.
    func readLine(maximum: Int) throws -> [UInt8]? {
        while true {
            if let newline = buffer[start..<end].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                return line
            }
            guard end - start <= maximum else { throw AgeError(.header, "a header line is longer than \(maximum) bytes") }
            guard try refill() else { return nil }
        }
    }

    /// Reads exactly up to `count` bytes (fewer only at end of input).
    func read(upTo count: Int) throws -> [UInt8] {
        while end - start < count, try refill() {}
        let take = min(count, end - start)
        let bytes = Array(buffer[start..<(start + take)])
        start += take
        return bytes
    }

    /// Puts `bytes` back in front of what is left (they must be the bytes just read).
    func unread(_ bytes: [UInt8]) {
        if start >= bytes.count {
            start -= bytes.count
            buffer.replaceSubrange(start..<(start + bytes.count), with: bytes)
        } else {
            buffer = bytes + buffer[start..<end] + [UInt8](repeating: 0, count: max(0, buffer.count - (end - start)))
            end = bytes.count + (end - start)
            start = 0
        }
    }

    /// Whether no byte remains.
    func atEnd() throws -> Bool {
        if end > start { return false }
        return !(try refill())
    }

    /// Everything left; with `maximum`, more than that many bytes fails with `tooLarge`.
    func readAll(maximum: Int? = nil, tooLarge: @autoclosure () -> AgeError = AgeError(.payload, "the input is too large")) throws -> [UInt8] {
        while try refill() {
            if let maximum, end - start > maximum { throw tooLarge() }
        }
        if let maximum, end - start > maximum { throw tooLarge() }
        let bytes = Array(buffer[start..<end])
        start = end
        return bytes
    }
}
