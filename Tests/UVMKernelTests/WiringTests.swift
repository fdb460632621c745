// Wiring: the errno table, the kinds of wiring that never reset each other, and the races of
// the catalog's mlock, SHM_LOCK, vslock and ptrace entries — each checked with the audit after
// every step.

import Testing
import UVMCheck
import UVMKernel
import UVMRunner
import UVMSched

@Suite @Sim struct WiringTests {
    @Test(arguments: [
        // (setup lines, the call, NetBSD's result)
        ("A: b = mmap anon 2p", "A: mlock 0x20000000 1p", "ENOMEM"),           // unmapped start
        ("A: b = mmap anon 2p\nA: munmap b+1p 1p", "A: mlock b 2p", "EINVAL"), // a hole
        ("A: b = mmap anon 1p prot=none", "A: mlock b 1p", "EINVAL"),          // PROT_NONE entry
        ("A: b = mmap anon 8p", "A: mlock b 8p", "EAGAIN"),                    // RLIMIT_MEMLOCK (4p)
        ("A: b = mmap anon 2p", "A: munlock b 2p", "ENOMEM"),                  // never locked
        ("A: b = mmap anon 2p", "A: munlock 0x20000000 1p", "ENOMEM"),         // unmapped start
        ("A: b = mmap anon 2p\nA: mlock b 2p\nA: munmap b+1p 1p", "A: munlock b 2p", "ENOMEM"), // a hole
        ("A: b = mmap anon 8p", "A: mlockall current", "ENOMEM"),              // limit, mlockall
        ("A: b = mmap anon 2p", "A: vslock 0x20000000 1p", "EFAULT"),          // vslock unmapped
        ("A: b = mmap anon 1p prot=r", "A: vslock b 1p w", "EFAULT"),          // access not allowed
        ("A: i = shmget size=1p", "A: shmctl i lock", "EPERM"),                // not privileged
        ("A: i = shmget size=1p", "A: shmat 99", "EINVAL"),                    // no such segment
        ("A: i = shmget size=2p\nA: s = shmat i", "A: shmdt s+1p", "EINVAL"),  // not a segment start
        ("A: b = mmap anon 1p\nA: mlock b 1p", "A: msync b 1p invalidate", "EBUSY"),
        ("A: b = mmap anon 1p\nA: mlock b 1p", "A: madvise b 1p free", "EBUSY"),
        ("A: b = mmap anon 1p\nproc E uid=7", "E: ptrace A read b", "EPERM"),
        ("A: b = mmap anon 1p\nproc D uid=0", "D: ptrace A read 0x1000", "EINVAL"),
    ])
    func errnoTable(setup: String, call: String, expected: String) async throws {
        let r = try await run("machine ram=16p wiredmax=6p\nproc A memlock=4p\n\(setup)\n\(call)\n")
        let line = 3 + setup.split(separator: "\n").count
        #expect(r.result(line) == expected, "\(call)")
    }

    @Test func mlockIsNotNestedOneMunlockUndoesAll() async throws {
        let r = try await run("""
            proc A
            A: b = mmap anon 2p
            A: mlock b 2p => ok
            A: mlock b 2p => ok
            A: mlock b+1p 1p => ok
            expect wired = 2p
            A: munlock b 2p => ok
            expect wired = 0p
            expect locked A b 2p = no
            """)
        #expect(r.outcome == .pass)
    }

    @Test func mlockallFutureWiresNewMappingsAndProtNoneOnMprotect() async throws {
        let r = try await run("""
            proc A
            A: mlockall future => ok
            A: b = mmap anon 2p
            expect wired = 2p
            A: n = mmap anon 1p prot=none
            expect wired = 2p
            A: mprotect n 1p rw => ok
            expect wired = 3p
            expect locked A n 1p = yes
            A: munlockall => ok
            A: c = mmap anon 1p
            expect wired = 0p
            """)
        #expect(r.outcome == .pass)
    }

    @Test func forkChildStartsUnwiredAndExecDropsFuture() async throws {
        let r = try await run("""
            proc A
            A: mlockall current,future => ok
            A: b = mmap anon 1p
            A: store b 0x11 => ok
            A: child = fork
            expect wired child = 0p
            expect wired A = 1p
            child: store b 0x22 => ok
            A: load b => 0x11
            child: load b => 0x22
            A: exec => ok
            A: c = mmap anon 1p
            expect wired = 0p
            expect locked A c 1p = no
            """)
        #expect(r.outcome == .pass)
    }

    @Test(arguments: [true, false])
    func shmLockAndMlockMixInEitherOrder(shmFirst: Bool) async throws {
        let lock = "A: shmctl i lock => ok", mlock = "A: mlock s 2p => ok"
        let unlock = "A: shmctl i unlock => ok", munlock = "A: munlock s 2p => ok"
        let r = try await run("""
            proc A uid=0
            A: i = shmget size=2p
            A: s = shmat i
            \(shmFirst ? lock : mlock)
            \(shmFirst ? mlock : lock)
            expect wired = 2p
            \(shmFirst ? munlock : unlock)
            expect wired = 2p
            \(shmFirst ? unlock : munlock)
            expect wired = 0p
            A: shmctl i unlock => ok
            expect wired = 0p
            """)
        #expect(r.outcome == .pass)
    }

    @Test func twoThreadsVslockOneRangeOverManySchedules() async throws {
        let text = """
            machine ram=32p
            device tape pattern=0x66
            proc A
            thread T in A
            A: b = mmap anon 2p
            together
              A: physio tape read b 2p => ok
              T: physio tape read b+1p 1p => ok
              T: munlock b 2p => ok|ENOMEM
            end
            A: check b 2p 0x66 => ok
            expect wired = 0p
            """
        for seed in 0...60 as ClosedRange<UInt64> {
            let r = try await run(text, seed: seed)
            #expect(r.outcome == .pass, "seed \(seed)")
        }
    }

    @Test func munmapDuringPhysioWaitsOrPhysioFails() async throws {
        let text = """
            machine ram=32p
            device tape pattern=0x66
            proc A
            thread T in A
            A: b = mmap anon 1p
            together
              A: physio tape read b 1p => ok|EFAULT
              T: munmap b 1p => ok
            end
            A: load b => SIGSEGV
            expect wired = 0p
            expect free = 32p
            """
        var sawBoth = Set<String>()
        for seed in 0...60 as ClosedRange<UInt64> {
            let r = try await run(text, seed: seed)
            #expect(r.outcome == .pass, "seed \(seed)")
            if let p = r.result(7) { sawBoth.insert(p) }
        }
        #expect(sawBoth == ["ok", "EFAULT"])
    }

    @Test func truncateUnderPhysioNeverReachesTheFile() async throws {
        let text = """
            machine ram=32p
            file db size=2p fill=0x41
            device tape pattern=0x77
            proc A
            thread T in A
            A: f = mmap file=db 2p shared
            together
              A: physio tape read f 2p => ok|EFAULT
              T: truncate db 0 => ok
            end
            A: truncate db 2p => ok
            A: check f 2p 0x00 => ok
            """
        for seed in 0...60 as ClosedRange<UInt64> {
            let r = try await run(text, seed: seed)
            #expect(r.outcome == .pass, "seed \(seed)")
        }
    }

    @Test func loanWireAndLoanBreak() async throws {
        let r = try await run("""
            file f size=1p fill=0x41
            device tape
            proc A
            proc B
            A: a = mmap file=f 1p shared
            B: b = mmap file=f 1p shared
            A: s = loan a 1p => ok
            A: h = vslock a 1p r => ok
            B: fill b 1p 0x42 => ok
            A: unloan s => ok
            A: dma h read => 0x42
            A: vsunlock h => ok
            A: physio tape write a 1p => ok
            expect device tape = 0x42
            """)
        #expect(r.outcome == .pass)
    }

    @Test func ptraceIntoLockedPrivateTextAndAnonPages() async throws {
        let r = try await run("""
            file libc size=1p fill=0x90
            proc B
            proc D uid=0
            B: t = mmap file=libc 1p prot=rx private
            B: d = mmap anon 1p
            B: mlock t 1p => ok
            B: mlock d 1p => ok
            D: ptrace B write t 0xcc => ok
            D: ptrace B write d 0x55 => ok
            B: load t => 0xcc
            B: load d => 0x55
            B: munlock t 1p => ok
            B: munmap t 1p => ok
            B: munlock d 1p => ok
            B: u = mmap file=libc 1p prot=r
            B: load u => 0x90
            """)
        #expect(r.outcome == .pass)
    }

    /// The audit recomputes wire counts: unwiring a page behind the kernel's back is caught.
    @Test func aBrokenUnwireMakesTheAuditFire() async throws {
        let sched = Scheduler()
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 16))
        let p = k.createProc(name: "A", uid: 0, memlockLimit: .max)
        var clean: KernelFailure?
        var broken: KernelFailure?
        let failure = await sched.run([(p.lwps[0].thread, {
            let a = try await k.mmap(p.lwps[0], .anon, length: 4096, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
            try await k.mlock(p.lwps[0], a, 4096)
            clean = Audit.check(k, quiescent: true)
            let page = k.uvm.page(backing: p.map.lookup(a)!, va: a)!
            try k.uvm.mem.unwire(page, sched)  // an unwire no wiring asked for
            broken = Audit.check(k, quiescent: true)
        })])
        #expect(failure == nil)
        #expect(clean == nil)
        #expect(broken?.kind == .invariant)
        #expect(broken?.message.contains("wire count 0") == true)
    }

    /// vslock of device memory captures the device pager's fake pages; an mlocked buffer at the
    /// wired limit can still do physio (its pages are wired already).
    @Test func vslockOfDeviceMemoryAndOfAnAlreadyWiredBufferAtTheLimit() async throws {
        let r = try await run("""
            machine ram=32p wiredmax=4p
            device fb pattern=0x5a
            device tape pattern=0x66
            proc A memlock=4p
            A: d = mmap device=fb 2p
            A: h = vslock d 2p r => ok
            A: dma h read => 0x5a
            A: vsunlock h => ok
            A: b = mmap anon 4p
            A: mlock b 4p => ok
            A: physio tape read b 4p => ok
            A: check b 4p 0x66 => ok
            A: physio tape write d 1p => ok
            expect device tape = 0x5a
            """)
        expectPass(r)
    }
}
