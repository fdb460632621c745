// The supervisor: a campaign whose kernel traps keeps the scenario it was running as a crash
// reproducer and, with --keep-going, goes on in a new worker from the next seed.

import Foundation
import Testing
import UVMFuzz

/// The `uvm` executable `swift build` made beside these tests.
private func uvmExecutable() throws -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = root.appendingPathComponent(".build/debug/uvm").path
    try #require(FileManager.default.isExecutableFile(atPath: path), "build the uvm executable first (swift build)")
    return path
}

private func campaign(_ arguments: [String], out: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try uvmExecutable())
    process.arguments = ["fuzz", "--out", out] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Test func aTrapEndsTheWorkerNotTheCampaign() throws {
    let out = NSTemporaryDirectory() + "uvm-supervisor-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let (status, output) = try campaign(["--runs", "12", "--seed", "40", "--trap-at-seed", "44", "--keep-going", "--json"], out: out)
    #expect(status == 2, "a crash is a BUG")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    #expect(json["scenarios"] as? Int == 12, "seeds 40...51, the one that trapped included")
    let crashes = try #require(json["crashes"] as? [String])
    #expect(crashes.count == 1)
    let crash = try String(contentsOfFile: try #require(crashes.first), encoding: .utf8)
    #expect(crash.contains("# uvm fuzz: seed 44"))
    #expect(!FileManager.default.fileExists(atPath: out + "/.in-flight-0.uvm"))
}

@Test func withoutKeepGoingTheFirstTrapEndsTheCampaign() throws {
    let out = NSTemporaryDirectory() + "uvm-supervisor-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let (status, output) = try campaign(["--runs", "12", "--seed", "40", "--trap-at-seed", "42"], out: out)
    #expect(status == 2)
    #expect(output.contains("3 scenarios"))
    #expect(output.contains("CRASH: the kernel trapped; the scenario it was running is \(out)/crash-"))
}

/// A worker that reaches the memory ceiling after running scenarios (a long campaign's grows)
/// is replaced by a fresh one at the next seed: no scenario is lost or run twice.
@Test func aWorkerPastTheMemoryCeilingIsReplaced() throws {
    let out = NSTemporaryDirectory() + "uvm-supervisor-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let (status, output) = try campaign(["--runs", "12", "--seed", "40", "--ceiling-at-seed", "45", "--keep-going", "--json"], out: out)
    #expect(status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    #expect(json["scenarios"] as? Int == 12, "seeds 40...44 in the first worker, 45...51 in the second")
    #expect(json["stoppedBy"] == nil)
    #expect((json["crashes"] as? [String])?.isEmpty == true)
}

@Test func theSupervisorSetsTheBudgetOfEachWorker() {
    #expect(Supervisor.withoutBudgetFlags(["--seed", "5", "--audit", "--time=30", "--runs", "9", "--out", "x"])
            == ["--audit", "--out", "x"])
}

/// Past `--max-memory` a campaign stops cleanly, says why, and keeps what it found: a 1 MB
/// ceiling is past before the first scenario.
@Test func theMemoryCeilingStopsTheCampaignCleanly() throws {
    let out = NSTemporaryDirectory() + "uvm-supervisor-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let (status, output) = try campaign(["--runs", "50", "--max-memory", "1", "--json"], out: out)
    #expect(status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    #expect(json["scenarios"] as? Int == 0)
    let reason = try #require(json["stoppedBy"] as? String)
    #expect(reason.hasSuffix("past the 1 MB ceiling"), "\(reason)")
}
