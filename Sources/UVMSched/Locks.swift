// Sleep locks of the simulated kernel: mutex, read-write lock, and sleep/wakeup channels.
//
// Every acquire and release is a switch point. Blocking acquisitions are reported to the lock-order
// checker first, so an inversion is found the first time both orders are seen, whether or not this
// schedule deadlocks (docs/wiring.md, *One global lock order*). Ownership passes directly to the
// first waiter on release (FIFO hand-off): deterministic, and no waiter starves.

import DequeModule

/// A lock the lock-order checker and the audit can see.
public protocol KernelLock: Waitable {
    /// The lock's class for ordering: all vnode locks are one class, all object locks another.
    var lockClass: String { get }
    /// The class as interned by `LockClasses`.
    var lockClassID: Int { get }
    /// This lock instance, for messages: "vnode db".
    var lockName: String { get }
}

extension KernelLock {
    public var waitDescription: String { lockName }
}

/// An exclusive sleep lock (NetBSD kmutex_t, adaptive, never recursive).

public final class KMutex: KernelLock {
    public let lockClass: String
    public let lockClassID: Int
    public let lockName: String
    public private(set) var owner: SimThread?
    private var waiters = Deque<SimThread>()
    @usableFromInline unowned let sched: Scheduler

    public init(_ sched: Scheduler, class lockClass: String, name: String) {
        self.sched = sched
        self.lockClass = lockClass
        self.lockClassID = LockClasses.id(lockClass)
        self.lockName = name
    }

    public var holders: [SimThread] { owner.map { [$0] } ?? [] }
    public func isHeld(by t: SimThread?) -> Bool { t != nil && owner === t }

    /// mutex_enter: blocks until the lock is ours. Inlined into its callers, as the switch point
    /// is: an uncontended acquisition suspends nothing.
    @inlinable
    public func enter() async throws {
        try await sched.switchPoint(.lockAcquire, lockName)
        if try !takeOrQueue() { try await waitForHandOver() }
    }

    /// Takes the free lock for the running thread, or queues it as a waiter (returns false).
    @usableFromInline
    func takeOrQueue() throws -> Bool {
        let me = sched.current!
        if owner === me { throw sched.abort(KernelFailure(.panic, "mutex_enter: locking against myself: \(lockName)")) }
        try sched.lockOrder.willAcquire(self, by: me, sched: sched)
        guard owner == nil else {
            waiters.append(me)
            return false
        }
        owner = me
        me.heldLocks.append(self)
        return true
    }

    /// Sleeps until `exit` hands the lock over.
    @usableFromInline
    func waitForHandOver() async throws {
        let me = sched.current!
        try await sched.block(on: self, .lockAcquire)
        assert(owner === me)
        me.heldLocks.append(self)
    }

    /// mutex_tryenter: takes the lock only if it is free; never blocks.
    public func tryEnter() async throws -> Bool {
        try await sched.switchPoint(.lockAcquire, lockName)
        guard owner == nil else { return false }
        owner = sched.current!
        owner!.heldLocks.append(self)
        return true
    }

    /// mutex_exit: hands the lock to the first waiter, if any.
    @inlinable
    public func exit() async throws {
        try release()
        try await sched.switchPoint(.lockRelease, lockName)
    }

    @usableFromInline
    func release() throws {
        let me = sched.current!
        guard owner === me else {
            throw sched.abort(KernelFailure(.panic, "mutex_exit: \(lockName) not owned by \(me.name)"))
        }
        me.dropHeld(self)
        if let w = waiters.popFirst() {
            owner = w
            sched.wake(w)
        } else {
            owner = nil
        }
    }
}

/// A read-write sleep lock with NetBSD's rule: a waiting writer blocks new readers.

public final class RWLock: KernelLock {
    public enum Mode: Sendable { case reader, writer }

    public let lockClass: String
    public let lockClassID: Int
    public let lockName: String
    public private(set) var writer: SimThread?
    public private(set) var readers: [SimThread] = []
    private var waiters = Deque<(SimThread, Mode)>()
    @usableFromInline unowned let sched: Scheduler

    public init(_ sched: Scheduler, class lockClass: String, name: String) {
        self.sched = sched
        self.lockClass = lockClass
        self.lockClassID = LockClasses.id(lockClass)
        self.lockName = name
    }

    public var holders: [SimThread] { writer.map { [$0] } ?? readers }
    public func isWriteHeld(by t: SimThread?) -> Bool { t != nil && writer === t }
    public func isHeld(by t: SimThread?) -> Bool {
        guard let t else { return false }
        return writer === t || readers.contains(t)
    }

    private func grantable(_ mode: Mode) -> Bool {
        switch mode {
        case .writer: return writer == nil && readers.isEmpty
        // A waiting writer keeps new readers out (NetBSD rw_enter).
        case .reader: return writer == nil && !waiters.contains { $0.1 == .writer }
        }
    }

    /// rw_enter: blocks until granted in `mode`. Inlined, as `KMutex.enter` is.
    @inlinable
    public func enter(_ mode: Mode) async throws {
        try await sched.switchPoint(.lockAcquire, lockName)
        if try !takeOrQueue(mode) { try await waitForGrant() }
    }

    /// Grants the lock to the running thread in `mode`, or queues it as a waiter (returns false).
    @usableFromInline
    func takeOrQueue(_ mode: Mode) throws -> Bool {
        let me = sched.current!
        if isHeld(by: me) { throw sched.abort(KernelFailure(.panic, "rw_enter: locking against myself: \(lockName)")) }
        try sched.lockOrder.willAcquire(self, by: me, sched: sched)
        guard grantable(mode) else {
            waiters.append((me, mode))
            return false
        }
        grant(me, mode)
        me.heldLocks.append(self)
        return true
    }

    /// Sleeps until a release grants the lock.
    @usableFromInline
    func waitForGrant() async throws {
        let me = sched.current!
        try await sched.block(on: self, .lockAcquire)
        me.heldLocks.append(self)
    }

    /// rw_tryenter: never blocks.
    public func tryEnter(_ mode: Mode) async throws -> Bool {
        try await sched.switchPoint(.lockAcquire, lockName)
        let me = sched.current!
        guard !isHeld(by: me), grantable(mode) else { return false }
        grant(me, mode)
        me.heldLocks.append(self)
        return true
    }

    /// rw_exit.
    @inlinable
    public func exit() async throws {
        try exitWithoutSwitch()
        try await sched.switchPoint(.lockRelease, lockName)
    }

    /// rw_exit with no switch point: for sleeping with the lock as interlock (the caller blocks
    /// at once, so no wakeup can slip in between). Releasing a lock one does not hold is a
    /// kernel bug, reported as NetBSD's rw_exit panics, never a crash of the checker.
    public func exitWithoutSwitch() throws {
        let me = sched.current!
        if writer === me {
            writer = nil
        } else if let i = readers.firstIndex(of: me) {
            readers.remove(at: i)
        } else {
            throw sched.abort(KernelFailure(.panic, "rw_exit: \(lockName) not held by \(me.name)"))
        }
        me.dropHeld(self)
        grantWaiters()
    }

    private func grant(_ t: SimThread, _ mode: Mode) {
        switch mode {
        case .writer: writer = t
        case .reader: readers.append(t)
        }
    }

    /// Wakes the next writer if it can go; otherwise every reader queued before the next writer.
    private func grantWaiters() {
        while let (t, mode) = waiters.first {
            switch mode {
            case .writer:
                guard writer == nil && readers.isEmpty else { return }
                waiters.removeFirst()
                writer = t
                sched.wake(t)
                return
            case .reader:
                guard writer == nil else { return }
                waiters.removeFirst()
                readers.append(t)
                sched.wake(t)
            }
        }
    }
}

/// A sleep channel (tsleep/wakeup): sleepers wait until someone calls `wakeup`.

public final class WaitChannel: Waitable {
    public let waitDescription: String
    private var sleepers: [SimThread] = []
    private unowned let sched: Scheduler
    /// Threads that would wake this channel when they make progress (for the wait-for graph).
    public package(set) var holders: [SimThread] = []

    public init(_ sched: Scheduler, name: String) {
        self.sched = sched
        self.waitDescription = name
    }

    /// tsleep: the caller must have checked its condition with no switch point in between.
    public func sleep() async throws {
        let me = sched.current!
        sleepers.append(me)
        try await sched.block(on: self, .sleep)
    }

    /// wakeup: makes every sleeper runnable.
    public func wakeup() async throws {
        let woken = sleepers
        sleepers.removeAll()
        for t in woken { sched.wake(t) }
        try await sched.switchPoint(.wakeup, waitDescription)
    }

    /// wakeup without a switch point, for code that must not yield at this point.
    public func wakeupNoSwitch() {
        let woken = sleepers
        sleepers.removeAll()
        for t in woken { sched.wake(t) }
    }

}

extension SimThread {
    package func dropHeld(_ l: any KernelLock) {
        if let i = heldLocks.lastIndex(where: { $0 === l }) { heldLocks.remove(at: i) }
    }
}

// MARK: Lock preconditions (KASSERT(mutex_owned(...)), KASSERT(rw_write_held(...)))

extension Scheduler {
    /// The running thread must hold `lock` (for writing, with `.writer`). A violation is a
    /// kernel bug: it is recorded as a panic and the run stops at the thread's next switch point.
    /// Checked in debug builds and tests; free in release builds.
    public func assertHeld(_ lock: KMutex, _ function: StaticString = #function) {
        #if DEBUG
        if !lock.isHeld(by: current) { lockAssertionFailed("\(lock.lockName) not held", function) }
        #endif
    }

    public func assertHeld(_ lock: RWLock, _ mode: RWLock.Mode = .reader, _ function: StaticString = #function) {
        #if DEBUG
        let held = mode == .writer ? lock.isWriteHeld(by: current) : lock.isHeld(by: current)
        if !held { lockAssertionFailed("\(lock.lockName) not \(mode == .writer ? "write-held" : "held")", function) }
        #endif
    }

    /// The running thread must not hold `lock` (it is about to sleep, or to take it).
    public func assertNotHeld(_ lock: KMutex, _ function: StaticString = #function) {
        #if DEBUG
        if lock.isHeld(by: current) { lockAssertionFailed("\(lock.lockName) held", function) }
        #endif
    }

    public func assertNotHeld(_ lock: RWLock, _ function: StaticString = #function) {
        #if DEBUG
        if lock.isHeld(by: current) { lockAssertionFailed("\(lock.lockName) held", function) }
        #endif
    }

    private func lockAssertionFailed(_ what: String, _ function: StaticString) {
        fail(KernelFailure(.panic, "lock assertion failed in \(function): \(what) by \(current?.name ?? "no thread")"))
    }
}
