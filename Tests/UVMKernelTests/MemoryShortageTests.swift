// Memory shortage and process teardown races a stress review found: each is the smallest
// scenario that failed before its fix.

import Testing
import UVMRunner
import UVMScenario
import UVMSched
import UVMKernel
import UVMMachine

@Suite @Sim struct MemoryShortageTests {
    /// A fault that needs two pages when one can be freed ends with SIGKILL (docs/wiring.md,
    /// *Limits fail cleanly*), not in reclaiming and evicting its own page until the livelock
    /// bound.
    @Test func twoPageFaultWithOneFreePageIsKilled() async throws {
        let r = try await run("""
            machine ram=16p wiredmax=16p
            file db size=1p fill=0x41
            proc A memlock=16p
            A: w = mmap anon 15p
            A: mlock w 15p => ok
            A: f = mmap file=db 1p private
            A: store f 0x42
            """)
        #expect(r.result(7) == "SIGKILL", "\(r.transcript)")
    }

    /// fork copies wired pages now (amap_cow_now); short of memory it reclaims another
    /// process's pageable pages, and when nothing can be reclaimed fork fails with ENOMEM and
    /// leaves nothing behind.
    @Test(arguments: [(16, "ok"), (0, "ENOMEM")])
    func forkOfWiredMemoryWhenShort(swapPages: Int, expected: String) async throws {
        let r = try await run("""
            machine ram=16p wiredmax=16p swap=\(swapPages)p
            proc A memlock=16p
            proc B
            A: w = mmap anon 2p
            A: fill w 2p 0x11
            A: mlock w 2p
            B: b = mmap anon 14p
            B: fill b 14p 0x22
            A: C = fork
            B: check b 14p 0x22 => ok
            A: check w 2p 0x11 => ok
            """)
        expectPass(r)
        #expect(r.result(9) == expected, "\(r.transcript)")
    }

    /// The fork that fails for memory leaves no image behind for its child.
    @Test func aFailedForkLeavesNoImage() async throws {
        let sched = Scheduler(strategy: ReplayStrategy(choices: []))
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 16, wiredMax: 16))
        let a = k.createProc(name: "A", uid: 0, memlockLimit: .max), b = k.createProc(name: "B", uid: 0, memlockLimit: .max)
        var forked: Errno?
        let failure = await sched.run([(a.lwps[0].thread, {
            let ps = UInt64(k.pageSize)
            let w = try await k.mmap(a.lwps[0], .anon, length: 2 * ps, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
            try await k.fill(a.lwps[0], w, 2 * ps, 0x11)
            try await k.mlock(a.lwps[0], w, 2 * ps)
            let v = try await k.mmap(b.lwps[0], .anon, length: 14 * ps, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
            try await k.fill(b.lwps[0], v, 14 * ps, 0x22)
            do { _ = try await k.fork(a.lwps[0], childName: "C") } catch let e as Errno { forked = e }
        })])
        #expect(failure == nil)
        #expect(forked == .ENOMEM)
        #expect(k.images.count == 2)
    }

    /// ptrace racing munmap: an address unmapped between ptrace's lookup and its fault gets
    /// the unmapped answer, EINVAL, never EFAULT.
    @Test func ptraceWriteRacingMunmap() async throws {
        let text = """
            proc B
            proc D uid=0
            B: p = mmap anon 1p
            B: store p 0x11
            together
              D: ptrace B write p 0x55 => ok|EINVAL
              B: munmap p 1p => ok
            end
            B: load p => SIGSEGV
            """
        for seed in 0...40 as ClosedRange<UInt64> { expectPass(try await run(text, seed: seed)) }
    }

    /// mmap by one thread while another exits the process: it either completes before the
    /// teardown (and the teardown unwires it) or fails with ESRCH; nothing stays wired.
    @Test func mappingWhileTheProcessExits() async throws {
        let text = """
            machine ram=32p
            proc A memlock=8p
            thread T in A
            A: mlockall future => ok
            together
              T: mmap anon 2p
              A: exit
            end
            expect wired = 0p
            """
        var outcomes: Set<String> = []
        for seed in 0...40 as ClosedRange<UInt64> {
            let r = try await run(text, seed: seed)
            expectPass(r)
            outcomes.insert(r.result(6)?.hasPrefix("0x") == true ? "mapped" : r.result(6) ?? "not run")
        }
        #expect(outcomes == ["mapped", "ESRCH"], "both orders are explored: \(outcomes)")
    }
}

/// Three threads fill more memory than the machine has while the page daemon runs: a fault that
/// finds nothing to reclaim because the daemon has it all in flight (or just freed it) waits and
/// retries instead of killing its process.
@Suite @Sim struct MemoryPressureTests {
    @Test func fillersUnderPressureAreNeverKilled() async throws {
        let text = """
            machine ram=16p swap=32p
            proc A
            thread T in A
            proc B
            A: a = mmap anon 6p
            T: t = mmap anon 6p
            B: b = mmap anon 6p
            together
              A: fill a 6p 0x11 => ok
              T: fill t 6p 0x22 => ok
              B: fill b 6p 0x33 => ok
              kernel: pagedaemon
            end
            A: check a 6p 0x11 => ok
            A: check t 6p 0x22 => ok
            B: check b 6p 0x33 => ok
            """
        let scenario = try ScenarioParser.parse(text, file: "t.uvm")
        var e = ExploreOptions()
        e.runs = 600
        let r = try await Explorer.explore(scenario, source: text, base: RunOptions(), e)
        #expect(r.found == nil, "\(r.found?.transcript ?? "")")
        #expect(r.schedules == 600)
    }
}

/// Device memory through the kernel's two ways into a process: ptrace reads the device's byte
/// through its fake page; a loan has no page to lend and is EFAULT. Neither hangs.
@Suite @Sim struct DeviceMemoryAccessTests {
    @Test func ptraceReadsAndLoanRefusesDeviceMemory() async throws {
        let r = try await run("""
            device fb pattern=0x5a
            proc X uid=0
            proc D uid=0
            X: d = mmap device=fb 1p
            D: ptrace X read d
            X: s = loan d 1p
            """)
        #expect(r.result(5) == "0x5a", "\(r.transcript)")
        #expect(r.result(6) == "EFAULT", "\(r.transcript)")
    }
}
