// Answers the real kernels' wiring test suites pin down (scenarios/examples/suites/wiring), where
// a fix was needed: each test names the NetBSD function whose behaviour it checks.

import Testing
import UVMRunner
import UVMSched

@Suite @Sim struct SuiteWiringTests {
    /// uvm_vslock wires the pages through uvm_fault_wire and leaves the map entry's wired_count
    /// at 0, so uvm_map_pageable finds a range that only a vslock holds not wired down: munlock
    /// of it fails (ENOMEM, as sys_munlock answers every failure) and changes nothing; the
    /// vslock still holds its page afterwards.
    @Test func munlockOfARangeOnlyAVslockHoldsFails() async throws {
        let r = try await run("""
            proc A
            A: b = mmap anon 2p
            A: h = vslock b 2p
            A: munlock b 2p
            A: munlock b 1p
            expect wired = 2p
            A: dma h write 0x42 => ok
            A: vsunlock h => ok
            A: check b 2p 0x42 => ok
            expect wired = 0p
            """)
        expectPass(r)
        #expect(r.result(4) == "ENOMEM")
        #expect(r.result(5) == "ENOMEM")
    }

    /// The same munlock once mlock has locked part of the range: the locked entry unlocks, the
    /// part only the vslock holds makes the whole call fail first, as uvm_map_pageable checks
    /// every entry before it unwires any.
    @Test func munlockAcrossLockedAndVslockedEntriesChangesNothing() async throws {
        let r = try await run("""
            proc A
            A: b = mmap anon 2p
            A: mlock b 1p => ok
            A: h = vslock b+1p 1p
            A: munlock b 2p => ENOMEM
            expect locked A b 1p = yes
            A: munlock b 1p => ok
            expect locked A b 1p = no
            A: vsunlock h => ok
            expect wired = 0p
            """)
        expectPass(r)
    }

    /// sys_mlock compares the whole range with wiredmax and RLIMIT_MEMLOCK before
    /// uvm_map_pageable looks the range up: past a limit, an unmapped start, a hole and a
    /// PROT_NONE entry are all EAGAIN; within it each keeps its own errno.
    @Test(arguments: [
        // (the range's flaw, mlock past the limit, mlock within it)
        ("unmapped start", "A: mlock 0x20000000 9p", "A: mlock 0x20000000 1p", "ENOMEM"),
        ("hole", "A: mlock b 9p", "A: mlock b 3p", "EINVAL"),
        ("PROT_NONE entry", "A: mlock n 9p", "A: mlock n 1p", "EINVAL"),
    ])
    func limitsComeBeforeTheMapIsLookedAt(flaw: String, past: String, within: String, errno: String) async throws {
        let r = try await run("""
            proc A memlock=8p
            A: b = mmap anon 2p
            A: n = mmap anon 1p prot=none fixed=0x30000000
            \(past)
            \(within)
            expect wired = 0p
            """)
        expectPass(r)
        #expect(r.result(4) == "EAGAIN", "\(flaw)")
        #expect(r.result(5) == errno, "\(flaw)")
    }

    /// Under the historic `wiring=shared-count` every wiring is the one count, so munlock finds
    /// the vslocked entry wired and forces the count to zero, and the vsunlock that follows
    /// underflows it, as the old kernel did.
    @Test func sharedCountMunlockStillSeesTheVslock() async throws {
        let r = try await run("""
            policy wiring=shared-count
            proc A
            A: b = mmap anon 1p
            A: h = vslock b 1p
            A: munlock b 1p
            A: vsunlock h
            """)
        #expect(r.result(5) == "ok")
        guard case .bug(let failure) = r.outcome else {
            Issue.record("expected a wire count underflow:\n\(r.transcript)")
            return
        }
        #expect(failure.kind == .panic)
    }
}
