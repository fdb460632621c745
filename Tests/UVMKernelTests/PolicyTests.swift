// Policy knobs change behaviour only through the mechanism they name.

import Testing
import UVMCore
import UVMRunner
import UVMSched

@Suite @Sim struct PolicyTests {
    /// Anonymous memory, fork, copy-on-write, a file read and write, under several schedules:
    /// nothing here wires, lends, truncates a held page or faults a file page against its vnode
    /// lock holder, so every historic knob must leave the run identical, step for step.
    static let untouched = """
        file db size=2p fill=0x41
        proc A
        thread T in A
        A: b = mmap anon 3p
        A: fill b 3p 0x11 => ok
        A: child = fork
        together
          child: store b 0x22 => ok
          A: store b+1p 0x33 => ok
          T: read db off=0 to=b+2p len=100 => ok
        end
        child: load b+1p => 0x11
        A: load b => 0x11
        A: write db off=1p from=b len=1p => ok
        """

    @Test(arguments: Policy.knobs.flatMap { knob in knob.values.dropFirst().map { (knob.name, $0) } })
    func aKnobLeavesUnrelatedRunsIdentical(knob: String, value: String) async throws {
        for seed in [0, 3, 11] as [UInt64] {
            var modern = RunOptions()
            modern.seed = seed
            modern.trace = true
            var historic = modern
            historic.policy = [(knob, value)]
            let a = try await run(Self.untouched, options: modern)
            let b = try await run(Self.untouched, options: historic)
            #expect(a.outcome == .pass)
            #expect(a.traceHash == b.traceHash, "\(knob)=\(value), seed \(seed)")
            #expect(a.trace == b.trace)
            #expect(a.lines == b.lines)
        }
    }

    @Test func policySetRejectsUnknownKnobsAndValues() {
        var p = Policy()
        #expect(throws: Policy.SetError.unknownKnob("nope")) { try p.set("nope", "x") }
        #expect(throws: Policy.SetError.unknownValue(knob: "truncate", value: "later", allowed: ["defer", "free"])) {
            try p.set("truncate", "later")
        }
        try? p.set("truncate", "free")
        #expect(p.truncate == .free)
        try? p.set("modern", "")
        #expect(p == .modern)
    }

    @Test func catalogHeadersParse() {
        let e = CatalogEntry.parse("# x\n# catalog: id=W11 seed=004 knob=wire-prot=current,unwire=pmap bug=panic\n", file: "f")
        #expect(e?.id == "W11")
        #expect(e?.knobs.map { "\($0.knob)=\($0.value)" } == ["wire-prot=current", "unwire=pmap"])
        #expect(e?.bugs == ["panic"])
        let none = CatalogEntry.parse("# catalog: id=W13 seed=003 knob=none bug=none", file: "f")
        #expect(none?.knobs.isEmpty == true && none?.bugs.isEmpty == true)
        #expect(CatalogEntry.parse("# no header", file: "f") == nil)
        // Prose that names a knob and a kind is not a header: nothing is guessed.
        #expect(CatalogEntry.parse("# W4 variant: with vslock=entry the second DMA is a use-after-free.\n", file: "W4b.uvm") == nil)
        #expect(CatalogEntry.parse("# expect BUG deadlock\npolicy vnode-fault=busy-then-lock\n", file: "W9.uvm") == nil)
    }
}
