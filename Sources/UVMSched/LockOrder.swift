// The lock-order checker (lockdep style): one global order over lock classes.
//
// Each blocking acquisition of class B while holding class A records the edge A → B with where it
// was first seen. If B already reaches A through recorded edges, the two orders are both in use
// and could deadlock: BUG lock-order, even if this schedule did not (BUGS.md rule 10).
// Try-acquisitions add no edge (they cannot wait), and nesting within one class is not ordered
// here (it needs per-instance rules, such as ascending offset for pages of one object).

import Synchronization

/// Lock classes interned as small integers, process-wide: the checker compares and hashes
/// numbers, not names, on every acquisition.
public enum LockClasses {
    private static let table = Mutex<[String: Int]>([:])

    /// The number for a class name (the same for every scheduler).
    public static func id(_ name: String) -> Int {
        table.withLock { t in
            if let i = t[name] { return i }
            t[name] = t.count
            return t.count - 1
        }
    }

    /// Page busy's class (PG_BUSY as a lock).
    public static let pageBusy = id("page busy")
}

public final class LockOrder {
    public struct Site: Sendable, Hashable {
        public let thread: String
        public let step: Int
        public let holding: String
        public let acquiring: String
    }

    private var edges: [Int: [Int: Site]] = [:]

    /// Whether lock-order checking is on (it always is for the modern kernel; tests may turn it off
    /// to show the deadlock a lock-order bug leads to).
    public var enabled = true

    package init() {}

    public func willAcquire(_ lock: any KernelLock, by t: SimThread, sched: Scheduler) throws {
        guard enabled else { return }
        let b = lock.lockClassID
        for held in t.heldLocks {
            let a = held.lockClassID
            if a == b || edges[a]?[b] != nil { continue }
            if let path = self.path(from: b, to: a) {
                if let deadlock = sched.deadlockIfBlocked(on: lock) { throw sched.abort(deadlock) }
                let first = path.map { "\($0.holding) then \($0.acquiring) (\($0.thread), step \($0.step))" }
                throw sched.abort(KernelFailure(
                    .lockOrder, "\(t.name) takes \(lock.lockName) while holding \(held.lockName), the reverse of an order already seen",
                    details: ["first order: " + first.joined(separator: "; "),
                              "now: \(held.lockName) then \(lock.lockName) (\(t.name), step \(sched.steps))"]))
            }
            edges[a, default: [:]][b] = Site(thread: t.name, step: sched.steps, holding: held.lockName, acquiring: lock.lockName)
        }
    }

    /// The chain of recorded edges from class `a` to class `b`, if any.
    private func path(from a: Int, to b: Int) -> [Site]? {
        var seen: Set<Int> = [a]
        var stack: [(Int, [Site])] = [(a, [])]
        while let (c, sites) = stack.popLast() {
            for (n, site) in edges[c] ?? [:] where !seen.contains(n) {
                if n == b { return sites + [site] }
                seen.insert(n)
                stack.append((n, sites + [site]))
            }
        }
        return nil
    }
}
