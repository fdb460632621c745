// Answers from the real kernels' test suites that a scenario cannot write out by hand: the
// limits of sys_shmget (NetBSD sysv_shm.c, shminit) and the error uvm_io returns when the fault
// behind a ptrace access fails (NetBSD's t_ptrace bytes_transfer_eof cases).

import Testing
import UVMKernel
import UVMRunner
import UVMSched

@Suite @Sim struct SuiteShmFileTests {
    /// LTP shmget03: once shmmni segments exist, a new one is ENOSPC; a segment removed while
    /// attached still counts (shm_nused drops only when it is freed), so removing it frees a
    /// slot only at its last detach.
    @Test func shmgetPastShmmniIsENOSPC() async throws {
        let n = Kernel.shmMaxSegments
        var lines = ["machine ram=32p", "proc A"]
        lines += (0..<n).map { "A: s\($0) = shmget size=1" }
        lines += [
            "A: shmget size=1 => ENOSPC",
            "A: a = shmat s0",
            "A: shmctl s0 rmid => ok",
            "A: shmget size=1 => ENOSPC",
            "A: shmdt a => ok",
            "A: shmget size=1 => \(n + 1)",
        ]
        expectPass(try await run(lines.joined(separator: "\n")))
    }

    /// shminit: shmmax is a quarter of physical memory once that is more than 1024 pages, and
    /// shmall as many pages, so the largest segment grows with the machine.
    @Test func shmmaxFollowsPhysicalMemory() async throws {
        let small = """
            machine ram=32p
            proc A
            A: shmget size=1024p => 1
            A: shmget size=1025p => EINVAL
            """
        expectPass(try await run(small))
        let large = """
            machine ram=8192p
            proc A
            A: shmget size=2049p => EINVAL
            A: shmget size=2048p => 1
            A: shmget size=1 => ENOMEM
            """
        expectPass(try await run(large))
    }

    /// bytes_transfer_eof_pt_read_d / _pt_write_d: a page past the end of the file is EINVAL,
    /// one the disk cannot read (an allocated block: a hole is never read) EIO; the traced
    /// process still gets SIGBUS on its own access.
    @Test func ptraceAnswersTheFaultsOwnError() async throws {
        let text = """
            machine ram=32p
            file empty size=0
            file bad size=2p fill=0x33 badpage=1
            proc P
            P: e = mmap file=empty 1 private
            P: k = mmap file=bad 2p shared
            P: C = fork
            P: ptrace C read e
            P: ptrace C write e 0x01
            P: ptrace C read k+1p
            C: load e
            """
        let r = try await run(text)
        #expect(r.result(8) == "EINVAL", "\(r.transcript)")
        #expect(r.result(9) == "EINVAL", "\(r.transcript)")
        #expect(r.result(10) == "EIO", "\(r.transcript)")
        #expect(r.result(11) == "SIGBUS", "\(r.transcript)")
        #expect(r.outcome == .pass, "\(r.transcript)")
    }

    /// shminfo.shmseg: a process holds at most 128 attachments (LTP shmat03's limit, FreeBSD's
    /// and NetBSD's SHMSEG); the next shmat is EMFILE and maps nothing, and a shmdt makes room.
    @Test func theAttachmentPastShmsegIsEMFILE() async throws {
        let attaches = (1...MachineConfig.defaultShmSeg).map { "A: a\($0) = shmat s" }
        let text = (["machine ram=32p", "proc A", "A: s = shmget size=1p"] + attaches + [
            "A: shmat s => EMFILE",
            "A: shmdt a1 => ok",
            "A: shmat s",
        ]).joined(separator: "\n")
        let r = try await run(text)
        expectPass(r)
        let last = 3 + MachineConfig.defaultShmSeg + 3
        #expect(r.result(last)?.hasPrefix("0x") == true, "\(r.result(last) ?? "nothing")")
    }
}
