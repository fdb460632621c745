// swift-tools-version: 6.2
// swift-uvm: one target per layer, so the compiler forbids an upward import.
// Sched → Machine → Core → Kernel → Runner (with Check and Scenario beside) → Fuzz → uvm.
import PackageDescription

// Kernel code is plain (non-isolated) classes whose async functions run on their caller's actor,
// so every simulated thread runs on the one `Sim` actor and the scheduler alone decides who runs.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
    // One simulated thread runs at a time, so the runtime's dynamic exclusivity checks (over half
    // of a fault's cost) guard nothing in release builds; debug builds and tests keep them.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "swift-uvm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "uvm", targets: ["uvm"]),
        .library(name: "UVM", targets: ["UVMRunner"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        .target(name: "AddressTree", swiftSettings: strict),
        .target(name: "UVMSched",
                dependencies: [.product(name: "DequeModule", package: "swift-collections")],
                swiftSettings: strict),
        .target(name: "UVMMachine", dependencies: ["UVMSched"], swiftSettings: strict),
        .target(name: "UVMCore", dependencies: ["UVMMachine", "AddressTree"], swiftSettings: strict),
        .target(name: "UVMKernel", dependencies: ["UVMCore"], swiftSettings: strict),
        .target(name: "UVMCheck", dependencies: ["UVMKernel"], swiftSettings: strict),
        .target(name: "UVMScenario", swiftSettings: strict),
        .target(name: "UVMRunner", dependencies: ["UVMScenario", "UVMKernel", "UVMCheck"], swiftSettings: strict),
        .target(name: "UVMFuzz", dependencies: ["UVMRunner", "UVMScenario", "UVMKernel", "UVMCore", "UVMMachine", "UVMSched"],
                swiftSettings: strict),
        .executableTarget(name: "uvm", dependencies: [
            "UVMRunner", "UVMFuzz", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        .testTarget(name: "AddressTreeTests", dependencies: ["AddressTree"], swiftSettings: strict),
        .testTarget(name: "UVMSchedTests", dependencies: ["UVMSched"], swiftSettings: strict),
        .testTarget(name: "UVMScenarioTests", dependencies: ["UVMScenario"], swiftSettings: strict),
        .testTarget(name: "UVMFuzzTests", dependencies: ["UVMFuzz", "UVMRunner", "UVMScenario"], swiftSettings: strict),
        .testTarget(name: "UVMKernelTests", dependencies: ["UVMRunner", "UVMKernel", "UVMCheck"], swiftSettings: strict),
    ]
)
