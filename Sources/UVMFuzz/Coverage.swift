// Coverage: a set of named features a run reached. The fuzzer keeps a scenario that reaches a
// feature no earlier one did, and mutates it. Features today: each operation form with each kind
// of result it returned, each outcome kind, and the combinations of page states seen before an
// operation (wired and on loan, released and still held, busy and wired, ...), read as the audit
// reads them. Kernel sites (`sometimes("...")` markers) join as `site ...` features through
// `note(site:)`.

import UVMKernel
import UVMMachine
import UVMSched

public struct Coverage: Sendable, Equatable {
    public private(set) var features: Set<String> = []

    public init() {}

    public var count: Int { features.count }

    @discardableResult
    public mutating func insert(_ feature: String) -> Bool { features.insert(feature).inserted }

    /// Adds `other`'s features; returns how many were new.
    @discardableResult
    public mutating func merge(_ other: Coverage) -> Int {
        let before = features.count
        features.formUnion(other.features)
        return features.count - before
    }

    public func isNew(in other: Coverage) -> Bool { !features.isSubset(of: other.features) }

    /// A kernel site that said it was reached (the `sometimes` markers).
    public mutating func note(site: String) { insert("site " + site) }

    /// `mlock` returning EAGAIN: `op mlock -> EAGAIN`. Addresses, bytes and counts are folded into
    /// one class each, so a feature names a behaviour, not a value.
    public mutating func note(form: String, result: String) { insert("op \(form) -> \(Self.resultClass(result))") }

    public mutating func note(outcome: String) { insert("outcome " + outcome) }

    static func resultClass(_ result: String) -> String {
        if result.hasPrefix("E") || result.hasPrefix("SIG") || result == "ok" { return result }
        if result.hasPrefix("freed ") { return result == "freed 0" ? "freed none" : "freed some" }
        if result.hasPrefix("+") { return "differs" }
        if result.hasPrefix("0x") { return result.count <= 4 ? "byte" : "address" }
        if result.allSatisfy({ $0 == "0" || $0 == "1" }) {
            return result.contains("1") ? (result.contains("0") ? "partly resident" : "resident") : "not resident"
        }
        return "count"
    }

    /// The kernel's `sometimes` sites this coverage never reached.
    public var unreachedSites: [String] { KernelSites.all.filter { !features.contains("site " + $0) } }

    /// The features, grouped by their first word, for `uvm fuzz --coverage`.
    public var summary: [(group: String, features: [String])] {
        let groups = Dictionary(grouping: features) { String($0.prefix { $0 != " " }) }
        return groups.keys.sorted().map { ($0, groups[$0]!.sorted()) }
    }
}

/// Every `sometimes` site of the kernel, by name: what a campaign should reach, so that
/// `uvm fuzz --coverage` can name what it never did. A test keeps the list equal to the markers
/// in the sources.
public enum KernelSites {
    public static let all = [
        "a fault chunked a large anonymous entry",
        "a fault restarted on a contended vnode",
        "a page released while busy was freed by the thread that unbusied it",
        "a page was released while busy",
        "a vslock captured a loaned page",
        "a vslock reserved a wired page for a copy",
        "a wired page was released to its holders",
        "a wiring broke a loan",
        "an unmap waited for a vslock's I/O",
        "the page daemon kept a page written during its page-out",
        "the page daemon skipped a busy page",
        "truncation met a loaned page",
        "truncation met a page held by a vslock",
    ]
}

/// Reads the page states that matter to wiring and loaning before each operation: which flags a
/// page carries at once. Read-only, as `Audit` inspects the kernel.
@Sim
final class PageStateProbe {
    private(set) var coverage = Coverage()
    private var watched: ObjectIdentifier?

    /// Listens for the kernel's `sometimes` sites. Once per run: each has its scheduler.
    func watch(_ sched: Scheduler) {
        guard watched != ObjectIdentifier(sched) else { return }
        watched = ObjectIdentifier(sched)
        sched.siteHook = { [unowned self] site in self.coverage.note(site: "\(site)") }
    }

    func inspect(_ kernel: Kernel) {
        let mem = kernel.uvm.mem
        for page in mem.pages where !page.isFree {
            var flags: [String] = []
            if page.wireCount > 1 { flags.append("wired twice") } else if page.wireCount == 1 { flags.append("wired") }
            if page.loanCount > 0 { flags.append("loaned") }
            if page.released { flags.append("released") }
            if page.isBusy { flags.append("busy") }
            if page.owner == nil { flags.append("ownerless") }
            if page.dirty && page.wireCount > 0 { flags.append("dirty") }
            if flags.count >= 2 || page.released || page.loanCount > 0 { coverage.insert("page " + flags.joined(separator: "+")) }
        }
        if !kernel.uvm.holds.isEmpty, mem.freeCount == 0 { coverage.insert("page none free under a vslock") }
        if kernel.uvm.swap.usedSlots > 0, mem.wiredCount > 0 { coverage.insert("page swapped while others wired") }
        // The lock orders this run has used so far (lockdep's edges between classes).
        for edge in kernel.sched.lockOrder.recordedEdges {
            coverage.insert("lock \(LockClasses.name(edge.from)) -> \(LockClasses.name(edge.to))")
        }
    }
}
