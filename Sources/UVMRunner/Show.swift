// `uvm show`: a snapshot as text — the threads, each process's map in the style of
// `procstat -v`, the amaps, each object's pages, the physical pages and counters in the style of
// `vmstat -s` — and what changed between two snapshots.

import UVMCore
import UVMKernel
import UVMMachine
import UVMScenario

enum Accounting {
    /// Pages wired through the process's map: distinct wired pages its entries' amaps and objects
    /// hold (from the VM, not the pmap).
    static func wiredPages(_ p: Proc, _ k: Kernel) -> Int {
        guard !p.exited else { return 0 }
        var seen = Set<Int>()
        for e in p.map.entries.elements {
            for pg in residentPages(e, k).values where pg.wireCount > 0 && !pg.fictitious { seen.insert(pg.pfn) }
        }
        return seen.count
    }

    /// The resident pages behind `e` by page of the entry (an anon's over the object's), found
    /// from the amap's slots and the object's pages rather than by walking every address, so a
    /// terabyte mapping costs what is resident, not its size. Device memory has no pages here.
    static func residentPages(_ e: MapEntry, _ k: Kernel) -> [Int: VMPage] {
        let count = e.pageCount(k.uvm.pageShift)
        var byPage: [Int: VMPage] = [:]
        if let obj = e.object, !e.isDevice {
            let first = e.offset >> UInt64(k.uvm.pageShift)
            for (idx, pg) in obj.pages where idx >= first && idx - first < count { byPage[Int(idx - first)] = pg }
        }
        if let amap = e.amap {
            // An anon hides the object's page, even when its own page is on swap.
            for i in 0..<Int(count) { if let anon = amap.anons[e.amapSlot + i] { byPage[i] = anon.page } }
        }
        return byPage
    }
}

/// A snapshot as tables: one section per kind of thing (a process's map, an object's pages),
/// each row keyed so that two snapshots can be compared row by row.
public struct ShowSection: Sendable, Equatable {
    /// Stable across snapshots ("map A", "object db"); the title may change ("wired 2 pages").
    public var id: String
    public var title: String
    public var columns: [String]
    /// The narrowest each column may be (the procstat layout keeps its fixed widths).
    public var minWidths: [Int] = []
    public var rows: [Row]

    public struct Row: Sendable, Equatable {
        public var key: String
        public var cells: [String]
    }

    /// The title, then the header and rows, columns padded to their widest cell.
    var lines: [String] {
        var widths = columns.indices.map { $0 < minWidths.count ? minWidths[$0] : 0 }
        // The procstat layout pads to its widths, one space after a longer cell; the others
        // keep two spaces between columns.
        let gap = minWidths.isEmpty ? 2 : 1
        for cells in [columns] + rows.map(\.cells) {
            for (i, c) in cells.enumerated().dropLast() where i < widths.count { widths[i] = max(widths[i], c.count + gap) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == cells.count - 1 ? c : i >= widths.count ? c + " " : (c.count >= widths[i] ? c + " " : c + String(repeating: " ", count: widths[i] - c.count))
            }.joined()
        }
        return [title] + (columns.isEmpty ? [] : ["  " + line(columns)]) + rows.map { "  " + line($0.cells) }
    }
}

public enum Show {
    /// The lines `--line` can stop before: operations and expects.
    public static func lines(of scenario: Scenario) -> Set<Int> {
        var lines = Set<Int>()
        for st in scenario.statements {
            switch st.kind {
            case .operation(let op): lines.insert(op.location.line)
            case .together(let ops): lines.formUnion(ops.map(\.location.line))
            case .expect(let e): lines.insert(e.location.line)
            default: break
            }
        }
        return lines
    }

    /// What each column and flag means, printed under every snapshot.
    public static let legend = [
        "legend:",
        "  threads: LINE the scenario line it executes; BLOCKED ON what it sleeps on, and who holds it; LOCKS the locks and busy pages it holds",
        "  maps: PRT/MAX protection and maximum protection; INH inheritance; RES resident pages; FLAGS C copy-on-write, N needs copy, L locked (mlock), S<n> system wirings (vslock)",
        "  pages: PAGE the physical frame; BUSY the thread keeping it busy (PG_BUSY); WANTED threads sleeping until it is unbusied (PG_WANTED);",
        "         WIRE wirings holding it; LOAN loans to the kernel; REL R = released (PG_RELEASED: freed when its last holder lets go);",
        "         DIRTY D = differs from its backing store; SWAP the swap slot of a page paged out; MAPS pmaps mapping it",
    ]

    static let pageColumns = ["PAGE", "BUSY", "WANTED", "WIRE", "LOAN", "REL", "DIRTY", "SWAP", "MAPS"]

    static func pageCells(_ pg: PageView?, swapSlot: Int?) -> [String] {
        guard let pg else { return ["-", "-", "-", "-", "-", "-", "-", swapSlot.map(String.init) ?? "-", "-"] }
        return [pg.frame] + pg.stateCells + [swapSlot.map(String.init) ?? "-", "\(pg.mappings)"]
    }

    /// The snapshot's tables; `quiet` leaves out counters that never moved.
    public static func sections(_ s: StateSnapshot, quiet: Bool = false) -> [ShowSection] {
        var out: [ShowSection] = []
        out.append(ShowSection(id: "threads", title: "threads", columns: ["THREAD", "STATE", "LINE", "BLOCKED ON", "LOCKS HELD"],
                               rows: s.threads.map { t in
            let blocked = t.blockedOn.map { $0 + (t.heldBy.isEmpty ? "" : " (held by \(t.heldBy.joined(separator: ", ")))") } ?? "-"
            let line = t.line.map { $0 == 0 ? t.lineText : "\($0): \(Timeline.withoutActor(t.lineText))" } ?? "-"
            return .init(key: t.name, cells: [t.name, t.state, line, blocked, t.locks.isEmpty ? "-" : t.locks.joined(separator: ", ")])
        }))
        for p in s.processes {
            let title = "proc \(p.name) (pid \(p.pid))" + (p.exited ? " exited" : "") + (p.futureWiring ? " mlockall(future)" : "")
                + " wired \(p.wiredPages) pages" + (!p.exited && p.entries.isEmpty ? ", nothing mapped" : "")
            out.append(ShowSection(id: "map \(p.name)", title: title,
                                   columns: p.entries.isEmpty ? [] : ["START", "END", "PRT", "MAX", "INH", "RES", "FLAGS", "BACKING"],
                                   minWidths: [16, 16, 4, 4, 6, 5, 6], rows: p.entries.map { e in
                var backing: [String] = []
                if let o = e.object { backing.append("\(o) @\(hex(e.offset))") }
                if let a = e.amap { backing.append("amap \(a)@\(e.amapSlot)" + (s.amaps.first { $0.serial == a }?.shared == true ? " shared" : "")) }
                if backing.isEmpty { backing.append("anon (untouched)") }
                return .init(key: hex(e.start), cells: [hex(e.start), hex(e.end), e.protection, e.maxProtection, e.inheritance,
                                                        "\(e.resident)", e.flags, backing.joined(separator: ", ")])
            }))
        }
        for a in s.amaps {
            out.append(ShowSection(id: "amap \(a.serial)", title: "amap \(a.serial) (\(a.refs) refs" + (a.shared ? ", shared" : "") + ")",
                                   columns: ["SLOT", "ANON", "REFS"] + pageColumns, rows: a.slots.map { slot in
                .init(key: "\(slot.slot)", cells: ["\(slot.slot)", "anon \(slot.anon)", "\(slot.refs)"] + pageCells(slot.page, swapSlot: slot.swapSlot))
            }))
        }
        for o in s.objects {
            out.append(ShowSection(id: "object \(o.name)", title: "object \(o.name) (\(o.kind), \(o.refs) refs" + (o.pages.isEmpty ? ", no pages)" : ")"),
                                   columns: o.pages.isEmpty ? [] : ["OFFSET"] + pageColumns, rows: o.pages.map { p in
                .init(key: "\(p.index)", cells: ["\(p.index)p"] + pageCells(p.page, swapSlot: p.swapSlot))
            }))
        }
        for (i, h) in s.holds.enumerated() {
            out.append(ShowSection(id: "vslock \(i)", title: "vslock by \(h.thread) of \(hex(h.start))-\(hex(h.end)) (\(h.access))"
                                   + (h.holdsPages ? "" : ", map entries only") + (h.released ? ", vsunlocked" : ""),
                                   columns: ["CAPTURED", "GEN", "NOW"] + pageColumns, rows: h.pages.map { c in
                .init(key: "\(c.page.frame)", cells: [c.page.frame, "\(c.generation)", c.page.isFree ? "free" : c.reused ? "reused" : "same"]
                      + pageCells(c.page, swapSlot: nil))
            }))
        }
        if !s.unowned.isEmpty {
            out.append(ShowSection(id: "unowned", title: "pages no object or anon owns (released, still held)",
                                   columns: pageColumns, rows: s.unowned.map { .init(key: $0.frame, cells: pageCells($0, swapSlot: nil)) }))
        }
        let ph = s.physical
        let summary: [(String, Int)] = [
            ("pages managed", ph.managed), ("pages free", ph.free), ("pages active", ph.active), ("pages inactive", ph.inactive),
            ("pages wired", ph.wired), ("maximum wired pages", ph.wiredMax), ("pages busy", ph.busy), ("pages loaned", ph.loaned),
            ("pages released, still held", ph.released), ("swap slots in use", ph.swapUsed), ("swap slots", ph.swapSlots),
        ]
        out.append(ShowSection(id: "physical", title: "physical pages and counters (vmstat -s)", columns: [],
                               rows: (summary + s.counters.map { ($0.name, $0.value) }).map { name, n in
            .init(key: name, cells: [String(repeating: " ", count: max(0, 8 - String(n).count)) + "\(n)", name])
        }))
        if quiet { out[out.count - 1].rows.removeAll { row in s.counters.contains { $0.name == row.key && $0.value == 0 } } }
        return out
    }

    /// The snapshot as `uvm show` prints it, legend included.
    public static func render(_ s: StateSnapshot) -> String {
        (["state \(s.moment)"] + sections(s, quiet: true).flatMap(\.lines) + ["policy: " + s.policy.joined(separator: ", ")] + legend)
            .joined(separator: "\n")
    }

    /// What changed from `a` to `b`, section by section: rows added (+), removed (-), and changed
    /// (the columns that differ, old → new).
    public static func diff(_ a: StateSnapshot, _ b: StateSnapshot) -> String {
        var out = ["changes from \(a.moment) to \(b.moment):"]
        let before = sections(a), after = sections(b)
        for id in (before.map(\.id) + after.map(\.id)).uniqued() {
            let x = before.first { $0.id == id }, y = after.first { $0.id == id }
            var lines: [String] = []
            if let x, let y, x.title != y.title { lines.append("  ~ \(x.title) → \(y.title)") }
            let columns = y?.columns ?? x?.columns ?? []
            let oldRows = x?.rows ?? [], newRows = y?.rows ?? []
            for key in (oldRows.map(\.key) + newRows.map(\.key)).uniqued() {
                let o = oldRows.first { $0.key == key }, n = newRows.first { $0.key == key }
                switch (o, n) {
                case (nil, let n?): lines.append("  + " + n.cells.joined(separator: "  "))
                case (let o?, nil): lines.append("  - " + o.cells.joined(separator: "  "))
                case (let o?, let n?) where o != n:
                    let changed = o.cells.indices.filter { $0 < n.cells.count && o.cells[$0] != n.cells[$0] }.map { i in
                        (i < columns.count ? columns[i] + " " : "") + "\(o.cells[i].trimmingSpaces) → \(n.cells[i].trimmingSpaces)"
                    }
                    lines.append("  ~ \(key): " + changed.joined(separator: ", "))
                default: break
                }
            }
            if !lines.isEmpty { out.append((y ?? x)!.title); out += lines }
        }
        if out.count == 1 { out.append("  nothing") }
        return out.joined(separator: "\n")
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each once.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}

extension String {
    /// Without trailing blanks (a CRLF line's "\r" included).
    var trailingSpacesTrimmed: String { String(reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed()) }
    var trimmingSpaces: String { String(drop { $0 == " " }).trailingSpacesTrimmed }
}
