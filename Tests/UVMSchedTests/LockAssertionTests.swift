// Executable lock preconditions: a function that must be called with a lock held says so with
// `assertHeld`, and a caller that forgot the lock is a kernel panic, reported as a BUG rather
// than a crash of the checker; so is releasing a lock one does not hold.

import Testing
@testable import UVMSched

@Suite @Sim struct LockAssertionTests {
    /// Runs `body` on one simulated thread, with a mutex and a read-write lock.
    private func runOne(_ body: @escaping (Scheduler, KMutex, RWLock) async throws -> Void) async -> KernelFailure? {
        let s = Scheduler(strategy: FileOrderStrategy())
        let m = KMutex(s, class: "object", name: "object db"), rw = RWLock(s, class: "map", name: "map A")
        return await s.run([(s.makeThread(name: "T"), { try await body(s, m, rw) })])
    }

    @Test func aFunctionCalledWithoutItsMutexIsAPanic() async {
        let f = await runOne { s, m, _ in
            s.assertHeld(m)
            try await s.switchPoint(.preempt)
        }
        #expect(f?.kind == .panic)
        #expect(f?.message.contains("object db not held by T") == true)
    }

    @Test func aReadLockIsNotAWriteLock() async {
        let f = await runOne { s, _, rw in
            try await rw.enter(.reader)
            s.assertHeld(rw)
            #expect(s.failure == nil)
            s.assertHeld(rw, .writer)
            try await rw.exit()
        }
        #expect(f?.message.contains("map A not write-held by T") == true)
    }

    @Test func heldLocksPassAndAnUnexpectedHolderIsCaught() async {
        let f = await runOne { s, m, rw in
            try await m.enter()
            try await rw.enter(.writer)
            s.assertHeld(m)
            s.assertHeld(rw, .writer)
            s.assertNotHeld(m)
            try await rw.exit()
            try await m.exit()
        }
        #expect(f?.message.contains("object db held by T") == true)
    }

    @Test func releasingALockNotHeldIsAPanicNotACrash() async {
        let mutex = await runOne { _, m, _ in try await m.exit() }
        #expect(mutex?.kind == .panic)
        #expect(mutex?.message.contains("mutex_exit: object db not owned by T") == true)
        let rwlock = await runOne { _, _, rw in try await rw.exit() }
        #expect(rwlock?.message.contains("rw_exit: map A not held by T") == true)
    }
}
