// Problems an adversarial review found, each kept as its smallest scenario.

import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite @Sim struct ReviewRegressionTests {
    /// Two threads each write(2) one file from a mapping of the other: no fault waits for a
    /// vnode lock while its thread keeps another locked (copies happen with the vnode unlocked).
    @Test func crossedWritesFromMappingsDoNotDeadlock() async throws {
        let text = """
            file X size=1p fill=0x11
            file Y size=1p fill=0x22
            proc A
            proc B
            A: y = mmap file=Y 1p shared
            B: x = mmap file=X 1p shared
            together
              A: write X off=0 from=y len=1p => ok
              B: write Y off=0 from=x len=1p => ok
            end
            """
        for seed in 0...60 as ClosedRange<UInt64> { expectPass(try await run(text, seed: seed)) }
    }

    /// NetBSD errnos at the edges (ATF mincore_err; sys_mlock, sys_munlock, sys_munmap).
    @Test(arguments: [
        ("A: mincore 0 1p", "ENOMEM"),                 // not range-tested: unmapped is ENOMEM
        ("A: mincore 0x1001 1p", "EINVAL"),            // unaligned
        ("A: munmap 0 0", "EINVAL"),                   // round_and_check comes before the size
        ("A: munlock 0x20000000 0", "ENOMEM"),         // the start is looked up
        ("A: mlock b 0", "ok"),
        ("A: mlock b 2p", "EAGAIN"),                   // NetBSD counts the whole range again
    ])
    func edges(call: String, expected: String) async throws {
        let r = try await run("proc A memlock=2p\nA: b = mmap anon 2p\nA: mlock b 2p => ok\n\(call)\n")
        #expect(r.result(4) == expected, "\(call)")
    }

    /// A handle that was vsunlocked holds nothing: DMA through it is EINVAL; exiting with a
    /// vslock outstanding that nothing will undo waits for it forever, a deadlock (as a munmap
    /// of one's own vslocked range does).
    @Test func staleHandlesAndExitWithAVslock() async throws {
        let r = try await run("""
            proc A
            A: b = mmap anon 1p
            A: h = vslock b 1p w => ok
            A: vsunlock h => ok
            A: dma h write 0x01 => EINVAL
            A: h2 = vslock b 1p w => ok
            A: exit
            """)
        guard case .bug(let f) = r.outcome else {
            Issue.record("expected a deadlock, got \(r.outcome.summary)")
            return
        }
        #expect(f.kind == .deadlock)
    }

    /// The I/O of a vslock the exiting thread took may still complete: `kernel:` undoes it, and
    /// exit, which waits for it, goes on (it was once reported as a leak whenever exit ran
    /// first). Found by an outside generator.
    @Test func exitWaitsForItsOwnVslockThatTheKernelUndoes() async throws {
        let text = """
            machine ram=16p
            proc A
            A: a = mmap anon 1p
            A: h = vslock a 1p => ok
            together
              A: exit => ok
              kernel: vsunlock h => ok
            end
            expect wired = 0p
            """
        let scenario = try ScenarioParser.parse(text, file: "t.uvm")
        var base = RunOptions()
        base.auditEveryStep = true
        var e = ExploreOptions()
        e.runs = 200
        let r = try await Explorer.explore(scenario, source: text, base: base, e)
        #expect(r.found == nil, "\(r.found?.outcome.summary ?? "")")
        #expect(r.exhausted)
    }

    /// Historic knobs that break the kernel must end in a BUG, never a crash of the simulator.
    @Test(arguments: [
        ("wiring", "shared-count", "panic"),
    ])
    func historicKnobsFailAsBugs(knob: String, value: String, kind: String) async throws {
        let text = """
            device tape
            proc A
            thread T in A
            A: b = mmap anon 1p
            A: mlock b 1p => ok
            together
              A: physio tape read b 1p
              T: munlock b 1p
            end
            """
        var kinds = Set<String>()
        for seed in 0...40 as ClosedRange<UInt64> {
            var o = RunOptions()
            o.seed = seed
            o.policy = [(knob, value)]
            kinds.insert(try await run(text, options: o).outcome.kindName)
        }
        #expect(kinds.contains(kind))
        #expect(kinds.isSubset(of: ["PASS", "FAIL", "panic", "invariant", "use-after-free", "leak"]))
    }

    /// The historic unwire-through-the-pmap still handles the plain case.
    @Test func unwireThroughThePmapHandlesPlainMlock() async throws {
        var o = RunOptions()
        o.policy = [("unwire", "pmap")]
        let r = try await run("proc A\nA: a = mmap anon 2p\nA: mlock a 2p => ok\nA: munlock a 2p => ok\n", options: o)
        #expect(r.outcome == .pass, "\(r.transcript)")
    }
}
