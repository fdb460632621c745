// The deterministic scheduler: simulated threads, switch points, blocking, and replay.
//
// Execution model. Every simulated thread is a Swift task isolated to the one `Sim` actor. All but
// one are parked on their own continuation; the scheduler resumes exactly one at a time, so the
// Swift runtime never chooses who runs. A switch point (lock acquire/release, busy-page wait,
// sleep, wakeup, I/O, explicit preemption) asks the strategy which runnable thread goes next;
// when only one thread can run that costs a counter increment. A run is reproduced exactly by its
// strategy's choices at switch points with more than one runnable thread (the replay token).
//
// Failure. A kernel failure (panic, deadlock, ...) is recorded once; every parked thread is then
// resumed in turn and unwinds by throwing `SimAbort` from its next switch point.

import DequeModule

/// The global actor every simulated thread runs on, on a host thread of its own (SimExecutor).
@globalActor public actor Sim {
    public static let shared = Sim()
    public nonisolated var unownedExecutor: UnownedSerialExecutor { SimExecutor.shared.asUnownedSerialExecutor() }
}

/// Thrown from a switch point after the run has failed: unwinds a simulated thread.
public struct SimAbort: Error {
    @inlinable public init() {}
}

/// What a thread's task runs: its body, then the scheduler's end-of-thread bookkeeping.
private final class ThreadStart {
    let sched: Scheduler
    let thread: SimThread
    init(sched: Scheduler, thread: SimThread) { self.sched = sched; self.thread = thread }

    @Sim func run() async {
        let body = thread.body!
        thread.body = nil
        do { try await body() } catch {}
        sched.finish(thread)
    }
}

/// Carries kernel state into a thread's task. The scheduler's strict hand-off (one thread unparked
/// at a time, all on `Sim`) is what makes this safe, not the type system.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Why a thread reached a switch point; recorded in the trace and hashed for determinism checks.
public enum SwitchReason: UInt8, Sendable {
    case start, preempt, lockAcquire, lockRelease, busyWait, sleep, wakeup, io, finish
}

/// Something a thread can block on; knows who could release it, for the wait-for graph.
public protocol Waitable: AnyObject {
    var waitDescription: String { get }
    /// Threads whose progress would release the waiter (lock owners, the thread busying a page).
    var holders: [SimThread] { get }
}

/// A simulated kernel thread (an LWP). Identity is stable across the runs of one scenario.
public final class SimThread: Hashable, CustomStringConvertible {
    public enum State: Equatable { case idle, runnable, blocked, finished }

    public let id: Int
    public let name: String
    public package(set) var state: State = .idle
    /// What the thread is blocked on, while `state == .blocked`.
    public package(set) var waitingFor: (any Waitable)?
    /// Locks held, innermost last (for lock-order checks and the "no lock held at return" audit).
    public package(set) var heldLocks: [any KernelLock] = []
    var continuation: UnsafeContinuation<Void, Never>?
    var body: (() async throws -> Void)?

    init(id: Int, name: String) { self.id = id; self.name = name }

    public var description: String { name }
    public static func == (a: SimThread, b: SimThread) -> Bool { a === b }
    public func hash(into h: inout Hasher) { h.combine(id) }
}

/// Chooses the next thread at a switch point with two or more runnable threads.
public protocol ScheduleStrategy {
    /// - Parameters:
    ///   - runnable: runnable threads in creation order (count ≥ 2).
    ///   - current: index of the running thread in `runnable`, or nil if it just blocked or ended.
    /// - Returns: an index into `runnable`.
    mutating func choose(runnable: [SimThread], current: Int?) -> Int
}

/// Seed 0: threads in file order, switching only when the running one blocks or ends.
public struct FileOrderStrategy: ScheduleStrategy {
    public init() {}
    public mutating func choose(runnable: [SimThread], current: Int?) -> Int { current ?? 0 }
}

/// Uniform choice at every switch point, from a seeded generator.
public struct RandomStrategy: ScheduleStrategy {
    var rng: SplitMix64
    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }
    public mutating func choose(runnable: [SimThread], current: Int?) -> Int {
        Int(rng.next() % UInt64(runnable.count))
    }
}

/// PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010): every thread gets a random
/// priority and the highest-priority runnable thread runs; at d−1 change points, drawn uniformly
/// from the first `steps` scheduling decisions, the running thread drops below every other.
/// A bug of depth d in a run of n threads and k steps is found with probability at least
/// 1/(n·k^(d−1)) per schedule.
public struct PCTStrategy: ScheduleStrategy {
    var rng: SplitMix64
    let depth: Int
    var priority: [Int: Int] = [:]
    let changePoints: Set<Int>
    var decision = 0
    var nextLow: Int

    /// - Parameters:
    ///   - steps: the number of scheduling decisions a run makes (estimated from a first run).
    public init(seed: UInt64, depth: Int = 3, steps: Int) {
        rng = SplitMix64(seed: seed)
        self.depth = max(depth, 1)
        var points = Set<Int>()
        for _ in 0..<(self.depth - 1) { points.insert(1 + Int(rng.next() % UInt64(max(steps, 1)))) }
        changePoints = points
        nextLow = self.depth - 1
    }

    public mutating func choose(runnable: [SimThread], current: Int?) -> Int {
        decision += 1
        for t in runnable where priority[t.id] == nil {
            // Initial priorities are above every priority a change point hands out.
            priority[t.id] = depth + Int(rng.next() % 1_000_000)
        }
        if changePoints.contains(decision), let c = current {
            priority[runnable[c].id] = nextLow
            nextLow -= 1
        }
        var best = 0
        for i in runnable.indices where priority[runnable[i].id]! > priority[runnable[best].id]! { best = i }
        return best
    }
}

/// One scheduling decision as DFS sees it: how many threads could run, which of them was
/// running (nil if it had just blocked or ended), and which one was chosen.
public struct Decision: Sendable, Equatable {
    public let options: Int
    public let current: Int?
    public let chosen: Int
    /// Choosing another thread while the running one could go on is a preemption.
    public var isPreemption: Bool { current != nil && chosen != current }
    /// The choice that costs no preemption: keep running, or the first runnable thread.
    public var defaultChoice: Int { current ?? 0 }
}

/// Stateless DFS (CHESS): follows `prefix`, then keeps the running thread (file order),
/// recording every decision so the explorer can pick the next branch.
public struct DFSStrategy: ScheduleStrategy {
    let prefix: [Int]
    /// Filled by the run, read by the explorer afterwards, both on the Sim actor.
    public final class Log: @unchecked Sendable {
        public var decisions: [Decision] = []
        public init() {}
    }
    public let log: Log

    public init(prefix: [Int], log: Log) {
        self.prefix = prefix
        self.log = log
    }

    public mutating func choose(runnable: [SimThread], current: Int?) -> Int {
        let i = log.decisions.count
        let c = i < prefix.count ? min(prefix[i], runnable.count - 1) : (current ?? 0)
        log.decisions.append(Decision(options: runnable.count, current: current, chosen: c))
        return c
    }

    /// The next prefix after a run that made `decisions`, or nil when the tree within
    /// `maxPreemptions` is exhausted. Alternatives at a decision are tried default first, then
    /// in thread order.
    public static func nextPrefix(after decisions: [Decision], maxPreemptions: Int) -> [Int]? {
        var used = [Int](repeating: 0, count: decisions.count + 1)
        for (i, d) in decisions.enumerated() { used[i + 1] = used[i] + (d.isPreemption ? 1 : 0) }
        for i in stride(from: decisions.count - 1, through: 0, by: -1) {
            let d = decisions[i]
            let order = [d.defaultChoice] + (0..<d.options).filter { $0 != d.defaultChoice }
            guard let at = order.firstIndex(of: d.chosen) else { continue }
            for alt in order.dropFirst(at + 1) {
                let cost = (d.current != nil && alt != d.current) ? 1 : 0
                if used[i] + cost <= maxPreemptions {
                    return decisions[..<i].map(\.chosen) + [alt]
                }
            }
        }
        return nil
    }

    /// Whether the preemption bound cut off any alternative of a run that made `decisions`.
    /// When no run of an exhausted DFS was cut, it enumerated every schedule there is.
    public static func boundCutAnAlternative(_ decisions: [Decision], maxPreemptions: Int) -> Bool {
        var used = 0
        for d in decisions {
            // An alternative costs a preemption only when another thread replaces a running one.
            if d.current != nil && d.options > 1 && used + 1 > maxPreemptions { return true }
            if d.isPreemption { used += 1 }
        }
        return false
    }
}

/// Replays recorded choices, then continues in file order.
public struct ReplayStrategy: ScheduleStrategy {
    let choices: [Int]
    var position = 0
    public init(choices: [Int]) { self.choices = choices }
    public mutating func choose(runnable: [SimThread], current: Int?) -> Int {
        guard position < choices.count else { return current ?? 0 }
        defer { position += 1 }
        return min(choices[position], runnable.count - 1)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, seedable, and good enough for schedule choices.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One step of the trace: who ran, and why it reached the switch point.
public struct TraceStep: Sendable, Hashable {
    public let step: Int
    public let thread: Int
    public let reason: SwitchReason
    public let note: String
}


public final class Scheduler {
    public private(set) var threads: [SimThread] = []
    public private(set) var current: SimThread?
    /// Runnable threads in creation order.
    @usableFromInline var runnable: [SimThread] = []
    private var strategy: any ScheduleStrategy
    /// Choices made where more than one thread could run: the replay token's payload.
    public private(set) var choices: [Int] = []
    public private(set) var failure: KernelFailure?
    public private(set) var steps = 0
    /// The step at which a thread last finished a page of the work a system call asked for
    /// (`madeProgress`).
    public private(set) var lastProgressStep = 0
    /// A run that takes this many steps with no thread making progress is a livelock: the
    /// watchdog ends it as one rather than let it spin forever. Counting steps since progress,
    /// not steps in all, keeps a legitimately long run (a gigabyte copied a page at a time) out.
    public var livelockSteps = 200_000
    /// FNV-1a over (thread, reason) of every step: equal runs give equal hashes.
    public private(set) var traceHash: UInt64 = 0xcbf2_9ce4_8422_2325
    /// Full trace, kept only when asked for (it costs a string per step).
    public var recordTrace = false
    public private(set) var trace: [TraceStep] = []
    /// Called after every step; returns a failure to stop the run (the audit installs itself here).
    public var stepHook: (() -> KernelFailure?)?
    /// Told of every `sometimes` site reached (the fuzzer's coverage installs itself here).
    public var siteHook: ((StaticString) -> Void)?
    /// The lock-order checker (lockdep); every blocking acquisition reports to it.
    public let lockOrder = LockOrder()
    private var driver: UnsafeContinuation<Void, Never>?

    public init(strategy: any ScheduleStrategy = FileOrderStrategy()) {
        self.strategy = strategy
    }

    /// Creates a thread; it stays idle until given work by `run`.
    public func makeThread(name: String) -> SimThread {
        let t = SimThread(id: threads.count, name: name)
        threads.append(t)
        return t
    }

    /// Runs each thread's body to completion under the strategy, interleaved at switch points.
    /// Returns the failure that stopped the run, if any. The bodies' own errors must be handled
    /// inside them; only `SimAbort` may escape.
    public func run(_ work: [(SimThread, () async throws -> Void)]) async -> KernelFailure? {
        if let failure { return failure }
        precondition(current == nil && runnable.isEmpty, "scheduler re-entered")
        for (t, body) in work {
            precondition(t.state == .idle || t.state == .finished, "thread \(t.name) given work twice")
            t.state = .runnable
            t.body = body
            insertRunnable(t)
        }
        guard !runnable.isEmpty else { return nil }
        let first = pick(current: nil)
        // The caller too waits on Sim's thread, so the run's end wakes no host thread either.
        await withTaskExecutorPreference(SimExecutor.shared) {
            await park { $0.driver = $1; $0.resume(first) }
        }
        return failure
    }

    // MARK: Switch points

    /// A point where the kernel could switch threads. Inlined into its callers: when only one
    /// thread can run (most steps of most runs) it costs the step's bookkeeping and no
    /// suspension, not even an async frame.
    @inlinable
    public func switchPoint(_ reason: SwitchReason, _ note: @autoclosure () -> String = "") async throws {
        guard let me = current else { preconditionFailure("switch point outside a simulated thread") }
        record(me, reason, note())
        if failure != nil { throw SimAbort() }
        if runnable.count < 2 { return }
        try await offerSwitch(me)
    }

    /// The strategy's choice at a switch point with other runnable threads.
    @usableFromInline
    func offerSwitch(_ me: SimThread) async throws {
        let idx = runnable.firstIndex(of: me)!
        let next = pick(current: idx)
        if next === me { return }
        await handOff(from: me, to: next)
        if failure != nil { throw SimAbort() }
    }

    /// Blocks the running thread on `object` until another thread calls `wake`.
    /// Runs another thread meanwhile; if none can run, the run ends with a deadlock.
    public func block(on object: any Waitable, _ reason: SwitchReason) async throws {
        guard let me = current else { preconditionFailure("block outside a simulated thread") }
        record(me, reason, object.waitDescription)
        if failure != nil { throw SimAbort() }
        me.state = .blocked
        me.waitingFor = object
        removeRunnable(me)
        if runnable.isEmpty {
            fail(deadlockFailure())
            throw SimAbort()
        }
        let next = pick(current: nil)
        await handOff(from: me, to: next)
        if failure != nil { throw SimAbort() }
    }

    /// Makes a blocked thread runnable again. Not itself a switch point; callers follow with one.
    public func wake(_ t: SimThread) {
        guard t.state == .blocked else { return }
        t.state = .runnable
        t.waitingFor = nil
        insertRunnable(t)
    }

    /// Records a kernel failure and stops the run (idempotent: the first failure wins).
    public func fail(_ f: KernelFailure) {
        if failure == nil { failure = f }
    }

    /// Records `f` and returns the error that unwinds the calling thread: `throw sched.panic(...)`.
    public func abort(_ f: KernelFailure) -> SimAbort {
        fail(f)
        return SimAbort()
    }

    // MARK: Internals

    @usableFromInline
    func record(_ t: SimThread, _ reason: SwitchReason, _ note: @autoclosure () -> String) {
        steps += 1
        traceHash = (traceHash ^ UInt64(t.id &* 31 &+ Int(reason.rawValue))) &* 0x100_0000_01b3
        if recordTrace {
            trace.append(TraceStep(step: steps, thread: t.id, reason: reason, note: note()))
        }
        if failure == nil, let hook = stepHook, let f = hook() { fail(f) }
        if failure == nil, steps - lastProgressStep > livelockSteps {
            fail(KernelFailure(.livelock, "no thread made progress in \(livelockSteps) scheduler steps (the watchdog)"))
        }
    }

    private func pick(current idx: Int?) -> SimThread {
        if runnable.count == 1 { return runnable[0] }
        let c = strategy.choose(runnable: runnable, current: idx)
        choices.append(c)
        return runnable[c]
    }

    private func insertRunnable(_ t: SimThread) {
        let i = runnable.firstIndex { $0.id > t.id } ?? runnable.endIndex
        runnable.insert(t, at: i)
    }

    private func removeRunnable(_ t: SimThread) {
        if let i = runnable.firstIndex(of: t) { runnable.remove(at: i) }
    }

    /// Parks `me` and resumes `next`: exactly one thread is ever unparked.
    private func handOff(from me: SimThread, to next: SimThread) async {
        await park { me.continuation = $1; $0.resume(next) }
        current = me
    }

    /// Suspends the caller, giving `body` the continuation that resumes it. The continuation
    /// resumes on `Sim`'s own thread, so the thread that resumes it runs the resumed task next,
    /// with no host thread woken (see SimExecutor).
    private func park(_ body: @escaping (Scheduler, UnsafeContinuation<Void, Never>) -> Void) async {
        let parts = UncheckedBox((self, body))
        await withUnsafeContinuation(isolation: Sim.shared) { @Sendable (c: UnsafeContinuation<Void, Never>) in
            parts.value.1(parts.value.0, c)
        }
    }

    /// Lets `t` run: resumes its continuation, or starts its task the first time.
    private func resume(_ t: SimThread) {
        current = t
        if let c = t.continuation {
            t.continuation = nil
            c.resume()
        } else {
            let start = UncheckedBox(ThreadStart(sched: self, thread: t))
            // Safe: only the one unparked thread ever touches kernel state, on the Sim actor.
            Task(executorPreference: SimExecutor.shared) { await start.value.run() }
        }
    }

    fileprivate func finish(_ t: SimThread) {
        t.state = .finished
        t.waitingFor = nil
        removeRunnable(t)
        current = nil
        if failure != nil {
            // Unwind the rest: resume parked threads one at a time; each throws SimAbort.
            if let next = threads.first(where: { $0.continuation != nil }) {
                if next.state == .blocked { next.state = .runnable; next.waitingFor = nil; insertRunnable(next) }
                resume(next)
                return
            }
            for t in threads where t.state != .finished && t.state != .idle { t.state = .finished }
            runnable.removeAll()
            resumeDriver()
            return
        }
        if runnable.isEmpty {
            if threads.contains(where: { $0.state == .blocked }) {
                fail(deadlockFailure())
                finish(t) // unwind the blocked threads
                return
            }
            resumeDriver()
            return
        }
        resume(pick(current: nil))
    }

    private func resumeDriver() {
        let d = driver!
        driver = nil
        current = nil
        d.resume()
    }

    /// If the running thread blocked on `object` now, the wait-for cycle that would close, as a
    /// deadlock failure. An acquisition that is also a lock-order inversion reports this first:
    /// the deadlock is the more specific finding.
    public func deadlockIfBlocked(on object: any Waitable) -> KernelFailure? {
        guard let me = current else { return nil }
        var parent: [Int: SimThread] = [:]
        var queue = Deque(object.holders.filter { $0 !== me })
        for h in queue { parent[h.id] = me }
        if object.holders.contains(where: { $0 === me }) { return describe(cycle: [me], waitingOn: object) }
        while let t = queue.popFirst() {
            guard t.state == .blocked, let w = t.waitingFor else { continue }
            for h in w.holders where parent[h.id] == nil {
                parent[h.id] = t
                if h === me {
                    var cycle = [me]
                    var x = t
                    while x !== me { cycle.append(x); x = parent[x.id]! }
                    return describe(cycle: [me] + cycle.dropFirst().reversed(), waitingOn: object)
                }
                queue.append(h)
            }
        }
        return nil
    }

    /// The deadlock of `cycle`, each thread waiting for what the next holds; the first waits for
    /// `object` (it may be about to block on it rather than blocked already).
    private func describe(cycle: [SimThread], waitingOn object: any Waitable) -> KernelFailure {
        let lines = cycle.enumerated().map { i, t in
            let w = i == 0 ? object : t.waitingFor!
            let by = w.holders.map(\.name).joined(separator: ", ")
            return "\(t.name) waits for \(w.waitDescription)" + (by.isEmpty ? "" : " held by \(by)")
        }
        return KernelFailure(.deadlock, "wait-for cycle: " + cycle.map(\.name).joined(separator: " -> ") + " -> " + cycle[0].name, details: lines)
    }

    /// Builds the wait-for graph of blocked threads and reports its smallest cycle, or the
    /// threads left sleeping with nobody to wake them.
    private func deadlockFailure() -> KernelFailure {
        let blocked = threads.filter { $0.state == .blocked }
        var best: [SimThread]?
        for start in blocked {
            // Follow wait-for edges breadth-first from `start` back to `start`.
            var parent: [Int: SimThread] = [:]
            var queue = Deque([start])
            var found = false
            while let t = queue.popFirst(), !found {
                for h in t.waitingFor?.holders ?? [] where h.state == .blocked {
                    if h === start { parent[start.id] = t; found = true; break }
                    if parent[h.id] == nil { parent[h.id] = t; queue.append(h) }
                }
            }
            guard found else { continue }
            var cycle = [start]
            var t = parent[start.id]!
            while t !== start { cycle.append(t); t = parent[t.id]! }
            cycle.reverse()
            if best == nil || cycle.count < best!.count { best = cycle }
        }
        if let cycle = best { return describe(cycle: cycle, waitingOn: cycle[0].waitingFor!) }
        var lines: [String] = []
        for t in blocked {
            lines.append("\(t.name) sleeps on \(t.waitingFor?.waitDescription ?? "?") and nothing can wake it")
        }
        return KernelFailure(.deadlock, "no thread can run", details: lines)
    }
}

extension Scheduler {
    /// A named property of the kernel that a good workload reaches now and then (Antithesis's
    /// `sometimes`): "truncation met a page held by a vslock". It checks nothing; it tells the
    /// fuzzer which interesting situations a scenario reached, so the corpus can steer toward
    /// those never reached. Free when nobody listens.
    /// A thread finished a page of its system call's work: a page translated for a copy or an
    /// access, a fault resolved, a page of a file found for read(2) or write(2).
    @inline(__always)
    public func madeProgress() { lastProgressStep = steps }

    @inline(__always)
    public func sometimes(_ condition: @autoclosure () -> Bool, _ site: StaticString) {
        if let siteHook, condition() { siteHook(site) }
    }
}
