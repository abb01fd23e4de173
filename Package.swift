// swift-tools-version: 6.1
import Foundation
import PackageDescription

// One library module per pipeline stage; the executables are thin layers over them.
// Data flows one way: file → record → example → store → encoded example → batch → model → checkpoint.
let package = Package(
    name: "mtl",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Text", targets: ["Text"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "CorpusImport", targets: ["CorpusImport"]),
        .library(name: "Splits", targets: ["Splits"]),
        .library(name: "Vocab", targets: ["Vocab"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Batching", targets: ["Batching"]),
        .library(name: "Training", targets: ["Training"]),
        .executable(name: "mtl-prep", targets: ["mtl-prep"]),
        .executable(name: "mtl-train", targets: ["mtl-train"]),
        .executable(name: "mtl-bench", targets: ["mtl-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.6.0"),  // 1.6: @ParentCommand
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // ICU headers clash with Foundation's private ICU inside one Swift module
        // (see README "Design notes"), so every ICU call lives in this plain C target.
        .target(
            name: "CICU",
            linkerSettings: [.linkedLibrary("icui18n"), .linkedLibrary("icuuc"), .linkedLibrary("icudata")]
        ),
        .target(name: "Text", dependencies: ["CICU"]),
        .executableTarget(
            name: "mtl-prep",
            dependencies: ["Text", "Store", "CorpusImport", "Splits", "Vocab", "Batching", "CLIOptions", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "mtl-train",
            dependencies: ["Training", "Batching", "Store", "NN", "CLIOptions", "CorpusImport", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "mtl-bench",
            dependencies: ["Text", "CICU", "NN", "Store", "CorpusImport", "Splits", "Vocab", "Batching", "Training", "CLIOptions", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Option groups shared by the executables (one declaration, one parser per flag set).
        .target(name: "CLIOptions", dependencies: ["Batching", .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "TextTests", dependencies: ["Text"]),
        // SQLite and libxml2 come in as system libraries; only Store imports CSQLite,
        // only CorpusImport imports CLibXML2.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // SHA-256 with the CPU's SHA extensions (portable Swift code in Store otherwise).
        .target(name: "CHash"),
        .target(name: "Store", dependencies: ["CSQLite", "CHash"]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .target(name: "CorpusImport", dependencies: ["Text", "Store", "CICU", "CLibXML2", .product(name: "Yams", package: "Yams")]),
        .target(name: "Splits", dependencies: ["Store"]),
        .target(name: "Vocab", dependencies: ["Store"]),
        // Fixtures shared by the later stages' tests (temporary stores, synthetic sources, corpora).
        .target(name: "TestSupport", dependencies: ["Store", "Text", "CorpusImport"], path: "Tests/TestSupport"),
        .testTarget(name: "SplitsTests", dependencies: ["Splits", "Store", "TestSupport"]),
        .testTarget(name: "VocabTests", dependencies: ["Vocab", "Splits", "Store", "TestSupport"]),
        .target(name: "Batching", dependencies: ["Store"]),
        .testTarget(name: "BatchingTests", dependencies: ["Batching", "Store"]),
        // OpenBLAS through its CBLAS header; the only C the neural-network core sees.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "NN", dependencies: ["CBLAS"]),
        .testTarget(name: "StoreTests", dependencies: ["Store"]),
        .testTarget(name: "CorpusImportTests", dependencies: ["CorpusImport", "Store", "Text"]),
        .testTarget(name: "NNTests", dependencies: ["NN"]),
        // The training run: Batch → model input, model assembly from the store's tasks, the loop,
        // checkpoints, metrics.
        .target(name: "Training", dependencies: ["Batching", "NN", "Store", "Text"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Batching", "NN", "Store", "Splits", "Vocab", "CorpusImport", "Text", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["mtl-prep", "mtl-train", "mtl-bench", "Store"]),
    ],
    swiftLanguageModes: [.v6]
)

// The fuzzing harness (scripts/fuzz): declared only when MTL_FUZZ is set, so that plain builds and
// CI never link libFuzzer, which brings its own `main`.
if ProcessInfo.processInfo.environment["MTL_FUZZ"] != nil {
    package.targets.append(.executableTarget(name: "mtl-fuzz", dependencies: ["CorpusImport"],
                                             swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
    package.products.append(.executable(name: "mtl-fuzz", targets: ["mtl-fuzz"]))
}
