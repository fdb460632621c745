// Answers the real kernels' wiring test suites pin down (scenarios/examples/suites/wiring), where
// a fix was needed: each test names the NetBSD function whose behaviour it checks.

import Testing
import UVMRunner
import UVMSched

@Suite @Sim struct SuiteWiringTests {
    /// uvm_vslock wires the pages through uvm_fault_wire and leaves the map entry's wired_count
    /// at 0, so uvm_map_pageable finds a range that only a vslock holds not wired down: munlock
    /// of it is EINVAL and changes nothing; the vslock still holds its page afterwards.
    @Test func munlockOfARangeOnlyAVslockHoldsIsEINVAL() async throws {
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
        #expect(r.result(4) == "EINVAL")
        #expect(r.result(5) == "EINVAL")
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
            A: munlock b 2p => EINVAL
            expect locked A b 1p = yes
            A: munlock b 1p => ok
            expect locked A b 1p = no
            A: vsunlock h => ok
            expect wired = 0p
            """)
        expectPass(r)
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
