// The audit's rules about wired residency and swap slots: each is shown to catch the state it
// forbids, built by hand behind the kernel's back (as a planted bug would leave it).

import Testing
import UVMCheck
import UVMCore
import UVMKernel
import UVMMachine
import UVMSched

@Suite @Sim struct AuditRuleTests {
    /// A kernel with one process that has `pages` of a SysV shm attachment touched and locked.
    private func lockedProcess(pages: Int, swapPages: Int = 0) async throws -> (Kernel, Proc, UInt64) {
        let sched = Scheduler(strategy: ReplayStrategy(choices: []))
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 32, swapPages: swapPages))
        let p = k.createProc(name: "A", uid: 0, memlockLimit: .max)
        let lwp = p.lwps[0]
        var va: UInt64 = 0
        let len = UInt64(pages * k.pageSize)
        let failure = await sched.run([(lwp.thread, {
            va = try await k.shmat(lwp, id: try await k.shmget(lwp, size: len), readOnly: false)
            try await k.fill(lwp, va, len, 0x11)
            try await k.mlock(lwp, va, len)
        })])
        #expect(failure == nil)
        #expect(Audit.check(k, quiescent: true) == nil)
        return (k, p, va)
    }

    @Test func aWiredPageThatIsNotResidentIsCaught() async throws {
        let (k, _, va) = try await lockedProcess(pages: 2)
        let obj = try #require(k.shmSegments.values.first?.object)
        let pg = try #require(obj.pages[1])
        // Planted: an invalidation that ignores wirings took the page out and freed it.
        try obj.removePage(pg)
        try k.uvm.mem.free(pg, k.sched)
        let failure = try #require(Audit.check(k, quiescent: true))
        #expect(failure.message.contains("\(hex(va + 0x1000)) is in a wired entry but not resident"))
    }

    @Test func aSwapSlotNobodyOwnsIsCaughtAtEveryStepAndAtTheEnd() async throws {
        let (k, _, _) = try await lockedProcess(pages: 1, swapPages: 4)
        // Planted: a page-out whose slot was never given back.
        _ = k.uvm.swap.alloc()
        #expect(Audit.check(k, quiescent: false) == nil, "a page-out in flight holds a slot")
        let failure = try #require(Audit.check(k, quiescent: true))
        #expect(failure.message.contains("1 swap slot(s) allocated, anons and segments own 0"))
    }
}
