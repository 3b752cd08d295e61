// swift-tools-version:6.2
import PackageDescription
#if canImport(Glibc)
import Glibc
#endif

/// Swift settings shared by every target: Swift 6 language mode is the default for
/// tools-version 6; these add the upcoming features we rely on.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// How the two executables with figures to reach are linked in release builds on Linux
/// (docs/performance.md): `clavis`, which scripts start in a loop, and `clavis-broker`, which stays
/// resident. With lld, no symbol is exported (the static-stdlib link exports every public symbol —
/// 47,000 for the broker — for nothing: nothing loads these executables as libraries). For the
/// broker, `order` lays functions out in that file's order — the ones a running broker executes,
/// recorded by `Benchmarks/order-broker` — so the kernel maps the code the broker runs rather than
/// its neighbours; and `packRelocations` packs its 140,000 relative relocations (DT_RELR, 3.3 MB
/// → 27 KB, all of it resident after start) when the build's glibc is 2.36 or newer. A program
/// with DT_RELR needs glibc 2.36 to start (lld adds the `GLIBC_ABI_DT_RELR` requirement), so the
/// launcher, which must run wherever the tarball does, does without. Measured: `clavis --version`
/// −8 %; the broker 39 → 27 MiB resident.
func leanLinking(order: String? = nil, packRelocations: Bool = false) -> [LinkerSetting] {
    #if os(Linux)
    var flags = ["-use-ld=lld", "-Xlinker", "--no-export-dynamic"]
    if let order {
        flags += ["-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/\(order)", "-Xlinker", "--no-warn-symbol-ordering"]
    }
    #if canImport(Glibc)
    var buffer = [CChar](repeating: 0, count: 64)
    _ = confstr(Int32(_CS_GNU_LIBC_VERSION), &buffer, buffer.count)
    let version = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)   // "glibc 2.36"
    if packRelocations, version.hasPrefix("glibc 2."), let minor = Int(version.dropFirst("glibc 2.".count)), minor >= 36 {
        flags += ["-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]
    }
    #endif
    return [.unsafeFlags(flags, .when(platforms: [.linux], configuration: .release))]
    #else
    return []
    #endif
}

let package = Package(
    name: "Clavis",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Clavis", targets: ["Clavis"]),
        .library(name: "ClavisCore", targets: ["ClavisCore"]),
        // A separate product, so programs that do not use swift-configuration do not pay for it.
        .library(name: "ClavisConfiguration", targets: ["ClavisConfiguration"]),
        // The emulator as a library, for tests of programs that use Clavis (and for FuzzTesting/).
        .library(name: "ClavisEmulator", targets: ["ClavisEmulator"]),
        // The hardcoded-secret scanner as a library.
        .library(name: "ClavisScan", targets: ["ClavisScan"]),
        .library(name: "ClavisTesting", targets: ["ClavisTesting"]),
        // `clavis`: answers `--version` and local `secret get` itself and becomes `clavis-cli` for
        // everything else, so the calls scripts make in a loop start as fast as a C tool (issue 17).
        .executable(name: "clavis", targets: ["ClavisLauncher"]),
        // The whole command-line tool (swift-argument-parser, the HTTP clients); `clavis` execs it.
        .executable(name: "clavis-cli", targets: ["ClavisCLI"]),
        // The server executable: `clavis emulator …` and `clavis demo` start it, so `clavis` links no server code.
        .executable(name: "clavis-emulator", targets: ["clavis-emulator"]),
        .executable(name: "clavis-scan", targets: ["clavis-scan"]),
        // The local token service (issue 18): `clavis broker …` starts it, so `clavis` links no server code.
        .executable(name: "clavis-broker", targets: ["clavis-broker"]),
        .plugin(name: "ScanSecrets", targets: ["ScanSecrets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // HPKE with the X-Wing (ML-KEM-768 + X25519) KEM for age's post-quantum recipients;
        // libgcrypt 1.10 has no ML-KEM. Also what jwt-kit builds on.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        // Without Hummingbird's default `ConfigurationSupport` trait: the servers take their settings
        // from their own flags and files, so swift-configuration is not linked into them (it stays
        // in the ClavisConfiguration product, for programs that use it).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        // `swift package generate-documentation` (scripts/docs): a command plugin only, built when
        // invoked; it adds two small checkouts to resolution and nothing to a build (docs/install.md).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The core: Secret, references, the SecretSource protocol family, resolver, errors.
        .target(
            name: "ClavisCore",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // env:, credential:, dir: sources.
        .target(name: "ClavisLocal", dependencies: ["ClavisCore"], swiftSettings: strict),
        // libsecret, for the keyring: source — loaded with dlopen at the first keyring operation, not
        // linked, so programs that never touch a keyring start without GLib (issue 17).
        .target(name: "CLibsecret", linkerSettings: [.linkedLibrary("dl")]),
        // keyring:SERVICE/USERNAME — the Secret Service (GNOME keyring, KeePassXC, KWallet's bridge).
        .target(name: "ClavisKeyring", dependencies: ["ClavisCore", "CLibsecret",
                                                      .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        // libgcrypt, for every primitive of the age format.
        .systemLibrary(name: "CGcrypt", pkgConfig: "libgcrypt", providers: [.apt(["libgcrypt20-dev"])]),
        // The age v1 format on libgcrypt, and AgeStore, the age: source.
        .target(name: "ClavisAge", dependencies: ["ClavisCore", "CGcrypt", .product(name: "Crypto", package: "swift-crypto"),
                                                  .product(name: "_CryptoExtras", package: "swift-crypto")],
                swiftSettings: strict),
        // Hardcoded-secret detection: detectors, allowlist, text/JSON/SARIF reporters.
        .target(name: "ClavisScan", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .executableTarget(name: "clavis-scan", dependencies: ["ClavisScan"], path: "Sources/ClavisScanTool", swiftSettings: strict),
        // `swift package scan-secrets`: the same scanner as a SwiftPM command plugin.
        .plugin(
            name: "ScanSecrets",
            capability: .command(intent: .custom(verb: "scan-secrets", description: "Find hardcoded secrets in the package's files")),
            dependencies: ["clavis-scan"]
        ),
        // Entra ID tokens: credentials, the token cache, Entra errors, local validation, the HTTP retry policy.
        .target(name: "ClavisIdentity", dependencies: [
            "ClavisCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // keyvault: — Azure Key Vault secrets over REST, with challenge auth.
        .target(name: "ClavisKeyVault", dependencies: ["ClavisCore", "ClavisIdentity"], swiftSettings: strict),
        // Defender XDR API client: incidents, updates, advanced hunting.
        .target(name: "ClavisDefender", dependencies: ["ClavisCore", "ClavisIdentity"], swiftSettings: strict),
        // The offline stand-in for Entra ID, Key Vault, Defender XDR and Graph security. Imports none of our client modules.
        .target(name: "ClavisEmulator", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // Benchmarks that need Swift in-process (token cache); see Benchmarks/.
        .executableTarget(name: "clavis-bench", dependencies: ["ClavisCore", "ClavisIdentity", "ClavisKeyVault", "ClavisDefender", "ClavisEmulator", "ClavisAge"],
                          path: "Benchmarks/Sources/clavis-bench", swiftSettings: strict),
        // The smallest program on the broker's stack (Hummingbird, AsyncHTTPClient, Foundation): the
        // floor beside which Benchmarks/broker.py puts the broker's memory.
        .executableTarget(name: "broker-floor", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], path: "Benchmarks/Sources/broker-floor", swiftSettings: strict),
        // The umbrella a user imports: `SecretResolver.standard` wires every scheme.
        .target(name: "Clavis", dependencies: ["ClavisCore", "ClavisLocal", "ClavisKeyring", "ClavisAge", "ClavisIdentity", "ClavisKeyVault", "ClavisDefender",
                                              .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        // A swift-configuration provider that resolves secret references.
        // (swift-configuration's protocol is compiled with NonisolatedNonsendingByDefault; match it.)
        .target(name: "ClavisConfiguration", dependencies: ["ClavisCore", .product(name: "Configuration", package: "swift-configuration")],
                swiftSettings: strict + [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]),
        // `clavis-emulator`: the emulator's server executable.
        .executableTarget(
            name: "clavis-emulator",
            dependencies: [
                "ClavisEmulator",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ClavisEmulatorTool",
            swiftSettings: strict
        ),
        // The local token service: the App Service managed-identity protocol on loopback, a Unix
        // socket for Clavis's own clients, peer-uid checks, audit (docs/broker.md).
        .target(name: "ClavisBroker", dependencies: [
            "ClavisCore", "ClavisIdentity",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // `clavis-broker`: the broker's server executable.
        .executableTarget(
            name: "clavis-broker",
            dependencies: [
                "ClavisBroker", "Clavis",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ClavisBrokerTool",
            exclude: ["clavis-broker.order"],
            swiftSettings: strict,
            linkerSettings: leanLinking(order: "Sources/ClavisBrokerTool/clavis-broker.order", packRelocations: true)
        ),
        // `clavis`: links ClavisCore, ClavisLocal and ClavisKeyring only — no Foundation, no argument
        // parser, no HTTP client (a test checks the symbols).
        .executableTarget(name: "ClavisLauncher", dependencies: ["ClavisCore", "ClavisLocal", "ClavisKeyring"], swiftSettings: strict,
                          linkerSettings: leanLinking()),
        // `clavis-cli`, the whole command-line tool: a client only — no Hummingbird, TLS server or CA code.
        .executableTarget(
            name: "ClavisCLI",
            dependencies: [
                "Clavis",
                "ClavisScan",
                "ClavisDefender",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ClavisCoreTests",
            dependencies: [
                "ClavisCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Shared test fixtures: temporary directories, running the built `clavis`.
        .target(name: "ClavisTestSupport", path: "Tests/Fixtures", swiftSettings: strict),
        // The SecretSource contract, for Clavis's sources and third-party ones (docs/architecture.md).
        .target(name: "ClavisTesting", dependencies: ["ClavisCore"], swiftSettings: strict),
        .testTarget(name: "ClavisConformanceTests", dependencies: ["ClavisTesting", "Clavis", "ClavisEmulator", "ClavisTestSupport",
                                                                   .product(name: "AsyncHTTPClient", package: "async-http-client")],
                    swiftSettings: strict),
        .testTarget(name: "ClavisLocalTests", dependencies: ["ClavisLocal", "ClavisTestSupport"], swiftSettings: strict),
        .testTarget(name: "ClavisKeyringTests", dependencies: ["ClavisKeyring", "ClavisTestSupport"], swiftSettings: strict),
        .testTarget(name: "ClavisAgeTests", dependencies: ["ClavisAge", "ClavisTestSupport"], swiftSettings: strict),
        .testTarget(name: "ClavisConfigurationTests",
                    dependencies: ["ClavisConfiguration", "Clavis", "ClavisTestSupport",
                                   .product(name: "Configuration", package: "swift-configuration"),
                                   .product(name: "ConfigurationTesting", package: "swift-configuration")],
                    swiftSettings: strict),
        .testTarget(name: "ClavisScanTests", dependencies: ["ClavisScan", "ClavisTestSupport"], exclude: ["Corpus"], swiftSettings: strict),
        .testTarget(name: "ClavisIdentityTests", dependencies: ["ClavisIdentity", "ClavisEmulator", "ClavisTestSupport",
                                                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                               .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                               .product(name: "NIOSSL", package: "swift-nio-ssl")],
                    swiftSettings: strict),
        .testTarget(name: "ClavisKeyVaultTests", dependencies: ["ClavisKeyVault", "ClavisIdentity", "ClavisEmulator", "ClavisTestSupport",
                                                               .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                               .product(name: "NIOSSL", package: "swift-nio-ssl")],
                    swiftSettings: strict),
        .testTarget(name: "ClavisDefenderTests", dependencies: ["ClavisDefender", "ClavisIdentity", "ClavisEmulator", "ClavisTestSupport",
                                                               .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                               .product(name: "NIOSSL", package: "swift-nio-ssl")],
                    exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "ClavisBrokerTests", dependencies: ["ClavisBroker", "ClavisIdentity", "ClavisTestSupport", "clavis-broker", "clavis-emulator", "ClavisCLI", "ClavisLauncher"],
                    swiftSettings: strict),
        .testTarget(name: "ClavisCLITests", dependencies: ["ClavisCLI", "ClavisLauncher", "clavis-emulator", "ClavisTestSupport"], swiftSettings: strict),
        // Client-secret rotation (issue 21): Graph application routes in the emulator, and `clavis app secret` end to end.
        .testTarget(name: "ClavisRotationTests", dependencies: ["ClavisCLI", "ClavisLauncher", "ClavisIdentity", "ClavisKeyVault", "ClavisAge", "ClavisKeyring",
                                                               "ClavisEmulator", "ClavisTestSupport"],
                    swiftSettings: strict),
    ]
)
