// Answers the real kernels' fork tests expect (scenarios/examples/suites/fork/), pinned where
// swift-uvm once answered otherwise: each test names the NetBSD function it follows.

import Testing
import UVMRunner
import UVMSched

@Suite @Sim struct SuiteForkTests {
    /// FreeBSD's shared_shadow_inval (CVE-2021-29626) in UVM terms: P2 and P3 share an amap
    /// (MAP_INHERIT_SHARE) whose anons are still P1's, copy-on-write, and P2 has them mapped.
    /// P3's writes copy the anons into the shared amap; amap_add's replace case takes every
    /// mapping of the old pages away, so P2 faults again and reads P3's bytes instead of P1's.
    /// At 257 pages (the test's superpage and one page) P1's first fault splits the entry at
    /// amap_copy's 16-page chunk, so the copies go into two shared amaps; the per-step audit
    /// would make that run take seconds, and its final audit still checks the state.
    @Test(arguments: [2, 257]) func copiesIntoASharedAmapReachTheOtherSharer(pages: Int) async throws {
        let written = (pages + 1) / 2
        let text = """
            machine ram=\(2 * pages + 16)p
            proc P1
            P1: m = mmap anon \(pages)p
            P1: fill m \(pages)p 0x01 => ok
            P1: P2 = fork
            P2: minherit m \(pages)p share => ok
            P2: check m \(pages)p 0x01 => ok
            P2: P3 = fork
            P3: fill m \(written)p 0x03 => ok
            P2: check m \(written)p 0x03 => ok
            P2: check m+\(written)p \(pages - written)p 0x01 => ok
            P1: check m \(pages)p 0x01 => ok
            """
        var options = RunOptions()
        options.auditEveryStep = pages < 256  // below UVM_AMAP_LARGE: quick enough to audit every step
        expectPass(try await run(text, options: options))
    }

    /// The same through a private file mapping: the slot was empty and P2 had the file's page
    /// mapped; P3's write promotes it into the amap they share, and uvm_fault_lower_promote
    /// takes the file page out of every pmap, so P2 sees the copy rather than the file.
    @Test func promotionIntoASharedAmapUnmapsTheFilePage() async throws {
        let text = """
            file f size=1p fill=0x61
            proc P2
            P2: p = mmap file=f 1p private
            P2: minherit p 1p share => ok
            P2: load p => 0x61
            P2: P3 = fork
            P3: load p => 0x61
            P3: store p 0x03 => ok
            P2: load p              # P2 after
            P2: s = mmap file=f 1p shared
            P2: load s => 0x61
            """
        let r = try await run(text)
        expectPass(r)
        #expect(r.result(line("# P2 after", in: text)) == "0x03", "\(r.transcript)")
    }
}
