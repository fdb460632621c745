// Campaigns: a historic knob's BUG is found, shrunk and written as a reproducer that replays;
// the command line's usage errors and exit codes; shards and merges.

import Foundation
import Testing
import UVMFuzz
import UVMRunner
import UVMScenario
import UVMSched

private func temporaryDirectory() -> String {
    let dir = NSTemporaryDirectory() + "uvm-fuzz-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A short campaign under `truncate=free` (the 2003 tech-kern vslock thread's historic truncation).
/// Without errno probes: the checker still traps on some 2^64−1 lengths, which would end the test
/// process.
private func historicOptions(out: String) -> FuzzOptions {
    var o = FuzzOptions()
    o.policy = [("truncate", "free")]
    o.scenarios = 40
    o.keepGoing = true
    o.probePercent = 0
    o.out = out
    // Shrinking ends by itself when no candidate is smaller, in a few seconds; the budget only
    // keeps a machine loaded by a campaign beside the tests from cutting it short.
    o.shrinkSeconds = 120
    return o
}

@Test func aHistoricKnobsBugIsFoundShrunkAndReplays() async throws {
    let out = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let result = try await Fuzzer.run(historicOptions(out: out))
    let finding = try #require(result.findings.first { $0.kind == "use-after-free" })
    #expect(finding.replays)
    #expect(result.exitCode == 2)
    let text = try String(contentsOfFile: finding.path, encoding: .utf8)
    #expect(text.contains("# kind: use-after-free"))
    #expect(text.contains("# replay: uvm replay \(finding.path) \(finding.token) --audit"))
    #expect(text.contains("policy truncate=free"))
    // The file stands alone: its policy line and the token replay the BUG, as `uvm replay` does.
    #expect(await Reproducer.replays(text, token: finding.token, kind: .useAfterFree))
    // Shrunk, and still keeping the rules: a vslock only with its vsunlock.
    let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
    #expect(finding.linesAfter < finding.linesBefore)
    #expect(lines.count == finding.linesAfter + 1)  // and its policy line
    #expect(lines.filter { $0.contains("= vslock") }.count == lines.filter { $0.contains("vsunlock") }.count)
    // A second campaign into the same directory knows the BUG already: nothing new to report.
    let again = try await Fuzzer.run(historicOptions(out: out))
    #expect(again.findings.isEmpty)
}

@Test func usageErrorsNameTheirFlag() {
    #expect(FuzzUsage.problem(time: 0, runs: nil, schedules: 6, shrinkTime: 30, shard: nil)?.hasPrefix("--time") == true)
    #expect(FuzzUsage.problem(time: -1, runs: nil, schedules: 6, shrinkTime: 30, shard: nil)?.hasPrefix("--time") == true)
    #expect(FuzzUsage.problem(time: nil, runs: -2, schedules: 6, shrinkTime: 30, shard: nil)?.hasPrefix("--runs") == true)
    #expect(FuzzUsage.problem(time: nil, runs: nil, schedules: 0, shrinkTime: 30, shard: nil)?.hasPrefix("--schedules") == true)
    #expect(FuzzUsage.problem(time: nil, runs: nil, schedules: 6, shrinkTime: -1, shard: nil)?.hasPrefix("--shrink-time") == true)
    for bad in ["2/2", "1", "-1/3", "a/b", "1/0"] {
        #expect(FuzzUsage.problem(time: nil, runs: nil, schedules: 6, shrinkTime: 30, shard: bad)?.hasPrefix("--shard") == true)
    }
    #expect(FuzzUsage.problem(time: nil, runs: nil, schedules: 6, shrinkTime: 30, shard: nil, probes: 101)?.hasPrefix("--probes") == true)
    #expect(FuzzUsage.problem(time: 5, runs: 10, schedules: 4, shrinkTime: 0, shard: "1/4") == nil)
    #expect(FuzzOptions.policyProblem([("truncate", "sometimes")]) != nil)
    #expect(FuzzOptions.policyProblem([("truncate", "free")]) == nil)
}

@Test func aCleanCampaignExitsZeroAndKeepsACorpus() async throws {
    let out = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: out) }
    var o = FuzzOptions()
    o.scenarios = 3
    o.firstSeed = 3
    o.out = out
    let result = try await Fuzzer.run(o)
    #expect(result.exitCode == 0)
    #expect(result.stats.scenarios == 3)
    #expect(result.stats.generatorMistakes == 0)
    #expect(result.stats.coverage > 10)
    let corpus = try FileManager.default.contentsOfDirectory(atPath: out + "/corpus").filter { $0.hasSuffix(".uvm") }
    #expect(corpus.count == result.stats.corpus && corpus.count >= 1)
    // The corpus's coverage, as `uvm fuzz --coverage` prints it.
    let (coverage, files) = await FuzzMerge.coverage(of: out + "/corpus", policy: [], schedules: 6)
    #expect(files == corpus.count)
    #expect(coverage.features.contains("outcome PASS"))
    #expect(coverage.features.contains { $0.hasPrefix("op mmap anon -> ") })
}

@Test func shardsSplitTheSeedsAndMergesKeepOneReproducerPerBug() async throws {
    let a = temporaryDirectory(), b = temporaryDirectory(), merged = temporaryDirectory()
    defer { for d in [a, b, merged] { try? FileManager.default.removeItem(atPath: d) } }
    var found: [String] = []
    for (i, dir) in [a, b].enumerated() {
        var o = historicOptions(out: dir)
        o.scenarios = 20
        o.shard = (i, 2)
        let result = try await Fuzzer.run(o)
        found += result.findings.map(\.signature)
    }
    let counts = try FuzzMerge.merge([a, b], out: merged, corpus: nil)
    #expect(counts.reproducers == Set(found).count)
    #expect(counts.corpus > 0)
    // Merging again adds nothing.
    let again = try FuzzMerge.merge([a, b], out: merged, corpus: nil)
    #expect(again.reproducers == 0 && again.corpus == 0)
}
