// A picture of the kernel at one moment of a run, for `uvm show`, its diffs and the HTML report:
// the threads (the line each runs, what it sleeps on, the locks it holds), each process's map
// with what backs every page of an entry, the amaps and their anons, each object's pages, and
// the physical pages. Taking one only reads the kernel: no lock, no switch point, no counter.

import UVMCore
import UVMKernel
import UVMMachine
import UVMSched

/// When `uvm show` looks at a run.
public enum ShowMoment: Sendable, Hashable {
    /// Where the run went wrong (the step a BUG was recorded at, or the line whose result or
    /// expectation was wrong), or the end of the scenario (before the final exits) for a PASS.
    case outcome
    /// After step N of the schedule.
    case step(Int)
    /// Just before line N first runs (an operation or an `expect`).
    case beforeLine(Int)
}

/// One physical page as its owner sees it.
public struct PageView: Sendable, Equatable {
    public var pfn: Int
    public var fictitious: Bool
    /// The thread keeping it busy (PG_BUSY).
    public var busy: String?
    /// Threads sleeping until it is unbusied (PG_WANTED).
    public var wanted: [String]
    public var wireCount: Int
    public var loanCount: Int
    /// PG_RELEASED: detached from its owner, freed when its last holder lets go.
    public var released: Bool
    public var dirty: Bool
    /// Pmaps mapping it.
    public var mappings: Int
    /// Bumped by every allocation: a capture that kept an older one reaches a freed or reused page.
    public var generation: UInt32
    public var isFree: Bool

    init(_ pg: VMPage, _ threads: [SimThread]) {
        pfn = pg.pfn
        fictitious = pg.fictitious
        busy = pg.holders.first?.name
        wanted = threads.filter { $0.waitingFor === pg }.map(\.name)
        wireCount = Int(pg.wireCount)
        loanCount = Int(pg.loanCount)
        released = pg.released
        dirty = pg.dirty
        mappings = pg.pvList.count
        generation = pg.generation
        isFree = pg.isFree
    }

    var frame: String { fictitious ? "fake \(-pfn)" : "\(pfn)" }

    /// BUSY WANTED WIRE LOAN REL DIRTY, as the page tables print them.
    var stateCells: [String] {
        [busy ?? "-", wanted.isEmpty ? "-" : wanted.joined(separator: ","), "\(wireCount)", "\(loanCount)",
         released ? "R" : "-", dirty ? "D" : "-"]
    }
}

/// What backs one page of a map entry, top layer first: an anon (resident or on swap), else the
/// object's page, else nothing yet.
public enum PageBacking: Sendable, Equatable {
    case untouched
    case anon(serial: Int, page: PageView?, swapSlot: Int?)
    case object(name: String, index: UInt64, page: PageView?)
    case device
}

public struct EntryView: Sendable, Equatable {
    public var start: UInt64
    public var end: UInt64
    public var protection: String
    public var maxProtection: String
    public var inheritance: String
    public var resident: Int
    /// C copy-on-write, N needs copy, L locked (user wiring), S<n> system wirings.
    public var flags: String
    public var object: String?
    public var offset: UInt64
    public var amap: Int?
    public var amapSlot: Int
    public var userWired: Bool
    public var systemWirings: Int
    /// The first `pageLimit` pages of the entry, each with what backs it.
    public var pages: [PageBacking]
    public static let pageLimit = 64
}

public struct ProcessView: Sendable, Equatable {
    public var name: String
    public var pid: Int
    public var exited: Bool
    public var futureWiring: Bool
    public var wiredPages: Int
    public var entries: [EntryView]
}

public struct AnonSlotView: Sendable, Equatable {
    public var slot: Int
    public var anon: Int
    public var refs: Int
    public var page: PageView?
    public var swapSlot: Int?
}

public struct AmapView: Sendable, Equatable {
    public var serial: Int
    public var refs: Int
    public var shared: Bool
    public var slots: [AnonSlotView]
}

public struct ObjectPageView: Sendable, Equatable {
    public var index: UInt64
    public var page: PageView?
    public var swapSlot: Int?
}

public struct ObjectView: Sendable, Equatable {
    public var name: String
    /// vnode, aobj or device.
    public var kind: String
    public var refs: Int
    public var pages: [ObjectPageView]
}

/// A vslock (uvm_vslock) and the pages it captured for its I/O.
public struct HoldView: Sendable, Equatable {
    public var thread: String
    public var start: UInt64
    public var end: UInt64
    public var access: String
    /// False under the historic `vslock=entry`: only the map entries are wired.
    public var holdsPages: Bool
    public var released: Bool
    public var pages: [Captured]

    public struct Captured: Sendable, Equatable {
        public var page: PageView
        /// The page's generation when captured.
        public var generation: UInt32
        /// Whether the captured page has since been freed or handed to someone else.
        public var reused: Bool { page.isFree || page.generation != generation }
    }
}

public struct ThreadView: Sendable, Equatable {
    public var name: String
    /// running, runnable, blocked, finished or idle.
    public var state: String
    /// The scenario line it is executing, if any ("14: truncate db 0").
    public var line: Int?
    public var lineText: String
    public var blockedOn: String?
    /// Who could release what it is blocked on.
    public var heldBy: [String]
    public var locks: [String]
}

public struct PhysicalSummary: Sendable, Equatable {
    public var managed: Int
    public var free: Int
    public var active: Int
    public var inactive: Int
    public var wired: Int
    public var wiredMax: Int
    public var busy: Int
    public var loaned: Int
    /// Released pages still held (by a vslock or a loan), owned by nobody.
    public var released: Int
    public var swapUsed: Int
    public var swapSlots: Int
}

public struct StateSnapshot: Sendable, Equatable {
    /// "after step 12", "just before line 14 first runs (step 9)", ...
    public var moment: String
    public var step: Int
    public var threads: [ThreadView]
    public var processes: [ProcessView]
    public var amaps: [AmapView]
    public var objects: [ObjectView]
    public var holds: [HoldView]
    /// Allocated pages no object or anon owns: released pages still held, loaned-out copies.
    public var unowned: [PageView]
    public var physical: PhysicalSummary
    public var policy: [String]
    /// vmstat -s style: value and what it counts.
    public var counters: [Counter]

    public struct Counter: Sendable, Equatable {
        public var value: Int
        public var name: String
    }

    /// Reads `k`. `lines` says which scenario line each thread (by id) is executing.
    @Sim
    static func capture(_ k: Kernel, moment: String, lines: [Int: (line: Int, text: String)]) -> StateSnapshot {
        let threads = k.sched.threads
        func view(_ pg: VMPage?) -> PageView? { pg.map { PageView($0, threads) } }

        let threadViews = threads.map { t -> ThreadView in
            let state: String
            switch t.state {
            case .idle: state = "idle"
            case .finished: state = "finished"
            case .blocked: state = "blocked"
            case .runnable: state = t === k.sched.current ? "running" : "runnable"
            }
            let at = lines[t.id]
            return ThreadView(name: t.name, state: state, line: at?.line, lineText: at?.text ?? "",
                              blockedOn: t.waitingFor?.waitDescription, heldBy: t.waitingFor?.holders.map(\.name) ?? [],
                              locks: t.heldLocks.map(\.lockName))
        }

        var amaps: [ObjectIdentifier: Amap] = [:]
        var amapOrder: [Amap] = []
        var objects: [UVMObject] = k.uvm.allVnodeObjects
        for seg in k.shmSegments.keys.sorted().compactMap({ k.shmSegments[$0] }) { objects.append(seg.object) }
        var processes: [ProcessView] = []
        for p in k.procs {
            var entries: [EntryView] = []
            if !p.exited {
                for e in p.map.entries.elements {
                    if let a = e.amap, amaps[ObjectIdentifier(a)] == nil { amaps[ObjectIdentifier(a)] = a; amapOrder.append(a) }
                    if let o = e.object, !objects.contains(where: { $0 === o }) { objects.append(o) }
                    entries.append(entryView(e, k, view))
                }
            }
            processes.append(ProcessView(name: p.name, pid: p.pid, exited: p.exited, futureWiring: p.map.wireFuture,
                                         wiredPages: Accounting.wiredPages(p, k), entries: entries))
        }
        let amapViews = amapOrder.map { a in
            AmapView(serial: a.serial, refs: a.refs, shared: a.shared, slots: a.anons.occupied.sorted { $0.slot < $1.slot }.map { s, anon in
                AnonSlotView(slot: s, anon: anon.serial, refs: anon.refs, page: view(anon.page), swapSlot: anon.swapSlot)
            })
        }
        let objectViews = objects.map { o -> ObjectView in
            let swapped = o.swappedOut
            let indexes = Set(o.pages.keys).union(swapped.keys).sorted()
            return ObjectView(name: o.name, kind: o.pagerName, refs: o.refs,
                              pages: indexes.map { ObjectPageView(index: $0, page: view(o.pages[$0]), swapSlot: swapped[$0]) })
        }

        let mem = k.uvm.mem
        let inUse = mem.pages.filter { !$0.isFree }
        let physical = PhysicalSummary(
            managed: mem.pageCount, free: mem.freeCount, active: inUse.count { $0.queue == .active },
            inactive: inUse.count { $0.queue == .inactive }, wired: mem.wiredCount, wiredMax: mem.wiredMax,
            busy: inUse.count(where: \.isBusy), loaned: inUse.count { $0.loanCount > 0 },
            released: inUse.count { $0.released && $0.owner == nil }, swapUsed: k.uvm.swap.usedSlots,
            swapSlots: k.uvm.swap.slotCount)
        let s = mem.stats
        let counters: [(Int, String)] = [
            (k.pageSize, "bytes per page"), (s.faults, "faults"), (s.zeroFills, "zero-fill pages"),
            (s.cowFaults, "copy-on-write faults"), (s.pageIns, "pages read from files"), (s.pageOuts, "pages written to files"),
            (s.allocs, "page allocations"), (s.frees, "page frees"), (s.wirings, "page wirings"), (s.unwirings, "page unwirings"),
            (s.loans, "pages loaned"), (s.loanBreaks, "loans broken"), (s.releasedPages, "pages released while held"),
            (s.pagesReclaimed, "pages reclaimed by the page daemon"),
        ]
        return StateSnapshot(moment: moment, step: k.sched.steps, threads: threadViews, processes: processes, amaps: amapViews,
                             objects: objectViews,
                             holds: k.uvm.holds.map { h in
                                 HoldView(thread: h.thread.name, start: h.start, end: h.end, access: h.access.description,
                                          holdsPages: h.holdsPages, released: h.released,
                                          pages: h.pages.map { .init(page: PageView($0.page, threads), generation: $0.generation) })
                             },
                             unowned: inUse.filter { $0.owner == nil }.map { PageView($0, threads) },
                             physical: physical, policy: k.uvm.policy.description,
                             counters: counters.map { Counter(value: $0.0, name: $0.1) })
    }

    @Sim
    private static func entryView(_ e: MapEntry, _ k: Kernel, _ view: (VMPage?) -> PageView?) -> EntryView {
        let shift = k.uvm.pageShift
        let count = e.pageCount(shift)
        var flags = ""
        if e.copyOnWrite { flags += "C" }
        if e.needsCopy { flags += "N" }
        if e.userWired { flags += "L" }
        if e.systemWireCount > 0 { flags += "S\(e.systemWireCount)" }
        var pages: [PageBacking] = []
        let first = e.offset >> UInt64(shift)
        for i in 0..<min(count, UInt64(EntryView.pageLimit)) {
            if e.isDevice { pages.append(.device); continue }
            if let amap = e.amap, let anon = amap.anons[e.amapSlot + Int(i)] {
                pages.append(.anon(serial: anon.serial, page: view(anon.page), swapSlot: anon.swapSlot))
            } else if let o = e.object {
                pages.append(.object(name: o.name, index: first + i, page: view(o.pages[first + i])))
            } else {
                pages.append(.untouched)
            }
        }
        // Device memory is always resident.
        let resident = e.isDevice ? Int(count) : Accounting.residentPages(e, k).count
        return EntryView(start: e.start, end: e.end, protection: e.protection.description, maxProtection: e.maxProtection.description,
                         inheritance: e.inheritance.rawValue, resident: resident, flags: flags.isEmpty ? "-" : flags,
                         object: e.object?.name, offset: e.offset, amap: e.amap?.serial, amapSlot: e.amapSlot,
                         userWired: e.userWired, systemWirings: e.systemWireCount, pages: pages)
    }
}
