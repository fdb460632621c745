// The pmap: the machine-dependent translation cache of one address space.
//
// It is only a cache (docs/wiring.md, *Wirings hold pages*, chs's goal in the VM_FAULT_WIREMAX
// commit): any entry may be dropped at any time and a fault rebuilds it. Each entry records the
// page and the protection the hardware allows.
//
// Layout. Like a hardware page table's last level, entries sit in page-table pages of 512 slots
// (x86-64's PTP: 2 MiB of address space each), found by the virtual page number's upper bits. A
// lookup costs one hash of the page-table page's number, and none at all when it is the page
// table the previous lookup used, as in a run of faults over consecutive pages.

import UVMSched

public struct PTE {
    public let page: VMPage
    public package(set) var prot: VMProt
}

public final class Pmap {
    /// Slots per page-table page (PTP), a power of two.
    static let slotsPerTable: UInt64 = 512

    /// One page-table page: `slotsPerTable` entries and how many are valid.
    final class PageTable {
        var slots = [PTE?](repeating: nil, count: Int(Pmap.slotsPerTable))
        var valid = 0
    }

    /// Page-table pages by number (virtual page number / `slotsPerTable`); a page table with no
    /// valid entry is freed, so an address space costs what it maps.
    private var tables: [UInt64: PageTable] = [:]
    /// The page table of the last lookup (a one-entry TLB for the page-table walk).
    private var lastTable: (number: UInt64, table: PageTable)?
    /// Valid entries (pmap_resident_count).
    public private(set) var count = 0
    public let pageShift: Int

    public init(pageShift: Int) { self.pageShift = pageShift }

    private func table(_ number: UInt64) -> PageTable? {
        if let last = lastTable, last.number == number { return last.table }
        guard let t = tables[number] else { return nil }
        lastTable = (number, t)
        return t
    }

    private static func split(_ vpn: UInt64) -> (table: UInt64, slot: Int) {
        (vpn / slotsPerTable, Int(vpn % slotsPerTable))
    }

    /// pmap_enter: maps virtual page `vpn` to `page` with `prot`, replacing any old mapping.
    public func enter(vpn: UInt64, page: VMPage, prot: VMProt) {
        let (n, i) = Self.split(vpn)
        let t: PageTable
        if let existing = table(n) {
            t = existing
        } else {
            t = PageTable()
            tables[n] = t
            lastTable = (n, t)
        }
        if let old = t.slots[i] {
            if old.page === page {
                t.slots[i]!.prot = prot
                return
            }
            old.page.removeMapping(self, vpn)
        } else {
            t.valid += 1
            count += 1
        }
        t.slots[i] = PTE(page: page, prot: prot)
        page.addMapping(PVEntry(pmap: self, vpn: vpn))
    }

    /// pmap_extract.
    public func extract(vpn: UInt64) -> PTE? {
        let (n, i) = Self.split(vpn)
        return table(n)?.slots[i]
    }

    /// Calls `body` with each page table that holds part of `range` and the slots of the range
    /// in it, in address order: by page-table number when the range spans fewer page tables than
    /// the pmap has, else over the pmap's page tables, so a range as wide as the address space
    /// costs what is mapped.
    private func forEachTable(in range: Range<UInt64>, _ body: (UInt64, PageTable, Range<Int>) -> Void) {
        guard !range.isEmpty else { return }
        let first = range.lowerBound / Self.slotsPerTable, last = (range.upperBound - 1) / Self.slotsPerTable
        let numbers = last - first < UInt64(tables.count)
            ? Array(first...last)
            : tables.keys.filter { (first...last).contains($0) }.sorted()
        for n in numbers {
            guard let t = table(n) else { continue }
            let base = n * Self.slotsPerTable
            let lo = Int(max(range.lowerBound, base) - base)
            let hi = Int(min(range.upperBound - base, Self.slotsPerTable))
            body(n, t, lo..<hi)
        }
    }

    /// pmap_remove over [lo, hi) virtual pages.
    public func remove(vpns range: Range<UInt64>) {
        forEachTable(in: range) { n, t, slots in
            for i in slots where t.slots[i] != nil { removeMapping(n, t, i) }
        }
    }

    /// pmap_protect: lowers the protection of the mappings in range (never raises it).
    public func protect(vpns range: Range<UInt64>, _ prot: VMProt) {
        if prot.isEmpty { remove(vpns: range); return }
        forEachTable(in: range) { _, t, slots in
            for i in slots where t.slots[i] != nil { t.slots[i]!.prot.formIntersection(prot) }
        }
    }

    /// pmap_remove_all: the address space is going away.
    public func removeAll() {
        remove(vpns: 0..<UInt64.max)
    }

    /// pmap_page_protect: lowers every mapping of `page` in every pmap; `.none` removes them all,
    /// wired or not (which is why nothing may depend on a pmap entry staying, the VM_FAULT_WIREMAX
    /// commit).
    public static func pageProtect(_ page: VMPage, _ prot: VMProt) {
        if prot.isEmpty {
            for pv in page.takeMappings() { pv.pmap.invalidate(pv.vpn) }
        } else {
            page.forEachMapping { pv in pv.pmap.lower(pv.vpn, prot) }
        }
    }

    /// Drops the entry for `vpn`, whose page has already forgotten the mapping.
    private func invalidate(_ vpn: UInt64) {
        let (n, i) = Self.split(vpn)
        guard let t = table(n), t.slots[i] != nil else { return }
        clear(n, t, i)
    }

    private func lower(_ vpn: UInt64, _ prot: VMProt) {
        let (n, i) = Self.split(vpn)
        table(n)?.slots[i]?.prot.formIntersection(prot)
    }

    private func removeMapping(_ n: UInt64, _ t: PageTable, _ i: Int) {
        guard let pte = t.slots[i] else { return }
        pte.page.removeMapping(self, n * Self.slotsPerTable + UInt64(i))
        clear(n, t, i)
    }

    /// Empties slot `i`, freeing its page table when it was the last valid entry.
    private func clear(_ n: UInt64, _ t: PageTable, _ i: Int) {
        t.slots[i] = nil
        t.valid -= 1
        count -= 1
        if t.valid == 0 {
            tables[n] = nil
            if lastTable?.number == n { lastTable = nil }
        }
    }

    /// Calls `body` with each valid entry in address order, as (virtual page, entry).
    /// O(mapped page tables × slots per table), allocating only the sorted table numbers.
    public func forEachEntry(_ body: (UInt64, PTE) throws -> Void) rethrows {
        for n in tables.keys.sorted() {
            let t = tables[n]!
            var left = t.valid
            for i in t.slots.indices {
                if left == 0 { break }
                guard let pte = t.slots[i] else { continue }
                left -= 1
                try body(n * Self.slotsPerTable + UInt64(i), pte)
            }
        }
    }
}
