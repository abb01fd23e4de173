// swift-tools-version: 6.1
import PackageDescription

// One library module per pipeline stage; the executables are thin layers over them.
// Data flows one way: file → record → example → store → encoded example → batch → model → checkpoint.
let package = Package(
    name: "mtl",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Text", targets: ["Text"]),
        .library(name: "NN", targets: ["NN"]),
        .executable(name: "mtl-prep", targets: ["mtl-prep"]),
        .executable(name: "mtl-train", targets: ["mtl-train"]),
        .executable(name: "mtl-bench", targets: ["mtl-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // ICU headers clash with Foundation's private ICU inside one Swift module
        // (see README "Design notes"), so every ICU call lives in this plain C target.
        .target(
            name: "CICU",
            cSettings: [.unsafeFlags(["-O3"])],
            linkerSettings: [.linkedLibrary("icui18n"), .linkedLibrary("icuuc"), .linkedLibrary("icudata")]
        ),
        .target(name: "Text", dependencies: ["CICU"]),
        .executableTarget(
            name: "mtl-prep",
            dependencies: ["Text", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "mtl-train",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "mtl-bench",
            dependencies: ["Text", "NN", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "TextTests", dependencies: ["Text"]),
        // OpenBLAS through its CBLAS header; the only C the neural-network core sees.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "NN", dependencies: ["CBLAS"]),
        .testTarget(name: "NNTests", dependencies: ["NN"]),
    ],
    swiftLanguageModes: [.v6]
)
