// The result of every bad argument, with NetBSD's errno (README, "Where we differ"): each row is
// one operation run after a common set-up, and its printed result.

import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite @Sim struct ErrnoTests {
    /// A file of one page; `p` is three pages of anonymous memory (maxprot rw) with a hole in
    /// the middle page.
    static let setUp = """
        machine ram=32p
        file f size=1p
        proc A
        A: p = mmap anon 3p maxprot=rw
        A: munmap p+1p 1p => ok

        """

    @Test(arguments: [
        // mmap
        ("A: mmap file=f 0", "EINVAL"),                         // zero length of a file
        ("A: mmap anon 1p prot=rw maxprot=r", "EACCES"),       // prot beyond maxprot
        ("A: mmap anon 1p fixed=0x10000100", "EINVAL"),        // fixed, unaligned
        ("A: mmap anon 1p fixed=0", "EINVAL"),                 // fixed, below user space
        ("A: mmap anon 1p fixed=0x7f7ffffff000", "EFBIG"),     // fixed, past user space
        ("A: mmap file=nosuch 1p", "ENOENT"),                  // unknown file
        // munmap
        ("A: munmap p 0", "ok"),                               // zero length
        ("A: munmap 0x7f7fffffc000 1p", "EINVAL"),             // outside user space
        ("A: munmap p+1p 1p", "ok"),                           // nothing mapped there
        // mprotect, minherit
        ("A: mprotect p 3p rwx", "EACCES"),                    // beyond maxprot
        ("A: mprotect p 3p r", "ok"),                          // over a hole
        ("A: minherit p 3p none", "ok"),                       // over a hole
        // msync
        ("A: msync p 3p", "EFAULT"),                           // over a hole
        ("A: msync p+1p 0", "EINVAL"),                         // zero length, in a hole
        ("A: msync p 0", "ok"),                                // zero length: the whole entry
        // mincore
        ("A: mincore p+1 1p", "EINVAL"),                       // unaligned
        ("A: mincore p 0", "EINVAL"),                          // zero length
        ("A: mincore p 3p", "ENOMEM"),                         // over a hole
        // madvise
        ("A: madvise p 3p dontneed", "EFAULT"),                // over a hole
        ("A: madvise p 3p free", "EFAULT"),                    // over a hole
        ("A: madvise p 3p willneed", "ok"),                    // willneed skips holes
        // read, write, truncate, fsync
        ("A: read f off=0 to=p+1p len=1", "EFAULT"),           // unmapped user buffer
        ("A: write f off=0 from=p+1p len=1", "EFAULT"),        // unmapped user buffer
        ("A: read nosuch off=0 to=p len=1", "ENOENT"),         // unknown file
        ("A: write nosuch off=0 from=p len=1", "ENOENT"),      // unknown file
        ("A: truncate nosuch 0", "ENOENT"),                    // unknown file
        ("A: fsync nosuch", "ENOENT"),                         // unknown file
    ])
    func badArgument(operation: String, errno: String) async throws {
        let r = try await run(Self.setUp + operation)
        #expect(r.result(6) == errno, "\(r.transcript)")
        #expect(r.outcome == .pass, "\(r.transcript)")
    }

    @Test func zeroLengthAnonymousMmapSucceeds() async throws {
        let r = try await run(Self.setUp + "A: z = mmap anon 0")
        let got = r.result(6) ?? "nothing"
        #expect(got.hasPrefix("0x"), "expected an address, got \(got)")
        #expect(r.outcome == .pass, "\(r.transcript)")
    }

    @Test func anErrnoCanBeExpected() async throws {
        // The same result through an expectation: a mismatch is a FAIL naming both.
        let good = try await run(Self.setUp + "A: mprotect p 3p rwx => EACCES")
        #expect(good.outcome == .pass)
        let bad = try await run(Self.setUp + "A: mprotect p 3p rwx => EINVAL|ENOMEM")
        #expect(bad.outcome == .fail(line: 6, expected: "EINVAL|ENOMEM", got: "EACCES"))
    }
}
