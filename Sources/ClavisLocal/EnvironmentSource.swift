import ClavisCore
#if canImport(Glibc)
import Glibc
#endif

/// `env:NAME` — a secret in an environment variable of this process.
///
/// Read-only; lists variable names (never values). A variable that is set but empty counts as
/// not found: an empty secret is always a mistake, and saying so early beats an `invalid_client`
/// from the token endpoint later.
public struct EnvironmentSource: SecretSource {
    private let environment: [String: String]?

    /// Reads the live process environment at each call.
    public init() { environment = nil }

    /// Reads from a fixed dictionary instead of the process environment (for embedding and tests).
    public init(environment: [String: String]) { self.environment = environment }

    /// `["env"]`.
    public var schemes: Set<String> { ["env"] }
    /// `environment variables`.
    public var sourceDescription: String { "environment variables" }
    /// Lists variable names.
    public var capabilities: SecretSourceCapabilities { .list }

    /// `env:NAME`.
    public func reference(named name: String, in container: SecretReference) throws -> SecretReference {
        try SecretReference(scheme: "env", locator: name)
    }

    /// Reads the variable the reference names.
    public func secret(for reference: SecretReference) async throws -> Secret {
        try checkScheme(of: reference)
        let name = try variableName(reference)
        guard let value = lookup(name) else {
            throw ClavisError(.notFound, reference: reference.description, reason: "environment variable \(name) is not set",
                              hint: "export \(name), or use another source")
        }
        guard !value.isEmpty else {
            throw ClavisError(.notFound, reference: reference.description, reason: "environment variable \(name) is set but empty")
        }
        return Secret(value)
    }

    /// Lists the names of the variables set (for `env:`; a prefix after the colon filters them).
    public func listNames(in container: SecretReference) async throws -> [String] {
        try checkScheme(of: container)
        let prefix = container.locator
        let names = environment.map { Array($0.keys) } ?? ProcessEnvironment.names()
        return names.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Always usable.
    public func diagnose() async -> [SourceDiagnosis] {
        [SourceDiagnosis(scheme: "env", check: "environment variables", status: .ok, detail: "always available (readable by the same user via /proc)")]
    }

    private func lookup(_ name: String) -> String? {
        if let environment { return environment[name] }
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    private func variableName(_ reference: SecretReference) throws -> String {
        let name = reference.locator
        guard reference.item == nil, reference.query.isEmpty, let first = name.unicodeScalars.first,
              first == "_" || first.properties.isAlphabetic && first.isASCII,
              name.unicodeScalars.allSatisfy({ $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) })
        else {
            throw ClavisError.invalidReference(
                reference.description, reason: "env: takes a variable name of letters, digits and '_', as in env:APP_SECRET")
        }
        return name
    }
}

/// The names in this process's environment.
enum ProcessEnvironment {
    static func names() -> [String] {
        var names: [String] = []
        let start: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        guard var cursor = start else { return names }
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") { names.append(String(text[..<equals])) }
            cursor += 1
        }
        return names
    }
}
