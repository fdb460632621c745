// The vnode pager's locking (OpenBSD's 2021 uvm_vnode.c diff), I/O errors, and the page daemon with
// swap.

import Testing
import UVMCore
import UVMKernel
import UVMMachine
import UVMRunner
import UVMSched

@Suite @Sim struct VnodePagerTests {
    /// A fault that finds the vnode lock taken gives its page back, waits for the lock holding
    /// nothing, and reads under it: however often another thread takes the lock again, the
    /// fault completes after one restart (OpenBSD's restart-only fix made programs start very
    /// slowly).
    @Test func faultContendingForTheVnodeProgressesAfterOneRestart() async throws {
        let sched = Scheduler(strategy: ReplayStrategy(choices: [1, 1, 0]))
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 32))
        k.createFile(name: "db", size: 4096, fill: 0x41)
        let a = k.createProc(name: "A", uid: 0, memlockLimit: .max)
        let b = k.createProc(name: "B", uid: 0, memlockLimit: .max)
        let vnode = k.files["db"]!
        k.uvm.faultRestartBound = 10
        var result: UInt8?
        let failure = await sched.run([
            (a.lwps[0].thread, {
                let f = try await k.mmap(a.lwps[0], .file("db"), length: 4096, prot: [.read], maxProt: .all, shared: true, fixed: nil)
                result = try await k.load(a.lwps[0], f)
            }),
            (b.lwps[0].thread, {
                // Takes the vnode lock again every time it lets go.
                for _ in 0..<100 {
                    try await vnode.lock.enter(.writer)
                    try await sched.switchPoint(.preempt)
                    try await vnode.lock.exit()
                }
            }),
        ])
        #expect(failure == nil)
        #expect(result == 0x41)
    }

    /// A fault that keeps finding its page busy restarts; past the bound it is a livelock.
    @Test func faultRestartingPastTheBoundIsALivelock() async throws {
        /// Switches to another thread at every switch point.
        struct RoundRobin: ScheduleStrategy {
            mutating func choose(runnable: [SimThread], current: Int?) -> Int {
                current.map { ($0 + 1) % runnable.count } ?? 0
            }
        }
        let sched = Scheduler(strategy: RoundRobin())
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 32))
        k.createFile(name: "db", size: 4096, fill: 0x41)
        let a = k.createProc(name: "A", uid: 0, memlockLimit: .max)
        let b = k.createProc(name: "B", uid: 0, memlockLimit: .max)
        let obj = k.uvm.vnodeObject(k.files["db"]!)
        k.uvm.faultRestartBound = 10
        var result: UInt8?
        let failure = await sched.run([
            (b.lwps[0].thread, {
                // Brings the page in and keeps it busy: each time it unbusies the page (waking
                // the fault) it busies it again before the fault can look.
                _ = try await obj.pageIn(0)
                let pg = obj.pages[0]!
                try await obj.lock.enter()
                try pg.setBusy(sched)
                try await obj.lock.exit()
                for _ in 0..<1000 {
                    try await sched.switchPoint(.preempt)
                    pg.clearBusy(sched)
                    try pg.setBusy(sched)
                }
                pg.clearBusy(sched)
            }),
            (a.lwps[0].thread, {
                let f = try await k.mmap(a.lwps[0], .file("db"), length: 4096, prot: [.read], maxProt: .all, shared: true, fixed: nil)
                result = try await k.load(a.lwps[0], f)
            }),
        ])
        #expect(result == nil)
        #expect(failure?.kind == .livelock)
        #expect(failure?.message.contains("restarted 11 times") == true)
    }

    /// The same race with a holder that lets go makes the fault complete after a restart.
    @Test func faultRestartsAndCompletesWhenTheVnodeIsFreed() async throws {
        let text = """
            file db size=1p fill=0x41
            proc A
            proc B
            A: f = mmap file=db 1p shared
            B: src = mmap anon 1p
            together
              A: load f => 0x41|0x00
              B: write db off=0 from=src len=1p => ok
            end
            A: load f => 0x00
            """
        for seed in 0...80 as ClosedRange<UInt64> {
            let r = try await run(text, seed: seed)
            expectPass(r)
        }
    }

    @Test func ioErrorOnPageInIsSigbusForFaultsAndEIOForReads() async throws {
        let r = try await run("""
            file db size=2p fill=0x41 badpage=1
            proc A
            A: f = mmap file=db 2p shared
            A: buf = mmap anon 1p
            A: load f+1p => SIGBUS
            A: read db off=1p to=buf len=1 => EIO
            A: load f => 0x41
            """)
        expectPass(r)
    }

    @Test func swapRoundTripKeepsTheData() async throws {
        let r = try await run("""
            machine ram=12p swap=16p
            proc A
            A: a = mmap anon 8p
            A: fill a 4p 0x11 => ok
            A: fill a+4p 4p 0x22 => ok
            kernel: pagedaemon
            expect resident A a 8p = 00000000
            A: check a 4p 0x11 => ok
            A: check a+4p 4p 0x22 => ok
            A: b = mmap anon 8p
            A: fill b 8p 0x33 => ok
            A: check a 4p 0x11 => ok
            A: check a+4p 4p 0x22 => ok
            A: check b 8p 0x33 => ok
            """)
        expectPass(r)
    }

    @Test func pageDaemonNeverTakesWiredBusyOrLoanedPages() async throws {
        let text = """
            machine ram=16p swap=16p
            file f size=2p fill=0x41
            proc A
            A: w = mmap anon 2p
            A: mlock w 2p => ok
            A: m = mmap file=f 2p shared
            A: s = loan m 1p => ok
            together
              kernel: pagedaemon
              A: fill w 2p 0x77 => ok
            end
            expect resident A w 2p = 11
            expect resident A m 1p = 1
            A: unloan s => ok
            A: check w 2p 0x77 => ok
            """
        for seed in 0...40 as ClosedRange<UInt64> {
            expectPass(try await run(text, seed: seed))
        }
    }

    @Test func noReclaimablePageFailsTheFaultInsteadOfSleeping() async throws {
        let r = try await run("""
            machine ram=8p wiredmax=8p
            proc A memlock=8p
            A: a = mmap anon 8p
            A: mlock a 8p => ok
            A: b = mmap anon 1p
            A: store b 1 => SIGKILL
            A: munlock a 8p => ok
            A: store b 1 => SIGKILL
            A: munmap a 8p => ok
            A: store b 1 => ok
            """)
        expectPass(r)
    }

    /// Page busy is a lock in the global order: keeping a page busy while blocking on the vnode
    /// lock, in one thread, and waiting for a busy page while holding the vnode lock, in another,
    /// is the inversion of the 2021 OpenBSD uvm_vnode.c diff (catalog W10), reported even when
    /// this schedule does not deadlock.
    @Test func pageBusyIsALockClassForTheOrder() async throws {
        let sched = Scheduler()
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 8))
        k.createFile(name: "db", size: 4096, fill: 0)
        let vnode = k.files["db"]!
        let page = try #require(k.uvm.mem.alloc(owner: nil))
        let t1 = sched.makeThread(name: "T1"), t2 = sched.makeThread(name: "T2")
        let failure = await sched.run([
            (t1, {
                try page.setBusy(sched)
                try await vnode.lock.enter(.writer)   // busy, then the vnode lock
                try await vnode.lock.exit()
                page.clearBusy(sched)
            }),
            (t2, {
                try await vnode.lock.enter(.writer)   // the vnode lock, then wait for busy
                try await page.waitUnbusy(sched)
                try await vnode.lock.exit()
            }),
        ])
        #expect(failure?.kind == .lockOrder)
        #expect(failure?.message.contains("busy page 0") == true)
    }

    @Test func pagesOfOneObjectAreBusiedInAscendingOffset() async throws {
        let text = """
            file db size=2p
            proc A
            A: f = mmap file=db 2p shared
            A: load f+1p => 0x00
            A: load f => 0x00
            """
        expectPass(try await run(text))
        let sched = Scheduler()
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 8))
        k.createFile(name: "db", size: 8192, fill: 0)
        let a = k.createProc(name: "A", uid: 0, memlockLimit: .max)
        let failure = await sched.run([(a.lwps[0].thread, {
            let f = try await k.mmap(a.lwps[0], .file("db"), length: 8192, prot: [.read], maxProt: .all, shared: true, fixed: nil)
            _ = try await k.load(a.lwps[0], f + 4096)
            _ = try await k.load(a.lwps[0], f)
            let map = a.map
            let high = k.uvm.page(backing: map.lookup(f)!, va: f + 4096)!
            let low = k.uvm.page(backing: map.lookup(f)!, va: f)!
            try high.setBusy(sched)
            try await low.waitUnbusy(sched)   // waiting in descending order: refused
        })])
        #expect(failure?.kind == .lockOrder)
        #expect(failure?.details.contains("pages of one object are busied in ascending offset order") == true)
    }
}
