// No number in a scenario crashes or hangs `uvm`. Every operation and statement that takes a
// number is run with the extreme ones — 0, 1, a page and a byte either side, 2^63, 2^64 - 1,
// the last page below 2^64, page counts whose bytes do not fit in 64 bits — as a length, an
// offset and an address. Each run must end in PASS or FAIL (the kernel answered with an errno
// or a signal) or a scenario error naming what was expected: never a BUG, and never a trap,
// which would kill the test process, so the test running through is itself the check.

import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite(.timeLimit(.minutes(2))) @Sim struct HostileValueTests {
    /// Sizes as a scenario spells them, bytes and pages.
    nonisolated static let sizes = [
        "0", "1", "4095", "4096", "4097", "0x7fffffffffffffff", "0x8000000000000000",
        "0xfffffffffffff000", "0xffffffffffffffff", "1p", "0x100000p", "0xfffffffffffffp",
        "0x10000000000000p", "0xffffffffffffffffp", "17179869183G",
    ]
    /// Addresses: the mapping, past and before it by extreme amounts, and literals.
    nonisolated static let addresses = [
        "b", "b+0xfffffffffffff000", "b-1", "0", "4095", "0x8000000000000000", "0xfffffffffffff000",
        "0xffffffffffffffff",
    ]

    /// Operations with `SIZE` and `ADDR` to fill in. `b` is a 4-page anonymous mapping of A,
    /// `f` a 4-page file, `tape` a device; D is privileged (ptrace).
    nonisolated static let operations = [
        "A: x = mmap anon SIZE", "A: x = mmap anon 1p fixed=ADDR", "A: x = mmap anon SIZE fixed=ADDR",
        "A: x = mmap file=f SIZE", "A: x = mmap file=f 2p off=SIZE\nA: load x\nA: mlock x 2p",
        "A: x = mmap file=f SIZE off=SIZE", "A: x = mmap device=tape SIZE",
        "A: munmap ADDR SIZE", "A: mprotect ADDR SIZE r", "A: minherit ADDR SIZE none",
        "A: madvise ADDR SIZE dontneed", "A: madvise ADDR SIZE free", "A: madvise ADDR SIZE willneed",
        "A: msync ADDR SIZE invalidate", "A: mincore ADDR SIZE", "A: mlock ADDR SIZE", "A: munlock ADDR SIZE",
        "A: fill ADDR SIZE 0x22", "A: check ADDR SIZE 0x11", "A: load ADDR", "A: store ADDR 0x33",
        "A: read f off=SIZE to=ADDR len=SIZE", "A: read f off=0 to=ADDR len=SIZE",
        "A: write f off=SIZE from=ADDR len=SIZE", "A: write f off=SIZE from=b len=1p",
        "A: write f off=0 from=ADDR len=SIZE", "A: truncate f SIZE\nA: y = mmap file=f 1p shared\nA: load y",
        "A: h = vslock ADDR SIZE w\nA: vsunlock h", "A: sysctl ADDR SIZE", "A: physio tape read ADDR SIZE",
        "A: physio tape write ADDR SIZE", "A: l = loan ADDR SIZE\nA: unloan l",
        "D: ptrace A read ADDR", "D: ptrace A write ADDR 0x44",
        "A: id = shmget size=SIZE\nA: s = shmat id\nA: store s 1\nA: shmdt s",
        "expect resident A ADDR SIZE = 1", "expect locked A ADDR SIZE = no", "expect wired A = SIZE",
        "expect wired = SIZE", "expect free = SIZE", "kernel: pagedaemon pages=SIZE",
    ]

    /// Statements that set the machine or a file up.
    nonisolated static let setups = [
        "machine ram=SIZE", "machine swap=SIZE", "machine wiredmax=SIZE", "machine pagesize=SIZE", "machine shmseg=SIZE",
        "file g size=SIZE\nproc G\nG: g = mmap file=g 1p\nG: load g",
        "file g size=SIZE fill=0x55\nproc G\nG: g = mmap file=g 1p\nG: load g\nG: truncate g 1",
        "proc M memlock=SIZE\nM: m = mmap anon 1p\nM: mlock m 1p",
    ]

    nonisolated static let prologue = """
        machine ram=64p
        file f size=4p fill=0x41
        device tape
        proc A
        proc D uid=0
        A: b = mmap anon 4p
        A: fill b 4p 0x11
        """

    /// Runs `text` and fails the test on a BUG. A cost in proportion to the values (filling 2^63
    /// bytes, reading a gigabyte into one page) would exceed the suite's time limit.
    private func expectClean(_ text: String) async {
        do {
            let r = try await run(text)
            if case .bug(let f) = r.outcome { Issue.record("BUG \(f.kind) for:\n\(text)\n\(r.transcript)") }
        } catch let e as ScenarioError {
            #expect(!e.message.isEmpty)
        } catch {
            Issue.record("unexpected error \(error) for:\n\(text)")
        }
    }

    @Test(arguments: operations)
    func everyOperationTakesExtremeNumbers(_ operation: String) async {
        // Every size at a good address, and every address with a small and a huge size.
        let cases = Self.sizes.map { ($0, "b") } + Self.addresses.flatMap { [("1p", $0), ("0xffffffffffffffff", $0)] }
        for (size, address) in cases {
            let line = operation.replacingAll("SIZE", size).replacingAll("ADDR", address)
            await expectClean(Self.prologue + "\n" + line)
        }
    }

    @Test(arguments: setups)
    func everySetupTakesExtremeNumbers(_ setup: String) async {
        for size in Self.sizes {
            let statement = setup.replacingAll("SIZE", size)
            await expectClean(statement.hasPrefix("machine") ? statement + "\n" + Self.prologue : Self.prologue + "\n" + statement)
        }
    }
}

private extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
