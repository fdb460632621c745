// The knob table's stop rule: a campaign that keeps going past other BUGs still stops at the
// first BUG of the kind it looks for.

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
}
