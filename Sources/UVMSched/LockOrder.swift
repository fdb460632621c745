// The lock-order checker (lockdep style): one global order over lock classes.
//
// Each blocking acquisition of class B while holding class A records the edge A → B with where it
// was first seen. If B already reaches A through recorded edges, the two orders are both in use
// and could deadlock: BUG lock-order, even if this schedule did not (docs/wiring.md, *One global
// lock order*).
// Try-acquisitions add no edge (they cannot wait), and nesting within one class is not ordered
// here (it needs per-instance rules, such as ascending offset for pages of one object).

import Synchronization

/// Lock classes interned as small integers, process-wide: the checker compares and hashes
/// numbers, not names, on every acquisition.
public enum LockClasses {
    private static let table = Mutex<(ids: [String: Int], names: [String])>(([:], []))

    /// The number for a class name (the same for every scheduler).
    public static func id(_ name: String) -> Int {
        table.withLock { t in
            if let i = t.ids[name] { return i }
            t.ids[name] = t.names.count
            t.names.append(name)
            return t.names.count - 1
        }
    }

    /// The name of class `id`.
    public static func name(_ id: Int) -> String { table.withLock { $0.names[id] } }

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

    /// Where each edge was first seen.
    private var sites: [Site] = []
    /// Per edge A → B, in a square matrix over class numbers (row A, column B): 1 + the edge's
    /// index in `sites`, or 0 if never seen. An acquisition tests its held classes with one
    /// index each, and a run that sees few edges allocates a small matrix of integers.
    private var edges: [Int32] = []
    private var width = 0

    private func hasEdge(_ a: Int, _ b: Int) -> Bool { a < width && b < width && edges[a * width + b] != 0 }

    private func edge(_ a: Int, _ b: Int) -> Site? { hasEdge(a, b) ? sites[Int(edges[a * width + b]) - 1] : nil }

    private func record(_ a: Int, _ b: Int, _ site: Site) {
        if max(a, b) >= width {
            let wider = max(16, (max(a, b) + 1) * 2)
            var grown = [Int32](repeating: 0, count: wider * wider)
            for r in 0..<width { for c in 0..<width { grown[r * wider + c] = edges[r * width + c] } }
            (edges, width) = (grown, wider)
        }
        sites.append(site)
        edges[a * width + b] = Int32(sites.count)
    }

    /// Every edge recorded so far, as (from, to) class numbers: what orders this run used.
    public var recordedEdges: [(from: Int, to: Int)] {
        var out: [(from: Int, to: Int)] = []
        for a in 0..<width { for b in 0..<width where edges[a * width + b] != 0 { out.append((a, b)) } }
        return out
    }

    /// Whether lock-order checking is on (it always is for the modern kernel; tests may turn it off
    /// to show the deadlock a lock-order bug leads to).
    public var enabled = true

    package init() {}

    public func willAcquire(_ lock: any KernelLock, by t: SimThread, sched: Scheduler) throws {
        guard enabled else { return }
        let b = lock.lockClassID
        for held in t.heldLocks {
            let a = held.lockClassID
            if a == b || hasEdge(a, b) { continue }
            if let path = self.path(from: b, to: a) {
                if let deadlock = sched.deadlockIfBlocked(on: lock) { throw sched.abort(deadlock) }
                let first = path.map { "\($0.holding) then \($0.acquiring) (\($0.thread), step \($0.step))" }
                throw sched.abort(KernelFailure(
                    .lockOrder, "\(t.name) takes \(lock.lockName) while holding \(held.lockName), the reverse of an order already seen",
                    details: ["first order: " + first.joined(separator: "; "),
                              "now: \(held.lockName) then \(lock.lockName) (\(t.name), step \(sched.steps))"]))
            }
            record(a, b, Site(thread: t.name, step: sched.steps, holding: held.lockName, acquiring: lock.lockName))
        }
    }

    /// The chain of recorded edges from class `a` to class `b`, if any.
    private func path(from a: Int, to b: Int) -> [Site]? {
        var seen: Set<Int> = [a]
        var stack: [(Int, [Site])] = [(a, [])]
        while let (c, sites) = stack.popLast() {
            for n in 0..<width where !seen.contains(n) {
                guard let site = edge(c, n) else { continue }
                if n == b { return sites + [site] }
                seen.insert(n)
                stack.append((n, sites + [site]))
            }
        }
        return nil
    }
}
