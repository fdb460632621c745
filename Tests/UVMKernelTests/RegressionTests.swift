// Kernel bugs found by testing, each kept as its smallest scenario asserting the correct
// behaviour, so it cannot come back.

import Foundation
import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite @Sim struct RegressionTests {
    /// mlockall of a private file mapping copies its pages, and a sysctl through a shared
    /// mapping of the same file, racing it with SHM_LOCK, can leave the copy no room under
    /// wiredmax: the call then fails with its own limit errno, ENOMEM, never mlock's EAGAIN
    /// (the copy's wiring once answered EAGAIN for every caller).
    @Test func aWiringThatRunsOutOfRoomAnswersItsCallsLimitErrno() async throws {
        let text = """
            machine ram=11p swap=0p wiredmax=6p
            file f size=3p fill=0x41
            proc P uid=0
            thread T in P
            proc Q uid=0
            P: p = mmap file=f 3p shared
            Q: q = mmap file=f 3p
            P: s = shmget size=2p
            P: sa = shmat s
            P: mlock p 1p
            P: mlock sa 1p
            P: load p => 0x41
            P: load p+1p => 0x41
            together
              P: shmctl s lock
              P: sysctl p 2p
              T: shmctl s unlock
              T: shmctl s lock
              Q: mlockall current
            end
            """
        var answers: [String: Int] = [:]
        for seed in 1...60 {
            let r = try await run(text, seed: UInt64(seed))
            answers[r.result(line("mlockall", in: text)) ?? "none", default: 0] += 1
        }
        #expect(Set(answers.keys).isSubset(of: ["ok", "ENOMEM"]), "\(answers)")
        #expect(answers["ok", default: 0] > 0 && answers["ENOMEM", default: 0] > 0, "\(answers)")
    }

    /// After fork, a page promoted into the anon layer of a private *file* mapping is mapped
    /// writable by a read fault (the entry still needs a copy, but only write faults copy the
    /// amap for an entry with an object), so the next store writes the anon both share.
    /// NetBSD removes write permission while the entry needs a copy (uvm_fault_check).
    @Test func privateFileMappingCopyOnWriteAfterFork() async throws {
        let text = """
            file f size=1p
            proc A
            A: p = mmap file=f 1p private
            A: store p 0x42 => ok
            A: B = fork
            B: load p => 0x42
            B: store p 0x43 => ok
            A: load p => 0x42
            """
        expectPass(try await run(text))
    }

    /// A shared amap (MAP_SHARED, or minherit share) inherited as copy: the child shares the
    /// anons copy-on-write, but the other sharers' writable mappings are not write-protected, so
    /// their later stores reach the child. NetBSD copies the anons at once (amap_cow_now).
    @Test func sharedAmapInheritedAsCopy() async throws {
        let text = """
            proc A
            A: m = mmap anon 1p shared
            A: store m 0x44 => ok
            A: B = fork
            B: store m 0x77 => ok
            A: minherit m 1p copy => ok
            A: D = fork
            B: store m 0x78 => ok
            D: load m => 0x77
            """
        expectPass(try await run(text))
    }

    /// Growing a file must show zeros past the old end (POSIX ftruncate); bytes stored through
    /// a mapping past the end of the last partial page come back instead.
    @Test func growingAFileExposesBytesStoredPastTheEnd() async throws {
        let text = """
            file f size=6K fill=0x41
            proc A
            A: p = mmap file=f 2p shared
            A: store p+1p+3000 0x07 => ok
            A: truncate f 2p => ok
            A: load p+1p+3000 => 0x00
            """
        expectPass(try await run(text))
    }

    /// write(2) that fails with EFAULT still leaves the file extended. NetBSD's vn_write
    /// passes IO_UNIT, and ffs_write truncates back to the old size on error.
    @Test func failedWriteDoesNotExtendTheFile() async throws {
        let text = """
            file f size=1p fill=0x41
            proc A
            A: write f off=1p from=0x1000 len=1p => EFAULT
            A: p = mmap file=f 2p shared
            A: load p+1p => SIGBUS
            """
        expectPass(try await run(text))
    }

    /// MADV_FREE over part of a mapping: madvise clips the entry, the two halves share the amap
    /// (two references), and freeAnons frees nothing when the amap has more than one reference.
    /// NetBSD's MADV_FREE (uvm_map_clean) does not clip, and frees the pages.
    @Test func madviseFreeOfPartOfAMapping() async throws {
        let text = """
            proc A
            A: p = mmap anon 3p
            A: fill p 3p 0x42 => ok
            A: madvise p+1p 1p free => ok
            A: load p+1p => 0x00
            A: load p => 0x42
            """
        expectPass(try await run(text))
    }

    /// Two mappings of the same device are the same device memory, but each mmap makes its own
    /// device object with its own fake pages, so a store through one is not seen by the other.
    @Test func twoMappingsOfADeviceShareItsMemory() async throws {
        let text = """
            device fb
            proc A
            proc B
            A: a = mmap device=fb 1p
            B: b = mmap device=fb 1p
            A: store a 0x01 => ok
            B: load b => 0x01
            """
        expectPass(try await run(text))
    }

    /// A truncation into the middle of a page that a fault is reading in waits for the page-in
    /// before it zeroes the page's tail (ubc_zerorange's getpages waits for PG_BUSY): the
    /// schedule `uvm fuzz` found, replayed from its token, no longer leaves a clean page whose
    /// tail differs from the disk.
    @Test func truncateIntoAPageBeingReadInZeroesItsTail() async throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scenarios/examples/trust/truncate-mid-page-during-page-in.uvm")
        let text = try String(contentsOf: file, encoding: .utf8)
        var o = RunOptions()
        o.auditEveryStep = true
        o.replay = try #require(ReplayToken.decode("t1-x.22222222222222222222222222221111111111100000000000.c7f77e9f"))
        let r = try await run(text, options: o)
        expectPass(r)
        #expect(r.lines.contains { $0.hasPrefix("23: p1: truncate f1 1664 -> ok") }, "\(r.transcript)")
    }

    /// write(2) and the tail zeroing of truncation and growth write the page cache in place; a
    /// page there on loan is first replaced by a copy, so the borrower sends what was lent
    /// (without the loan break, `unloan` reports the changed bytes as data-loss).
    @Test func fileWritesLeaveALoanedPageAsLent() async throws {
        let text = """
            file f size=2p fill=0x11
            proc A
            A: buf = mmap anon 1p
            A: fill buf 1p 0x44 => ok
            A: m = mmap file=f 2p shared
            A: l = loan m 2p
            A: write f off=0 from=buf len=100 => ok
            A: truncate f 4196 => ok
            A: truncate f 4396 => ok
            A: unloan l => ok
            A: check m 100 0x44 => ok
            A: check m+100 1p 0x11 => ok
            A: check m+1p+100 200 0x00 => ok
            """
        var o = RunOptions()
        o.auditEveryStep = true
        expectPass(try await run(text, options: o))
    }

    /// A zero-length write past the end of a file writes nothing, so the file keeps its size
    /// (ffs_write returns at once for a zero resid): a mapping past the old end still SIGBUSes.
    @Test func aZeroLengthWriteDoesNotExtendTheFile() async throws {
        let text = """
            file f size=1p fill=0x6c
            proc A
            A: buf = mmap anon 1p
            A: write f off=4p from=buf len=0 => ok
            A: m = mmap file=f 2p
            A: load m+1p => SIGBUS
            A: read f off=1p to=buf len=1p => 0
            """
        expectPass(try await run(text))
    }

    /// The schedules that showed each check-sleep-act window open (scenarios/examples/races,
    /// their README lists what went wrong), replayed with the audit: every one now passes.
    @Test(arguments: [
        ("loan-busy-swapin", "t1-d.0000002222222111111100.8d2a462d"),
        ("loan-busy-pagein", "t1-d.0000000000000000022221111111111100.370aedb6"),
        ("fork-copy-busy-swapin", "t1-d.111110011000000.f5063bce"),
        ("mprotect-future-vs-munlockall", "t1-d.00001111.343f91f0"),
        ("mmap-wired-failure-vs-physio", "t1-d.200101200110101121110011000011001000111.095da825"),
        ("shmdt-two-records-vs-physio", "t1-d.440011113321111200000000111221111022200100101111111.23e85d37"),
        ("exec-mlockall-munlockall", "t1-d.01220112.3469b86b"),
        ("shmlock-pagein-racing-rmid", "t1-d.000011000010111110000000.98dde27d"),
        ("shm-fault-pagein-racing-destroy", "t1-d.11211122111111200001000001101111111.2b1f7936"),
    ])
    func raceWindowsStayClosed(scenario: String, token: String) async throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scenarios/examples/races/\(scenario).uvm")
        let text = try String(contentsOf: file, encoding: .utf8)
        var o = RunOptions()
        o.auditEveryStep = true
        o.replay = try #require(ReplayToken.decode(token))
        expectPass(try await run(text, options: o))
    }
}
