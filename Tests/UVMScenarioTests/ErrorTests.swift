// Mistakes in a scenario: each is reported at the line and column of the offending token, or of
// the end of the line when something is missing, with a message naming what was expected.

import Testing
@testable import UVMScenario

@Suite struct ErrorTests {
    @Test(arguments: [
        // Bad values.
        ("machine ram=abc", 1, 13, "expected a SIZE (like 4K, 2p, 0x1000) after 'ram=', found 'abc'"),
        ("machine ram=4KB", 1, 13, "expected a SIZE (like 4K, 2p, 0x1000) after 'ram=', found '4KB'"),
        ("machine ram=1.5M", 1, 13, "expected a SIZE (like 4K, 2p, 0x1000) after 'ram=', found '1.5M'"),
        ("machine swap=0x", 1, 14, "expected a SIZE (like 4K, 2p, 0x1000) after 'swap=', found '0x'"),
        ("machine ram=18446744073709551616", 1, 13, "number '18446744073709551616' does not fit in 64 bits"),
        ("machine ram=17179869184G", 1, 13, "size '17179869184G' does not fit in 64 bits of bytes"),
        ("proc A\nA: store buf 0x100", 2, 14, "expected a BYTE (like 0x42) for 'store', found '0x100', which is more than 0xff"),
        ("file db size=1p fill=256", 1, 22, "expected a BYTE (like 0x42) after 'fill=', found '256', which is more than 0xff"),
        ("proc A uid=4294967296", 1, 12, "expected a number up to 4294967295 after 'uid=', found '4294967296'"),
        ("A: mprotect buf 1p wr", 1, 20, "expected a PROT (r, w, x, rw, rx, wx, rwx or none) for 'mprotect', found 'wr'"),
        ("A: load 4p", 1, 9, "expected an ADDR (like buf, buf+2p, 0x10000) after 'load', found '4p'"),
        ("A: load buf+", 1, 13, "expected a SIZE (like 4K, 2p, 0x1000) after '+' in an ADDR, found end of line"),
        ("A: load buf => maybe", 1, 16, "expected a result (ok, an errno like EINVAL, SIGSEGV, SIGBUS, a byte like 0x42, page bits like 0110, or a number), found 'maybe'"),
        ("A: load buf => ok|EFOO", 1, 19, "no errno is named 'EFOO' (sys/errno.h: EINVAL, ENOMEM, EAGAIN, ...)"),
        ("A: load buf => SIGSEG", 1, 16, "no signal is named 'SIGSEG' (sys/signal.h: SIGSEGV, SIGBUS, SIGKILL, ...)"),
        ("A: load buf => ok EAGAIN", 1, 19, "expected '|' or end of line after the result 'ok', found 'EAGAIN'"),
        ("A: load buf =>", 1, 15, "expected a result (ok, an errno like EINVAL, SIGSEGV, SIGBUS, a byte like 0x42, page bits like 0110, or a number), found end of line"),
        ("expect resident A buf 2p = 0120", 1, 28, "expected page bits (a 0 or 1 per page, like 0110) after 'expect resident ... =', found '0120'"),
        ("expect locked A buf 2p = maybe", 1, 26, "expected yes or no after 'expect locked ... =', found 'maybe'"),
        // Options.
        ("machine foo=1", 1, 9, "expected an option of 'machine' (ram=, pagesize=, swap=, wiredmax=, shmseg=) or end of line, found 'foo'"),
        ("machine ram=1p ram=2p", 1, 16, "expected each option once, found 'ram' again (first at column 9)"),
        ("A: mmap anon 1p shared private", 1, 24, "expected only one of shared or private, found 'private' after 'shared' at column 17"),
        ("A: msync buf 1p sync async", 1, 22, "expected '=>' or end of line after the arguments of 'msync', found 'async'"),
        ("A: msync buf 1p flush", 1, 17, "expected an option of 'msync' (sync, async, invalidate) or '=>' or end of line, found 'flush'"),
        ("A: mmap device=tape 1p shared", 1, 24, "expected an option of 'mmap device' (prot=) or '=>' or end of line, found 'shared'"),
        ("A: mmap file db 1p", 1, 14, "expected '=' after 'file', found 'db'"),
        ("A: mmap 1p", 1, 9, "expected anon, file=NAME or device=NAME after 'mmap', found '1p'"),
        ("machine ram 4K", 1, 13, "expected '=' after 'ram', found '4K'"),
        // Missing arguments and trailing junk.
        ("file db", 1, 8, "expected size=SIZE for 'file', found end of line"),
        ("A: write db off=0 len=1p => ok", 1, 26, "expected from=ADDR for 'write', found '=>'"),
        ("A: read db", 1, 11, "expected off=SIZE, to=ADDR and len=SIZE for 'read', found end of line"),
        ("A: shmget", 1, 10, "expected size=SIZE for 'shmget', found end of line"),
        ("A: munmap buf 4p x", 1, 18, "expected '=>' or end of line after the arguments of 'munmap', found 'x'"),
        ("A: munmap buf", 1, 14, "expected a SIZE (like 4K, 2p, 0x1000) as the length for 'munmap', found end of line"),
        ("proc A B", 1, 8, "expected an option of 'proc' (uid=, memlock=) or end of line, found 'B'"),
        ("expect wired = 1p => ok", 1, 19, "expected end of line after the arguments of 'expect', found '=>'"),
        ("thread T2 A", 1, 11, "expected 'in' after 'thread T2', found 'A'"),
        ("A: mlockall current,current", 1, 21, "expected each of current and future at most once, found 'current' again"),
        ("A: frobnicate buf", 1, 4, "expected an operation (mmap, munmap, mprotect, minherit, madvise, msync, mincore, load, store, fill, check, mlock, munlock, mlockall, munlockall, shmget, shmat, shmdt, shmctl, vslock, vsunlock, dma, physio, sysctl, loan, unloan, ptrace, truncate, write, read, fsync, fork, setrlimit, setuid, exec, exit or pagedaemon), found 'frobnicate'"),
        // Statements and actors.
        ("mmap anon 4p", 1, 1, "expected 'ACTOR:' (a thread, or kernel) before the operation, found 'mmap'"),
        ("buf = mmap anon 4p", 1, 1, "expected 'ACTOR:' (a thread, or kernel) before the operation, found 'buf'"),
        ("frobnicate", 1, 1, "expected a statement (machine, policy, file, device, proc, thread, together, end or expect) or 'ACTOR: OPERATION', found 'frobnicate'"),
        ("42: load buf", 1, 1, "expected a statement (machine, policy, file, device, proc, thread, together, end or expect) or 'ACTOR: OPERATION', found '42'"),
        ("A: fork", 1, 4, "expected 'VAR = fork', which names the child process, found 'fork' without a variable"),
        ("proc kernel", 1, 6, "expected a process name after 'proc', found 'kernel', which names the kernel's own thread"),
        ("A: load buf@", 1, 12, "expected a name, a number or one of '=' '=>' ':' '|' '+' '-' ',', found '@'"),
        ("policy", 1, 7, "expected a policy (modern or KNOB=VALUE) after 'policy', found end of line"),
        ("policy truncate=", 1, 17, "expected a value after 'truncate=', found end of line"),
        // Blocks.
        ("proc A\n\nend", 3, 1, "expected 'together' before 'end'"),
        ("proc A\ntogether\n  A: exit\n", 2, 1, "expected 'end' for this 'together', found end of file"),
        ("together\n  A: exit\n  together\nend", 3, 3, "expected 'end' for the 'together' at line 1 before another 'together'"),
        ("together\n  proc B\nend", 2, 3, "expected 'ACTOR: OPERATION' or 'end' in the 'together' at line 1, found 'proc'"),
        ("together\n  A: exit\n  expect free = 1p\nend", 3, 3, "expected 'ACTOR: OPERATION' or 'end' in the 'together' at line 1, found 'expect'"),
        ("together\n  load buf\nend", 2, 3, "expected 'ACTOR:' (a thread, or kernel) before the operation, found 'load'"),
        ("together # nothing yet\nend", 2, 1, "expected 'ACTOR: OPERATION' lines in the 'together' at line 1, found 'end'"),
        ("together now", 1, 10, "expected end of line after the arguments of 'together', found 'now'"),
    ] as [(String, Int, Int, String)])
    func reportsWhatWasExpected(text: String, line: Int, column: Int, message: String) {
        let error = failure(text)
        #expect(error?.location == at(line, column))
        #expect(error?.message == message)
    }

    @Test func descriptionIsFileLineColumnMessage() {
        #expect(failure("proc A\nmachine ram=abc")?.description
            == "test.uvm:2:13: expected a SIZE (like 4K, 2p, 0x1000) after 'ram=', found 'abc'")
    }
}
