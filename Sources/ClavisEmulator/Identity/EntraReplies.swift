import Foundation
import HTTPTypes
import Hummingbird

/// Entra-shaped JSON replies.
enum EntraReply {
    static func json(_ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"error","error_description":"AADSTSnnnn: … Trace ID … Correlation ID … Timestamp …","error_codes",…}`.
    static func error(_ error: String, code: Int, message: String, status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        let trace = UUID().uuidString.lowercased(), correlation = UUID().uuidString.lowercased()
        let timestamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "Z")
        let description = "AADSTS\(code): \(message)\r\nTrace ID: \(trace)\r\nCorrelation ID: \(correlation)\r\nTimestamp: \(timestamp)"
        return json([
            "error": error, "error_description": description, "error_codes": [code], "timestamp": timestamp,
            "trace_id": trace, "correlation_id": correlation, "error_uri": "https://login.microsoftonline.com/error?code=\(code)",
        ], status: status, headers: headers)
    }
}

/// Parses `application/x-www-form-urlencoded`.
enum Form {
    static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            if let name = parts.first { fields[decode(name)] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return fields
    }
}
