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
}
