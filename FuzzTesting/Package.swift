// swift-tools-version:6.2
// Fuzz targets for every parser Clavis runs on untrusted bytes (the swift-protobuf layout: a
// package of its own, so the main build never carries fuzzer flags). Build and run with
// `scripts/fuzz` (it passes `-sanitize=fuzzer,address -parse-as-library`); debug builds make the
// main package's internals reachable with `@testable import`.
import PackageDescription

let targets = ["FuzzAgeDecrypt", "FuzzAgeStrings", "FuzzReferences", "FuzzJWT", "FuzzEntraReply", "FuzzKeyVault", "FuzzDefender", "FuzzEmulator", "FuzzScanner"]

let package = Package(
    name: "ClavisFuzzTesting",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Clavis", path: "..")],
    targets: targets.map { name in
        .executableTarget(
            name: name,
            dependencies: [
                .product(name: "Clavis", package: "Clavis"),
                .product(name: "ClavisEmulator", package: "Clavis"),
                .product(name: "ClavisScan", package: "Clavis"),
            ])
    }
)
