// fork: copy-on-write through chains of forks, the three inheritances, and fork racing a store
// by another thread of the parent.

import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite @Sim struct ForkTests {
    @Test func copyOnWriteThroughAChainOfForks() async throws {
        let text = """
            machine ram=64p
            proc G
            G: p = mmap anon 2p
            G: fill p 2p 0x47
            G: P = fork
            P: store p 0x50
            P: C = fork
            C: store p 0x43
            G: load p           # G0
            P: load p           # P0
            C: load p           # C0
            C: load p+1p        # C1 before
            G: store p+1p 0x67
            P: store p+1p 0x70
            G: load p+1p        # G1
            P: load p+1p        # P1
            C: load p+1p        # C1 after
            P: exit
            C: load p           # C0 after parent exit
            G: load p           # G0 after parent exit
            """
        let r = try await run(text)
        expectPass(r)
        let want = ["G0": "0x47", "P0": "0x50", "C0": "0x43", "C1 before": "0x47",
                    "G1": "0x67", "P1": "0x70", "C1 after": "0x47",
                    "C0 after parent exit": "0x43", "G0 after parent exit": "0x47"]
        for (marker, value) in want {
            #expect(r.result(line("# \(marker)", in: text)) == value, "\(marker)\n\(r.transcript)")
        }
    }

    @Test func forkCopiesTouchedAndUntouchedPages() async throws {
        // Half the pages touched before the fork: the child zero-fills the others on its own.
        let text = """
            proc A
            A: p = mmap anon 4p
            A: fill p 2p 0x11 => ok
            A: B = fork
            B: check p 2p 0x11 => ok
            B: check p+2p 2p 0x00 => ok
            B: fill p 4p 0x22 => ok
            A: check p 2p 0x11 => ok
            A: check p+2p 2p 0x00 => ok
            """
        expectPass(try await run(text))
    }

    @Test func inheritanceShareCopyNone() async throws {
        let text = """
            machine ram=64p
            proc A
            A: s = mmap anon 1p
            A: c = mmap anon 1p
            A: n = mmap anon 1p
            A: fill s 1p 0x11
            A: fill c 1p 0x22
            A: fill n 1p 0x33
            A: minherit s 1p share
            A: minherit c 1p copy
            A: minherit n 1p none
            A: B = fork
            B: load s                  # child share
            B: load c                  # child copy
            B: load n                  # child none
            B: store s 0x44
            B: store c 0x55
            A: load s                  # parent sees child store
            A: load c                  # parent keeps its copy
            A: store s 0x66
            B: load s                  # child sees parent store
            B: load c                  # child keeps its store
            A: load n                  # parent keeps none memory
            """
        let r = try await run(text)
        expectPass(r)
        let want = ["child share": "0x11", "child copy": "0x22", "child none": "SIGSEGV",
                    "parent sees child store": "0x44", "parent keeps its copy": "0x22",
                    "child sees parent store": "0x66", "child keeps its store": "0x55",
                    "parent keeps none memory": "0x33"]
        for (marker, value) in want {
            #expect(r.result(line("# \(marker)", in: text)) == value, "\(marker)\n\(r.transcript)")
        }
    }

    @Test func sharedMappingIsSharedAcrossFork() async throws {
        let text = """
            proc A
            A: m = mmap anon 1p shared
            A: B = fork
            B: store m 0x42 => ok
            A: load m => 0x42
            A: store m 0x43 => ok
            B: load m => 0x43
            B: exit => ok
            A: load m => 0x43
            """
        expectPass(try await run(text))
    }

    @Test(arguments: 1...20 as ClosedRange<UInt64>)
    func forkRacingAStore(seed: UInt64) async throws {
        let text = """
            proc A
            thread T in A
            A: p = mmap anon 2p
            A: fill p 2p 0x11 => ok
            together
              A: C = fork
              T: store p 0x22 => ok
              T: store p+1p 0x33 => ok
            end
            A: load p => 0x22
            A: load p+1p => 0x33
            C: load p => 0x11|0x22
            C: load p+1p => 0x11|0x33
            C: store p 0x44 => ok
            T: store p+1p 0x55 => ok
            A: load p => 0x22
            C: load p+1p => 0x11|0x33
            """
        expectPass(try await run(text, seed: seed))
    }

    /// Regression (fixed in eaf219a): the first copy-on-write fault after fork dropped the old
    /// amap's reference before the entry pointed at its new amap, which the per-step audit
    /// reported as "BUG invariant: amap 1 has 1 references, entries hold 2".
    @Test func firstWriteAfterForkPassesTheAudit() async throws {
        let text = """
            proc A
            A: p = mmap anon 1p
            A: store p 0x42 => ok
            A: B = fork
            A: store p 0x43 => ok
            B: load p => 0x42
            A: load p => 0x43
            """
        expectPass(try await run(text))
    }

    @Test func execAndExitGiveTheMemoryBack() async throws {
        let text = """
            machine ram=32p
            proc A
            A: p = mmap anon 4p
            A: fill p 4p 0x0a => ok
            expect free = 28p
            A: exec => ok
            A: load p => SIGSEGV
            expect free = 32p
            A: q = mmap anon 1p
            A: store q 0x01 => ok
            A: exit => ok
            expect free = 32p
            expect wired = 0
            """
        expectPass(try await run(text))
    }
}
