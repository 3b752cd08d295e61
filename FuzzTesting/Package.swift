// swift-tools-version:5.3
// Fuzz targets for every parser Clavis runs on untrusted bytes — the layout of apple/swift-protobuf's
// FuzzTesting: a package of its own, so the main build never carries fuzzer flags. Tools version
// 5.3 on purpose: a `.target` with a `main.swift` is an executable whose entry point SwiftPM does
// not rename, so libFuzzer's `main` links (newer `executableTarget`s rename it to `NAME_main`).
// Build and run with `scripts/fuzz` (`-sanitize=fuzzer,address -parse-as-library`); the debug build
// makes the main package's internals reachable with `@testable import`.
import PackageDescription

let targets = ["FuzzAgeDecrypt", "FuzzAgeStrings", "FuzzReferences", "FuzzJWT", "FuzzEntraReply", "FuzzKeyVault", "FuzzDefender", "FuzzEmulator", "FuzzScanner"]

let package = Package(
    name: "ClavisFuzzTesting",
    dependencies: [.package(name: "Clavis", path: "..")],
    targets: targets.map { name in
        .target(
            name: name,
            dependencies: [
                .product(name: "Clavis", package: "Clavis"),
                .product(name: "ClavisEmulator", package: "Clavis"),
                .product(name: "ClavisScan", package: "Clavis"),
            ])
    }
)
