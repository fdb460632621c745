// The preconditions of UVM proper are executable: a caller that forgot the lock a function
// documents is a kernel panic naming the function (NetBSD's KASSERT(mutex_owned(...)) in
// uvm_pageinsert and uvm_map_pageable's KASSERT(vm_map_locked_p(map))), not a silent race; and
// an entry handed to amap_copy must still be its map's (uvm_fault_check looks it up again).

import Testing
import UVMCore
import UVMMachine
import UVMSched

@Suite @Sim struct LockPreconditionTests {
    /// Runs `body` on one simulated thread of a small machine.
    private func runOne(_ body: @escaping (UVM) async throws -> Void) async -> KernelFailure? {
        let s = Scheduler(strategy: FileOrderStrategy())
        let uvm = UVM(sched: s, pageCount: 8, pageSize: 4096, wiredMax: 8)
        return await s.run([(s.makeThread(name: "T"), { try await body(uvm) })])
    }

    /// Inserts a fresh page at index 0 of a segment object, holding its lock or not.
    private func insertPage(holdingLock: Bool) async -> KernelFailure? {
        await runOne { uvm in
            let obj = AnonObject(uvm, name: "shm 0", size: 4096)
            let pg = try #require(uvm.mem.alloc(owner: nil))
            if holdingLock { try await obj.lock.enter() }
            obj.insertPage(pg, at: 0)
            if holdingLock { try await obj.lock.exit() }
            try await uvm.sched.switchPoint(.preempt)
        }
    }

    @Test func insertingAPageWithoutTheObjectLockIsAPanic() async {
        let f = await insertPage(holdingLock: false)
        #expect(f?.kind == .panic)
        #expect(f?.message.contains("lock assertion failed in insertPage(_:at:): object shm 0 not held by T") == true)
    }

    @Test func insertingAPageUnderTheObjectLockPasses() async {
        #expect(await insertPage(holdingLock: true) == nil)
    }

    @Test func changingAWiringUnderTheReadLockIsAPanic() async {
        let f = await runOne { uvm in
            let map = VMMap(uvm, name: "A", minAddress: 0x1000, maxAddress: 0x100000)
            try await map.lockWrite()
            let e = map.insert(start: 0x1000, length: 0x1000, object: nil, offset: 0, protection: [.read, .write],
                               maxProtection: [.read, .write], inheritance: .copy, copyOnWrite: true)
            try await map.lock.exit()
            try await map.lock.enter(.reader)
            try uvm.changeWiring(e, in: map, user: true, systemDelta: 0)
            try await map.lock.exit()
        }
        #expect(f?.kind == .panic)
        #expect(f?.message.contains("lock assertion failed in changeWiring(_:in:user:systemDelta:): map A not write-held by T") == true)
    }

    /// amap_copy of an entry looked up before the map was unlocked: an unmapped one (freed
    /// memory in C) is a use after free, a clipped one that no longer covers the fault a panic.
    private func amapCopyAfterRelock(_ change: @escaping (VMMap) async throws -> Void) async -> KernelFailure? {
        await runOne { uvm in
            let map = VMMap(uvm, name: "A", minAddress: 0x1000, maxAddress: 0x100000)
            try await map.lockWrite()
            let e = map.insert(start: 0x1000, length: 0x2000, object: nil, offset: 0, protection: [.read, .write],
                               maxProtection: [.read, .write], inheritance: .copy, copyOnWrite: true)
            try await change(map)
            try await uvm.amapCopy(e, chunkingAround: 0x2000, in: map)
            try await map.lock.exit()
        }
    }

    @Test func amapCopyOfAnEntryNoLongerInItsMapIsCaught() async {
        #expect(await amapCopyAfterRelock { _ in } == nil)
        let unmapped = await amapCopyAfterRelock { try await $0.remove(0x1000, 0x3000) }
        #expect(unmapped?.kind == .useAfterFree)
        #expect(unmapped?.message.contains("amap_copy of the map entry at 0x1000, which its map no longer holds") == true)
        let clipped = await amapCopyAfterRelock { map in _ = map.clip(0x1000, 0x2000) }
        #expect(clipped?.kind == .panic)
        #expect(clipped?.message.contains("amap_copy around 0x2000, outside its entry [0x1000, 0x2000)") == true)
    }
}

