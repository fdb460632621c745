// `uvm show`: each process's map in the style of `procstat -v`, and page counters in the style
// of `vmstat -s`.

import UVMCore
import UVMKernel
import UVMMachine

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

/// FLAGS: C copy-on-write, N needs copy, L locked (user wiring), S<n> system wirings.
enum Show {
    static func render(_ k: Kernel) -> String {
        var out: [String] = []
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        for p in k.procs {
            out.append("\(p.description)" + (p.exited ? " exited" : "") + (p.map.wireFuture ? " mlockall(future)" : "")
                       + " wired \(Accounting.wiredPages(p, k)) pages")
            guard !p.exited else { continue }
            out.append("  " + pad("START", 16) + pad("END", 16) + pad("PRT", 4) + pad("MAX", 4) + pad("INH", 6)
                       + pad("RES", 5) + pad("FLAGS", 6) + "BACKING")
            for e in p.map.entries.elements {
                // Device memory is always resident.
                let resident = e.isDevice ? Int(e.pageCount(k.uvm.pageShift)) : Accounting.residentPages(e, k).count
                var flags = ""
                if e.copyOnWrite { flags += "C" }
                if e.needsCopy { flags += "N" }
                if e.userWired { flags += "L" }
                if e.systemWireCount > 0 { flags += "S\(e.systemWireCount)" }
                if flags.isEmpty { flags = "-" }
                var backing: [String] = []
                if let o = e.object { backing.append("\(o.name) @\(hex(e.offset))") }
                if let a = e.amap { backing.append("amap \(a.serial)@\(e.amapSlot)" + (a.shared ? " shared" : "")) }
                if backing.isEmpty { backing.append("anon (untouched)") }
                out.append("  " + pad(hex(e.start), 16) + pad(hex(e.end), 16) + pad(e.protection.description, 4)
                           + pad(e.maxProtection.description, 4) + pad(e.inheritance.rawValue, 6)
                           + pad("\(resident)", 5) + pad(flags, 6) + backing.joined(separator: ", "))
            }
        }
        out.append("policy: " + k.uvm.policy.description.joined(separator: ", "))
        let m = k.uvm.mem
        let s = m.stats
        let counters: [(Int, String)] = [
            (k.pageSize, "bytes per page"), (m.pageCount, "pages managed"), (m.freeCount, "pages free"),
            (m.pages.filter { $0.queue == .active }.count, "pages active"),
            (m.pages.filter { $0.queue == .inactive }.count, "pages inactive"),
            (m.wiredCount, "pages wired"), (m.wiredMax, "maximum wired pages"),
            (s.faults, "faults"), (s.zeroFills, "zero-fill pages"), (s.cowFaults, "copy-on-write faults"),
            (s.pageIns, "pages read from files"), (s.pageOuts, "pages written to files"),
            (s.allocs, "page allocations"), (s.frees, "page frees"),
            (s.wirings, "page wirings"), (s.unwirings, "page unwirings"),
            (s.loans, "pages loaned"), (s.loanBreaks, "loans broken"), (s.releasedPages, "pages released while held"),
            (s.pagesReclaimed, "pages reclaimed by the page daemon"), (k.uvm.swap.usedSlots, "swap slots in use"),
        ]
        for (n, what) in counters {
            let num = String(n)
            out.append(String(repeating: " ", count: max(0, 10 - num.count)) + num + " " + what)
        }
        return out.joined(separator: "\n")
    }
}

