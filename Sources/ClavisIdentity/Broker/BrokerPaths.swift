import ClavisCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a `clavis-broker` leaves each local user what that user needs to reach it, and where
/// clients look (docs/broker.md).
///
/// The broker writes, into a directory private to each allowed user (mode 0700, owned by them):
/// - `IDENTITY.header` (0600): the random `X-IDENTITY-HEADER` value for that identity and user;
/// - `endpoint`: the loopback URL of the managed-identity endpoint (`IDENTITY_ENDPOINT`);
/// - `socket`: the path of the broker's Unix socket, for Clavis's own clients.
///
/// A client finds that directory as: `CLAVIS_BROKER_DIR`, else `$XDG_RUNTIME_DIR/clavis-broker`,
/// else `/run/user/UID/clavis-broker`, else `/run/clavis-broker/users/UID` (users without a login
/// session, e.g. service accounts of a system broker).
public enum BrokerPaths {
    /// The name of the header file of `identity`.
    public static func headerFileName(_ identity: String) -> String { "\(identity).header" }
    /// The file naming the loopback endpoint URL.
    public static let endpointFileName = "endpoint"
    /// The file naming the Unix socket's path.
    public static let socketFileName = "socket"
    /// The system broker's own runtime directory (its socket, and users' directories when they have no `/run/user/UID`).
    public static let systemDirectory = "/run/clavis-broker"
    /// Identity names: letters, digits, `.`, `_`, `-`, 1–64 characters (they become file names).
    public static func isValidIdentityName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.first != "." && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// The directories a client of user `uid` tries, in order.
    public static func clientDirectories(environment: [String: String] = ProcessInfo.processInfo.environment, uid: uid_t = getuid()) -> [String] {
        var candidates: [String] = []
        if let explicit = environment["CLAVIS_BROKER_DIR"], !explicit.isEmpty { return [explicit] }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { candidates.append("\(runtime)/clavis-broker") }
        candidates.append("/run/user/\(uid)/clavis-broker")
        candidates.append("\(systemDirectory)/users/\(uid)")
        var seen = Set<String>()
        return candidates.filter { seen.insert($0).inserted }
    }

    /// The first client directory holding `identity`'s header file (or, without an identity, an
    /// endpoint file); throws naming every place tried.
    public static func clientDirectory(for identity: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let candidates = clientDirectories(environment: environment)
        let wanted = identity.map(headerFileName) ?? endpointFileName
        if let found = candidates.first(where: { access("\($0)/\(wanted)", F_OK) == 0 }) { return found }
        throw ClavisError(.notFound, reference: identity.map { "broker identity \($0)" } ?? "clavis broker",
                          reason: "no \(wanted) in \(candidates.joined(separator: ", "))",
                          hint: "is clavis-broker running, with this user among the identity's users? Set CLAVIS_BROKER_DIR to the directory it writes for you")
    }

    /// What a client of `identity` needs: the endpoint URL, the header value and the socket path.
    ///
    /// A service started by systemd may instead get its header as a credential
    /// (`LoadCredential=IDENTITY.header:…`): `$CREDENTIALS_DIRECTORY/IDENTITY.header` is used first,
    /// with the endpoint from `CLAVIS_BROKER_ENDPOINT` or the user's broker directory.
    public static func clientSettings(for identity: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ClientSettings {
        guard isValidIdentityName(identity) else {
            throw ClavisError(.invalidReference, reference: "broker identity \(identity)", reason: "an identity name is letters, digits, '.', '_' and '-'")
        }
        let reference = "broker identity \(identity)"
        let options = SecretFile.Options(what: "broker header file", maximumSize: 4096, requirePrivate: true)
        func text(_ directory: String?, _ name: String) -> String? {
            guard let directory else { return nil }
            return (try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let credentials = environment["CREDENTIALS_DIRECTORY"], !credentials.isEmpty,
           access("\(credentials)/\(headerFileName(identity))", F_OK) == 0 {
            let header = try SecretFile.read("\(credentials)/\(headerFileName(identity))", reference: reference, options: options)
            let directory = try? clientDirectory(for: nil, environment: environment)
            return ClientSettings(directory: credentials, endpoint: environment["CLAVIS_BROKER_ENDPOINT"] ?? text(directory, endpointFileName),
                                  socket: environment["CLAVIS_BROKER_SOCKET"] ?? text(directory, socketFileName), header: header.trimmingOneTrailingNewline())
        }
        let directory = try clientDirectory(for: identity, environment: environment)
        let header = try SecretFile.read("\(directory)/\(headerFileName(identity))", reference: reference, options: options)
        return ClientSettings(directory: directory, endpoint: environment["CLAVIS_BROKER_ENDPOINT"] ?? text(directory, endpointFileName),
                              socket: text(directory, socketFileName), header: header.trimmingOneTrailingNewline())
    }

    /// A client's view of one identity on the broker.
    public struct ClientSettings: Sendable {
        /// The directory the files were read from.
        public var directory: String
        /// `IDENTITY_ENDPOINT`: the loopback URL of the managed-identity endpoint.
        public var endpoint: String?
        /// The Unix socket's path.
        public var socket: String?
        /// `IDENTITY_HEADER`: the value for `X-IDENTITY-HEADER`.
        public var header: Secret
    }
}
