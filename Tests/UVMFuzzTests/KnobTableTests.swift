// The knob table's stop rule (a campaign that keeps going past other BUGs still stops at the
// first BUG of the kind it looks for), and what its reproducers are worth: each replays its BUG,
// and the median one is short enough to read at a glance.

import Foundation
import Testing
import UVMFuzz

@Suite struct KnobTableTests {
    @Test func aCampaignStopsAtTheKindItLooksFor() async throws {
        let out = NSTemporaryDirectory() + "uvm-knob-table-test-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: out) }
        var o = FuzzOptions()
        o.policy = [("vnode-fault", "lock-early")]
        o.keepGoing = true
        o.stopKinds = ["lock-order"]
        o.scenarios = 200
        o.shrinkSeconds = 1
        o.out = out
        let result = try await Fuzzer.run(o)
        #expect(result.findings.last?.kind == "lock-order")
        #expect(result.stats.scenarios < 200, "it stopped at the lock-order BUG")
    }

    /// The catalog's knobs whose campaigns find their BUG within a few scenarios (the slow ones
    /// are the benchmark's, `uvm fuzz --knob-table`): every reproducer replays as the kind looked
    /// for, and the median is at most 15 lines.
    @Test func reproducersReplayAndTheMedianIsAtMostFifteenLines() async throws {
        let catalog = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scenarios/catalog").path
        let quick: Set = ["truncate=free", "vslock=entry", "unwire=pmap", "vnode-fault=lock-early",
                          "wire-prot=current,unwire=pmap"]
        let entries = KnobTable.entries(catalog: catalog).filter {
            quick.contains($0.knobs.map { "\($0.knob)=\($0.value)" }.joined(separator: ","))
        }
        #expect(entries.count == quick.count)
        var lengths: [Int] = []
        for entry in entries {
            // A count of scenarios, not seconds: every simulator test shares one thread, so a
            // wall-clock budget depends on what else runs. These knobs find their BUG within a
            // few dozen scenarios from seed 1. Shrinking ends when nothing smaller fails; its
            // budget is only there so a loaded machine cannot cut it short.
            let row = try await KnobTable.campaign(for: entry, seconds: nil, scenarios: 200, seed: 1, schedules: 4, shrinkSeconds: 120)
            let finding = try #require(row.finding, "\(row.knobWords): no BUG of kind \(row.kinds) in \(row.scenarios) scenarios")
            #expect(finding.replays, "\(row.knobWords): the reproducer does not replay its BUG")
            lengths.append(finding.linesAfter)
        }
        let median = try #require(KnobTable.median(lengths))
        #expect(median <= 15, "reproducer lengths \(lengths.sorted())")
    }
}
