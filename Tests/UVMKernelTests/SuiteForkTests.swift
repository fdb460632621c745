// Answers the real kernels' fork tests expect (scenarios/examples/suites/fork/), pinned where
// swift-uvm once answered otherwise: each test names the NetBSD function it follows.

import Testing
import UVMRunner
import UVMSched

@Suite @Sim struct SuiteForkTests {
    /// FreeBSD's shared_shadow_inval (CVE-2021-29626) in UVM terms: P2 and P3 share an amap
    /// (MAP_INHERIT_SHARE) whose anons are still P1's, copy-on-write, and P2 has them mapped.
    /// P3's write copies the anon into the shared amap; amap_add's replace case takes every
    /// mapping of the old page away, so P2 faults again and reads P3's byte instead of P1's.
    @Test func copyIntoASharedAmapUnmapsTheOldAnonEverywhere() async throws {
        let text = """
            proc P1
            P1: m = mmap anon 2p
            P1: fill m 2p 0x01 => ok
            P1: P2 = fork
            P2: minherit m 2p share => ok
            P2: check m 2p 0x01 => ok
            P2: P3 = fork
            P3: store m 0x03 => ok
            P2: load m              # P2 after
            P2: load m+1p => 0x01
            P1: check m 2p 0x01 => ok
            """
        let r = try await run(text)
        expectPass(r)
        #expect(r.result(line("# P2 after", in: text)) == "0x03", "\(r.transcript)")
    }

    /// shared_shadow_inval's largest length, a superpage and one page, has its UVM counterpart in
    /// amap_copy's chunking: P1's first fault splits a 257-page entry at a 16-page chunk, so P2
    /// and P3 share two amaps, and P3's copies into both must reach P2. The per-step audit would
    /// make this run take seconds; the run's final audit still checks the state.
    @Test func copiesIntoChunkedSharedAmapsReachTheOtherSharer() async throws {
        let text = """
            machine ram=512p
            proc P1
            P1: m = mmap anon 257p
            P1: fill m 257p 0x01 => ok
            P1: P2 = fork
            P2: minherit m 257p share => ok
            P2: check m 257p 0x01 => ok
            P2: P3 = fork
            P3: fill m 129p 0x03 => ok
            P1: check m 257p 0x01 => ok
            P2: check m 129p 0x03 => ok
            P2: check m+129p 128p 0x01 => ok
            """
        expectPass(try await run(text, options: RunOptions()))
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
