// Answers the real kernels' mapping tests expect (scenarios/examples/suites/mapping/), pinned
// where swift-uvm once answered otherwise: each test names the NetBSD function it follows.

import Testing
import UVMRunner
import UVMSched

@Suite @Sim struct SuiteMappingTests {
    /// sys_mmap checks a MAP_FIXED address (alignment, then range_test) before uvm_mmap
    /// returns early for a zero length, so a zero-length anonymous mapping at an unaligned,
    /// too low or too high fixed address is refused as any other length would be; at a good
    /// address it succeeds and returns that address, mapping nothing.
    @Test func zeroLengthFixedMmapIsCheckedLikeAnyOther() async throws {
        let text = """
            proc A
            A: mmap anon 0 fixed=0x20000001 => EINVAL
            A: mmap anon 0 fixed=0 => EINVAL
            A: mmap anon 0 fixed=0x7f8000000000 => EFBIG
            A: z = mmap anon 0 fixed=0x20000000
            A: load 0x20000000 => SIGSEGV
            """
        let r = try await run(text)
        #expect(r.result(5) == "0x20000000", "\(r.transcript)")
        expectPass(r)
    }

    /// Without MAP_FIXED, sys_mmap picks the default address before uvm_mmap returns early:
    /// the caller gets that address (never MAP_FAILED, never NULL), and nothing is mapped.
    @Test func zeroLengthMmapReturnsTheDefaultAddress() async throws {
        let text = """
            proc A
            A: z = mmap anon 0
            A: a = mmap anon 1p
            """
        let r = try await run(text)
        #expect(r.result(2) == r.result(3), "\(r.transcript)")
        expectPass(r)
    }

    /// uvm_map_clean's MADV_FREE puts every entry's object with PGO_CLEANIT|PGO_FREE, a
    /// private mapping's file too: the private copy goes, the file's pages are written back and
    /// leave the page cache, and the mapping reads the file again, as another mapping wrote it.
    @Test func madviseFreeOfAPrivateFileMappingEmptiesThePageCache() async throws {
        let text = """
            file f size=2p fill=0x66
            proc A
            A: p = mmap file=f 2p private
            A: s = mmap file=f 2p shared
            A: store p 0x22 => ok
            A: store s+1p 0x33 => ok
            A: madvise p 2p free => ok
            A: mincore p 2p => 00
            A: load p => 0x66
            A: load p+1p => 0x33
            """
        expectPass(try await run(text))
    }

    /// uvm_map_willneed prefetches only for an object entry without an amap: a private file
    /// mapping that copied a page gets no read-ahead of its file, while one that was only read
    /// (a read fault makes no amap for a file entry) does.
    @Test func willneedSkipsAnEntryWithAnAmap() async throws {
        let text = """
            file f size=4p fill=0x66
            file g size=4p fill=0x67
            proc A
            A: w = mmap file=f 4p private
            A: store w 0x01 => ok
            A: madvise w 4p willneed => ok
            A: mincore w 4p => 1000
            A: r = mmap file=g 4p private
            A: load r => 0x67
            A: madvise r 4p willneed => ok
            A: mincore r 4p => 1111
            """
        expectPass(try await run(text))
    }
}
